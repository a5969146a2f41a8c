/* cpusplit [SECONDS]: a 75/25 CPU split, exact by construction.
 * main -> work -> hot75 (3 calls) / cold25 (1 call); hot75 and cold25 run the
 * same fixed arithmetic, so hot75 holds 75% and cold25 25% of the CPU time,
 * and every sample's stack reaches main. Runs until killed, or SECONDS.
 * Built three ways (see mk/20-spine.mk): frame pointers, no frame pointers,
 * and stripped with a separate debug file found through .gnu_debuglink. */
#include <stdio.h>
#include "wl_common.h"

/* ~1 ms per call on this VM: the loop in work() is noise next to it. */
#define CHUNK 1000000UL

volatile unsigned long sink;

__attribute__((noinline)) void hot75(void)
{
	unsigned long x = sink;
	WL_BURN(x, CHUNK);
	sink = x;
}

__attribute__((noinline)) void cold25(void)
{
	unsigned long x = sink;
	WL_BURN(x, CHUNK);
	sink = x;
}

__attribute__((noinline)) void work(double seconds)
{
	double end = wl_now() + seconds;
	for (;;) {
		hot75();
		hot75();
		hot75();
		cold25();
		if (seconds > 0 && wl_now() >= end)
			break;
	}
}

int main(int argc, char **argv)
{
	work(wl_seconds(argc, argv, 1));
	return 0;
}
