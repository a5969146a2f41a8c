/* Turn a raw sample into a list of addresses, leaf first. pcs[0] is the
 * exact interrupted pc; later entries are return address - 1 (the call
 * site), so one symbol lookup per entry is right for every frame.
 * Modes: fp = kernel callchain (or a frame-pointer walk of the copied stack
 * for the ptrace paths); dwarf/auto = libdwfl CFI unwinding of the copied
 * stack, which falls back to frame pointers per frame where an object has no
 * CFI (Go), i.e. auto picks per object. */
#ifndef CTOP_UNWIND_H
#define CTOP_UNWIND_H

#include "common.h"
#include "options.h"
#include "symbol.h"

struct unwinder;

struct unwinder *unwinder_new(struct symtab *st, enum unwind_mode mode);
void unwinder_free(struct unwinder *u);
/* Returns the number of pcs written (<= max), 0 if nothing usable. When the
 * stack was deeper than max, the last entry is CTOP_TRUNCATED_PC. */
int unwind_sample(struct unwinder *u, const struct raw_sample *s,
		  uint64_t *pcs, int max);

struct unwind_stats { uint64_t samples, frames, failed, truncated; };
void unwind_get_stats(struct unwinder *u, struct unwind_stats *st);

#endif
