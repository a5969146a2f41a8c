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

/* Go symbol table (.gopclntab), for Go binaries without .symtab/DWARF
 * (built with -ldflags=-s -w). Used by the symbolizer. */
struct gopclntab;
/* data/size: the .gopclntab section bytes (copied); text_start: the vaddr of
 * runtime.text (.text section start). NULL if not a supported pclntab. */
struct gopclntab *gopclntab_open(const void *data, size_t size, uint64_t text_start);
void gopclntab_close(struct gopclntab *t);
/* pc is a link-time vaddr. Returns the function name (owned by t) or NULL;
 * file/line when known (file owned by t, line 0 when unknown). */
const char *gopclntab_lookup(struct gopclntab *t, uint64_t pc,
			     const char **file, int *line, uint64_t *entry);

#endif
