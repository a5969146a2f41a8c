/* Cached CFI rules for the DWARF unwinding fast path (see cfi.h).
 *
 * Why: libdwfl's unwinder re-derives every frame from scratch: it finds the
 * FDE, runs its CFA program up to the pc into a malloc'ed Dwarf_Frame,
 * evaluates each register's rule as a DWARF expression and allocates the
 * next frame state. That was ~1.5 us per frame here, i.e. most of
 * ctop-prof's CPU on deep DWARF stacks. Code is a small set of pcs visited
 * over and over, so the rule of each pc is computed once with libdw and kept
 * in a hash table in the shape x86-64 compilers emit: CFA = rsp or rbp plus
 * an offset, the return address and maybe rbp saved at CFA + offset.
 *
 * The walk keeps the semantics of unwind.c's libdwfl path: the leaf's rule
 * is looked up at its exact pc, callers' at return address - 1 (the call
 * site); a caller's sp is the callee's CFA and must climb; an undefined
 * return address ends the stack; a read past the copied stack ends it and
 * says so. Anything else (CFA expressions as in PLT stubs, signal frames,
 * code without CFI such as Go or JIT code, a CFA based on a register whose
 * value is lost) hands the whole sample back to libdwfl.
 *
 * Memory: 24 bytes per cached pc, at most CFI_MAX_RULES (then the table is
 * emptied and refilled), so it is bounded whatever the target does. */
#include <stdlib.h>
#include <string.h>
#include <dwarf.h>
#include <elfutils/libdw.h>

#include "cfi.h"

#define CFI_MIN_SLOTS 4096u
#define CFI_MAX_RULES (1u << 17)

enum { REG_BP = 6, REG_SP = 7, REG_RA = 16 };
enum { SAVED_SAME, SAVED_AT, SAVED_UNDEF };

struct rule {
	uint64_t pc;            /* lookup pc; 0 = empty slot */
	int32_t cfa_off;
	int16_t ra_off, bp_off; /* saved at CFA + off */
	uint8_t cfa_reg;        /* REG_SP or REG_BP */
	uint8_t ra, bp;         /* SAVED_* */
	uint8_t ok;             /* 0: libdwfl must do this frame */
};

struct cfi_cache {
	struct rule *tab;
	uint32_t mask, n;
	struct cfi_stats st;
};

struct cfi_cache *cfi_cache_new(void)
{
	struct cfi_cache *c = xcalloc(1, sizeof *c);
	c->tab = xcalloc(CFI_MIN_SLOTS, sizeof *c->tab);
	c->mask = CFI_MIN_SLOTS - 1;
	return c;
}

void cfi_cache_free(struct cfi_cache *c)
{
	if (!c)
		return;
	free(c->tab);
	free(c);
}

void cfi_cache_flush(struct cfi_cache *c)
{
	free(c->tab);
	c->tab = xcalloc(CFI_MIN_SLOTS, sizeof *c->tab);
	c->mask = CFI_MIN_SLOTS - 1;
	c->n = 0;
}

void cfi_get_stats(const struct cfi_cache *c, struct cfi_stats *st)
{
	*st = c->st;
	st->rules = c->n;
}

static uint32_t slot_of(uint64_t pc, uint32_t mask)
{
	return (uint32_t)((pc * 0x9e3779b97f4a7c15ull) >> 32) & mask;
}

static void insert(struct rule *tab, uint32_t mask, const struct rule *r)
{
	uint32_t i = slot_of(r->pc, mask);
	while (tab[i].pc)
		i = (i + 1) & mask;
	tab[i] = *r;
}

static void put(struct cfi_cache *c, const struct rule *r)
{
	if (c->n >= CFI_MAX_RULES)
		cfi_cache_flush(c);
	if (2 * (c->n + 1) > c->mask + 1) {
		uint32_t size = (c->mask + 1) * 2;
		struct rule *t = xcalloc(size, sizeof *t);
		for (uint32_t i = 0; i <= c->mask; i++)
			if (c->tab[i].pc)
				insert(t, size - 1, &c->tab[i]);
		free(c->tab);
		c->tab = t;
		c->mask = size - 1;
	}
	insert(c->tab, c->mask, r);
	c->n++;
}

/* "Saved at CFA + off", "same value" or "undefined" from a register's
 * location description; 0 when it is anything else. */
static int saved_rule(Dwarf_Frame *fr, int regno, uint8_t *kind, int16_t *off)
{
	Dwarf_Op mem[3], *ops = NULL;
	size_t n = 0;
	if (dwarf_frame_register(fr, regno, mem, &ops, &n) != 0)
		return 0;
	if (n == 0) {
		*kind = ops ? SAVED_UNDEF : SAVED_SAME;
		*off = 0;
		return 1;
	}
	if (ops[0].atom != DW_OP_call_frame_cfa)
		return 0;
	int64_t o = 0;
	if (n == 2 && ops[1].atom == DW_OP_plus_uconst)
		o = (int64_t)ops[1].number;
	else if (n != 1)
		return 0;       /* val_offset (a value, not a slot) or an expression */
	if (o < INT16_MIN || o > INT16_MAX || (o & 7))
		return 0;
	*kind = SAVED_AT;
	*off = (int16_t)o;
	return 1;
}

/* The rule at pc from the module's .eh_frame, as libdwfl would use it
 * (it tries .eh_frame first). r->ok = 0 when it is not a simple one. */
static void compute(Dwfl *dwfl, uint64_t pc, struct rule *r)
{
	memset(r, 0, sizeof *r);
	r->pc = pc;
	Dwfl_Module *m = dwfl_addrmodule(dwfl, pc);
	Dwarf_Addr bias;
	Dwarf_CFI *cfi = m ? dwfl_module_eh_cfi(m, &bias) : NULL;
	Dwarf_Frame *fr = NULL;
	if (!cfi || dwarf_cfi_addrframe(cfi, pc - bias, &fr) != 0)
		return;
	bool signal = false;
	Dwarf_Op *ops = NULL;
	size_t n = 0;
	if (dwarf_frame_info(fr, NULL, NULL, &signal) != REG_RA || signal ||
	    dwarf_frame_cfa(fr, &ops, &n) != 0 || n != 1)
		goto out;
	int64_t reg, off;
	if (ops[0].atom == DW_OP_bregx) {
		reg = (int64_t)ops[0].number;
		off = (int64_t)ops[0].number2;
	} else if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
		reg = ops[0].atom - DW_OP_breg0;
		off = (int64_t)ops[0].number;
	} else {
		goto out;
	}
	if ((reg != REG_SP && reg != REG_BP) || off < INT32_MIN || off > INT32_MAX)
		goto out;
	r->cfa_reg = (uint8_t)reg;
	r->cfa_off = (int32_t)off;
	if (!saved_rule(fr, REG_RA, &r->ra, &r->ra_off) || r->ra == SAVED_SAME ||
	    !saved_rule(fr, REG_BP, &r->bp, &r->bp_off))
		goto out;
	r->ok = 1;
out:
	free(fr);
}

/* Cached rule of pc, NULL when pc is in no module (not cached: the module
 * may be reported later, after a dlopen). */
static const struct rule *lookup(struct cfi_cache *c, Dwfl *dwfl, uint64_t pc)
{
	c->st.lookups++;
	for (uint32_t i = slot_of(pc, c->mask);; i = (i + 1) & c->mask) {
		if (c->tab[i].pc == pc)
			return &c->tab[i];
		if (!c->tab[i].pc)
			break;
	}
	c->st.misses++;
	if (!dwfl_addrmodule(dwfl, pc))
		return NULL;
	struct rule r;
	compute(dwfl, pc, &r);
	put(c, &r);
	for (uint32_t i = slot_of(pc, c->mask);; i = (i + 1) & c->mask)
		if (c->tab[i].pc == pc)
			return &c->tab[i];
}

/* One word of the copied stack. 0 and *beyond when addr is past its end. */
static int read_word(const struct raw_sample *s, uint64_t addr, uint64_t *v,
		     int *beyond)
{
	uint64_t base = s->regs[CTOP_REG_SP];
	if (addr >= base && addr - base <= s->stack_size &&
	    s->stack_size - (addr - base) >= 8) {
		memcpy(v, s->stack + (addr - base), 8);
		return 1;
	}
	if (addr >= base + s->stack_size && addr - base < s->stack_size + (8u << 20))
		*beyond = 1;
	return 0;
}

int cfi_unwind(struct cfi_cache *c, Dwfl *dwfl, const struct raw_sample *s,
	       uint64_t *pcs, int max, int *more, int *beyond)
{
	uint64_t pc = s->regs[CTOP_REG_IP];
	uint64_t sp = s->regs[CTOP_REG_SP];
	uint64_t bp = s->regs[CTOP_REG_BP];
	int bp_known = 1;
	uint64_t last_sp = 0;
	int n = 0;
	if (pc == 0 || !c || !dwfl)
		return CFI_FALLBACK;
	for (;;) {
		if (pc < 4096 || (n > 0 && sp <= last_sp))
			break;
		last_sp = sp;
		if (n >= max) {
			*more = 1;
			break;
		}
		uint64_t at = n == 0 ? pc : pc - 1;
		pcs[n++] = at;
		const struct rule *r = lookup(c, dwfl, at);
		if (!r || !r->ok) {
			c->st.fallbacks++;
			return CFI_FALLBACK;
		}
		if (r->cfa_reg == REG_BP && !bp_known) {
			c->st.fallbacks++;
			return CFI_FALLBACK;
		}
		uint64_t cfa = (r->cfa_reg == REG_SP ? sp : bp) + (uint64_t)(int64_t)r->cfa_off;
		if (r->ra == SAVED_UNDEF)
			break;          /* outermost frame */
		/* libdwfl reads the registers in DWARF order: rbp before the
		 * return address */
		uint64_t nbp = bp, ra;
		int nbp_known = bp_known;
		if (r->bp == SAVED_AT)
			nbp_known = read_word(s, cfa + (uint64_t)(int64_t)r->bp_off, &nbp, beyond);
		else if (r->bp == SAVED_UNDEF)
			nbp_known = 0;
		if (!read_word(s, cfa + (uint64_t)(int64_t)r->ra_off, &ra, beyond)) {
			if (*beyond)
				break;  /* the stack goes on above the copy */
			/* a slot below the copy: a CFA that makes no sense
			 * here; let libdwfl (and its frame-pointer step) try */
			c->st.fallbacks++;
			return CFI_FALLBACK;
		}
		if (ra == 0)
			break;          /* libdwfl: a zero return address ends it */
		bp = nbp;
		bp_known = nbp_known;
		sp = cfa;
		pc = ra;
	}
	return n;
}
