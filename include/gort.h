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
	pid_t tid;                /* running/syscall: its thread (m.procid), else 0 */
	int stale;                /* running: sched holds no current stack, so
				   * pcs is just {startpc}, the goroutine's function */
};
/* read: goroutines returned; skipped: g structs that failed validation (torn
 * or garbage, the target runs on while we read); system: runtime-internal
 * goroutines left out, as Go's own goroutine profile and NumGoroutine do. */
struct gort_stats { unsigned read, skipped; uint64_t total_ns; unsigned system; };

/* Reads all live goroutines. Returns count or -errno; *out malloc'ed. */
int gort_scan(struct gort *g, struct goroutine **out, struct gort_stats *st);

/* Opens the Go binary at path directly (no process when pid is 0: memory
 * reads are served from the file's initialised data, for tests). */
struct gort *gort_open_exe(const char *path, pid_t pid);

/* Status names: "idle" "runnable" "running" "syscall" "waiting" "moribund"
 * "dead" "enqueue" "copystack" "preempted"; "?" out of range. Scan bit
 * ignored. */
const char *gort_status_name(uint32_t status);
/* One-letter state for thread-style views: R running/runnable/preempted,
 * D syscall, S waiting, ? otherwise. */
char gort_state_char(uint32_t status);
/* Wait reason name from the target's runtime.waitReasonStrings, "" for 0 or
 * out of range. */
const char *gort_wait_reason(struct gort *g, unsigned reason);

/* Offsets of runtime.g / runtime.m fields and addresses of runtime globals,
 * all from DWARF. -1: field absent. Sizes in bytes. */
struct gort_layout {
	int32_t g_size;
	int32_t goid, goid_size;
	int32_t status, status_size;      /* atomicstatus (its .value in 1.20+) */
	int32_t waitreason, waitreason_size;
	int32_t waitsince;
	int32_t sched_pc, sched_sp, sched_bp;
	int32_t stack_lo, stack_hi;
	int32_t startpc, gopc, m;
	int32_t m_size, m_procid, m_curg;
	uint64_t allgs, allglen, allm;    /* variable addresses (link-time) */
	uint64_t waitreason_strings;
	uint32_t nwaitreasons;
};
const struct gort_layout *gort_get_layout(struct gort *g);

/* A runtime.g as decoded from its bytes. */
struct gort_graw {
	int64_t goid;
	uint32_t status;           /* as read, with the scan bit */
	uint32_t waitreason;
	int64_t waitsince;
	uint64_t pc, sp, bp, lo, hi, startpc, gopc, m;
};
enum { GORT_G_OK = 0, GORT_G_SKIP = 1 /* idle or dead */, GORT_G_BAD = -1 };
/* Decodes and validates one g (pure): status in range, goid > 0, a sane
 * stack, sched.sp inside it and sched.pc inside [text_lo, text_hi) unless
 * running. A bp outside the stack is cleared to 0. Returns GORT_G_*. */
int gort_decode_g(const struct gort_layout *l, const void *buf, size_t len,
		  uint64_t text_lo, uint64_t text_hi, struct gort_graw *out);

/* Go symbol table (.gopclntab), for Go binaries without .symtab/DWARF
 * (built with -ldflags=-s -w). Used by the symbolizer. */
struct gopclntab;
/* data/size: the .gopclntab section bytes (copied); text_start: the vaddr of
 * runtime.text (.text section start). NULL if not a supported pclntab. */
struct gopclntab *gopclntab_open(const void *data, size_t size, uint64_t text_start);
/* Finds and opens the table of an ELF file (libelf handle): .gopclntab,
 * .data.rel.ro.gopclntab (PIE), or, in externally linked binaries whose
 * linker merged it into .rodata / .data.rel.ro, by its header there. The
 * text start is the .text section's address. NULL if none. */
struct Elf;
struct gopclntab *gopclntab_open_elf(struct Elf *elf);
void gopclntab_close(struct gopclntab *t);
/* pc is a link-time vaddr. Returns the function name (owned by t) or NULL;
 * file/line when known (file owned by t, line 0 when unknown). */
const char *gopclntab_lookup(struct gopclntab *t, uint64_t pc,
			     const char **file, int *line, uint64_t *entry);

#endif
