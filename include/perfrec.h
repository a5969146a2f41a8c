/* Decoder for perf_event ring-buffer records (PERF_RECORD_*), pure and
 * bounds-checked: it sees kernel data in production but is fuzzed, so every
 * length is validated before it is used. No allocation; decoded pointers
 * point into the record bytes. */
#ifndef CTOP_PERFREC_H
#define CTOP_PERFREC_H

#include <stddef.h>
#include <stdint.h>
#include "common.h"

/* What the event was opened with: the record layout follows from it. */
struct perfrec_fmt {
	uint64_t sample_type;   /* PERF_SAMPLE_* bits */
	uint64_t regs_mask;     /* sample_regs_user */
};

/* perf's x86-64 user register mask for DWARF unwinding: AX..SS (bits 0-11)
 * and R8..R15 (bits 16-23); DS ES FS GS are not sampled. */
#define PERFREC_REGS_MASK UINT64_C(0xff0fff)

enum perfrec_kind {
	PERFREC_SAMPLE = 1,     /* u.sample valid */
	PERFREC_LOST,           /* u.lost valid (LOST or LOST_SAMPLES) */
	PERFREC_FORK,           /* u.task valid */
	PERFREC_EXIT,           /* u.task valid */
	PERFREC_OTHER,          /* well-formed header, a type we ignore */
};

struct perfrec {
	enum perfrec_kind kind;
	uint32_t type;          /* PERF_RECORD_* */
	union {
		struct raw_sample sample;
		uint64_t lost;
		struct { uint32_t pid, ppid, tid, ptid; uint64_t time; } task;
	} u;
};

/* Decode one record of len bytes starting with its perf_event_header.
 * Returns 0, or -EINVAL when the record is malformed (size field disagrees
 * with len, field runs past the end, callchain/stack sizes impossible), or
 * -ENOTSUP when fmt asks for sample fields this decoder does not parse
 * (READ, BRANCH_STACK and later ones). */
int perfrec_decode(const struct perfrec_fmt *fmt, const void *rec, size_t len,
		   struct perfrec *out);

/* Number of user entries in a kernel callchain (PERF_CONTEXT_* markers and
 * kernel-context entries not counted). */
uint32_t perfrec_user_ips(const uint64_t *ips, uint32_t nr);

#endif
