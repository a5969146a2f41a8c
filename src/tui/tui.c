/* The TUI's event loop and the state the views share: report builds under
 * app_lock (every --interval, or when a key changes what is shown), the
 * header, filters, snapshots and reset. The loop waits for input with a
 * 100 ms timeout, so a quiet screen costs ten wakeups per second and one
 * report build per interval; it redraws only when something changed. */
#include <curses.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "tui.h"
#include "tui/tui_impl.h"

#define TICK_MS 100

const struct view_ops *const tui_views[VIEW_COUNT] = {
	&view_top, &view_tree, &view_flame, &view_threads, &view_leaks, &view_source,
};

/* ---- string pool ------------------------------------------------------ */

struct strpool {
	char **chunks; size_t nchunks;
	char *cur; size_t left;
	const char **tab; size_t cap, n;     /* interning hash set */
};

static uint32_t str_hash(const char *s)
{
	return (uint32_t)hash_fnv(HASH_INIT, s, strlen(s));
}

struct strpool *strpool_new(void)
{
	struct strpool *p = xcalloc(1, sizeof *p);
	p->cap = 256;
	p->tab = xcalloc(p->cap, sizeof *p->tab);
	return p;
}

void strpool_free(struct strpool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nchunks; i++)
		free(p->chunks[i]);
	free(p->chunks);
	free(p->tab);
	free(p);
}

static const char *pool_copy(struct strpool *p, const char *s)
{
	size_t len = strlen(s) + 1;
	char *d;

	if (len > p->left) {
		size_t sz = len > 16384 ? len : 16384;
		p->chunks = xrealloc(p->chunks, (p->nchunks + 1) * sizeof *p->chunks);
		p->cur = p->chunks[p->nchunks++] = xmalloc(sz);
		p->left = sz;
	}
	d = p->cur;
	memcpy(d, s, len);
	p->cur += len;
	p->left -= len;
	return d;
}

const char *strpool_intern(struct strpool *p, const char *s)
{
	size_t i;

	if (!s)
		return NULL;
	if (p->n * 2 >= p->cap) {
		size_t ncap = p->cap * 2;
		const char **nt = xcalloc(ncap, sizeof *nt);
		for (size_t k = 0; k < p->cap; k++) {
			if (!p->tab[k])
				continue;
			for (i = str_hash(p->tab[k]) & (ncap - 1); nt[i]; i = (i + 1) & (ncap - 1))
				;
			nt[i] = p->tab[k];
		}
		free(p->tab);
		p->tab = nt;
		p->cap = ncap;
	}
	for (i = str_hash(s) & (p->cap - 1); p->tab[i]; i = (i + 1) & (p->cap - 1)) {
		if (!strcmp(p->tab[i], s))
			return p->tab[i];
	}
	p->tab[i] = pool_copy(p, s);
	p->n++;
	return p->tab[i];
}

/* ---- shared helpers for the views ------------------------------------- */

static int g_locked;   /* the UI thread holds app_lock (collect phase) */

int tui_func_id(const struct tui *t, const char *name)
{
	if (!name || !t->fhcap)
		return -1;
	for (uint32_t i = str_hash(name) & (t->fhcap - 1); t->fhash[i];
	     i = (i + 1) & (t->fhcap - 1)) {
		uint32_t id = t->fhash[i] - 1;
		if (!strcmp(t->funcs[id].name, name))
			return (int)id;
	}
	return -1;
}

int tui_match(const struct tui *t, const char *s)
{
	return t->have_re && s && regexec(&t->re, s, 0, NULL, 0) == 0;
}

void tui_status(struct tui *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->hdr.status, sizeof t->hdr.status, fmt, ap);
	va_end(ap);
	/* a->status is the one status line, shared with the app's threads */
	if (!g_locked)
		app_lock(t->a);
	snprintf(t->a->status, sizeof t->a->status, "%s", t->hdr.status);
	if (!g_locked)
		app_unlock(t->a);
}

void tui_set_str(char **dst, const char *s)
{
	char *d = s ? xstrdup(s) : NULL;   /* s may point into *dst */
	free(*dst);
	*dst = d;
}

void tui_set_sel(struct tui *t, const char *name)
{
	if (!name || (t->sel && !strcmp(t->sel, name)))
		return;
	free(t->sel);
	t->sel = xstrdup(name);
}

uint64_t tui_now(const struct tui *t)
{
	if (t->paused)
		return t->pause_ns;
	/* after sampling ended, windows stay anchored at its end */
	if (t->frozen && t->a->end_ns)
		return t->a->end_ns;
	return now_ns();
}

/* ---- report build and copies (lock held) ------------------------------- */

static void copy_funcs(struct tui *t)
{
	struct strpool *pool = strpool_new();
	uint32_t n = t->r ? report_nfuncs(t->r) : 0, cap = 16;

	free(t->funcs);
	free(t->fhash);
	strpool_free(t->pool);
	t->pool = pool;
	t->nfuncs = n;
	t->funcs = xcalloc(n ? n : 1, sizeof *t->funcs);
	while (cap < 2 * n)
		cap *= 2;
	t->fhcap = cap;
	t->fhash = xcalloc(cap, sizeof *t->fhash);
	for (uint32_t id = 0; id < n; id++) {
		const struct rfunc *f = report_func(t->r, id);
		struct sfunc *s = &t->funcs[id];
		s->name = strpool_intern(pool, f->name ? f->name : "?");
		s->module = strpool_intern(pool, f->module ? f->module : "");
		s->file = strpool_intern(pool, f->file);
		s->line = f->line;
		s->start_line = f->start_line;
		s->flat = f->flat;
		s->cum = f->cum;
		uint32_t i = str_hash(s->name) & (cap - 1);
		while (t->fhash[i])
			i = (i + 1) & (cap - 1);
		t->fhash[i] = id + 1;
	}
	t->total = t->r ? report_total(t->r) : 0;
}

static void build_report(struct tui *t)
{
	struct app *a = t->a;
	struct report_filter f = {
		.focus = t->fre[0], .ignore = t->fre[1], .hide = t->fre[2], .tid = t->tid,
	};
	const char *err = NULL;
	struct report *r;

	if (!a->prof)
		return;
	r = report_build(a->prof, t->window, tui_now(t), &f, app_resolve, a, &err);
	if (!r) {
		tui_status(t, "cannot apply the filters: %s", err ? err : "error");
		return;
	}
	report_free(t->r);
	t->r = r;
	copy_funcs(t);
}

static const char *unwind_name(enum unwind_mode m)
{
	switch (m) {
	case UNWIND_FP: return "fp";
	case UNWIND_DWARF: return "dwarf";
	default: return "auto";
	}
}

static void collect_header(struct tui *t)
{
	struct app *a = t->a;
	struct hdr *h = &t->hdr;
	struct profile_totals pt = { 0 };
	int n = 0;

	h->pid = a->pid;
	h->launched = a->child > 0;
	snprintf(h->comm, sizeof h->comm, "%s", a->comm);
	h->nthreads = 0;
	if (a->threads) {
		const struct thread_info *ti = threads_list(a->threads, &n);
		for (int i = 0; i < n; i++)
			h->nthreads += ti[i].alive;
	}
	h->lost = 0;
	snprintf(h->sampler, sizeof h->sampler, "-");
	if (a->sampler) {
		struct sampler_stats st = { 0 };
		sampler_get_stats(a->sampler, &st);
		h->lost = st.lost >= t->lost_base ? st.lost - t->lost_base : 0;
		if (!h->nthreads)
			h->nthreads = (int)st.threads;
		snprintf(h->sampler, sizeof h->sampler, "%s", sampler_describe(a->sampler));
	}
	h->goroutines = -1;
	h->gover[0] = 0;
	if (a->gort) {
		h->goroutines = a->goroutines;
		snprintf(h->gover, sizeof h->gover, "%s", gort_version(a->gort) ?: "go");
	}
	if (a->prof)
		profile_totals(a->prof, &pt);
	h->samples = pt.samples;
	h->dropped = pt.dropped;
	uint64_t end = a->end_ns ? a->end_ns : now_ns();
	h->elapsed_s = end > a->start_ns && a->start_ns ? (end - a->start_ns) / 1000000000u : 0;
	snprintf(h->status, sizeof h->status, "%s", a->status);
	h->exited = atomic_load(&a->target_exited);
	h->done = atomic_load(&a->sampling_done);
}

/* Under the lock: the header always; with ACT_COLLECT the current view's
 * copy; with ACT_BUILD a new report first. */
static void collect(struct tui *t, int what)
{
	app_lock(t->a);
	g_locked = 1;
	collect_header(t);
	if ((t->hdr.done || t->hdr.exited) && !t->frozen) {
		t->frozen = 1;      /* one last build with the final samples */
		what |= ACT_BUILD;
	}
	if ((what & ACT_BUILD) || !t->r) {
		build_report(t);
		what |= ACT_COLLECT;
	}
	if (what & ACT_COLLECT)
		tui_views[t->view]->collect(t);
	g_locked = 0;
	app_unlock(t->a);
}

/* ---- actions shared by keys ------------------------------------------- */

static const char *const filter_names[3] = { "focus", "ignore", "hide" };

void tui_filter_set(struct tui *t, int which, const char *name)
{
	char re[1024];

	if (layout_regex_quote(name, re, sizeof re) < 0) {
		tui_status(t, "function name too long for a filter");
		return;
	}
	free(t->fname[which]);
	free(t->fre[which]);
	t->fname[which] = xstrdup(name);
	t->fre[which] = xstrdup(re);
	tui_status(t, "%s=%s (F clears the filters)", filter_names[which], name);
}

void tui_filters_clear(struct tui *t)
{
	for (int i = 0; i < 3; i++) {
		free(t->fname[i]);
		free(t->fre[i]);
		t->fname[i] = t->fre[i] = NULL;
	}
	t->tid = 0;
	t->tid_name[0] = 0;
	tui_status(t, "filters cleared");
}

void tui_restrict_thread(struct tui *t, pid_t tid, const char *name)
{
	t->tid = tid;
	snprintf(t->tid_name, sizeof t->tid_name, "%s", name ? name : "");
	if (tid)
		tui_status(t, "all views restricted to thread %d %s (Esc in Threads or F clears)",
			   (int)tid, t->tid_name);
	else
		tui_status(t, "thread restriction cleared");
}

void tui_reset(struct tui *t)
{
	struct app *a = t->a;

	app_lock(a);
	if (a->prof)
		profile_reset(a->prof, now_ns());
	if (a->thread_groups)
		groups_reset(a->thread_groups);
	if (a->go_groups)
		groups_reset(a->go_groups);
	if (a->sampler) {
		struct sampler_stats st = { 0 };
		sampler_get_stats(a->sampler, &st);
		t->lost_base = st.lost;
	}
	app_unlock(a);
	if (t->paused)
		t->pause_ns = now_ns();
	tui_status(t, "counts reset");
}

static int exists(const char *path)
{
	return access(path, F_OK) == 0;
}

int tui_snapshot(struct tui *t)
{
	struct app *a = t->a;
	static const char *const kinds[3] = { "", "-threads", "-goroutines" };
	char names[3][256], msg[sizeof names + 32];
	struct report_filter f = {
		.focus = t->fre[0], .ignore = t->fre[1], .hide = t->fre[2], .tid = t->tid,
	};
	int want[3] = { 1, 0, 0 }, seq, rc = 0;
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	app_lock(a);
	want[1] = a->thread_groups && groups_scans(a->thread_groups) > 0;
	want[2] = a->go_groups && groups_scans(a->go_groups) > 0;
	app_unlock(a);
	/* one sequence number for the whole set, none of whose files exist */
	for (seq = 0; seq < 1000; seq++) {
		int clash = 0;
		for (int k = 0; k < 3; k++) {
			if (layout_snapshot_name(names[k], sizeof names[k], a->pid, &tm, seq, kinds[k]) < 0)
				return -ENAMETOOLONG;
			clash |= exists(names[k]);
		}
		if (!clash)
			break;
	}
	msg[0] = 0;
	for (int k = 0; k < 3; k++) {
		static const enum profile_kind pk[3] = { PROFILE_CPU, PROFILE_THREADS, PROFILE_GOROUTINES };
		int e;
		if (!want[k])
			continue;
		/* what the screen shows: a paused display's window is
		 * anchored at the pause */
		e = app_write(a, names[k], pk[k], t->window, k == 0 ? &f : NULL, 0,
			      t->paused ? tui_now(t) : 0);
		if (e) {
			tui_status(t, "cannot save %s: %s", names[k], strerror(e < 0 ? -e : e));
			rc = e;
			break;
		}
		size_t l = strlen(msg);
		snprintf(msg + l, sizeof msg - l, "%s%s", l ? ", " : "", names[k]);
	}
	if (!rc)
		tui_status(t, "saved %s", msg);
	return rc;
}

/* ---- drawing ----------------------------------------------------------- */

static void draw_header(struct tui *t)
{
	struct hdr *h = &t->hdr;
	char line[512], a[32], b[32], c[32];
	size_t l;
	int x;

	l = (size_t)snprintf(line, sizeof line, "ctop-prof  PID %d (%s)  threads %d",
			     (int)h->pid, h->comm, h->nthreads);
	if (h->goroutines >= 0 && l < sizeof line)
		l += (size_t)snprintf(line + l, sizeof line - l, "  goroutines %lld, %s",
				      (long long)h->goroutines, h->gover);
	if (l < sizeof line)
		snprintf(line + l, sizeof line - l, "  %s  unwind %s", h->sampler,
			 unwind_name(t->a->opt->unwind));
	screen_put(0, 0, t->cols, screen_attr(R_HEADER), line, 1);

	l = (size_t)snprintf(line, sizeof line, "samples %s  lost %s  ",
			     layout_fmt_count(h->samples, a, sizeof a),
			     layout_fmt_count(h->lost, b, sizeof b));
	/* samples past the unique-stack cap are counted, not kept: say so */
	if (h->dropped && l < sizeof line)
		l += (size_t)snprintf(line + l, sizeof line - l, "dropped %s  ",
				      layout_fmt_count(h->dropped, a, sizeof a));
	if (l < sizeof line)
		l += (size_t)snprintf(line + l, sizeof line - l, "elapsed %s  window: %s  filters: ",
				      layout_fmt_duration(h->elapsed_s, c, sizeof c),
				      window_name(t->window));
	int any = 0;
	for (int i = 0; i < 3; i++) {
		if (!t->fname[i] || l >= sizeof line)
			continue;
		l += (size_t)snprintf(line + l, sizeof line - l, "%s%s=%s", any ? " " : "",
				      filter_names[i], t->fname[i]);
		any = 1;
	}
	if (t->tid && l < sizeof line) {
		l += (size_t)snprintf(line + l, sizeof line - l, "%sthread=%d(%s)", any ? " " : "",
				      (int)t->tid, t->tid_name);
		any = 1;
	}
	if (!any && l < sizeof line)
		snprintf(line + l, sizeof line - l, "none");
	x = screen_put(1, 0, t->cols, A_NORMAL, line, 0);
	if (t->paused)
		screen_put(1, x + 2 < t->cols ? x + 2 : t->cols - 8, 8, screen_attr(R_PAUSED), "[PAUSED]", 0);
	else if (t->frozen)
		screen_put(1, x + 2 < t->cols ? x + 2 : t->cols - 10, 10, screen_attr(R_PAUSED),
			   h->exited ? "[EXITED]" : "[STOPPED]", 0);
}

static void draw_tabs(struct tui *t)
{
	static const char *const names[VIEW_COUNT] = {
		"1 Top", "2 Tree", "3 Flame", "4 Threads", "5 Leaks", "6 Source",
	};
	int x = 0;

	screen_fill(2, 0, t->cols, screen_attr(R_TAB), ' ');
	for (int i = 0; i < VIEW_COUNT; i++) {
		char b[32];
		snprintf(b, sizeof b, " %s ", names[i]);
		x += screen_put(2, x, t->cols - x, screen_attr(i == t->view && !t->help ?
							      R_TAB_ACTIVE : R_TAB), b, 0);
		x += 1;
	}
	const char *hint = "?:help  q:quit ";
	int hw = (int)strlen(hint);
	if (x + hw < t->cols)
		screen_put(2, t->cols - hw, hw, screen_attr(R_TAB), hint, 0);
}

static void draw_status(struct tui *t)
{
	int y = t->rows - 1;

	if (t->prompt) {
		char b[300];
		snprintf(b, sizeof b, "search (regex, Enter: find, Esc: cancel): /%s", t->pbuf);
		int x = screen_put(y, 0, t->cols - 1, A_BOLD, b, 0);
		screen_put(y, x, 1, A_REVERSE, " ", 0);   /* the cursor */
		return;
	}
	if (t->hdr.status[0]) {
		int err = !strncmp(t->hdr.status, "cannot", 6) || strstr(t->hdr.status, "error") ||
			  strstr(t->hdr.status, "failed");
		screen_put(y, 0, t->cols, screen_attr(err ? R_ERROR : R_STATUS), t->hdr.status, 0);
	}
}

void tui_draw_all(struct tui *t)
{
	screen_size(&t->rows, &t->cols);
	erase();
	if (t->rows < 24 || t->cols < 80) {
		char b[96];
		snprintf(b, sizeof b, "terminal too small (%dx%d); need 80x24", t->cols, t->rows);
		int w = (int)strlen(b), x = t->cols > w ? (t->cols - w) / 2 : 0;
		screen_put(t->rows / 2, x, t->cols, A_BOLD, b, 0);
		if (t->rows > 2)
			screen_put(t->rows / 2 + 1, x, t->cols, A_NORMAL, "q: quit", 0);
		refresh();
		return;
	}
	t->vy = 3;
	t->vh = t->rows - 4;
	if (t->help) {
		help_draw(t, 0, t->rows);    /* the whole screen: every key fits at 80x24 */
		refresh();
		return;
	}
	draw_header(t);
	draw_tabs(t);
	tui_views[t->view]->draw(t, t->vy, t->vh);
	draw_status(t);
	refresh();
}

/* ---- the loop ---------------------------------------------------------- */

static void tui_free(struct tui *t)
{
	for (int i = 0; i < VIEW_COUNT; i++)
		tui_views[i]->free(t);
	report_free(t->r);
	free(t->funcs);
	free(t->fhash);
	strpool_free(t->pool);
	for (int i = 0; i < 3; i++) {
		free(t->fname[i]);
		free(t->fre[i]);
	}
	if (t->have_re)
		regfree(&t->re);
	free(t->sel);
	free(t);
}

int tui_run(struct app *a)
{
	struct tui *t = xcalloc(1, sizeof *t);
	double iv = a->opt->interval > 0.05 ? a->opt->interval : 1.0;
	uint64_t interval = (uint64_t)(iv * 1e9), next;
	int dirty = 1;

	t->a = a;
	t->view = VIEW_TOP;
	t->window = WINDOW_ALL;
	t->sort = SORT_FLAT;
	if (screen_init(t) < 0) {
		screen_end();
		tui_free(t);
		return 1;
	}
	screen_size(&t->rows, &t->cols);
	t->vy = 3;
	t->vh = t->rows - 4;
	collect(t, ACT_BUILD);
	next = now_ns() + (interval < 200000000u ? interval : 200000000u);

	for (;;) {
		int ev, act = 0, ch;
		uint64_t now;

		if (dirty) {
			tui_draw_all(t);
			dirty = 0;
		}
		now = now_ns();
		int timeout = next > now ? (int)((next - now) / 1000000u) + 1 : 0;
		if (timeout > TICK_MS)
			timeout = TICK_MS;
		ev = screen_wait(timeout);
		if (ev & SCR_QUIT)
			break;
		if (ev & SCR_ERRLINE) {
			const char *l;
			while ((l = screen_errline()))
				tui_status(t, "%s", l);
			dirty = 1;
		}
		int got = 0;
		while ((ch = screen_getch()) != ERR) {
			int r = ch == KEY_RESIZE ? ACT_COLLECT | ACT_DRAW : keys_handle(t, ch);
			got = 1;
			if (r & ACT_QUIT)
				break;
			/* before the next key: it must act on what this one made
			 * (typed-ahead "t Enter" opens a group of the new list) */
			if (r & (ACT_BUILD | ACT_COLLECT)) {
				screen_size(&t->rows, &t->cols);
				t->vh = t->rows - 4;
				collect(t, r & (ACT_BUILD | ACT_COLLECT));
				r |= ACT_DRAW;
			}
			act |= r & (ACT_DRAW | ACT_QUIT);
		}
		if (ch != ERR)
			break;        /* quit */
		/* the terminal went away: nothing to restore it for, but exit
		 * cleanly (and the target is left as it was) */
		if ((ev & SCR_HUP) || (!got && (ev & SCR_INPUT) && screen_input_eof()))
			break;
		now = now_ns();
		int tick = 0;
		if (now >= next) {
			/* until the first samples arrive, look every 200 ms: the
			 * first picture should not wait a whole interval */
			next = now + (t->hdr.samples || t->frozen || interval < 200000000u ?
				      interval : 200000000u);
			/* paused or over: only the header moves */
			if (!t->paused && !t->frozen)
				act |= ACT_BUILD;
			tick = 1;
			/* a launched command shares our terminal: whatever it
			 * printed is painted over once per interval */
			if (t->hdr.launched)
				screen_repaint_all();
		}
		if (tick || (act & (ACT_BUILD | ACT_COLLECT))) {
			screen_size(&t->rows, &t->cols);
			t->vh = t->rows - 4;
			collect(t, act & (ACT_BUILD | ACT_COLLECT));
			act |= ACT_DRAW;
		}
		if (t->hdr.done && !t->hdr.exited && !t->done_noted) {
			t->done_noted = 1;
			if (a->opt->duration > 0)
				tui_status(t, "sampling stopped after -d %gs; data kept; s to save, q to quit",
					   a->opt->duration);
			else
				tui_status(t, "sampling stopped; data kept; s to save, q to quit");
			act |= ACT_DRAW;
		}
		if (t->hdr.exited && !t->exit_noted) {
			t->exit_noted = 1;
			tui_status(t, "target exited %s data kept; s to save, q to quit",
				   t->unicode ? "\xe2\x80\x94" : "-");
			act |= ACT_DRAW;
		}
		if (act & ACT_DRAW)
			dirty = 1;
	}
	screen_end();
	tui_free(t);
	return 0;
}
