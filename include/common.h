/* Shared types and helpers used by every module. */
#ifndef CTOP_COMMON_H
#define CTOP_COMMON_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#define CTOP_VERSION "0.1.0"

/* Deepest stack kept per sample. Deeper stacks are cut at the root side and
 * get the pseudo-frame CTOP_TRUNCATED_PC as their outermost entry, so the cut
 * is visible in every view and output ("[truncated]"). */
#define CTOP_MAX_FRAMES 512
#define CTOP_TRUNCATED_PC UINT64_C(0xfffffffffffffff0)

/* Registers as the perf sampler delivers them (perf's x86-64 user regs order,
 * mask 0xff0fff: AX BX CX DX SI DI BP SP IP FLAGS CS SS ... R8-R15). The
 * ptrace paths fill the same layout so one unwinder serves all samplers. */
enum ctop_reg {
	CTOP_REG_AX, CTOP_REG_BX, CTOP_REG_CX, CTOP_REG_DX, CTOP_REG_SI,
	CTOP_REG_DI, CTOP_REG_BP, CTOP_REG_SP, CTOP_REG_IP, CTOP_REG_FLAGS,
	CTOP_REG_CS, CTOP_REG_SS, CTOP_REG_DS, CTOP_REG_ES, CTOP_REG_FS,
	CTOP_REG_GS, CTOP_REG_R8, CTOP_REG_R9, CTOP_REG_R10, CTOP_REG_R11,
	CTOP_REG_R12, CTOP_REG_R13, CTOP_REG_R14, CTOP_REG_R15,
	CTOP_NREGS
};

/* A sample as it comes out of a sampler, before unwinding. Pointers are only
 * valid during the callback that receives it. */
struct raw_sample {
	pid_t pid, tid;
	uint64_t time_ns;        /* CLOCK_MONOTONIC */
	uint64_t period_ns;      /* CPU time this sample stands for */
	/* fp mode: user callchain from the kernel, leaf first (may be empty) */
	uint32_t nr_ips;
	const uint64_t *ips;
	/* dwarf mode: user registers and a copy of the stack from regs[SP] */
	int has_regs;
	uint64_t regs[CTOP_NREGS];
	const uint8_t *stack;
	uint64_t stack_size;
	/* the kernel stopped the callchain at its depth limit
	 * (perf_event_max_stack): the root side is missing */
	int ips_truncated;
};

uint64_t now_ns(void);          /* CLOCK_MONOTONIC in ns */
uint64_t realtime_ns(void);     /* CLOCK_REALTIME in ns (pprof time_nanos) */
void sleep_ns(uint64_t ns);     /* the whole time, despite signals */

/* Hashes for the in-memory tables (not stable across versions, never
 * written out): FNV-1a over n bytes continuing from h (HASH_INIT to start),
 * and MurmurHash3's 64-bit finalizer, which spreads every bit of its input
 * (pcs differ in their low bits, table indexes take the low bits). */
#define HASH_INIT UINT64_C(0xcbf29ce484222325)
uint64_t hash_fnv(uint64_t h, const void *p, size_t n);
uint64_t hash_mix(uint64_t h);

/* Report an error once, at the place that knows the context:
 * "ctop-prof: <message>\n" on stderr. */
void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Verbose diagnostics, printed only with CTOP_DEBUG set in the environment. */
void dbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* Fill r[CTOP_NREGS] from a struct user_regs_struct (PTRACE_GETREGS), given
 * as void * to keep <sys/user.h> out of this header. */
void regs_from_ptrace(uint64_t *r, const void *user_regs_struct);

/* Read a whole small file (e.g. under /proc) into a NUL-terminated buffer.
 * Returns length or -errno. *out must be freed. */
ssize_t read_file(const char *path, char **out);
/* The same on an open descriptor (left open). */
ssize_t read_fd(int fd, char **out);

#endif
