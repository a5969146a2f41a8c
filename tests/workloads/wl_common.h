/* Helpers shared by the C test workloads (header-only, static). */
#ifndef WL_COMMON_H
#define WL_COMMON_H

#include <stdlib.h>
#include <time.h>

/* Seconds to run from argv[i]; 0 (or absent) = until killed. */
static inline double wl_seconds(int argc, char **argv, int i)
{
	return argc > i ? atof(argv[i]) : 0.0;
}

static inline double wl_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A fixed amount of CPU work whose cost does not depend on data, code
 * alignment or branch prediction: a dependent multiply-add chain. The asm
 * barrier keeps the compiler from folding or vectorising the loop, so two
 * functions that expand this macro with the same n cost the same. It is a
 * macro, not an inline function, so no inline frame shows up in profiles. */
#define WL_BURN(x, n) do {                                                 \
	for (unsigned long wl_i_ = 0; wl_i_ < (n); wl_i_++) {              \
		(x) = (x) * 6364136223846793005UL + 1442695040888963407UL; \
		__asm__ volatile("" : "+r"(x));                             \
	}                                                                  \
} while (0)

#endif
