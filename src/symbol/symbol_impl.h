/* Internals of the symbol module shared between its files. */
#ifndef CTOP_SYMBOL_IMPL_H
#define CTOP_SYMBOL_IMPL_H

#include <stdint.h>
#include <sys/types.h>

/* A JIT symbol map (/tmp/perf-PID.map) read incrementally. */
struct perfmap;

/* Opens the map of a process: path is the file as we see it (inside the
 * target's root), uid0/uid1 the owners we accept besides root. NULL when the
 * file does not exist or must not be trusted (dbg says why). */
struct perfmap *perfmap_open(const char *path, uid_t uid0, uid_t uid1);
void perfmap_close(struct perfmap *pm);
/* Reads what was appended since the last call, at most a few MiB per
 * call (the rest on the next ones). 1 if entries were added, 0 if not,
 * -errno on error. */
int perfmap_update(struct perfmap *pm);
/* The newest entry containing pc, or NULL. */
const char *perfmap_lookup(const struct perfmap *pm, uint64_t pc, uint64_t *start);

#endif
