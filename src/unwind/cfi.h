/* Fast path of DWARF unwinding (src/unwind/cfi.c): the CFI rule of every
 * pc, reduced to "CFA = rsp|rbp + off, return address and rbp saved at
 * CFA + off", is taken from libdw once and cached, so a sample's walk is a
 * hash lookup and two stack reads per frame. Frames whose rule is anything
 * else (expressions, signal frames, no CFI) make the whole sample go to
 * libdwfl's unwinder, which also knows the frame-pointer fallback. */
#ifndef CTOP_UNWIND_CFI_H
#define CTOP_UNWIND_CFI_H

#include <stdint.h>
#include <elfutils/libdwfl.h>
#include "common.h"

struct cfi_cache;

struct cfi_cache *cfi_cache_new(void);
void cfi_cache_free(struct cfi_cache *c);
/* Forget every rule (the modules changed). */
void cfi_cache_flush(struct cfi_cache *c);

#define CFI_FALLBACK (-1)

/* Walk s's copied stack (regs + stack) with cached rules. Returns the pcs
 * written (leaf first: the exact ip, then return address - 1), stopping at
 * the outermost frame (return address undefined), at a pc below 4096, at a
 * caller whose sp does not climb, or at max (*more = 1). *beyond is set
 * when a read fell just past the end of the copy (the root side is cut).
 * Returns CFI_FALLBACK when some frame needs libdwfl. */
int cfi_unwind(struct cfi_cache *c, Dwfl *dwfl, const struct raw_sample *s,
	       uint64_t *pcs, int max, int *more, int *beyond);

/* Rules cached, lookups, misses, samples handed back to libdwfl. */
struct cfi_stats { uint64_t rules, lookups, misses, fallbacks; };
void cfi_get_stats(const struct cfi_cache *c, struct cfi_stats *st);

#endif
