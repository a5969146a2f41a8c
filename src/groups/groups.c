/* Goroutine-style stack groups with per-scan history and a leak rule. Pure:
 * no kernel, symbols only through the resolver callback.
 *
 * Grouping key: the symbolized stack, i.e. the sequence of (function, line)
 * of every frame including inline frames, leaf first. Members whose return
 * addresses differ but land on the same source lines (two call sites on one
 * line, a thread interrupted a few instructions apart in the same line)
 * fall into one group, as Go's goroutine dump does. Identical raw stacks are
 * symbolized once per update.
 *
 * History: every group keeps its count for each of the last GROUPS_HISTORY
 * scans, aligned on the global scan number (a group that appears later has
 * 0 for the scans before it existed). The ring is stored twice in a row so
 * the view can hand out the last n counts as one contiguous array without
 * copying. A group whose count drops to 0 stays (showing 0) until it has
 * been 0 for the whole history, then it is dropped; small passing groups
 * (never more than 2 members: a running thread caught somewhere) go after
 * 30 empty scans.
 *
 * Leak rule (man page: LEAK SUSPECTS). Let N be the number of scans so far
 * (at most GROUPS_HISTORY) and take the counts of the group over the last
 * W = min(N, 10) scans, c[0] (oldest) .. c[W-1] (now). The group is a
 * suspected leak when N >= 4 and
 *   1. it never decreased within the window:   c[i] >= c[i-1] for all i,
 *   2. it grew by at least 3 in total:           c[W-1] - c[0] >= 3,
 *   3. and by at least 20 %:                     c[W-1] - c[0] >= 0.2 c[0],
 *   4. the growth is spread over at least 3 scans (c[i] > c[i-1] for 3 or
 *      more i), so a one-off jump (a pool starting, a burst of requests)
 *      is not a leak.
 * A stable group, a group going up and down (workers coming and going) and
 * a single jump are not flagged; a group that stopped growing loses the
 * flag once its growth has left the window (10 scans). Cost: the rule
 * looks at 10 numbers per group per scan. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "groups.h"

#define H GROUPS_HISTORY
#define LEAK_WINDOW 10
#define LEAK_MIN_SCANS 4
#define LEAK_MIN_GROWTH 3
#define LEAK_MIN_STEPS 3
#define DELTA_SPAN_NS (60ull * 1000000000ull)
/* Groups that never had more than SMALL_PEAK members go after SMALL_KEEP
 * empty scans instead of GROUPS_HISTORY: a running thread is caught in a
 * different line at nearly every scan, and each such passing group would
 * otherwise hold 8 KiB of history for the whole history length. */
#define SMALL_PEAK 2
#define SMALL_KEEP 30

struct grp {
	uint32_t id;
	uint64_t hash;
	char *key;
	size_t keylen;
	int64_t hist[2 * H];
	int64_t count;
	uint64_t last_nonzero;     /* scan number */
	int64_t peak;              /* highest count ever */
	uint64_t first_seen_ns;
	char states[64];
	char *wait;
	char *top_frame;
	char *created_by;
	uint64_t *pcs;
	uint32_t n;
	int suspect;
};

struct groups {
	struct grp **g;
	size_t ng, gcap;
	uint32_t next_id;
	uint64_t scans;            /* updates so far */
	uint64_t times[H];         /* t_ns per scan, ring */
	int64_t total;
	struct group_view *view;
	size_t nview;
	/* scratch, reused */
	char *kbuf;
	size_t kcap;
};

struct groups *groups_new(void)
{
	return xcalloc(1, sizeof(struct groups));
}

static void grp_free(struct grp *p)
{
	free(p->key);
	free(p->wait);
	free(p->top_frame);
	free(p->created_by);
	free(p->pcs);
	free(p);
}

void groups_reset(struct groups *g)
{
	for (size_t i = 0; i < g->ng; i++)
		grp_free(g->g[i]);
	g->ng = 0;
	g->scans = 0;
	g->total = 0;
	g->nview = 0;
	g->next_id = 0;
}

void groups_free(struct groups *g)
{
	if (!g)
		return;
	groups_reset(g);
	free(g->g);
	free(g->view);
	free(g->kbuf);
	free(g);
}

uint64_t groups_scans(const struct groups *g) { return g->scans; }
int64_t groups_total(const struct groups *g) { return g->total; }

/* ---- keys --------------------------------------------------------------- */

static void kput(struct groups *g, size_t *len, const char *s, size_t n)
{
	if (*len + n + 1 > g->kcap) {
		g->kcap = (*len + n + 1) * 2;
		g->kbuf = xrealloc(g->kbuf, g->kcap);
	}
	memcpy(g->kbuf + *len, s, n);
	*len += n;
}

/* Symbolized key of a stack into g->kbuf; returns its length. Fields are
 * separated by control characters that never occur in symbol names. */
static size_t make_key(struct groups *g, const uint64_t *pcs, uint32_t n,
		       resolve_fn resolve, void *rctx)
{
	size_t len = 0;
	char num[32];
	for (uint32_t i = 0; i < n; i++) {
		if (pcs[i] == CTOP_TRUNCATED_PC) {
			kput(g, &len, "[truncated]\x1e", 12);
			continue;
		}
		const struct sym_loc *loc = resolve ? resolve(rctx, pcs[i]) : NULL;
		if (!loc || !loc->nframes || !loc->frames) {
			int k = snprintf(num, sizeof num, "%#" PRIx64 "\x1e", pcs[i]);
			kput(g, &len, num, (size_t)k);
			continue;
		}
		for (uint32_t f = 0; f < loc->nframes; f++) {
			const char *fn = loc->frames[f].func ? loc->frames[f].func : "?";
			kput(g, &len, fn, strlen(fn));
			int k = snprintf(num, sizeof num, "\x1f%d\x1e", loc->frames[f].line);
			kput(g, &len, num, (size_t)k);
		}
	}
	kput(g, &len, "", 0);
	g->kbuf[len] = 0;
	return len;
}

/* ---- frames for display ------------------------------------------------- */

static int starts_with(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* Modules whose frames are plumbing, not the place a user looks for. */
static int plumbing_module(const char *name)
{
	if (!name)
		return 0;
	const char *b = strrchr(name, '/');
	b = b ? b + 1 : name;
	return starts_with(b, "libc.so") || starts_with(b, "libc-") ||
	       starts_with(b, "libpthread") || starts_with(b, "ld-linux") ||
	       starts_with(b, "ld-musl") || starts_with(b, "libc.musl") ||
	       starts_with(b, "linux-vdso") || strstr(b, "vdso") != NULL;
}

static char *top_frame_of(const uint64_t *pcs, uint32_t n, resolve_fn resolve, void *rctx)
{
	const char *first = NULL;
	for (uint32_t i = 0; i < n; i++) {
		if (pcs[i] == CTOP_TRUNCATED_PC)
			continue;
		const struct sym_loc *loc = resolve ? resolve(rctx, pcs[i]) : NULL;
		if (!loc || !loc->nframes || !loc->frames) {
			char buf[32];
			snprintf(buf, sizeof buf, "%#" PRIx64, pcs[i]);
			if (!resolve)
				return xstrdup(buf);
			continue;
		}
		for (uint32_t f = 0; f < loc->nframes; f++) {
			const char *fn = loc->frames[f].func ? loc->frames[f].func : "?";
			if (!first)
				first = fn;
			if (plumbing_module(loc->mod ? loc->mod->name : NULL) ||
			    plumbing_module(loc->mod ? loc->mod->path : NULL))
				continue;
			/* Go: the runtime ("runtime.gopark") and its internal
			 * packages ("runtime/internal/syscall.Syscall6") */
			if (starts_with(fn, "runtime.") || starts_with(fn, "runtime/"))
				continue;
			return xstrdup(fn);
		}
	}
	return xstrdup(first ? first : n ? "[unknown]" : "[no stack]");
}

static char *created_by_of(uint64_t created_pc, resolve_fn resolve, void *rctx)
{
	if (!created_pc)
		return xstrdup("");
	/* gopc is a return address: its call site is one byte before. */
	const struct sym_loc *loc = resolve ? resolve(rctx, created_pc - 1) : NULL;
	if (!loc || !loc->nframes || !loc->frames || !loc->frames[0].func) {
		char buf[32];
		snprintf(buf, sizeof buf, "%#" PRIx64, created_pc);
		return xstrdup(buf);
	}
	return xstrdup(loc->frames[0].func);
}

/* ---- update ------------------------------------------------------------- */

struct mref {
	size_t member;
	size_t grp;          /* index into g->g */
	const char *wait;
};

static const char *member_wait(const struct group_member *m)
{
	if (m->wait && *m->wait)
		return m->wait;
	if (m->state_name && *m->state_name)
		return m->state_name;
	return "";
}

static int cmp_mref(const void *a, const void *b)
{
	const struct mref *x = a, *y = b;
	if (x->grp != y->grp)
		return x->grp < y->grp ? -1 : 1;
	return strcmp(x->wait, y->wait);
}

/* Open-addressing index from hash to group, rebuilt per update. */
struct gindex { size_t *slot; size_t cap; };

static void gindex_build(struct gindex *ix, struct groups *g)
{
	ix->cap = 64;
	while (ix->cap < g->ng * 2 + 16)
		ix->cap *= 2;
	ix->slot = xmalloc(ix->cap * sizeof *ix->slot);
	for (size_t i = 0; i < ix->cap; i++)
		ix->slot[i] = SIZE_MAX;
	for (size_t i = 0; i < g->ng; i++) {
		size_t s = (size_t)g->g[i]->hash & (ix->cap - 1);
		while (ix->slot[s] != SIZE_MAX)
			s = (s + 1) & (ix->cap - 1);
		ix->slot[s] = i;
	}
}

static size_t gindex_find(struct gindex *ix, struct groups *g, uint64_t h,
			  const char *key, size_t len)
{
	size_t s = (size_t)h & (ix->cap - 1);
	while (ix->slot[s] != SIZE_MAX) {
		struct grp *p = g->g[ix->slot[s]];
		if (p->hash == h && p->keylen == len && memcmp(p->key, key, len) == 0)
			return ix->slot[s];
		s = (s + 1) & (ix->cap - 1);
	}
	return SIZE_MAX;
}

static void gindex_add(struct gindex *ix, struct groups *g, size_t idx)
{
	if ((g->ng + 1) * 2 > ix->cap) {
		free(ix->slot);
		gindex_build(ix, g);
		return;
	}
	size_t s = (size_t)g->g[idx]->hash & (ix->cap - 1);
	while (ix->slot[s] != SIZE_MAX)
		s = (s + 1) & (ix->cap - 1);
	ix->slot[s] = idx;
}

/* Per-update cache of raw stacks already keyed (identical pcs arrays). */
struct rawent { uint64_t h; const uint64_t *pcs; uint32_t n; int used; size_t grp; };

static uint64_t raw_hash(const uint64_t *pcs, uint32_t n)
{
	return hash_fnv(hash_fnv(HASH_INIT, &n, sizeof n), pcs, (size_t)n * sizeof *pcs);
}

static int leak_rule(const int64_t *c, int w)
{
	int steps = 0;
	for (int i = 1; i < w; i++) {
		if (c[i] < c[i - 1])
			return 0;
		steps += c[i] > c[i - 1];
	}
	int64_t growth = c[w - 1] - c[0];
	return growth >= LEAK_MIN_GROWTH && growth * 5 >= c[0] && steps >= LEAK_MIN_STEPS;
}

int groups_is_leak(const int64_t *counts, int n)
{
	if (n < LEAK_MIN_SCANS)
		return 0;
	int w = n < LEAK_WINDOW ? n : LEAK_WINDOW;
	return leak_rule(counts + n - w, w);
}

static void states_string(char *out, size_t len, const unsigned *cnt)
{
	/* "S" when all agree, else "S:3,R:1" by count (no spaces: the batch
	 * table stays splittable on whitespace). */
	int distinct = 0;
	for (int c = 0; c < 256; c++)
		distinct += cnt[c] != 0;
	out[0] = 0;
	if (distinct == 1) {
		for (int c = 0; c < 256; c++)
			if (cnt[c])
				snprintf(out, len, "%c", c);
		return;
	}
	unsigned done[256] = {0};
	size_t off = 0;
	for (int k = 0; k < distinct; k++) {
		int best = -1;
		for (int c = 0; c < 256; c++)
			if (cnt[c] && !done[c] && (best < 0 || cnt[c] > cnt[best]))
				best = c;
		done[best] = 1;
		int w = snprintf(out + off, len - off, "%s%c:%u", k ? "," : "", best, cnt[best]);
		if (w < 0 || (size_t)w >= len - off)
			break;
		off += (size_t)w;
	}
}

static int cmp_view(const void *a, const void *b)
{
	const struct group_view *x = a, *y = b;
	if (x->suspect != y->suspect)
		return y->suspect - x->suspect;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->first_seen_ns != y->first_seen_ns)
		return x->first_seen_ns < y->first_seen_ns ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

static void build_view(struct groups *g)
{
	free(g->view);
	g->view = xcalloc(g->ng + 1, sizeof *g->view);
	g->nview = g->ng;
	if (!g->scans)
		return;
	uint64_t s = g->scans - 1;                 /* current scan number */
	int nh = g->scans < H ? (int)g->scans : H;
	/* delta_1m baseline: the latest scan at least 60 s old, else the
	 * oldest scan we still have. */
	uint64_t oldest = g->scans - (uint64_t)nh;
	uint64_t now = g->times[s % H];
	uint64_t base = oldest;
	for (uint64_t j = s + 1; j-- > oldest;) {
		if (now - g->times[j % H] >= DELTA_SPAN_NS) {
			base = j;
			break;
		}
	}
	for (size_t i = 0; i < g->ng; i++) {
		struct grp *p = g->g[i];
		struct group_view *v = &g->view[i];
		v->id = p->id;
		v->count = p->count;
		v->delta_1m = p->count - p->hist[base % H];
		v->history = &p->hist[s % H + H - (uint64_t)nh + 1];
		v->nhistory = nh;
		v->states = p->states;
		v->wait = p->wait ? p->wait : "";
		v->top_frame = p->top_frame;
		v->created_by = p->created_by ? p->created_by : "";
		v->first_seen_ns = p->first_seen_ns;
		v->suspect = p->suspect;
		v->pcs = p->pcs;
		v->n = p->n;
	}
	qsort(g->view, g->nview, sizeof *g->view, cmp_view);
}

void groups_update(struct groups *g, uint64_t t_ns,
		   const struct group_member *m, size_t n,
		   resolve_fn resolve, void *rctx)
{
	uint64_t s = g->scans++;
	g->times[s % H] = t_ns;

	struct gindex ix;
	gindex_build(&ix, g);
	struct mref *refs = xmalloc((n + 1) * sizeof *refs);
	size_t rcap = 64;
	while (rcap < n * 2 + 16)
		rcap *= 2;
	struct rawent *raw = xcalloc(rcap, sizeof *raw);

	for (size_t i = 0; i < n; i++) {
		const uint64_t *pcs = m[i].pcs;
		uint32_t pn = pcs ? m[i].n : 0;
		uint64_t rh = raw_hash(pcs, pn);
		size_t rs = (size_t)rh & (rcap - 1), gi = SIZE_MAX;
		for (; raw[rs].used; rs = (rs + 1) & (rcap - 1)) {
			if (raw[rs].h == rh && raw[rs].n == pn &&
			    (pn == 0 || memcmp(raw[rs].pcs, pcs, pn * sizeof *pcs) == 0)) {
				gi = raw[rs].grp;
				break;
			}
		}
		if (gi == SIZE_MAX) {
			size_t klen = make_key(g, pcs, pn, resolve, rctx);
			uint64_t kh = hash_fnv(HASH_INIT, g->kbuf, klen);
			gi = gindex_find(&ix, g, kh, g->kbuf, klen);
			if (gi == SIZE_MAX) {
				struct grp *p = xcalloc(1, sizeof *p);
				p->id = ++g->next_id;
				p->hash = kh;
				p->key = xmalloc(klen + 1);
				memcpy(p->key, g->kbuf, klen + 1);
				p->keylen = klen;
				p->first_seen_ns = t_ns;
				p->last_nonzero = s;
				p->n = pn;
				p->pcs = xmalloc(((size_t)pn + 1) * sizeof *p->pcs);
				if (pn)
					memcpy(p->pcs, pcs, pn * sizeof *pcs);
				p->top_frame = top_frame_of(pcs, pn, resolve, rctx);
				p->created_by = created_by_of(m[i].created_pc, resolve, rctx);
				if (g->ng == g->gcap) {
					g->gcap = g->gcap ? g->gcap * 2 : 64;
					g->g = xrealloc(g->g, g->gcap * sizeof *g->g);
				}
				gi = g->ng;
				g->g[g->ng++] = p;
				gindex_add(&ix, g, gi);
			}
			/* remember this raw stack (pcs stay valid during the update) */
			raw[rs] = (struct rawent){ rh, pcs, pn, 1, gi };
		}
		refs[i] = (struct mref){ i, gi, member_wait(&m[i]) };
	}

	/* Counts, state mix and most common wait, group by group. */
	qsort(refs, n, sizeof *refs, cmp_mref);
	for (size_t i = 0; i < g->ng; i++)
		g->g[i]->count = 0;
	g->total = (int64_t)n;
	for (size_t a = 0; a < n;) {
		size_t b = a;
		unsigned cnt[256] = {0};
		const char *best = "";
		size_t bestn = 0;
		while (b < n && refs[b].grp == refs[a].grp) {
			size_t c = b;
			while (c < n && refs[c].grp == refs[a].grp &&
			       strcmp(refs[c].wait, refs[b].wait) == 0)
				c++;
			if (c - b > bestn || (c - b == bestn && *best == 0)) {
				bestn = c - b;
				best = refs[b].wait;
			}
			for (size_t k = b; k < c; k++)
				cnt[(unsigned char)(m[refs[k].member].state ? m[refs[k].member].state : '?')]++;
			b = c;
		}
		struct grp *p = g->g[refs[a].grp];
		p->count = (int64_t)(b - a);
		states_string(p->states, sizeof p->states, cnt);
		free(p->wait);
		p->wait = xstrdup(best);
		a = b;
	}
	free(refs);
	free(raw);
	free(ix.slot);

	/* History, leak flag, and dropping groups that stayed at 0. */
	int nh = g->scans < H ? (int)g->scans : H;
	size_t k = 0;
	for (size_t i = 0; i < g->ng; i++) {
		struct grp *p = g->g[i];
		p->hist[s % H] = p->hist[s % H + H] = p->count;
		if (p->count > p->peak)
			p->peak = p->count;
		if (p->count > 0) {
			p->last_nonzero = s;
		} else if (s - p->last_nonzero >= H ||
			   (p->peak <= SMALL_PEAK && s - p->last_nonzero >= SMALL_KEEP)) {
			grp_free(p);
			continue;
		}
		if (p->count == 0)
			p->states[0] = 0;
		p->suspect = groups_is_leak(&p->hist[s % H + H - (uint64_t)nh + 1], nh);
		g->g[k++] = p;
	}
	g->ng = k;
	build_view(g);
}

int groups_view(struct groups *g, const struct group_view **out)
{
	*out = g->view;
	return (int)g->nview;
}

void groups_print_table(struct groups *g, FILE *f, const char *kind)
{
	const struct group_view *v;
	int n = groups_view(g, &v), empty = 0;
	fprintf(f, "%7s  %7s  %-10s  %-24s  %s\n", "COUNT", "DELTA1M", "STATE", "WAIT", "TOP-FRAME");
	for (int i = 0; i < n; i++) {
		/* Groups that are empty now stay in the view (their history
		 * shows in the TUI) but would crowd a text table: running
		 * threads leave a new one-member group at nearly every scan. */
		if (v[i].count == 0) {
			empty++;
			continue;
		}
		char wait[25];
		/* Fixed-width, no spaces inside a column. */
		snprintf(wait, sizeof wait, "%s", v[i].wait && *v[i].wait ? v[i].wait : "-");
		for (char *c = wait; *c; c++)
			if (*c == ' ')
				*c = '_';
		/* states, wait and the frame come from the target (thread
		 * names, wait reasons, symbols): report_put_clean keeps their
		 * control characters off the terminal. It writes one byte per
		 * byte, so padding by strlen keeps the columns. */
		const char *states = *v[i].states ? v[i].states : "-";
		fprintf(f, "%7" PRId64 "  %+7" PRId64 "  ", v[i].count, v[i].delta_1m);
		report_put_clean(f, states);
		fprintf(f, "%*s  ", strlen(states) < 10 ? 10 - (int)strlen(states) : 0, "");
		report_put_clean(f, wait);
		fprintf(f, "%*s  ", strlen(wait) < 24 ? 24 - (int)strlen(wait) : 0, "");
		report_put_clean(f, v[i].top_frame);
		fprintf(f, "%s\n", v[i].suspect ? "  LEAK?" : "");
	}
	if (empty)
		fprintf(f, "(%d more group%s with no %s now)\n", empty, empty == 1 ? "" : "s",
			kind ? kind : "members");
	if (!g->scans)
		fprintf(f, "(no %s scan yet)\n", kind ? kind : "stack");
}
