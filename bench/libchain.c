/* libchain: a benchmark target whose stacks are spread over many shared
 * libraries (throughput of unwinding and symbolizing across modules).
 *
 *   libchain DIR NLIBS [SECONDS [DEPTH]]
 *
 * dlopens DIR/libchain_0.so .. DIR/libchain_<NLIBS-1>.so (built from
 * chainlib.c with -fomit-frame-pointer: only DWARF CFI unwinds them) and
 * repeatedly calls a chain DEPTH (default 24) steps deep, each step in a
 * library picked from the running state. Runs SECONDS (0 = until killed),
 * then prints "iterations N". */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef unsigned long (*chain_fn)(const void *tab, int nlibs, int depth,
				  unsigned long x);

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: libchain DIR NLIBS [SECONDS [DEPTH]]\n");
		return 2;
	}
	int n = atoi(argv[2]);
	double secs = argc > 3 ? atof(argv[3]) : 0;
	int depth = argc > 4 ? atoi(argv[4]) : 24;
	if (n < 1 || n > 4096 || depth < 0) {
		fprintf(stderr, "libchain: bad NLIBS or DEPTH\n");
		return 2;
	}
	chain_fn *tab = calloc((size_t)n, sizeof *tab);
	for (int i = 0; i < n; i++) {
		char path[4096], sym[64];
		snprintf(path, sizeof path, "%s/libchain_%d.so", argv[1], i);
		snprintf(sym, sizeof sym, "chain_step_%d", i);
		void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		if (!h || !(tab[i] = (chain_fn)(uintptr_t)dlsym(h, sym))) {
			fprintf(stderr, "libchain: %s\n", dlerror());
			return 1;
		}
	}
	unsigned long x = 12345, it = 0;
	double end = now() + secs;
	for (;;) {
		x = tab[it % (unsigned)n](tab, n, depth, x);
		it++;
		if (secs > 0 && now() >= end)
			break;
	}
	printf("iterations %lu\n", it);
	return (int)(x & 0);
}
