/* Reading Go goroutines from outside the process (process_vm_readv), with
 * runtime.g field offsets taken from the binary's DWARF. Never stops the
 * target. */
#ifndef CTOP_GORT_H
#define CTOP_GORT_H

#include <stdint.h>
#include <sys/types.h>
#include "common.h"
#include "groups.h"
#include "unwind.h"

struct gort;

/* Detects a Go target. Returns NULL when not Go (no error). When it is Go
 * but goroutines cannot be read (no DWARF), returns a handle whose
 * gort_error() says why. */
struct gort *gort_open(pid_t pid);
void gort_close(struct gort *g);
const char *gort_version(struct gort *g);    /* "go1.19.8" */
const char *gort_error(struct gort *g);      /* NULL when goroutines are readable */

struct goroutine {
	int64_t goid;
	uint32_t status;          /* _Grunnable.. without the scan bit */
	const char *status_name;  /* "running", "waiting", ... */
	const char *wait_reason;  /* "chan receive", ... or "" */
	uint64_t wait_since_ns;   /* 0 if unknown */
	uint64_t gopc, startpc;
	uint32_t n;
	uint64_t pcs[64];         /* leaf first, call-site addresses */
};
struct gort_stats { unsigned read, skipped; uint64_t total_ns; };

/* Reads all live goroutines. Returns count or -errno; *out malloc'ed. */
int gort_scan(struct gort *g, struct goroutine **out, struct gort_stats *st);

#endif
