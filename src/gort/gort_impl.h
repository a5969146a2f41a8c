/* Internals shared by the gort module sources and tests/unit/test_gort.c. */
#ifndef CTOP_GORT_IMPL_H
#define CTOP_GORT_IMPL_H

#include <stdint.h>
#include "gort.h"

/* SP delta (bytes from the function's entry SP) at pc, from the pcsp table:
 * the return address of the frame at pc lives at sp + delta. 0 or -ENOENT. */
int gopclntab_spdelta(struct gopclntab *t, uint64_t pc, int32_t *delta);
/* The runtime.text the table's entry offsets are relative to. */
uint64_t gopclntab_text_start(const struct gopclntab *t);

#endif
