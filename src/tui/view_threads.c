/* Threads: one row per thread, as htop's thread view, tied to the profile:
 * samples per thread in the window and the function each one spends most
 * samples in. Enter restricts every view to the thread under the cursor,
 * Esc lifts it. The per-thread counts cost one walk of the profile's stacks
 * per refresh, and only while this view is shown. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "tui/tui_impl.h"

struct threads_state {
	struct thread_row *rows; int n;
	struct scroll sc;
	pid_t follow;
};

static struct threads_state *st(struct tui *t)
{
	if (!t->thr)
		t->thr = xcalloc(1, sizeof *t->thr);
	return t->thr;
}

/* (tid, leaf pc) -> samples */
struct leaf { pid_t tid; uint64_t pc, count; };
struct leaves { struct leaf *v; size_t n, cap; uint32_t *idx; size_t icap; };

static uint32_t leaf_hash(pid_t tid, uint64_t pc)
{
	uint64_t h = (pc ^ ((uint64_t)(uint32_t)tid << 40)) * 0x9e3779b97f4a7c15ull;
	return (uint32_t)(h >> 32);
}

static void leaves_grow(struct leaves *L)
{
	size_t ncap = L->icap ? L->icap * 2 : 1024;
	uint32_t *ni = xcalloc(ncap, sizeof *ni);

	for (size_t k = 0; k < L->n; k++) {
		size_t i = leaf_hash(L->v[k].tid, L->v[k].pc) & (ncap - 1);
		while (ni[i])
			i = (i + 1) & (ncap - 1);
		ni[i] = (uint32_t)k + 1;
	}
	free(L->idx);
	L->idx = ni;
	L->icap = ncap;
}

static int visit(pid_t tid, const uint64_t *pcs, uint32_t n, uint64_t count, void *arg)
{
	struct leaves *L = arg;
	uint64_t pc = n ? pcs[0] : 0;
	size_t i;

	if ((L->n + 1) * 2 > L->icap)
		leaves_grow(L);
	for (i = leaf_hash(tid, pc) & (L->icap - 1); L->idx[i]; i = (i + 1) & (L->icap - 1)) {
		struct leaf *e = &L->v[L->idx[i] - 1];
		if (e->tid == tid && e->pc == pc) {
			e->count += count;
			return 0;
		}
	}
	if (L->n == L->cap) {
		L->cap = L->cap ? L->cap * 2 : 1024;
		L->v = xrealloc(L->v, L->cap * sizeof *L->v);
	}
	L->v[L->n] = (struct leaf){ tid, pc, count };
	L->idx[i] = (uint32_t)++L->n;
	return 0;
}

static int cmp_leaf(const void *a, const void *b)
{
	const struct leaf *x = a, *y = b;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

static int cmp_row_tid(const void *a, const void *b)
{
	pid_t x = (*(struct thread_row *const *)a)->tid, y = (*(struct thread_row *const *)b)->tid;
	return (x > y) - (x < y);
}

/* Row of tid through an index sorted by tid: thousands of threads must not
 * cost a scan of every row per thread under the lock. */
static struct thread_row *row_of(struct thread_row *const *byt, int n, pid_t tid)
{
	int lo = 0, hi = n - 1;
	while (lo <= hi) {
		int m = lo + (hi - lo) / 2;
		if (byt[m]->tid == tid)
			return byt[m];
		if (byt[m]->tid < tid)
			lo = m + 1;
		else
			hi = m - 1;
	}
	return NULL;
}

/* Samples and hottest function per thread (lock held: resolves pcs).
 * Names are summed by pointer: the symbol table interns them, and a hash
 * keeps a thread with thousands of distinct leaf pcs cheap. */
struct acc { const char *name; uint64_t count; };

static void count_samples(struct tui *t, struct threads_state *s)
{
	struct app *a = t->a;
	struct leaves L = { 0 };
	struct acc *acc = NULL;
	size_t cap = 0;

	if (!a->prof)
		return;
	struct thread_row **byt = xmalloc((s->n ? (size_t)s->n : 1) * sizeof *byt);
	for (int i = 0; i < s->n; i++)
		byt[i] = &s->rows[i];
	qsort(byt, (size_t)s->n, sizeof *byt, cmp_row_tid);
	profile_foreach(a->prof, t->window, tui_now(t), visit, &L);
	if (L.n)        /* L.v is NULL when nothing was visited */
		qsort(L.v, L.n, sizeof *L.v, cmp_leaf);
	for (size_t k = 0; k < L.n;) {
		pid_t tid = L.v[k].tid;
		struct thread_row *row = row_of(byt, s->n, tid);
		size_t first = k, want = 16, best = SIZE_MAX;
		uint64_t total = 0;

		while (k < L.n && L.v[k].tid == tid)
			total += L.v[k++].count;
		if (!row)
			continue;
		row->samples = total;
		while (want < 2 * (k - first))
			want *= 2;
		if (want > cap) {
			free(acc);
			acc = xmalloc(want * sizeof *acc);
			cap = want;
		}
		memset(acc, 0, want * sizeof *acc);
		for (size_t j = first; j < k; j++) {
			const struct sym_loc *loc = L.v[j].pc ? app_resolve(a, L.v[j].pc) : NULL;
			const char *name = loc && loc->nframes ? loc->frames[0].func : "[unknown]";
			size_t h = (size_t)(((uintptr_t)name * 0x9e3779b97f4a7c15ull) >> 20) & (want - 1);
			while (acc[h].name && acc[h].name != name)
				h = (h + 1) & (want - 1);
			acc[h].name = name;
			acc[h].count += L.v[j].count;
			if (best == SIZE_MAX || acc[h].count > acc[best].count)
				best = h;
		}
		if (best != SIZE_MAX)
			snprintf(row->hot, sizeof row->hot, "%s", acc[best].name);
	}
	free(acc);
	free(byt);
	free(L.v);
	free(L.idx);
}

static void thr_collect(struct tui *t)
{
	struct threads_state *s = st(t);
	const struct thread_info *ti = NULL;
	int n = 0;

	if (t->a->threads)
		ti = threads_list(t->a->threads, &n);
	free(s->rows);
	s->rows = xcalloc(n > 0 ? (size_t)n : 1, sizeof *s->rows);
	s->n = 0;
	for (int i = 0; i < n; i++) {
		struct thread_row *r = &s->rows[s->n++];
		r->tid = ti[i].tid;
		snprintf(r->name, sizeof r->name, "%s", ti[i].name);
		r->state = ti[i].alive ? ti[i].state : 'X';
		r->cpu = ti[i].alive ? ti[i].cpu_pct : 0;
		snprintf(r->wchan, sizeof r->wchan, "%s", ti[i].wchan);
		if (!r->wchan[0] && ti[i].alive && ti[i].syscall >= 0) {
			const char *sc = threads_syscall_name(ti[i].syscall);
			if (sc)
				snprintf(r->wchan, sizeof r->wchan, "%s()", sc);
		}
	}
	count_samples(t, s);
	for (int i = 0; i < s->n; i++) {
		if (s->rows[i].tid == s->follow) {
			s->sc.cursor = i;
			break;
		}
	}
}

static const char *state_word(char c)
{
	switch (c) {
	case 'R': return "run";
	case 'S': return "sleep";
	case 'D': return "disk";
	case 'T': return "stop";
	case 't': return "trace";
	case 'Z': return "zombie";
	case 'X': return "exited";
	case 'I': return "idle";
	default: return "";
	}
}

static void thr_draw(struct tui *t, int y, int h)
{
	struct threads_state *s = st(t);
	int hdr = screen_attr(R_COLHDR), rows = h - 1;
	/* wide: state spelled out, long names; narrow (80 columns): the
	 * hottest function keeps room, the rest gives way */
	int wide = t->cols >= 110;
	int namew = wide ? 16 : 12, statew = wide ? 8 : 1;
	int fixed = 1 + 7 + 1 + namew + 1 + statew + 1 + 6 + 1 + 7 + 2;
	int avail = t->cols - fixed, wchanw = wide ? 20 : avail / 3;
	int hotw = avail - wchanw - 1;
	char a[16];

	screen_fill(y, 0, t->cols, hdr, ' ');
	screen_printf(y, 0, t->cols, hdr, " %7s %-*s %-*s %6s %7s  %-*s %s", "TID", namew, "NAME",
		      statew, "S", "CPU%", "SAMPLES", hotw, "HOTTEST FUNCTION", "WCHAN");
	if (!s->n) {
		screen_put(y + 2, 2, t->cols - 2, screen_attr(R_DIM), "no thread information yet", 0);
		return;
	}
	layout_scroll_fix(&s->sc, s->n, rows);
	for (int i = s->sc.offset; i < s->n && i < s->sc.offset + rows; i++) {
		const struct thread_row *r = &s->rows[i];
		int yy = y + 1 + i - s->sc.offset, sel = i == s->sc.cursor;
		int attr = sel ? screen_attr(R_SELECTED) : r->tid == t->tid ? (int)A_BOLD :
			   r->state == 'X' ? screen_attr(R_DIM) : (int)A_NORMAL;
		char st2[16], name[17];

		if (sel)
			screen_fill(yy, 0, t->cols, attr, ' ');
		if (wide)
			snprintf(st2, sizeof st2, "%c %s", r->state, state_word(r->state));
		else
			snprintf(st2, sizeof st2, "%c", r->state);
		layout_fit(r->name, namew, name, sizeof name);
		screen_printf(yy, 0, fixed, attr, "%c%7d %-*s %-*s %6.1f %7s",
			      r->tid == t->tid ? '*' : ' ', (int)r->tid, namew, name, statew, st2,
			      r->cpu, layout_fmt_count(r->samples, a, sizeof a));
		screen_put(yy, fixed, hotw, !sel && tui_match(t, r->hot) ? screen_attr(R_MATCH) :
			   sel ? attr : r->samples ? screen_attr(R_HOT) : attr, r->hot, 0);
		screen_put(yy, fixed + hotw + 1, t->cols - fixed - hotw - 1, attr, r->wchan, 0);
	}
	if (t->tid && y + h - 1 > y + 1 + s->n)
		screen_put(y + h - 1, 1, t->cols - 1, screen_attr(R_DIM),
			   "* = the thread all views are restricted to (Esc or F clears)", 0);
	else if (!t->tid && y + h - 1 > y + 1 + s->n)
		screen_put(y + h - 1, 1, t->cols - 1, screen_attr(R_DIM),
			   "Enter: restrict all views to the thread under the cursor", 0);
}

static int thr_key(struct tui *t, int ch)
{
	struct threads_state *s = st(t);
	int r = keys_list_move(&s->sc, ch, s->n, t->vh - 1);

	if (r >= 0) {
		if (s->n)
			s->follow = s->rows[s->sc.cursor].tid;
		return r;
	}
	if ((key_is_enter(ch) || ch == KEY_RIGHT) && s->sc.cursor < s->n) {
		const struct thread_row *row = &s->rows[s->sc.cursor];
		s->follow = row->tid;
		tui_restrict_thread(t, row->tid, row->name);
		return ACT_BUILD | ACT_DRAW;
	}
	if ((key_is_back(ch) || ch == KEY_LEFT) && t->tid) {
		tui_restrict_thread(t, 0, NULL);
		return ACT_BUILD | ACT_DRAW;
	}
	return -1;
}

static const char *thr_selected(struct tui *t)
{
	struct threads_state *s = st(t);
	if (s->sc.cursor >= s->n || !s->rows[s->sc.cursor].hot[0])
		return NULL;
	return s->rows[s->sc.cursor].hot;
}

static int thr_search(struct tui *t, int dir)
{
	struct threads_state *s = st(t);
	int n = s->n;

	if (n <= 0)
		return -1;
	for (int k = 1; k <= n; k++) {
		int i = ((s->sc.cursor + dir * k) % n + n) % n;
		if (tui_match(t, s->rows[i].hot) || tui_match(t, s->rows[i].name)) {
			s->sc.cursor = i;
			s->follow = s->rows[i].tid;
			return ACT_DRAW;
		}
	}
	return -1;
}

static void thr_free(struct tui *t)
{
	if (!t->thr)
		return;
	free(t->thr->rows);
	free(t->thr);
	t->thr = NULL;
}

const struct view_ops view_threads = {
	.name = "Threads", .collect = thr_collect, .draw = thr_draw, .key = thr_key,
	.selected = thr_selected, .search = thr_search, .free = thr_free,
};
