/* Leaks: goroutine-style stack groups from the periodic scans, one row per
 * group with its count, change over the last minute, a sparkline of the
 * count, state, wait point and first interesting frame. Suspected leaks
 * (groups.c's rule) come first and are marked. Enter shows the group's
 * whole stack; t switches between goroutine and thread groups (Go). */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "tui/tui_impl.h"

#define SPARK_CELLS 16

struct leaks_state {
	struct group_row *rows; int n;
	struct scroll sc;
	uint32_t follow; int have_follow;
	int go, go_init;
	int stack;                  /* showing one group's stack */
	uint32_t stack_id;
	char **lines, **funcs; int nlines;   /* the stack, symbolized */
	struct scroll ssc;
	uint64_t scans;
	int64_t total;
	int have_go, scan_off;
	char note[160];
};

static struct leaks_state *st(struct tui *t)
{
	if (!t->leaks)
		t->leaks = xcalloc(1, sizeof *t->leaks);
	return t->leaks;
}

static void free_rows(struct leaks_state *s)
{
	for (int i = 0; i < s->n; i++) {
		struct group_row *r = &s->rows[i];
		free(r->hist);
		free(r->states);
		free(r->wait);
		free(r->top);
		free(r->created);
		free(r->pcs);
	}
	free(s->rows);
	s->rows = NULL;
	s->n = 0;
}

static void free_lines(struct leaks_state *s)
{
	for (int i = 0; i < s->nlines; i++) {
		free(s->lines[i]);
		free(s->funcs[i]);
	}
	free(s->lines);
	free(s->funcs);
	s->lines = s->funcs = NULL;
	s->nlines = 0;
}

static const struct group_row *find_group(const struct leaks_state *s, uint32_t id)
{
	for (int i = 0; i < s->n; i++)
		if (s->rows[i].id == id)
			return &s->rows[i];
	return NULL;
}

/* The group's stack, leaf first, inline frames included (lock held). */
static void symbolize_stack(struct tui *t, struct leaks_state *s, const struct group_row *g)
{
	size_t cap = 16;

	free_lines(s);
	s->lines = xcalloc(cap, sizeof *s->lines);
	s->funcs = xcalloc(cap, sizeof *s->funcs);
	for (uint32_t k = 0; k < g->n; k++) {
		const struct sym_loc *loc = app_resolve(t->a, g->pcs[k]);
		uint32_t nf = loc && loc->nframes ? loc->nframes : 1;
		for (uint32_t f = 0; f < nf; f++) {
			const struct sym_frame *fr = loc && loc->nframes ? &loc->frames[f] : NULL;
			char where[320] = "", buf[1024];
			if (fr && fr->file)
				snprintf(where, sizeof where, "  %s:%d", fr->file, fr->line);
			snprintf(buf, sizeof buf, "#%-3u %s%s%s  [%s]", k,
				 fr ? fr->func : "[unknown]", f + 1 < nf ? " (inlined)" : "", where,
				 loc && loc->mod ? loc->mod->name : "?");
			if ((size_t)s->nlines == cap) {
				cap *= 2;
				s->lines = xrealloc(s->lines, cap * sizeof *s->lines);
				s->funcs = xrealloc(s->funcs, cap * sizeof *s->funcs);
			}
			s->lines[s->nlines] = xstrdup(buf);
			s->funcs[s->nlines++] = xstrdup(fr ? fr->func : "[unknown]");
		}
	}
}

static void leaks_collect(struct tui *t)
{
	struct leaks_state *s = st(t);
	struct app *a = t->a;
	const struct group_view *v = NULL;
	struct groups *g;
	int n;

	/* goroutines tell more, when there; decided once the scanner has
	 * looked at the binary (reading its DWARF takes a moment) */
	if (!s->go_init && a->go_checked) {
		s->go = a->go_groups != NULL;
		s->go_init = 1;
	}
	s->have_go = a->go_groups != NULL;
	s->scan_off = a->opt->scan_interval <= 0;
	s->note[0] = 0;
	if (a->gort && gort_error(a->gort))
		snprintf(s->note, sizeof s->note, "goroutines unreadable: %s", gort_error(a->gort));
	g = s->go && a->go_groups ? a->go_groups : a->thread_groups;
	free_rows(s);
	s->scans = g ? groups_scans(g) : 0;
	s->total = g ? groups_total(g) : 0;
	n = g ? groups_view(g, &v) : 0;
	s->rows = xcalloc(n > 0 ? (size_t)n : 1, sizeof *s->rows);
	for (int i = 0; i < n; i++) {
		struct group_row *r = &s->rows[s->n++];
		r->id = v[i].id;
		r->count = v[i].count;
		r->delta = v[i].delta_1m;
		r->nhist = v[i].nhistory;
		r->hist = xmalloc((r->nhist > 0 ? (size_t)r->nhist : 1) * sizeof *r->hist);
		if (r->nhist > 0)
			memcpy(r->hist, v[i].history, (size_t)r->nhist * sizeof *r->hist);
		r->states = xstrdup(v[i].states ? v[i].states : "");
		r->wait = xstrdup(v[i].wait ? v[i].wait : "");
		r->top = xstrdup(v[i].top_frame ? v[i].top_frame : "");
		r->created = xstrdup(v[i].created_by ? v[i].created_by : "");
		r->suspect = v[i].suspect;
		r->n = v[i].n;
		r->pcs = xmalloc((r->n ? r->n : 1) * sizeof *r->pcs);
		if (r->n)
			memcpy(r->pcs, v[i].pcs, r->n * sizeof *r->pcs);
	}
	if (s->have_follow) {
		for (int i = 0; i < s->n; i++) {
			if (s->rows[i].id == s->follow) {
				s->sc.cursor = i;
				break;
			}
		}
	}
	if (s->stack) {
		const struct group_row *gr = find_group(s, s->stack_id);
		if (gr)
			symbolize_stack(t, s, gr);
		else
			free_lines(s);      /* the group is gone: keep the message */
	}
}

static void draw_stack(struct tui *t, struct leaks_state *s, int y, int h)
{
	const struct group_row *g = find_group(s, s->stack_id);
	char title[512];
	int rows = h - 1;

	if (!g) {
		screen_put(y, 0, t->cols, screen_attr(R_TITLE), " stack group (Esc: back)", 1);
		screen_put(y + 2, 2, t->cols - 2, screen_attr(R_DIM),
			   "this group is gone (its members exited or changed stack)", 0);
		return;
	}
	snprintf(title, sizeof title, " %s%s: count %lld  state %s  wait %s%s%s  (Esc: back)",
		 g->suspect ? "LEAK? " : "", s->go ? "goroutines" : "threads", (long long)g->count,
		 g->states, g->wait[0] ? g->wait : "-", g->created[0] ? "  created by " : "", g->created);
	screen_put(y, 0, t->cols, screen_attr(R_TITLE), title, 1);
	layout_scroll_fix(&s->ssc, s->nlines, rows);
	for (int i = s->ssc.offset; i < s->nlines && i < s->ssc.offset + rows; i++) {
		int yy = y + 1 + i - s->ssc.offset, sel = i == s->ssc.cursor;
		int attr = sel ? screen_attr(R_SELECTED) : tui_match(t, s->funcs[i]) ?
			   screen_attr(R_MATCH) : (int)A_NORMAL;
		if (sel)
			screen_fill(yy, 0, t->cols, attr, ' ');
		screen_put(yy, 1, t->cols - 1, attr, s->lines[i], 0);
	}
}

static void leaks_draw(struct tui *t, int y, int h)
{
	struct leaks_state *s = st(t);
	int hdr = screen_attr(R_COLHDR), rows = h - 2;
	/* at 80 columns the history, state and wait columns give way to the
	 * top frame, the column that says what the group is */
	int wide = t->cols >= 110;
	int cells = wide ? SPARK_CELLS : 8, statew = wide ? 10 : 6, waitw = wide ? 20 : 14;
	int sparkx = 5 + 15 + 2, statex = sparkx + cells + 2, waitx = statex + statew + 1;
	int topx = waitx + waitw + 1;
	char title[512], spark[SPARK_CELLS * 4 + 1], delta[24];

	if (s->stack) {
		draw_stack(t, s, y, h);
		return;
	}
	snprintf(title, sizeof title, " %s stack groups: %d groups, %lld %s, %llu scans%s%s%s",
		 s->go ? "goroutine" : "thread", s->n, (long long)s->total,
		 s->go ? "goroutines" : "threads", (unsigned long long)s->scans,
		 s->have_go ? (s->go ? "  (t: thread groups)" : "  (t: goroutine groups)") : "",
		 s->note[0] ? "  " : "", s->note);
	screen_put(y, 0, t->cols, screen_attr(R_TITLE), title, 1);
	screen_fill(y + 1, 0, t->cols, hdr, ' ');
	/* change over the last minute; printf pads bytes, not columns */
	const char *d1m = t->unicode ? "\xce\x94" "1m" : "d1m";
	screen_printf(y + 1, 0, t->cols, hdr, "%-5s%7s %*s  %-*s  %-*s %-*s %s", "", "COUNT",
		      7 + (int)strlen(d1m) - layout_width(d1m), d1m,
		      cells, "HISTORY", statew, "STATE", waitw, "WAIT", "TOP FRAME");
	if (!s->n) {
		screen_put(y + 3, 2, t->cols - 2, screen_attr(R_DIM),
			   s->scan_off ? "stack scans are off (--scan-interval 0)" :
			   s->scans ? "no groups in the last scan" :
			   "waiting for the first stack scan (every --scan-interval seconds)", 0);
		return;
	}
	layout_scroll_fix(&s->sc, s->n, rows);
	for (int i = s->sc.offset; i < s->n && i < s->sc.offset + rows; i++) {
		const struct group_row *r = &s->rows[i];
		int yy = y + 2 + i - s->sc.offset, sel = i == s->sc.cursor;
		int attr = sel ? screen_attr(R_SELECTED) : (int)A_NORMAL;

		if (sel)
			screen_fill(yy, 0, t->cols, attr, ' ');
		if (r->suspect)
			screen_put(yy, 0, 5, sel ? attr : screen_attr(R_LEAK), "LEAK", 0);
		if (r->delta)
			snprintf(delta, sizeof delta, "%+lld", (long long)r->delta);
		else
			snprintf(delta, sizeof delta, "0");
		layout_sparkline(r->hist, r->nhist, cells, t->unicode, spark, sizeof spark);
		screen_printf(yy, 5, 16, attr, "%7lld %7s", (long long)r->count, delta);
		screen_put(yy, sparkx, cells, sel ? attr : r->suspect ?
			   screen_attr(R_LEAK) : screen_attr(R_HOT), spark, 0);
		screen_put(yy, statex, statew, attr, r->states, 0);
		screen_put(yy, waitx, waitw, attr, r->wait, 0);
		screen_put(yy, topx, t->cols - topx, !sel && tui_match(t, r->top) ?
			   screen_attr(R_MATCH) : attr, r->top, 0);
	}
}

static int leaks_key(struct tui *t, int ch)
{
	struct leaks_state *s = st(t);
	int r;

	if (s->stack) {
		r = keys_list_move(&s->ssc, ch, s->nlines, t->vh - 1);
		if (r >= 0)
			return r;
		if (key_is_back(ch) || ch == KEY_LEFT) {
			s->stack = 0;
			free_lines(s);
			return ACT_DRAW;
		}
		if (ch != 't')
			return -1;
	}
	r = keys_list_move(&s->sc, ch, s->n, t->vh - 2);
	if (r >= 0) {
		if (s->n) {
			s->follow = s->rows[s->sc.cursor].id;
			s->have_follow = 1;
		}
		return r;
	}
	if ((key_is_enter(ch) || ch == KEY_RIGHT) && s->sc.cursor < s->n) {
		s->stack = 1;
		s->stack_id = s->rows[s->sc.cursor].id;
		s->follow = s->stack_id;
		s->have_follow = 1;
		s->ssc.cursor = s->ssc.offset = 0;
		return ACT_COLLECT | ACT_DRAW;
	}
	if (ch == 't') {
		if (!s->have_go) {
			tui_status(t, "t: not a Go target; only thread groups");
			return ACT_DRAW;
		}
		s->go = !s->go;
		s->stack = 0;
		s->have_follow = 0;
		s->sc.cursor = s->sc.offset = 0;
		tui_status(t, "showing %s groups", s->go ? "goroutine" : "thread");
		return ACT_COLLECT | ACT_DRAW;
	}
	return -1;
}

static const char *leaks_selected(struct tui *t)
{
	struct leaks_state *s = st(t);

	if (s->stack)
		return s->ssc.cursor < s->nlines ? s->funcs[s->ssc.cursor] : NULL;
	if (s->sc.cursor < s->n && s->rows[s->sc.cursor].top[0])
		return s->rows[s->sc.cursor].top;
	return NULL;
}

static int leaks_search(struct tui *t, int dir)
{
	struct leaks_state *s = st(t);
	int n = s->stack ? s->nlines : s->n;
	struct scroll *sc = s->stack ? &s->ssc : &s->sc;

	if (n <= 0)
		return -1;
	for (int k = 1; k <= n; k++) {
		int i = ((sc->cursor + dir * k) % n + n) % n;
		int hit = s->stack ? tui_match(t, s->funcs[i]) :
			  tui_match(t, s->rows[i].top) || tui_match(t, s->rows[i].wait);
		if (hit) {
			sc->cursor = i;
			if (!s->stack) {
				s->follow = s->rows[i].id;
				s->have_follow = 1;
			}
			return ACT_DRAW;
		}
	}
	return -1;
}

static void leaks_free(struct tui *t)
{
	struct leaks_state *s = t->leaks;

	if (!s)
		return;
	free_rows(s);
	free_lines(s);
	free(s);
	t->leaks = NULL;
}

const struct view_ops view_leaks = {
	.name = "Leaks", .collect = leaks_collect, .draw = leaks_draw, .key = leaks_key,
	.selected = leaks_selected, .search = leaks_search, .free = leaks_free,
};
