/* Function-level report of a profile (pprof semantics).
 *
 * report_build walks the profile once. Every distinct pc is resolved once per
 * build (pc -> run of (function id, line) frames, innermost inline frame
 * first), so a build costs one hash lookup per stack frame, not one resolver
 * call. Filtered stacks are kept as runs of (function, line) frames, leaf
 * first; flat, cum and per-line counts are summed during the walk, while the
 * call trees, flame layout and peek are derived from the kept stacks on
 * demand.
 *
 * Semantics (as `go tool pprof`):
 * - stack order, leaf to root: for each pc, its frames[0..n-1] (inlined
 *   callee first, the real function last); every inline frame is a function.
 * - functions are identified by name + file + module.
 * - focus: keep stacks with at least one frame whose function name matches;
 *   ignore: drop stacks with a matching frame; both look at every frame,
 *   before hide. hide: elide matching frames; the next frame becomes the
 *   leaf and gets the flat count. A stack left without frames is dropped
 *   (pprof removes samples with no locations). Unlike pprof, the regexes
 *   match the function name only, not its file or module (as the
 *   exporters do).
 * - flat: count of stacks whose leaf is the function; cum: count of stacks
 *   containing it, once per stack even under recursion.
 * - peek edges are counted once per stack; self edges (direct recursion) are
 *   not edges, as in pprof's graph.
 * - line numbers 0 (unknown) are kept out of the per-line tables. */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "report.h"

/* ---- small helpers ------------------------------------------------------ */

/* Strings hashed with their terminator, so (name, file) pairs cannot run
 * together; NULL differs from "". */
static uint64_t str_hash(uint64_t h, const char *s)
{
	return s ? hash_fnv(h, s, strlen(s) + 1) : hash_fnv(h, "\1", 1);
}

static int str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return !strcmp(a, b);
}

/* Open-addressing map uint64 -> uint32 (value stored + 1; 0 = empty). */
struct u64map {
	uint64_t *keys;
	uint32_t *vals;
	uint32_t mask, n;
};

static void u64map_init(struct u64map *m, uint32_t size)
{
	uint32_t s = 64;
	while (s < size)
		s *= 2;
	m->keys = xmalloc(sizeof *m->keys * s);
	m->vals = xcalloc(s, sizeof *m->vals);
	m->mask = s - 1;
	m->n = 0;
}

static void u64map_free(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}

static void u64map_grow(struct u64map *m)
{
	struct u64map g;
	u64map_init(&g, (m->mask + 1) * 2);
	for (uint32_t i = 0; i <= m->mask; i++) {
		if (!m->vals[i])
			continue;
		uint32_t s = (uint32_t)hash_mix(m->keys[i]) & g.mask;
		while (g.vals[s])
			s = (s + 1) & g.mask;
		g.keys[s] = m->keys[i];
		g.vals[s] = m->vals[i];
	}
	g.n = m->n;
	u64map_free(m);
	*m = g;
}

/* Returns a pointer to the value slot (value + 1, 0 if just inserted). */
static uint32_t *u64map_slot(struct u64map *m, uint64_t key)
{
	uint32_t s = (uint32_t)hash_mix(key) & m->mask;
	while (m->vals[s]) {
		if (m->keys[s] == key)
			return &m->vals[s];
		s = (s + 1) & m->mask;
	}
	/* Miss: grow only now, so hits (the common case) never pay for it. */
	if ((m->n + 1) * 2 > m->mask + 1) {
		u64map_grow(m);
		s = (uint32_t)hash_mix(key) & m->mask;
		while (m->vals[s])
			s = (s + 1) & m->mask;
	}
	m->keys[s] = key;
	m->n++;
	return &m->vals[s];
}

/* String arena: function names and files are copied into the report so it
 * stays valid after the symbol tables are refreshed. */
struct achunk { struct achunk *next; size_t used, size; char data[]; };

static char *arena_strdup(struct achunk **a, const char *s)
{
	if (!s)
		return NULL;
	size_t len = strlen(s) + 1;
	if (!*a || (*a)->size - (*a)->used < len) {
		size_t size = len > 65536 ? len : 65536;
		struct achunk *c = xmalloc(sizeof *c + size);
		c->next = *a;
		c->used = 0;
		c->size = size;
		*a = c;
	}
	char *d = (*a)->data + (*a)->used;
	memcpy(d, s, len);
	(*a)->used += len;
	return d;
}

static void arena_free(struct achunk *a)
{
	while (a) {
		struct achunk *n = a->next;
		free(a);
		a = n;
	}
}

#define GROW(arr, cap, need) do { \
	if ((need) > (cap)) { \
		size_t c_ = (cap) ? (cap) : 64; \
		while (c_ < (need)) c_ *= 2; \
		(arr) = xrealloc((arr), sizeof *(arr) * c_); \
		(cap) = c_; \
	} } while (0)

/* ---- the report ---------------------------------------------------------- */

/* One frame: function id and (func, line) entry id (NOLINE when the line is
 * unknown); the line itself is lents[lid].line. */
struct rfr { uint32_t func, lid; };
#define NOLINE UINT32_MAX

struct lent { uint32_t func; int32_t line; uint64_t flat, cum; uint32_t stamp; };

struct report {
	struct achunk *strs;
	/* functions */
	struct rfunc *funcs;
	uint64_t *fhash;
	uint8_t *fflags;
	uint32_t *fstamp;
	size_t nfuncs, capfuncs;
	uint32_t *fidx;         /* func id + 1 by hash; open addressing */
	uint32_t fmask;
	/* resolved pcs: pc -> loc; loc -> run of frames in locfr */
	struct u64map pcmap;
	uint32_t *locoff;       /* per loc: start in locfr; locs are consecutive */
	size_t nlocs, caplocs;
	struct rfr *locfr;
	size_t nlocfr, caplocfr;
	/* kept stacks */
	uint32_t *soff;         /* nstacks + 1 offsets into sfr */
	uint64_t *scount;
	size_t nstacks, capstacks, capsoff;
	struct rfr *sfr;
	size_t nsfr, capsfr;
	uint64_t total;
	/* per (function, line) counts, then grouped by function */
	struct u64map linemap;
	struct lent *lents;
	size_t nlents, caplents;
	uint32_t *lineoff;      /* nfuncs + 1, into lsorted */
	uint32_t *lsorted;      /* lent indexes sorted by (func, line) */
	/* build-time inputs */
	struct report_match *match;
	resolve_fn resolve;
	void *rctx;
	/* lazily built trees */
	struct rnode *tree[2];
	uint32_t ntree[2];
};

static void funcs_index_grow(struct report *r)
{
	uint32_t size = (r->fmask + 1) * 2;
	uint32_t *idx = xcalloc(size, sizeof *idx);
	for (size_t i = 0; i < r->nfuncs; i++) {
		uint32_t s = (uint32_t)r->fhash[i] & (size - 1);
		while (idx[s])
			s = (s + 1) & (size - 1);
		idx[s] = (uint32_t)i + 1;
	}
	free(r->fidx);
	r->fidx = idx;
	r->fmask = size - 1;
}

static uint32_t func_intern(struct report *r, const char *name, const char *file,
			    const char *module, int start_line)
{
	uint64_t h = str_hash(str_hash(str_hash(HASH_INIT, name), file), module);
	uint32_t s = (uint32_t)h & r->fmask;
	while (r->fidx[s]) {
		uint32_t id = r->fidx[s] - 1;
		const struct rfunc *f = &r->funcs[id];
		if (r->fhash[id] == h && str_eq(f->name, name) && str_eq(f->file, file) &&
		    str_eq(f->module, module))
			return id;
		s = (s + 1) & r->fmask;
	}
	if (r->nfuncs == r->capfuncs) {
		r->capfuncs = r->capfuncs ? r->capfuncs * 2 : 256;
		r->funcs = xrealloc(r->funcs, sizeof *r->funcs * r->capfuncs);
		r->fhash = xrealloc(r->fhash, sizeof *r->fhash * r->capfuncs);
		r->fflags = xrealloc(r->fflags, sizeof *r->fflags * r->capfuncs);
		r->fstamp = xrealloc(r->fstamp, sizeof *r->fstamp * r->capfuncs);
	}
	uint32_t id = (uint32_t)r->nfuncs++;
	struct rfunc *f = &r->funcs[id];
	f->name = arena_strdup(&r->strs, name);
	f->file = arena_strdup(&r->strs, file);
	f->module = arena_strdup(&r->strs, module ? module : "");
	f->line = 0;
	f->start_line = start_line;
	f->flat = f->cum = 0;
	r->fhash[id] = h;
	r->fstamp[id] = 0;
	r->fflags[id] = (uint8_t)report_match_name(r->match, name);
	r->fidx[s] = id + 1;
	if (r->nfuncs * 2 > (size_t)r->fmask + 1)
		funcs_index_grow(r);
	return id;
}

/* (func, line) entries are interned when a pc is resolved, so the per-frame
 * work in the walk is an array update, not a hash lookup. */
static uint32_t line_intern(struct report *r, uint32_t func, int line)
{
	if (line <= 0)
		return NOLINE;
	uint64_t key = (uint64_t)func << 32 | (uint32_t)line;
	uint32_t *slot = u64map_slot(&r->linemap, key);
	if (!*slot) {
		GROW(r->lents, r->caplents, r->nlents + 1);
		r->lents[r->nlents] = (struct lent){ func, line, 0, 0, 0 };
		*slot = (uint32_t)++r->nlents;
	}
	return *slot - 1;
}

/* Resolve pc (once per build) and return its loc index. */
static uint32_t pc_loc(struct report *r, uint64_t pc)
{
	uint32_t *slot = u64map_slot(&r->pcmap, pc);
	if (*slot)
		return *slot - 1;

	GROW(r->locoff, r->caplocs, r->nlocs + 2);
	uint32_t loc = (uint32_t)r->nlocs++;
	r->locoff[loc] = (uint32_t)r->nlocfr;
	*slot = loc + 1;

	const struct sym_loc *sl = NULL;
	if (pc == CTOP_TRUNCATED_PC) {
		GROW(r->locfr, r->caplocfr, r->nlocfr + 1);
		r->locfr[r->nlocfr++] = (struct rfr){ func_intern(r, "[truncated]", NULL, "", 0), NOLINE };
	} else if (r->resolve && (sl = r->resolve(r->rctx, pc)) && sl->nframes && sl->frames) {
		const char *mod = sl->mod && sl->mod->name ? sl->mod->name : "";
		GROW(r->locfr, r->caplocfr, r->nlocfr + sl->nframes);
		for (uint32_t i = 0; i < sl->nframes; i++) {
			const struct sym_frame *fr = &sl->frames[i];
			const char *name = fr->func && *fr->func ? fr->func : "[unknown]";
			uint32_t fn = func_intern(r, name, fr->file, mod, fr->start_line);
			r->locfr[r->nlocfr++] = (struct rfr){ fn, line_intern(r, fn, fr->line) };
		}
	} else {
		GROW(r->locfr, r->caplocfr, r->nlocfr + 1);
		r->locfr[r->nlocfr++] = (struct rfr){ func_intern(r, "[unknown]", NULL, "", 0), NOLINE };
	}
	r->locoff[loc + 1] = (uint32_t)r->nlocfr;
	return loc;
}

struct build_ctx {
	struct report *r;
	pid_t tid;
};

static int build_visit(pid_t tid, const uint64_t *pcs, uint32_t n, uint64_t count, void *arg)
{
	struct build_ctx *b = arg;
	struct report *r = b->r;
	if (b->tid && tid != b->tid)
		return 0;

	/* Append the non-hidden frames right away; roll back if the stack is
	 * dropped by focus/ignore (which look at all frames). */
	size_t start = r->nsfr;
	unsigned seen = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t loc = pc_loc(r, pcs[i]);
		uint32_t a = r->locoff[loc], e = r->locoff[loc + 1];
		GROW(r->sfr, r->capsfr, r->nsfr + (e - a));
		for (uint32_t k = a; k < e; k++) {
			struct rfr fr = r->locfr[k];
			uint8_t fl = r->fflags[fr.func];
			if (fl & REPORT_IGNORE) {
				r->nsfr = start;
				return 0;
			}
			seen |= fl;
			if (!(fl & REPORT_HIDE))
				r->sfr[r->nsfr++] = fr;
		}
	}
	if (!report_match_keep(r->match, seen, r->nsfr - start)) {
		r->nsfr = start;
		return 0;
	}

	GROW(r->scount, r->capstacks, r->nstacks + 1);
	GROW(r->soff, r->capsoff, r->nstacks + 2);
	uint32_t sid = (uint32_t)r->nstacks++;
	r->soff[sid] = (uint32_t)start;
	r->soff[sid + 1] = (uint32_t)r->nsfr;
	r->scount[sid] = count;
	r->total += count;

	uint32_t stamp = sid + 1;
	for (size_t k = start; k < r->nsfr; k++) {
		struct rfr fr = r->sfr[k];
		struct rfunc *f = &r->funcs[fr.func];
		if (k == start)
			f->flat += count;
		if (r->fstamp[fr.func] != stamp) {
			r->fstamp[fr.func] = stamp;
			f->cum += count;
		}
		if (fr.lid != NOLINE) {
			struct lent *le = &r->lents[fr.lid];
			if (k == start)
				le->flat += count;
			if (le->stamp != stamp) {
				le->stamp = stamp;
				le->cum += count;
			}
		}
	}
	return 0;
}

static int lent_cmp(const void *a, const void *b, void *arg)
{
	const struct lent *l = arg;
	const struct lent *x = &l[*(const uint32_t *)a], *y = &l[*(const uint32_t *)b];
	if (x->func != y->func)
		return x->func < y->func ? -1 : 1;
	return (x->line > y->line) - (x->line < y->line);
}

static void build_lines(struct report *r)
{
	r->lineoff = xcalloc(r->nfuncs + 1, sizeof *r->lineoff);
	r->lsorted = xmalloc(sizeof *r->lsorted * (r->nlents ? r->nlents : 1));
	/* Entries met only in dropped stacks (func gone or no count) are out. */
	size_t n = 0;
	for (size_t i = 0; i < r->nlents; i++)
		if (r->lents[i].func != UINT32_MAX && r->lents[i].cum)
			r->lsorted[n++] = (uint32_t)i;
	qsort_r(r->lsorted, n, sizeof *r->lsorted, lent_cmp, r->lents);
	for (size_t i = 0; i < n; i++)
		r->lineoff[r->lents[r->lsorted[i]].func + 1]++;
	for (size_t f = 0; f < r->nfuncs; f++)
		r->lineoff[f + 1] += r->lineoff[f];
	/* The hottest line (by cum; lowest line on ties) stands for the
	 * function in the top table. */
	for (size_t f = 0; f < r->nfuncs; f++) {
		uint64_t best = 0;
		for (uint32_t i = r->lineoff[f]; i < r->lineoff[f + 1]; i++) {
			const struct lent *le = &r->lents[r->lsorted[i]];
			if (le->cum > best) {
				best = le->cum;
				r->funcs[f].line = le->line;
			}
		}
	}
}

/* Functions met only in dropped stacks or only as hidden frames have no
 * samples: leave them out, as pprof does, keeping first-seen order. */
static void compact_funcs(struct report *r)
{
	uint32_t *map = xmalloc(sizeof *map * (r->nfuncs ? r->nfuncs : 1));
	size_t n = 0;
	for (size_t i = 0; i < r->nfuncs; i++) {
		map[i] = UINT32_MAX;
		if (!r->funcs[i].cum)
			continue;
		map[i] = (uint32_t)n;
		r->funcs[n++] = r->funcs[i];
	}
	if (n != r->nfuncs) {
		for (size_t k = 0; k < r->nsfr; k++)
			r->sfr[k].func = map[r->sfr[k].func];
		for (size_t k = 0; k < r->nlents; k++)
			r->lents[k].func = map[r->lents[k].func];
		r->nfuncs = n;
	}
	free(map);
}

/* ---- filters ------------------------------------------------------------ */

struct report_match {
	regex_t re[3];          /* indexed like the REPORT_* bits: focus ignore hide */
	int have[3];
};

static const char *const re_what[3] = { "focus", "ignore", "hide" };

int report_match_new(const struct report_filter *f, struct report_match **out,
		     const char **err)
{
	static __thread char errbuf[256];
	const char *pat[3] = { f ? f->focus : NULL, f ? f->ignore : NULL, f ? f->hide : NULL };
	*out = NULL;
	if (!(pat[0] && *pat[0]) && !(pat[1] && *pat[1]) && !(pat[2] && *pat[2]))
		return 0;
	struct report_match *m = xcalloc(1, sizeof *m);
	for (int k = 0; k < 3; k++) {
		if (!pat[k] || !*pat[k])
			continue;
		int rc = regcomp(&m->re[k], pat[k], REG_EXTENDED | REG_NOSUB);
		if (rc) {
			char msg[160];
			regerror(rc, &m->re[k], msg, sizeof msg);
			snprintf(errbuf, sizeof errbuf, "bad %s regex '%.60s': %s",
				 re_what[k], pat[k], msg);
			if (err)
				*err = errbuf;
			regfree(&m->re[k]);
			report_match_free(m);
			return -EINVAL;
		}
		m->have[k] = 1;
	}
	*out = m;
	return 0;
}

void report_match_free(struct report_match *m)
{
	if (!m)
		return;
	for (int k = 0; k < 3; k++)
		if (m->have[k])
			regfree(&m->re[k]);
	free(m);
}

unsigned report_match_name(const struct report_match *m, const char *name)
{
	unsigned fl = 0;
	if (!m || !name)
		return 0;
	for (int k = 0; k < 3; k++)
		if (m->have[k] && !regexec(&m->re[k], name, 0, NULL, 0))
			fl |= 1u << k;
	return fl;
}

int report_match_keep(const struct report_match *m, unsigned seen, size_t left)
{
	if (seen & REPORT_IGNORE)
		return 0;
	if (m && m->have[0] && !(seen & REPORT_FOCUS))
		return 0;
	return left > 0;
}

struct report *report_build(const struct profile *p, enum window w,
			    uint64_t now_ns, const struct report_filter *f,
			    resolve_fn resolve, void *rctx, const char **err)
{
	struct report *r = xcalloc(1, sizeof *r);
	if (report_match_new(f, &r->match, err) < 0) {
		report_free(r);
		return NULL;
	}
	r->resolve = resolve;
	r->rctx = rctx;
	r->fmask = 1023;
	r->fidx = xcalloc(r->fmask + 1, sizeof *r->fidx);
	u64map_init(&r->pcmap, 4096);
	u64map_init(&r->linemap, 4096);
	GROW(r->soff, r->capsoff, 1);
	r->soff[0] = 0;
	GROW(r->locoff, r->caplocs, 1);
	r->locoff[0] = 0;

	struct build_ctx b = { r, f ? f->tid : 0 };
	if (p)
		profile_foreach(p, w, now_ns, build_visit, &b);
	compact_funcs(r);
	build_lines(r);

	/* Only needed while building. */
	report_match_free(r->match);
	r->match = NULL;
	u64map_free(&r->pcmap);
	u64map_free(&r->linemap);
	free(r->fidx);
	r->fidx = NULL;
	free(r->locoff);
	r->locoff = NULL;
	free(r->locfr);
	r->locfr = NULL;
	r->resolve = NULL;
	r->rctx = NULL;
	return r;
}

void report_free(struct report *r)
{
	if (!r)
		return;
	report_match_free(r->match);
	arena_free(r->strs);
	free(r->funcs);
	free(r->fhash);
	free(r->fflags);
	free(r->fstamp);
	free(r->fidx);
	u64map_free(&r->pcmap);
	free(r->locoff);
	free(r->locfr);
	free(r->soff);
	free(r->scount);
	free(r->sfr);
	u64map_free(&r->linemap);
	free(r->lents);
	free(r->lineoff);
	free(r->lsorted);
	free(r->tree[0]);
	free(r->tree[1]);
	free(r);
}

uint64_t report_total(const struct report *r) { return r->total; }
uint32_t report_nfuncs(const struct report *r) { return (uint32_t)r->nfuncs; }

const struct rfunc *report_func(const struct report *r, uint32_t id)
{
	return id < r->nfuncs ? &r->funcs[id] : NULL;
}

/* ---- sorting -------------------------------------------------------------- */

static int name_cmp(const struct rfunc *a, const struct rfunc *b)
{
	int c = strcmp(a->name, b->name);
	if (c)
		return c;
	c = strcmp(a->file ? a->file : "", b->file ? b->file : "");
	if (c)
		return c;
	return strcmp(a->module, b->module);
}

#define CMP_DESC(x, y) do { if ((x) != (y)) return (x) > (y) ? -1 : 1; } while (0)

struct sortarg { const struct report *r; enum sort_key key; };

static int sort_cmp(const void *a, const void *b, void *arg)
{
	const struct sortarg *sa = arg;
	uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
	const struct rfunc *x = &sa->r->funcs[ia], *y = &sa->r->funcs[ib];
	switch (sa->key) {
	case SORT_FLAT: case SORT_FLAT_PCT:
		CMP_DESC(x->flat, y->flat);
		CMP_DESC(x->cum, y->cum);
		break;
	case SORT_CUM: case SORT_CUM_PCT:
		CMP_DESC(x->cum, y->cum);
		CMP_DESC(x->flat, y->flat);
		break;
	default:
		break;
	}
	int c = name_cmp(x, y);
	if (c)
		return c;
	return (ia > ib) - (ia < ib);
}

/* Descending counts, ties by cum/flat then name; SORT_NAME ascending.
 * Malloc'ed array of report_nfuncs() ids; the caller frees it. */
uint32_t *report_sorted(const struct report *r, enum sort_key key)
{
	uint32_t *ids = xmalloc(sizeof *ids * (r->nfuncs ? r->nfuncs : 1));
	for (size_t i = 0; i < r->nfuncs; i++)
		ids[i] = (uint32_t)i;
	struct sortarg sa = { r, key };
	qsort_r(ids, r->nfuncs, sizeof *ids, sort_cmp, &sa);
	return ids;
}

/* ---- peek ----------------------------------------------------------------- */

static int edge_cmp(const void *a, const void *b, void *arg)
{
	const struct report *r = arg;
	const struct redge *x = a, *y = b;
	CMP_DESC(x->count, y->count);
	int c = name_cmp(&r->funcs[x->func], &r->funcs[y->func]);
	if (c)
		return c;
	return (x->func > y->func) - (x->func < y->func);
}

static void edges_collect(const struct report *r, const uint64_t *cnt,
			  struct redge **out, uint32_t *nout)
{
	uint32_t n = 0;
	for (size_t i = 0; i < r->nfuncs; i++)
		n += cnt[i] != 0;
	*out = xmalloc(sizeof **out * (n ? n : 1));
	*nout = n;
	n = 0;
	for (size_t i = 0; i < r->nfuncs; i++)
		if (cnt[i])
			(*out)[n++] = (struct redge){ (uint32_t)i, cnt[i] };
	qsort_r(*out, n, sizeof **out, edge_cmp, (void *)r);
}

void report_peek(const struct report *r, uint32_t func,
		 struct redge **callers, uint32_t *ncallers,
		 struct redge **callees, uint32_t *ncallees)
{
	size_t nf = r->nfuncs ? r->nfuncs : 1;
	uint64_t *up = xcalloc(nf, sizeof *up), *down = xcalloc(nf, sizeof *down);
	uint32_t *sup = xcalloc(nf, sizeof *sup), *sdown = xcalloc(nf, sizeof *sdown);
	for (size_t s = 0; s < r->nstacks && func < r->nfuncs; s++) {
		uint32_t a = r->soff[s], e = r->soff[s + 1], stamp = (uint32_t)s + 1;
		for (uint32_t k = a; k < e; k++) {
			if (r->sfr[k].func != func)
				continue;
			if (k + 1 < e) {
				uint32_t c = r->sfr[k + 1].func;
				if (c != func && sup[c] != stamp) {
					sup[c] = stamp;
					up[c] += r->scount[s];
				}
			}
			if (k > a) {
				uint32_t c = r->sfr[k - 1].func;
				if (c != func && sdown[c] != stamp) {
					sdown[c] = stamp;
					down[c] += r->scount[s];
				}
			}
		}
	}
	edges_collect(r, up, callers, ncallers);
	edges_collect(r, down, callees, ncallees);
	free(up);
	free(down);
	free(sup);
	free(sdown);
}

/* ---- call trees ----------------------------------------------------------- */

struct tnode { uint32_t func, parent, child, sib; uint64_t self, total; };

static int child_cmp(const void *a, const void *b, void *arg)
{
	const void *const *ctx = arg;
	const struct report *r = ctx[0];
	const struct tnode *t = ctx[1];
	const struct tnode *x = &t[*(const uint32_t *)a], *y = &t[*(const uint32_t *)b];
	CMP_DESC(x->total, y->total);
	int c = name_cmp(&r->funcs[x->func], &r->funcs[y->func]);
	if (c)
		return c;
	return (x->func > y->func) - (x->func < y->func);
}

struct stackcmp { const struct report *r; int inv; };

/* Lexicographic order of stacks read root first (inverted: leaf first). */
static int stack_cmp(const void *a, const void *b, void *arg)
{
	const struct stackcmp *sc = arg;
	const struct report *r = sc->r;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	uint32_t xa = r->soff[x], xn = r->soff[x + 1] - xa;
	uint32_t ya = r->soff[y], yn = r->soff[y + 1] - ya;
	for (uint32_t i = 0; i < xn && i < yn; i++) {
		uint32_t fx = r->sfr[sc->inv ? xa + i : xa + xn - 1 - i].func;
		uint32_t fy = r->sfr[sc->inv ? ya + i : ya + yn - 1 - i].func;
		if (fx != fy)
			return fx < fy ? -1 : 1;
	}
	if (xn != yn)
		return xn < yn ? -1 : 1;
	return (x > y) - (x < y);
}

/* The trie is built from the stacks in lexicographic order: a stack shares
 * with the previous one exactly the prefix it shares with any earlier
 * stack, so each stack only creates nodes past that common prefix. No hash
 * table, sequential memory; at most one node per kept frame. */
static void tree_build(struct report *r, int inv)
{
	size_t n = 1, maxlen = 0;
	struct tnode *t = xmalloc(sizeof *t * (r->nsfr + 1));
	t[0] = (struct tnode){ UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, 0, 0 };
	uint32_t *order = xmalloc(sizeof *order * (r->nstacks ? r->nstacks : 1));
	for (size_t s = 0; s < r->nstacks; s++) {
		order[s] = (uint32_t)s;
		if (r->soff[s + 1] - r->soff[s] > maxlen)
			maxlen = r->soff[s + 1] - r->soff[s];
	}
	struct stackcmp sc = { r, inv };
	qsort_r(order, r->nstacks, sizeof *order, stack_cmp, &sc);
	uint32_t *path = xmalloc(sizeof *path * (maxlen + 1));
	path[0] = 0;
	uint32_t prev = UINT32_MAX, prevlen = 0;
#define FRAME(s, a, len, i) (r->sfr[inv ? (a) + (i) : (a) + (len) - 1 - (i)].func)
	for (size_t k = 0; k < r->nstacks; k++) {
		uint32_t s = order[k];
		uint32_t a = r->soff[s], len = r->soff[s + 1] - a;
		uint64_t c = r->scount[s];
		uint32_t lcp = 0;
		if (prev != UINT32_MAX) {
			uint32_t pa = r->soff[prev];
			while (lcp < len && lcp < prevlen &&
			       FRAME(s, a, len, lcp) == FRAME(prev, pa, prevlen, lcp))
				lcp++;
		}
		for (uint32_t i = lcp; i < len; i++) {
			uint32_t par = path[i];
			t[n] = (struct tnode){ FRAME(s, a, len, i), par, UINT32_MAX, t[par].child, 0, 0 };
			t[par].child = (uint32_t)n;
			path[i + 1] = (uint32_t)n++;
		}
		for (uint32_t i = 0; i <= len; i++)
			t[path[i]].total += c;
		t[path[len]].self += c;
		prev = s;
		prevlen = len;
	}
#undef FRAME
	free(path);
	free(order);

	/* Renumber in preorder with children sorted by total, so that walking
	 * ids in order is walking the displayed tree. Children always have a
	 * larger temporary index than their parent, so subtree sizes come from
	 * one backward pass and new ids from one forward pass. */
	uint32_t *size = xmalloc(sizeof *size * n);
	for (size_t i = 0; i < n; i++)
		size[i] = 1;
	for (size_t i = n - 1; i > 0; i--)
		size[t[i].parent] += size[i];
	uint32_t *nid = xmalloc(sizeof *nid * n);
	uint32_t *kids = NULL;
	size_t capkids = 0;
	struct rnode *out = xmalloc(sizeof *out * n);
	for (size_t i = 0; i < n; i++)
		out[i].next_sibling = UINT32_MAX;
	nid[0] = 0;
	const void *ctx[2] = { r, t };
	for (size_t u = 0; u < n; u++) {
		size_t nk = 0;
		for (uint32_t c = t[u].child; c != UINT32_MAX; c = t[c].sib) {
			GROW(kids, capkids, nk + 1);
			kids[nk++] = c;
		}
		if (nk > 1)
			qsort_r(kids, nk, sizeof *kids, child_cmp, ctx);
		uint32_t next = nid[u] + 1;
		for (size_t k = 0; k < nk; k++) {
			nid[kids[k]] = next;
			next += size[kids[k]];
		}
		struct rnode *o = &out[nid[u]];
		o->func = t[u].func;
		o->parent = u ? nid[t[u].parent] : UINT32_MAX;
		o->self = t[u].self;
		o->total = t[u].total;
		o->first_child = nk ? nid[kids[0]] : UINT32_MAX;
		/* o->next_sibling was set when the parent was visited. */
		for (size_t k = 0; k + 1 < nk; k++)
			out[nid[kids[k]]].next_sibling = nid[kids[k + 1]];
	}
	free(kids);
	free(size);
	free(nid);
	free(t);
	r->tree[inv] = out;
	r->ntree[inv] = (uint32_t)n;
}

/* Built on first use and kept with the report. inverted: leaf-first trie
 * (first level = leaf functions, their totals = flat). A node's self is the
 * count of stacks that end there (for the inverted tree: at the root-most
 * frame). Nodes are numbered in preorder: children of n follow n. */
const struct rnode *report_tree(struct report *r, int inverted, uint32_t *n)
{
	int inv = inverted != 0;
	if (!r->tree[inv])
		tree_build(r, inv);
	if (n)
		*n = r->ntree[inv];
	return r->tree[inv];
}

/* ---- flame graph ------------------------------------------------------------ */

static int flame_cmp(const void *a, const void *b, void *arg)
{
	const struct report *r = ((const void *const *)arg)[0];
	const struct rnode *t = ((const void *const *)arg)[1];
	const struct rnode *x = &t[*(const uint32_t *)a], *y = &t[*(const uint32_t *)b];
	int c = name_cmp(&r->funcs[x->func], &r->funcs[y->func]);
	if (c)
		return c;
	return (x->func > y->func) - (x->func < y->func);
}

/* Children are laid out left to right in name order (as flamegraph.pl
 * does), so boxes do not jump around as counts change between refreshes.
 * A child's edges are placed at floor(parent.w * cumulative / parent.total)
 * from the parent's x: children never overlap or overflow their parent, and
 * the parent's self time is the gap on the right. Boxes are returned in
 * preorder (a parent before its children). Returns the number of boxes
 * (*boxes malloc'ed, also when 0), or -EINVAL. */
int flame_layout(struct report *r, uint32_t zoom, int width, struct flame_box **boxes)
{
	uint32_t n;
	const struct rnode *t = report_tree(r, 0, &n);
	*boxes = NULL;
	if (zoom >= n || width <= 0)
		return -EINVAL;
	size_t cap = 256, nb = 0;
	struct flame_box *out = xmalloc(sizeof *out * cap);
	if (t[zoom].total == 0) {
		*boxes = out;
		return 0;
	}
	struct flame_box *stack = xmalloc(sizeof *stack * 64);
	size_t sp = 0, capstack = 64;
	uint32_t *kids = NULL;
	size_t capkids = 0;
	const void *ctx[2] = { r, t };
	stack[sp++] = (struct flame_box){ zoom, 0, 0, width };
	while (sp) {
		struct flame_box b = stack[--sp];
		GROW(out, cap, nb + 1);
		out[nb++] = b;
		size_t nk = 0;
		for (uint32_t c = t[b.node].first_child; c != UINT32_MAX; c = t[c].next_sibling) {
			GROW(kids, capkids, nk + 1);
			kids[nk++] = c;
		}
		if (!nk)
			continue;
		qsort_r(kids, nk, sizeof *kids, flame_cmp, ctx);
		uint64_t tot = t[b.node].total, acc = 0;
		GROW(stack, capstack, sp + nk);
		size_t first = sp;
		for (size_t k = 0; k < nk; k++) {
			int x0 = b.x + (int)((unsigned __int128)b.w * acc / tot);
			acc += t[kids[k]].total;
			int x1 = b.x + (int)((unsigned __int128)b.w * acc / tot);
			if (x1 > x0)
				stack[sp++] = (struct flame_box){ kids[k], b.depth + 1, x0, x1 - x0 };
		}
		/* Pop order must be left to right: reverse what we pushed. */
		for (size_t i = first, j = sp - 1; i < j; i++, j--) {
			struct flame_box tmp = stack[i];
			stack[i] = stack[j];
			stack[j] = tmp;
		}
	}
	free(stack);
	free(kids);
	*boxes = out;
	return (int)nb;
}

/* ---- source lines ------------------------------------------------------------ */

/* Lines of func with samples, ascending (line 0 = unknown is left out).
 * flat: stacks whose leaf frame is func at that line; cum: stacks with func
 * on that line anywhere in the stack (once per stack). *lines malloc'ed
 * (also when 0 rows). Returns the row count or -EINVAL. */
int report_lines(const struct report *r, uint32_t func, const char **file,
		 struct rline **lines)
{
	*lines = NULL;
	if (file)
		*file = NULL;
	if (func >= r->nfuncs)
		return -EINVAL;
	if (file)
		*file = r->funcs[func].file;
	uint32_t a = r->lineoff[func], e = r->lineoff[func + 1];
	struct rline *out = xmalloc(sizeof *out * (e - a ? e - a : 1));
	for (uint32_t i = a; i < e; i++) {
		const struct lent *le = &r->lents[r->lsorted[i]];
		out[i - a] = (struct rline){ le->line, le->flat, le->cum };
	}
	*lines = out;
	return (int)(e - a);
}

/* ---- text table ---------------------------------------------------------------- */

/* Like `pprof -top`: one header line "Showing nodes accounting for N,
 * P% of T total samples ...", a column header, then rows
 *   flat flat% sum% cum cum% name module file:line
 * sorted by flat. The name is the 6th whitespace-separated field; C++ names
 * may contain spaces ("foo<int, char>"), so only simple names can be cut by
 * field. module is "-" when unknown, file:line "-" when unknown. */
/* Control characters (a planted ESC sequence, a newline that would forge
 * a row) print as '?', so tables are safe on a terminal and keep one row
 * per line. */
void report_put_clean(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

void report_print_top(const struct report *r, FILE *f, int max_rows)
{
	uint32_t *ids = report_sorted(r, SORT_FLAT);
	size_t rows = r->nfuncs;
	if (max_rows > 0 && (size_t)max_rows < rows)
		rows = (size_t)max_rows;
	uint64_t shown = 0;
	for (size_t i = 0; i < rows; i++)
		shown += r->funcs[ids[i]].flat;
	double tot = r->total ? (double)r->total : 1.0;
	fprintf(f, "Showing nodes accounting for %llu, %.2f%% of %llu total samples "
		"(%zu of %zu functions)\n", (unsigned long long)shown,
		100.0 * (double)shown / tot, (unsigned long long)r->total, rows, r->nfuncs);
	fprintf(f, "%10s %7s %7s %10s %7s  %s\n", "flat", "flat%", "sum%", "cum", "cum%",
		"name module file:line");
	uint64_t sum = 0;
	for (size_t i = 0; i < rows; i++) {
		const struct rfunc *fn = &r->funcs[ids[i]];
		sum += fn->flat;
		fprintf(f, "%10llu %6.2f%% %6.2f%% %10llu %6.2f%%  ",
			(unsigned long long)fn->flat, 100.0 * (double)fn->flat / tot,
			100.0 * (double)sum / tot, (unsigned long long)fn->cum,
			100.0 * (double)fn->cum / tot);
		report_put_clean(f, fn->name);
		fputc(' ', f);
		report_put_clean(f, fn->module && *fn->module ? fn->module : "-");
		fputc(' ', f);
		if (fn->file) {
			report_put_clean(f, fn->file);
			fprintf(f, ":%d\n", fn->line);
		} else {
			fputs("-\n", f);
		}
	}
	free(ids);
}
