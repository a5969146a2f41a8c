/* Seed for the ELF/DWARF symbolizer fuzzer (tests/fuzz/fuzz_elf.c): a small
 * shared object with functions, an inlined helper, C++-looking names and
 * line tables, in a few build variants (see fuzz.mk). */
static inline __attribute__((always_inline)) int helper_inlined(int x)
{
	return x * 3 + 1;
}

__attribute__((noinline)) int seed_leaf(int x)
{
	int s = 0;
	for (int i = 0; i < x; i++)
		s += helper_inlined(i);
	return s;
}

__attribute__((noinline)) int _ZN2ns6Widget5crankEi(int x)
{
	return seed_leaf(x) + 1;
}

int seed_root(int x)
{
	return _ZN2ns6Widget5crankEi(x) + seed_leaf(x / 2);
}
