/* Top: the function table (pprof top) and its peek panel (callers above,
 * the function, callees below). The cursor follows a function by name
 * across refreshes, as htop's follows a process. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "tui/tui_impl.h"

#define PEEK_HIST 32

enum { PK_CALLER = -1, PK_SELF = 0, PK_CALLEE = 1 };
struct prow { uint32_t func; uint64_t count; int kind; };

struct top_state {
	uint32_t *order; uint32_t n;
	struct scroll sc;
	char *follow;               /* function under the table cursor */
	int peek;
	char *pname;                /* function in the peek panel */
	char *hist[PEEK_HIST]; int nhist;
	struct prow *prows; int nprows;
	struct scroll psc;
	int psc_to_self;            /* put the cursor on the function next collect */
	int pmissing;               /* pname is not in the report (filters, reset) */
};

static struct top_state *st(struct tui *t)
{
	if (!t->top)
		t->top = xcalloc(1, sizeof *t->top);
	return t->top;
}

static int cmp_edge(const void *a, const void *b)
{
	const struct redge *x = a, *y = b;
	return x->count < y->count ? 1 : x->count > y->count ? -1 :
	       (x->func > y->func) - (x->func < y->func);
}

static void collect_peek(struct tui *t, struct top_state *s)
{
	struct redge *in = NULL, *out = NULL;
	uint32_t nin = 0, nout = 0;
	int id = tui_func_id(t, s->pname);

	free(s->prows);
	s->prows = NULL;
	s->nprows = 0;
	s->pmissing = id < 0;
	if (id < 0)
		return;
	report_peek(t->r, (uint32_t)id, &in, &nin, &out, &nout);
	qsort(in, nin, sizeof *in, cmp_edge);
	qsort(out, nout, sizeof *out, cmp_edge);
	s->prows = xcalloc(nin + nout + 1, sizeof *s->prows);
	for (uint32_t i = 0; i < nin; i++)
		s->prows[s->nprows++] = (struct prow){ in[i].func, in[i].count, PK_CALLER };
	s->prows[s->nprows++] = (struct prow){ (uint32_t)id, t->funcs[id].cum, PK_SELF };
	for (uint32_t i = 0; i < nout; i++)
		s->prows[s->nprows++] = (struct prow){ out[i].func, out[i].count, PK_CALLEE };
	free(in);
	free(out);
	if (s->psc_to_self) {
		s->psc.cursor = (int)nin;
		s->psc.offset = 0;
		s->psc_to_self = 0;
	}
}

static void top_collect(struct tui *t)
{
	struct top_state *s = st(t);
	uint32_t *o;

	free(s->order);
	s->order = NULL;
	s->n = 0;
	if (!t->r)
		return;
	s->n = t->nfuncs;
	o = report_sorted(t->r, t->sort);
	s->order = xmalloc((s->n ? s->n : 1) * sizeof *s->order);
	if (o && s->n)
		memcpy(s->order, o, s->n * sizeof *o);
	free(o);
	if (s->follow) {
		for (uint32_t i = 0; i < s->n; i++) {
			if (!strcmp(t->funcs[s->order[i]].name, s->follow)) {
				s->sc.cursor = (int)i;
				break;
			}
		}
	}
	if (s->peek)
		collect_peek(t, s);
}

static const char *basename_of(const char *p)
{
	const char *b = p ? strrchr(p, '/') : NULL;
	return b ? b + 1 : p;
}

/* One table row: the four numbers, then name, module, file:line. */
static void draw_func_row(struct tui *t, int y, const struct top_cols *c,
			  const struct sfunc *f, int attr, int selected)
{
	char a[16], b[16], num[4][16], fl[300];
	int x = 0;

	snprintf(num[0], 16, "%s", layout_fmt_count(f->flat, a, sizeof a));
	snprintf(num[1], 16, "%s", layout_fmt_pct(f->flat, t->total, b, sizeof b));
	snprintf(num[2], 16, "%s", layout_fmt_count(f->cum, a, sizeof a));
	snprintf(num[3], 16, "%s", layout_fmt_pct(f->cum, t->total, b, sizeof b));
	if (selected)
		screen_fill(y, 0, t->cols, attr, ' ');
	for (int i = 0; i < 4; i++) {
		screen_printf(y, x, c->num, attr, "%*s", c->num, num[i]);
		x += c->num;
	}
	x++;
	screen_put(y, x, c->name, !selected && tui_match(t, f->name) ? screen_attr(R_MATCH) : attr,
		   f->name, 0);
	x += c->name + 1;
	if (c->module) {
		screen_put(y, x, c->module, attr, f->module, 0);
		x += c->module + 1;
	}
	if (c->file && f->file) {
		if (f->line > 0)
			snprintf(fl, sizeof fl, "%s:%d", basename_of(f->file), f->line);
		else
			snprintf(fl, sizeof fl, "%s", basename_of(f->file));
		screen_put(y, x, c->file, attr, fl, 0);
	}
}

static void draw_colhdr(struct tui *t, int y, const struct top_cols *c)
{
	static const char *const labels[4] = { "flat", "flat%", "cum", "cum%" };
	int x = 0, hdr = screen_attr(R_COLHDR), srt = screen_attr(R_SORTED);

	screen_fill(y, 0, t->cols, hdr, ' ');
	for (int i = 0; i < 4; i++) {
		screen_printf(y, x, c->num, (int)t->sort == i ? srt : hdr, "%*s", c->num, labels[i]);
		x += c->num;
	}
	x++;
	screen_put(y, x, c->name, t->sort == SORT_NAME ? srt : hdr, "function", 0);
	x += c->name + 1;
	if (c->module) {
		screen_put(y, x, c->module, hdr, "module", 0);
		x += c->module + 1;
	}
	if (c->file)
		screen_put(y, x, c->file, hdr, "file:line", 0);
}

static void draw_empty(struct tui *t, int y)
{
	const char *why = t->fname[0] || t->fname[1] || t->fname[2] || t->tid ?
		"no samples match the filters (F clears them)" :
		t->hdr.samples ? "no samples in this window (w changes it)" :
		"no samples yet: waiting for the target to use CPU";
	screen_put(y, 2, t->cols - 2, screen_attr(R_DIM), why, 0);
}

static void draw_peek(struct tui *t, struct top_state *s, int y, int h)
{
	char title[512], a[16], b[16];
	int rows = h - 2;

	snprintf(title, sizeof title, " peek: %s  (callers above, callees below; Enter: go to, Esc: back)",
		 s->pname ? s->pname : "");
	screen_put(y, 0, t->cols, screen_attr(R_TITLE), title, 1);
	if (s->pmissing) {
		screen_put(y + 2, 2, t->cols - 2, screen_attr(R_DIM),
			   "this function has no samples in the current window and filters", 0);
		return;
	}
	screen_fill(y + 1, 0, t->cols, screen_attr(R_COLHDR), ' ');
	screen_put(y + 1, 0, 8, screen_attr(R_COLHDR), " role", 0);
	screen_printf(y + 1, 8, 16, screen_attr(R_COLHDR), "%7s %7s", "samples", "share");
	screen_put(y + 1, 25, t->cols - 25, screen_attr(R_COLHDR), "function", 0);
	layout_scroll_fix(&s->psc, s->nprows, rows);
	for (int i = s->psc.offset; i < s->nprows && i < s->psc.offset + rows; i++) {
		const struct prow *p = &s->prows[i];
		const struct sfunc *f = &t->funcs[p->func];
		int yy = y + 2 + i - s->psc.offset, sel = i == s->psc.cursor;
		int attr = sel ? screen_attr(R_SELECTED) : p->kind == PK_SELF ? (int)A_BOLD : (int)A_NORMAL;
		const char *role = p->kind == PK_CALLER ? " caller" :
				   p->kind == PK_CALLEE ? " callee" : " -->";
		if (sel)
			screen_fill(yy, 0, t->cols, attr, ' ');
		screen_put(yy, 0, 8, attr, role, 0);
		screen_printf(yy, 8, 16, attr, "%7s %7s", layout_fmt_count(p->count, a, sizeof a),
			      layout_fmt_pct(p->count, t->total, b, sizeof b));
		int x = 25 + screen_put(yy, 25, t->cols - 25 - 18, !sel && tui_match(t, f->name) ?
					screen_attr(R_MATCH) : attr, f->name, 0);
		if (p->kind == PK_SELF) {
			char extra[64];
			snprintf(extra, sizeof extra, "  (flat %s, cum %s)",
				 layout_fmt_count(f->flat, a, sizeof a), layout_fmt_count(f->cum, b, sizeof b));
			x += screen_put(yy, x, t->cols - x, attr, extra, 0);
		}
		if (x + 2 < t->cols)
			screen_put(yy, x + 2, t->cols - x - 2, sel ? attr : screen_attr(R_DIM), f->module, 0);
	}
	if (s->nprows == 1)
		screen_put(y + 3, 2, t->cols - 2, screen_attr(R_DIM),
			   "(no callers or callees: the whole stack is this function)", 0);
}

static void top_draw(struct tui *t, int y, int h)
{
	struct top_state *s = st(t);
	struct top_cols c;
	int rows = h - 1;

	if (s->peek) {
		draw_peek(t, s, y, h);
		return;
	}
	layout_top_columns(t->cols, &c);
	draw_colhdr(t, y, &c);
	if (!s->n) {
		draw_empty(t, y + 2);
		return;
	}
	layout_scroll_fix(&s->sc, (int)s->n, rows);
	for (int i = s->sc.offset; i < (int)s->n && i < s->sc.offset + rows; i++) {
		int sel = i == s->sc.cursor;
		draw_func_row(t, y + 1 + i - s->sc.offset, &c, &t->funcs[s->order[i]],
			      sel ? screen_attr(R_SELECTED) : (int)A_NORMAL, sel);
	}
}

static const char *cursor_name(struct tui *t, struct top_state *s)
{
	if (s->peek) {
		if (s->psc.cursor < s->nprows)
			return t->funcs[s->prows[s->psc.cursor].func].name;
		return s->pname;
	}
	if (s->sc.cursor < (int)s->n)
		return t->funcs[s->order[s->sc.cursor]].name;
	return NULL;
}

static int top_key(struct tui *t, int ch)
{
	struct top_state *s = st(t);
	int r;

	if (!s->peek) {
		r = keys_list_move(&s->sc, ch, (int)s->n, t->vh - 1);
		if (r >= 0) {
			tui_set_str(&s->follow, cursor_name(t, s));
			return r;
		}
		if ((key_is_enter(ch) || ch == KEY_RIGHT || ch == 'l') && s->sc.cursor < (int)s->n) {
			tui_set_str(&s->follow, cursor_name(t, s));
			tui_set_str(&s->pname, s->follow);
			s->peek = 1;
			s->nhist = 0;
			s->psc_to_self = 1;
			return ACT_COLLECT | ACT_DRAW;
		}
		return -1;
	}
	r = keys_list_move(&s->psc, ch, s->nprows, t->vh - 2);
	if (r >= 0)
		return r;
	if (key_is_enter(ch) || ch == KEY_RIGHT || ch == 'l') {
		if (s->psc.cursor >= s->nprows || s->prows[s->psc.cursor].kind == PK_SELF)
			return ACT_NONE;
		if (s->nhist == PEEK_HIST) {
			free(s->hist[0]);
			memmove(s->hist, s->hist + 1, (PEEK_HIST - 1) * sizeof *s->hist);
			s->nhist--;
		}
		s->hist[s->nhist++] = xstrdup(s->pname);
		tui_set_str(&s->pname, t->funcs[s->prows[s->psc.cursor].func].name);
		s->psc_to_self = 1;
		return ACT_COLLECT | ACT_DRAW;
	}
	if (key_is_back(ch) || ch == KEY_LEFT) {
		if (s->nhist) {
			free(s->pname);
			s->pname = s->hist[--s->nhist];
			s->psc_to_self = 1;
		} else {
			/* back to the table, on the function we were looking at */
			s->peek = 0;
			tui_set_str(&s->follow, s->pname);
		}
		return ACT_COLLECT | ACT_DRAW;
	}
	return -1;
}

static const char *top_selected(struct tui *t)
{
	return cursor_name(t, st(t));
}

static int top_search(struct tui *t, int dir)
{
	struct top_state *s = st(t);
	int n = s->peek ? s->nprows : (int)s->n;
	struct scroll *sc = s->peek ? &s->psc : &s->sc;

	if (n <= 0)
		return -1;
	for (int k = 1; k <= n; k++) {
		int i = ((sc->cursor + dir * k) % n + n) % n;
		uint32_t f = s->peek ? s->prows[i].func : s->order[i];
		if (tui_match(t, t->funcs[f].name)) {
			sc->cursor = i;
			if (!s->peek)
				tui_set_str(&s->follow, t->funcs[f].name);
			return ACT_DRAW;
		}
	}
	return -1;
}

static void top_free(struct tui *t)
{
	struct top_state *s = t->top;

	if (!s)
		return;
	free(s->order);
	free(s->follow);
	free(s->pname);
	for (int i = 0; i < s->nhist; i++)
		free(s->hist[i]);
	free(s->prows);
	free(s);
	t->top = NULL;
}

const struct view_ops view_top = {
	.name = "Top", .collect = top_collect, .draw = top_draw, .key = top_key,
	.selected = top_selected, .search = top_search, .free = top_free,
};
