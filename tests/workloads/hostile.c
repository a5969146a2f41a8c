/* hostile MODE: targets that are odd on purpose.
 *   recurse DEPTH  recurse DEPTH frames deep (deep_recurse), then burn CPU
 *                  at the bottom (deep_bottom) until killed: stacks far
 *                  deeper than any profiler keeps
 *   names          burn CPU in name_bad_utf8 and name_hostile; the build
 *                  (mk/60-hardening.mk, hostile-names) renames them in the
 *                  symbol table to "bad_\xff\xfe_name" (not UTF-8) and to a
 *                  10 KB name full of shell syntax ("sh_$(touch ...)`...`;")
 *   spin           burn CPU in hostile_spin (for the binary-replaced test)
 * Runs until killed. */
#include <stdio.h>
#include <string.h>
#include "wl_common.h"

volatile unsigned long sink;

__attribute__((noinline)) void deep_bottom(void)
{
	unsigned long x = sink;
	for (;;)
		WL_BURN(x, 100000UL);
}

/* not a tail call: the frame stays (built with -fno-optimize-sibling-calls,
 * and the volatile after the call keeps it honest anyway) */
__attribute__((noinline)) int deep_recurse(int n)
{
	volatile int keep = n;
	if (n > 0)
		deep_recurse(n - 1);
	else
		deep_bottom();
	return keep;
}

__attribute__((noinline)) void name_bad_utf8(void)
{
	unsigned long x = sink;
	WL_BURN(x, 500000UL);
	sink = x;
}

__attribute__((noinline)) void name_hostile(void)
{
	unsigned long x = sink;
	WL_BURN(x, 500000UL);
	sink = x;
}

__attribute__((noinline)) void hostile_spin(void)
{
	unsigned long x = sink;
	WL_BURN(x, 500000UL);
	sink = x;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "spin";
	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(mode, "recurse")) {
		int depth = argc > 2 ? atoi(argv[2]) : 10000;
		printf("ready\n");
		deep_recurse(depth);
	} else if (!strcmp(mode, "names")) {
		printf("ready\n");
		for (;;) {
			name_bad_utf8();
			name_hostile();
		}
	} else {
		printf("ready\n");
		for (;;)
			hostile_spin();
	}
	return 0;
}
