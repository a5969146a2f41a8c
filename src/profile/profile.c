/* Aggregation of samples into unique (thread, stack) keys.
 *
 * Layout: entries live in one growable array; their pcs in one growable pool
 * (entries refer to it by offset, so growing it never invalidates anything);
 * an open-addressing index (linear probing, power-of-two size, load <= 1/2)
 * maps a key hash to entry index + 1. Nothing is ever deleted except by
 * profile_reset, so the index needs no tombstones. profile_add on a known
 * stack hashes the pcs, probes, compares and bumps counters: no allocation.
 *
 * Windows: each entry keeps a ring of PROFILE_RING one-second buckets,
 * indexed by (second since start) % PROFILE_RING, and the newest second it
 * holds (last_sec). Buckets between last_sec and a newer sample's second are
 * cleared when that sample arrives; a query only trusts buckets in
 * (last_sec - PROFILE_RING, last_sec], so a stack that got no samples for a
 * long time contributes 0 to "last 10s" without anyone having to expire it.
 * "last N s" as of now = buckets of seconds (now_sec - N, now_sec], i.e. the
 * current partial second plus the N-1 full seconds before it.
 * Cost: 60 x 4 bytes per stack (~13 MB for 50k stacks). */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "profile.h"

#define PROFILE_RING 60
#define NS_PER_SEC 1000000000ull

struct pentry {
	uint64_t hash;
	uint64_t total;
	uint64_t pcoff;         /* index into pool */
	uint32_t n;
	pid_t tid;
	uint32_t last_sec;      /* newest second whose bucket is valid */
	uint32_t ring[PROFILE_RING];
};

struct profile {
	struct pentry *ents;
	uint32_t nents, capents;
	uint32_t *index;        /* entry index + 1, 0 = empty */
	uint32_t mask;          /* index size - 1 */
	uint64_t *pool;
	uint64_t npool, cappool;
	uint64_t samples, dropped;
	uint64_t start_ns, last_ns;
	int started;            /* start_ns set (by reset or the first add) */
	uint64_t period_ns;
};

const char *window_name(enum window w)
{
	switch (w) {
	case WINDOW_ALL: return "since start";
	case WINDOW_10S: return "last 10s";
	case WINDOW_60S: return "last 60s";
	default: return "?";
	}
}

#define INDEX_MIN 1024u

static void profile_init_storage(struct profile *p)
{
	p->capents = 256;
	p->ents = xmalloc(sizeof *p->ents * p->capents);
	p->nents = 0;
	p->mask = INDEX_MIN - 1;
	p->index = xcalloc(INDEX_MIN, sizeof *p->index);
	p->cappool = 4096;
	p->pool = xmalloc(sizeof *p->pool * p->cappool);
	p->npool = 0;
}

struct profile *profile_new(void)
{
	struct profile *p = xcalloc(1, sizeof *p);
	profile_init_storage(p);
	return p;
}

void profile_free(struct profile *p)
{
	if (!p)
		return;
	free(p->ents);
	free(p->index);
	free(p->pool);
	free(p);
}

void profile_reset(struct profile *p, uint64_t t_ns)
{
	uint64_t period = p->period_ns;
	free(p->ents);
	free(p->index);
	free(p->pool);
	memset(p, 0, sizeof *p);
	/* Give memory back: a reset after a burst of unique stacks should not
	 * keep the peak footprint. */
	profile_init_storage(p);
	p->start_ns = t_ns;
	p->last_ns = t_ns;
	p->started = 1;
	p->period_ns = period;
}

/* Word-at-a-time mixing; fmix64 (MurmurHash3 finalizer) at the end spreads
 * pcs that differ only in low bits over the whole index. */
static uint64_t key_hash(pid_t tid, const uint64_t *pcs, uint32_t n)
{
	uint64_t h = HASH_INIT ^ ((uint64_t)(uint32_t)tid << 32) ^ n;
	for (uint32_t i = 0; i < n; i++) {
		h ^= pcs[i];
		h *= 0x9e3779b97f4a7c15ull;
		h = (h << 29) | (h >> 35);
	}
	return hash_mix(h);
}

static void index_grow(struct profile *p)
{
	uint32_t size = (p->mask + 1) * 2;
	uint32_t *idx = xcalloc(size, sizeof *idx);
	uint32_t mask = size - 1;
	for (uint32_t e = 0; e < p->nents; e++) {
		uint32_t s = (uint32_t)p->ents[e].hash & mask;
		while (idx[s])
			s = (s + 1) & mask;
		idx[s] = e + 1;
	}
	free(p->index);
	p->index = idx;
	p->mask = mask;
}

static uint32_t sec_of(const struct profile *p, uint64_t t_ns)
{
	if (t_ns <= p->start_ns)
		return 0;
	uint64_t s = (t_ns - p->start_ns) / NS_PER_SEC;
	return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

static void bucket_add(struct pentry *e, uint32_t sec, uint32_t count)
{
	if (sec > e->last_sec) {
		/* Clear the seconds we skipped (and the one we enter): they
		 * still hold counts from PROFILE_RING seconds ago. */
		uint32_t gap = sec - e->last_sec;
		if (gap >= PROFILE_RING) {
			memset(e->ring, 0, sizeof e->ring);
		} else {
			for (uint32_t s = e->last_sec + 1; s <= sec; s++)
				e->ring[s % PROFILE_RING] = 0;
		}
		e->last_sec = sec;
	} else if (e->last_sec - sec >= PROFILE_RING) {
		return;         /* older than the ring: only in the total */
	}
	uint32_t *b = &e->ring[sec % PROFILE_RING];
	*b = (uint64_t)*b + count > UINT32_MAX ? UINT32_MAX : *b + count;
}

void profile_add(struct profile *p, pid_t tid, const uint64_t *pcs, uint32_t n,
		 uint64_t t_ns, uint32_t count, uint64_t period_ns)
{
	if (period_ns)
		p->period_ns = period_ns;
	if (!count)
		return;
	if (!p->started) {
		p->start_ns = t_ns;
		p->started = 1;
	}
	if (t_ns > p->last_ns)
		p->last_ns = t_ns;

	uint64_t h = key_hash(tid, pcs, n);
	uint32_t s = (uint32_t)h & p->mask;
	struct pentry *e;
	for (;;) {
		uint32_t v = p->index[s];
		if (!v)
			break;
		e = &p->ents[v - 1];
		if (e->hash == h && e->tid == tid && e->n == n &&
		    (n == 0 || !memcmp(p->pool + e->pcoff, pcs, n * sizeof *pcs)))
			goto found;
		s = (s + 1) & p->mask;
	}

	if (p->nents >= PROFILE_MAX_STACKS) {
		p->dropped += count;
		return;
	}
	if (p->nents == p->capents) {
		p->capents *= 2;
		p->ents = xrealloc(p->ents, sizeof *p->ents * p->capents);
	}
	if (p->npool + n > p->cappool) {
		while (p->npool + n > p->cappool)
			p->cappool *= 2;
		p->pool = xrealloc(p->pool, sizeof *p->pool * p->cappool);
	}
	e = &p->ents[p->nents];
	memset(e, 0, sizeof *e);
	e->hash = h;
	e->tid = tid;
	e->n = n;
	e->pcoff = p->npool;
	if (n)
		memcpy(p->pool + p->npool, pcs, n * sizeof *pcs);
	p->npool += n;
	e->last_sec = sec_of(p, t_ns);
	p->index[s] = ++p->nents;
	if (p->nents * 2 > p->mask + 1)
		index_grow(p);

found:
	e->total += count;
	p->samples += count;
	bucket_add(e, sec_of(p, t_ns), count);
}

void profile_totals(const struct profile *p, struct profile_totals *t)
{
	t->samples = p->samples;
	t->stacks = p->nents;
	t->dropped = p->dropped;
	t->start_ns = p->start_ns;
	t->last_ns = p->last_ns;
}

static uint64_t window_count(const struct pentry *e, uint32_t now_sec, uint32_t secs)
{
	/* Valid buckets: (last_sec - RING, last_sec]; wanted: (now - secs, now]. */
	int64_t lo = (int64_t)now_sec - secs + 1;
	int64_t vlo = (int64_t)e->last_sec - PROFILE_RING + 1;
	int64_t hi = now_sec < e->last_sec ? now_sec : e->last_sec;
	if (vlo > lo)
		lo = vlo;
	if (lo < 0)
		lo = 0;
	uint64_t c = 0;
	for (int64_t s = lo; s <= hi; s++)
		c += e->ring[s % PROFILE_RING];
	return c;
}

static uint32_t window_secs(enum window w)
{
	return w == WINDOW_10S ? 10 : w == WINDOW_60S ? 60 : 0;
}

uint64_t profile_window_start(const struct profile *p, enum window w, uint64_t now_ns)
{
	uint32_t secs = window_secs(w), now_sec = sec_of(p, now_ns);
	if (!secs || now_sec + 1 <= secs)
		return p->start_ns;
	return p->start_ns + (uint64_t)(now_sec - secs + 1) * NS_PER_SEC;
}

void profile_foreach(const struct profile *p, enum window w, uint64_t now_ns,
		     profile_visit_fn cb, void *arg)
{
	uint32_t secs = window_secs(w);
	uint32_t now_sec = sec_of(p, now_ns);
	for (uint32_t i = 0; i < p->nents; i++) {
		const struct pentry *e = &p->ents[i];
		uint64_t c = secs ? window_count(e, now_sec, secs) : e->total;
		if (c && cb(e->tid, p->pool + e->pcoff, e->n, c, arg))
			return;
	}
}

uint64_t profile_period_ns(const struct profile *p)
{
	return p->period_ns;
}
