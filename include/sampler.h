/* Samplers deliver raw samples of the target's threads. Backends:
 * perf (perf_event_open, src/sample/perf.c) and ptrace (src/sample/ptrace.c). */
#ifndef CTOP_SAMPLER_H
#define CTOP_SAMPLER_H

#include <stdint.h>
#include "common.h"
#include "options.h"

struct sampler;

struct sampler_opts {
	pid_t pid;
	const pid_t *tids;      /* NULL = all threads, including later ones */
	int ntids;
	unsigned freq;
	enum unwind_mode unwind;  /* FP: kernel callchains; else regs + stack copy */
	int enable_on_exec;     /* launch mode: start counting at exec */
};

typedef void (*sample_cb)(const struct raw_sample *s, void *arg);

/* Open a sampler. On failure returns -errno and writes one line (cause and
 * remedy, without "ctop-prof: ") into err. */
int sampler_perf_open(const struct sampler_opts *o, struct sampler **out,
		      char *err, size_t errlen);
int sampler_ptrace_open(const struct sampler_opts *o, struct sampler **out,
			char *err, size_t errlen);

/* Wait up to timeout_ms for data. >0 data ready, 0 timeout, -errno. */
int sampler_wait(struct sampler *s, int timeout_ms);
/* Hand every pending sample to cb. Returns samples delivered or -errno.
 * Also follows new threads of the target. */
int sampler_drain(struct sampler *s, sample_cb cb, void *arg);
/* 1 when the target process has exited (all its threads gone). */
int sampler_target_gone(struct sampler *s);

struct sampler_stats {
	uint64_t samples, lost;
	unsigned threads;        /* threads currently sampled */
	unsigned eff_freq;       /* effective rate after any rate limiting */
};
void sampler_get_stats(struct sampler *s, struct sampler_stats *st);
/* "perf cpu-clock 199 Hz", "ptrace 49 Hz" */
const char *sampler_describe(struct sampler *s);
void sampler_close(struct sampler *s);

#endif
