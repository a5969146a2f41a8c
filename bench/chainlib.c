/* One of the libraries of the `libchain` benchmark target, compiled once per
 * library with -DLIBID=n: chain_step_<n> burns a little, then calls the step
 * of another library (picked from the state, so stacks wander through all
 * of them), burns a little more, and returns. */
#ifndef LIBID
#error "compile with -DLIBID=n"
#endif
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define STEP CAT(chain_step_, LIBID)

typedef unsigned long (*chain_fn)(const void *tab, int nlibs, int depth,
				  unsigned long x);

#define BURN(x, n) do {                                                    \
	for (unsigned long i_ = 0; i_ < (n); i_++) {                       \
		(x) = (x) * 6364136223846793005UL + 1442695040888963407UL; \
		__asm__ volatile("" : "+r"(x));                             \
	}                                                                  \
} while (0)

unsigned long STEP(const void *tab, int nlibs, int depth, unsigned long x);

__attribute__((noinline)) unsigned long STEP(const void *tab, int nlibs, int depth,
					     unsigned long x)
{
	BURN(x, 300);
	if (depth > 0) {
		const chain_fn *t = tab;
		x = t[(x >> 33) % (unsigned long)nlibs](tab, nlibs, depth - 1, x);
	} else {
		BURN(x, 2000);
	}
	BURN(x, 300);
	__asm__ volatile("" : "+r"(x));
	return x;
}
