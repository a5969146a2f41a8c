/* Aggregation of unwound samples: a table of unique (thread, stack) keys
 * with a total and per-second counts for the sliding windows. Pure: no
 * kernel, no symbols. Memory is bounded by the number of unique stacks
 * (capped at PROFILE_MAX_STACKS; beyond it samples are counted as dropped). */
#ifndef CTOP_PROFILE_H
#define CTOP_PROFILE_H

#include <stdint.h>
#include <sys/types.h>

#define PROFILE_MAX_STACKS 200000

enum window { WINDOW_ALL, WINDOW_10S, WINDOW_60S, WINDOW_COUNT };
const char *window_name(enum window w);   /* "since start", "last 10s", "last 60s" */

struct profile;

struct profile *profile_new(void);
void profile_free(struct profile *p);
/* Forget all counts (key r). Start time becomes t_ns. */
void profile_reset(struct profile *p, uint64_t t_ns);
/* Add count samples (each standing for period_ns of CPU) of stack pcs
 * (leaf first, n >= 1) on thread tid at time t_ns. */
void profile_add(struct profile *p, pid_t tid, const uint64_t *pcs, uint32_t n,
		 uint64_t t_ns, uint32_t count, uint64_t period_ns);

struct profile_totals { uint64_t samples, stacks, dropped; uint64_t start_ns, last_ns; };
void profile_totals(const struct profile *p, struct profile_totals *t);

/* Visit every stack with a nonzero count in window w as of time now_ns.
 * Returning nonzero from cb stops the walk. */
typedef int (*profile_visit_fn)(pid_t tid, const uint64_t *pcs, uint32_t n,
				uint64_t count, void *arg);
void profile_foreach(const struct profile *p, enum window w, uint64_t now_ns,
		     profile_visit_fn cb, void *arg);
/* When window w begins as of now_ns (same clock): the profile's start for
 * WINDOW_ALL, else the start of the oldest one-second bucket the window
 * sums (the current partial second and the N-1 before it), never before the
 * profile's start. The span from it to now_ns is what the window holds,
 * which outputs give as the profile's duration. */
uint64_t profile_window_start(const struct profile *p, enum window w, uint64_t now_ns);
/* Nominal sampling period for outputs (last period_ns passed to add). */
uint64_t profile_period_ns(const struct profile *p);

#endif
