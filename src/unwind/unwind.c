/* Unwinding a raw sample into pcs, leaf first (see include/unwind.h).
 *
 * fp:    the kernel's callchain (perf sampler), or a frame-pointer walk of
 *        the copied stack (ptrace paths, no callchain).
 * dwarf/auto: libdwfl's unwinder on the copied stack. Where an object has no
 *        CFI for a pc (Go code, JIT code, stripped .eh_frame), elfutils' x86-64
 *        backend steps with frame pointers instead, so one walk picks the
 *        right method per object.
 *
 * The sample path allocates nothing of its own; libdwfl allocates one small
 * state per frame internally. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <elfutils/libdwfl.h>
#include <linux/perf_event.h>

#include "unwind.h"
#include "cfi.h"

struct unwinder {
	struct symtab *st;
	enum unwind_mode mode;
	Dwfl *dwfl;             /* the symtab's handle we attached to */
	uint64_t gen;
	int attached;           /* 1 ok, -1 attach failed for this dwfl/gen */
	/* the sample being unwound, for the libdwfl callbacks */
	const struct raw_sample *cur;
	uint64_t *pcs;
	int max, n;
	int more;               /* frames beyond max */
	int beyond;             /* a read past the end of the copied stack */
	uint64_t last_sp;
	struct cfi_cache *cfi;  /* fast path: cached CFI rules (cfi.c) */
	struct unwind_stats stats;
};

/* DWARF register numbers of x86-64 (psABI): rax rdx rcx rbx rsi rdi rbp rsp
 * r8..r15, then 16 = return address (rip). */
static const int dwarf_from_ctop[17] = {
	CTOP_REG_AX, CTOP_REG_DX, CTOP_REG_CX, CTOP_REG_BX, CTOP_REG_SI,
	CTOP_REG_DI, CTOP_REG_BP, CTOP_REG_SP, CTOP_REG_R8, CTOP_REG_R9,
	CTOP_REG_R10, CTOP_REG_R11, CTOP_REG_R12, CTOP_REG_R13, CTOP_REG_R14,
	CTOP_REG_R15, CTOP_REG_IP,
};

/* dwfl_attach_state needs an Elf only to pick the architecture backend.
 * A bare x86-64 ELF header in static memory serves every target (also
 * those whose executable we may not open) and never goes away, so the
 * Dwfl may outlive the unwinder. */
static Elf *arch_elf(void)
{
	static Elf64_Ehdr hdr;
	static Elf *elf;
	if (elf)
		return elf;
	memcpy(hdr.e_ident, ELFMAG, SELFMAG);
	hdr.e_ident[EI_CLASS] = ELFCLASS64;
	hdr.e_ident[EI_DATA] = ELFDATA2LSB;
	hdr.e_ident[EI_VERSION] = EV_CURRENT;
	hdr.e_type = ET_EXEC;
	hdr.e_machine = EM_X86_64;
	hdr.e_version = EV_CURRENT;
	hdr.e_ehsize = sizeof hdr;
	elf_version(EV_CURRENT);
	elf = elf_memory((char *)&hdr, sizeof hdr);
	return elf;
}

/* ---- libdwfl callbacks -------------------------------------------------- */

/* The unwinder working right now. The callbacks use this rather than the
 * dwfl_arg given at attach time: a Dwfl is attached once, but several
 * unwinders (sampler path, thread scans) may share one symtab, and an
 * unwinder may be freed before the symtab's Dwfl. */
static __thread struct unwinder *active;

static pid_t cb_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	/* we never enumerate threads: dwfl_getthread_frames asks for one */
	return 0;
}

static bool cb_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	struct unwinder *u = active;
	if (!u || !u->cur || u->cur->tid != tid)
		return false;
	*thread_argp = u;
	return true;
}

static bool cb_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result,
			   void *arg)
{
	struct unwinder *u = active;
	if (!u || !u->cur)
		return false;
	const struct raw_sample *s = u->cur;
	uint64_t base = s->regs[CTOP_REG_SP];
	if (addr >= base && addr - base <= s->stack_size &&
	    s->stack_size - (addr - base) >= sizeof *result) {
		memcpy(result, s->stack + (addr - base), sizeof *result);
		return true;
	}
	/* just past the copy: the stack was deeper than what was sampled */
	if (addr >= base + s->stack_size && addr - base < s->stack_size + (8u << 20))
		u->beyond = 1;
	return false;
}

static bool cb_set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct unwinder *u = arg;
	Dwarf_Word r[17];
	for (int i = 0; i < 17; i++)
		r[i] = u->cur->regs[dwarf_from_ctop[i]];
	if (!dwfl_thread_state_registers(thread, 0, 17, r))
		return false;
	dwfl_thread_state_register_pc(thread, u->cur->regs[CTOP_REG_IP]);
	return true;
}

static const Dwfl_Thread_Callbacks callbacks = {
	.next_thread = cb_next_thread,
	.get_thread = cb_get_thread,
	.memory_read = cb_memory_read,
	.set_initial_registers = cb_set_initial_registers,
};

/* ---- helpers ------------------------------------------------------------ */

/* Append pc; when full, remember there was more. 0 go on, 1 stop. */
static int push(struct unwinder *u, uint64_t pc)
{
	if (u->n >= u->max) {
		u->more = 1;
		return 1;
	}
	u->pcs[u->n++] = pc;
	return 0;
}

/* Mark a cut at the root side: the last slot becomes the marker. */
static void mark_truncated(struct unwinder *u)
{
	if (u->n == 0)
		return;
	if (u->n < u->max)
		u->pcs[u->n++] = CTOP_TRUNCATED_PC;
	else
		u->pcs[u->max - 1] = CTOP_TRUNCATED_PC;
	u->stats.truncated++;
}

static void from_callchain(struct unwinder *u, const struct raw_sample *s)
{
	int user = 1;   /* a chain without markers is all user entries */
	int first = 1;
	for (uint32_t i = 0; i < s->nr_ips; i++) {
		uint64_t ip = s->ips[i];
		if (ip >= (uint64_t)PERF_CONTEXT_MAX) {
			user = ip == (uint64_t)PERF_CONTEXT_USER;
			continue;
		}
		if (!user)
			continue;
		/* a zero return address ends the chain (outermost frame) */
		if (ip < 4096)
			break;
		if (push(u, first ? ip : ip - 1))
			break;
		first = 0;
	}
	if (u->more || s->ips_truncated)
		mark_truncated(u);
}

static int stack_word(const struct raw_sample *s, uint64_t addr, uint64_t *v)
{
	uint64_t base = s->regs[CTOP_REG_SP];
	if (addr < base || addr - base > s->stack_size ||
	    s->stack_size - (addr - base) < 8)
		return 0;
	memcpy(v, s->stack + (addr - base), 8);
	return 1;
}

/* rbp chain through the copied stack: [rbp] = caller's rbp, [rbp+8] =
 * return address. The chain must climb strictly and stay inside the copy. */
static void fp_walk(struct unwinder *u, const struct raw_sample *s)
{
	uint64_t fp = s->regs[CTOP_REG_BP];
	if (push(u, s->regs[CTOP_REG_IP]))
		return;
	while (s->stack) {
		uint64_t next, ret;
		if ((fp & 7) || !stack_word(s, fp, &next) || !stack_word(s, fp + 8, &ret)) {
			/* the chain goes on above the copy: its root is cut */
			uint64_t base = s->regs[CTOP_REG_SP];
			if (!(fp & 7) && fp >= base && fp - base < s->stack_size + (8u << 20) &&
			    u->n > 1)
				u->more = 1;
			break;
		}
		if (ret < 4096)
			break;
		if (push(u, ret - 1))
			break;
		if (next <= fp)
			break;
		fp = next;
	}
	if (u->more)
		mark_truncated(u);
}

static int frame_cb(Dwfl_Frame *f, void *arg)
{
	struct unwinder *u = arg;
	Dwarf_Addr pc;
	bool act;
	Dwarf_Word sp;
	if (!dwfl_frame_pc(f, &pc, &act) || pc < 4096)
		return DWARF_CB_ABORT;
	/* Guard against garbage CFI results: every caller frame sits strictly
	 * above its callee on the stack. */
	if (dwfl_frame_reg(f, 7, &sp) == 0) {
		if (u->n > 0 && sp <= u->last_sp)
			return DWARF_CB_ABORT;
		u->last_sp = sp;
	}
	if (push(u, act ? pc : pc - 1))
		return DWARF_CB_ABORT;
	return DWARF_CB_OK;
}

/* 1 when a Dwfl is attached and usable. */
/* Follow the symtab's current Dwfl: a new one (or generation) means
 * re-attaching and forgetting cached CFI. Returns the Dwfl, NULL if none. */
static Dwfl *track_dwfl(struct unwinder *u)
{
	Dwfl *d = symtab_dwfl(u->st);
	uint64_t g = symtab_generation(u->st);
	if (d != u->dwfl || g != u->gen) {
		u->dwfl = d;
		u->gen = g;
		u->attached = 0;
		cfi_cache_flush(u->cfi);
	}
	return d;
}

static int ensure_attached(struct unwinder *u)
{
	if (!u->st)
		return 0;
	Dwfl *d = track_dwfl(u);
	if (!d)
		return 0;
	/* A pc in no known module may be a library loaded since the maps were
	 * read: have them re-read (the symtab rate-limits this), so CFI is
	 * found from the next sample on rather than at the next lookup. */
	if (!dwfl_addrmodule(d, u->cur->regs[CTOP_REG_IP])) {
		symtab_refresh(u->st, 0);
		if (!(d = track_dwfl(u)))
			return 0;
	}
	if (u->attached)
		return u->attached > 0;
	/* Once per Dwfl: a refresh that keeps the handle keeps our state. */
	if (dwfl_pid(d) > 0) {
		u->attached = 1;
		return 1;
	}
	Elf *elf = arch_elf();
	if (elf && dwfl_attach_state(d, elf, u->cur->pid, &callbacks, NULL)) {
		u->attached = 1;
		return 1;
	}
	dbg("unwind: dwfl_attach_state: %s", dwfl_errmsg(-1));
	u->attached = -1;
	return 0;
}

static void dwarf_unwind(struct unwinder *u, const struct raw_sample *s)
{
	u->beyond = 0;
	u->last_sp = 0;
	/* Fast path: cached rules; libdwfl only for what they cannot do. */
	int n = cfi_unwind(u->cfi, u->dwfl, s, u->pcs, u->max, &u->more, &u->beyond);
	if (n != CFI_FALLBACK) {
		u->n = n;
		if (u->more || (u->beyond && u->n > 0))
			mark_truncated(u);
		return;
	}
	u->n = 0;
	u->more = 0;
	u->beyond = 0;
	active = u;
	if (dwfl_getthread_frames(u->dwfl, s->tid, frame_cb, u) != 0 && u->n == 0)
		dbg("unwind: tid %d: %s", (int)s->tid, dwfl_errmsg(-1));
	active = NULL;
	/* A walk that ran off the end of the copied stack lost its root side:
	 * say so rather than show a middle frame as the root. */
	if (u->more || (u->beyond && u->n > 0))
		mark_truncated(u);
}

/* ---- API ---------------------------------------------------------------- */

struct unwinder *unwinder_new(struct symtab *st, enum unwind_mode mode)
{
	struct unwinder *u = xcalloc(1, sizeof *u);
	u->st = st;
	u->mode = mode;
	u->cfi = cfi_cache_new();
	return u;
}

void unwinder_free(struct unwinder *u)
{
	/* The Dwfl (owned by the symtab) keeps our callbacks; they only run
	 * inside dwfl_getthread_frames, and find their unwinder in `active`. */
	if (u)
		cfi_cache_free(u->cfi);
	free(u);
}

int unwind_sample(struct unwinder *u, const struct raw_sample *s,
		  uint64_t *pcs, int max)
{
	if (!u || !s || !pcs || max <= 0)
		return 0;
	u->stats.samples++;
	u->cur = s;
	u->pcs = pcs;
	u->max = max;
	u->n = 0;
	u->more = 0;

	int regs_ok = s->has_regs && s->regs[CTOP_REG_IP] >= 4096;
	if (s->nr_ips && (u->mode == UNWIND_FP || !regs_ok || !s->stack)) {
		from_callchain(u, s);
	} else if (regs_ok) {
		if (u->mode != UNWIND_FP && s->stack && ensure_attached(u)) {
			dwarf_unwind(u, s);
			/* libdwfl found nothing past the leaf (no module for
			 * it, no CFI, no usable frame pointer rule): try the
			 * rbp chain and keep it if it went further. */
			if (u->n <= 1) {
				u->n = 0;
				u->more = 0;
				fp_walk(u, s);
			}
		} else {
			fp_walk(u, s);
		}
	}
	u->cur = NULL;
	if (u->n == 0)
		u->stats.failed++;
	u->stats.frames += (uint64_t)u->n;
	return u->n;
}

void unwind_get_stats(struct unwinder *u, struct unwind_stats *st)
{
	memset(st, 0, sizeof *st);
	if (u)
		*st = u->stats;
}
