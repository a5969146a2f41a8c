/* Goroutine-style stack groups: members (threads or goroutines) with the same
 * symbolized stack form a group; each group keeps its count per scan and is
 * flagged as a suspected leak when its count keeps growing. Pure. */
#ifndef CTOP_GROUPS_H
#define CTOP_GROUPS_H

#include <stdint.h>
#include <stdio.h>
#include "report.h"

#define GROUPS_HISTORY 512   /* scans kept per group (>= 10 min at 2 s) */

struct group_member {
	const uint64_t *pcs; uint32_t n;   /* leaf first, call-site addresses */
	char state;                        /* R S D ... (goroutines: see gort.h) */
	const char *state_name;            /* optional longer state, e.g. "chan receive" */
	const char *wait;                  /* wchan / syscall / wait reason, may be NULL */
	uint64_t created_pc;               /* goroutines: gopc, else 0 */
};

struct group_view {
	uint32_t id;
	int64_t count;
	int64_t delta_1m;          /* count now minus count ~60 s ago (or first seen) */
	const int64_t *history;    /* counts per scan, oldest first */
	int nhistory;
	const char *states;        /* state mix, e.g. "S" or "S:3,R:1" */
	const char *wait;          /* most common wait point, "" if none */
	const char *top_frame;     /* first frame outside libc/ld.so/runtime */
	const char *created_by;    /* goroutines: function at gopc, else "" */
	uint64_t first_seen_ns;
	int suspect;               /* leak rule (see groups.c) */
	const uint64_t *pcs; uint32_t n;   /* representative stack */
};

struct groups;
struct groups *groups_new(void);
void groups_free(struct groups *g);
void groups_reset(struct groups *g);
/* One scan's members at time t_ns. resolve symbolizes pcs. */
void groups_update(struct groups *g, uint64_t t_ns,
		   const struct group_member *m, size_t n,
		   resolve_fn resolve, void *rctx);
/* Current groups: suspected leaks first, then by count. Valid until next
 * update. Returns count. */
int groups_view(struct groups *g, const struct group_view **out);
/* The batch table: COUNT first, then change over 1 min, state, wait, top frame. */
void groups_print_table(struct groups *g, FILE *out, const char *kind);
uint64_t groups_scans(const struct groups *g);
int64_t groups_total(const struct groups *g);

/* The leak rule (see groups.c) on counts[0..n-1], oldest first, one per
 * scan. 1 suspected leak, 0 not. Exposed for tests. */
int groups_is_leak(const int64_t *counts, int n);

#endif
