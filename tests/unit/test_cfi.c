/* cfi: the cached-rule fast path of DWARF unwinding (src/unwind/cfi.c) on
 * stacks of this very process, captured in a known call chain compiled
 * without frame pointers (so only CFI can walk it): it must name the chain
 * and reach main, stop and say so at the end of a short copy, stop at max,
 * hand unknown code back to libdwfl, and cache what it learnt. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common.h"
#include "symbol.h"
#include "unwind.h"
#include "unwind/cfi.h"

struct cap {
	struct raw_sample s;
	uint8_t stack[8192];
};

static struct cap cap;
volatile unsigned long cfi_sink;

#define CHAIN __attribute__((noinline, used, optimize("omit-frame-pointer")))

/* A word at a time and uninstrumented: the stack above us holds the
 * sanitizer's redzones (SANITIZE=1), which a perf sample copies as well. */
__attribute__((no_sanitize_address, noinline))
static void copy_stack(uint8_t *to, uint64_t from, uint64_t n)
{
	for (uint64_t i = 0; i + 8 <= n; i += 8) {
		uint64_t w = *(volatile const uint64_t *)(uintptr_t)(from + i);
		__builtin_memcpy(to + i, &w, 8);
	}
}

/* Registers as the leaf sees them, and its stack from rsp up. The three
 * register reads sit in one asm block, so the pc read belongs to the same
 * CFI row as the sp read. */
CHAIN static void cfi_leaf(void)
{
	uint64_t sp, bp, ip;
	__asm__ volatile("mov %%rsp, %0\n\tmov %%rbp, %1\n\tlea 0(%%rip), %2"
			 : "=r"(sp), "=r"(bp), "=r"(ip));
	memset(&cap.s, 0, sizeof cap.s);
	cap.s.pid = getpid();
	cap.s.tid = gettid();
	cap.s.has_regs = 1;
	cap.s.regs[CTOP_REG_SP] = sp;
	cap.s.regs[CTOP_REG_BP] = bp;
	cap.s.regs[CTOP_REG_IP] = ip;
	/* copy up to 8 KiB, not past the top of the stack */
	pthread_attr_t a;
	void *lo;
	size_t size;
	uint64_t n = sizeof cap.stack;
	if (pthread_getattr_np(pthread_self(), &a) == 0 &&
	    pthread_attr_getstack(&a, &lo, &size) == 0) {
		uint64_t top = (uint64_t)(uintptr_t)lo + size;
		if (top - sp < n)
			n = top - sp;
		pthread_attr_destroy(&a);
	}
	copy_stack(cap.stack, sp, n);
	cap.s.stack = cap.stack;
	cap.s.stack_size = n;
	cfi_sink++;
}

CHAIN static void cfi_mid(void)
{
	cfi_leaf();
	cfi_sink++;
}

CHAIN static void cfi_top(void)
{
	cfi_mid();
	cfi_sink++;
}

static struct symtab *st;

static const char *name_of(uint64_t pc)
{
	const struct sym_loc *l = symtab_lookup(st, pc);
	return l->frames[l->nframes - 1].func;
}

static int setup(void **state)
{
	cfi_top();
	st = symtab_open(getpid());
	return st ? 0 : -1;
}

static int teardown(void **state)
{
	symtab_close(st);
	return 0;
}

static void test_chain_to_main(void **state)
{
	struct cfi_cache *c = cfi_cache_new();
	uint64_t pcs[CTOP_MAX_FRAMES];
	int more = 0, beyond = 0;
	int n = cfi_unwind(c, symtab_dwfl(st), &cap.s, pcs, CTOP_MAX_FRAMES, &more, &beyond);
	assert_true(n >= 5);
	assert_int_equal(pcs[0], cap.s.regs[CTOP_REG_IP]);   /* the leaf's exact pc */
	assert_string_equal(name_of(pcs[0]), "cfi_leaf");
	assert_string_equal(name_of(pcs[1]), "cfi_mid");
	assert_string_equal(name_of(pcs[2]), "cfi_top");
	assert_string_equal(name_of(pcs[3]), "setup");
	int main_at = -1;
	for (int i = 0; i < n; i++)
		if (strcmp(name_of(pcs[i]), "main") == 0)
			main_at = i;
	assert_true(main_at > 3);
	assert_int_equal(more, 0);
	assert_int_equal(beyond, 0);
	cfi_cache_free(c);
}

/* The same walk as the unwinder's dwarf mode gives. */
static void test_same_as_unwind_sample(void **state)
{
	struct cfi_cache *c = cfi_cache_new();
	struct unwinder *u = unwinder_new(st, UNWIND_DWARF);
	uint64_t a[CTOP_MAX_FRAMES], b[CTOP_MAX_FRAMES];
	int more = 0, beyond = 0;
	int n = cfi_unwind(c, symtab_dwfl(st), &cap.s, a, CTOP_MAX_FRAMES, &more, &beyond);
	int m = unwind_sample(u, &cap.s, b, CTOP_MAX_FRAMES);
	assert_int_equal(n, m);
	assert_memory_equal(a, b, (size_t)n * sizeof *a);
	unwinder_free(u);
	cfi_cache_free(c);
}

static void test_short_copy_is_cut(void **state)
{
	struct cfi_cache *c = cfi_cache_new();
	uint64_t full[CTOP_MAX_FRAMES], pcs[CTOP_MAX_FRAMES];
	int more = 0, beyond = 0;
	int n = cfi_unwind(c, symtab_dwfl(st), &cap.s, full, CTOP_MAX_FRAMES, &more, &beyond);
	assert_true(n >= 5);
	/* a copy that ends inside the frames of the chain */
	struct raw_sample s = cap.s;
	for (uint64_t size = 8; size < cap.s.stack_size; size += 8) {
		s.stack_size = size;
		more = beyond = 0;
		int k = cfi_unwind(c, symtab_dwfl(st), &s, pcs, CTOP_MAX_FRAMES, &more, &beyond);
		assert_true(k >= 1 && k <= n);
		assert_memory_equal(pcs, full, (size_t)k * sizeof *pcs);
		if (k < n)
			assert_int_equal(beyond, 1);
	}
	cfi_cache_free(c);
}

static void test_max(void **state)
{
	struct cfi_cache *c = cfi_cache_new();
	uint64_t pcs[3];
	int more = 0, beyond = 0;
	int n = cfi_unwind(c, symtab_dwfl(st), &cap.s, pcs, 3, &more, &beyond);
	assert_int_equal(n, 3);
	assert_int_equal(more, 1);
	cfi_cache_free(c);
}

/* Code the cache cannot walk goes back to libdwfl. */
static void test_unknown_code_falls_back(void **state)
{
	struct cfi_cache *c = cfi_cache_new();
	uint64_t pcs[CTOP_MAX_FRAMES];
	int more = 0, beyond = 0;
	struct raw_sample s = cap.s;
	s.regs[CTOP_REG_IP] = 0x10000;   /* mapped by nothing */
	assert_int_equal(cfi_unwind(c, symtab_dwfl(st), &s, pcs, CTOP_MAX_FRAMES, &more, &beyond),
			 CFI_FALLBACK);
	struct cfi_stats cs;
	cfi_get_stats(c, &cs);
	assert_int_equal(cs.fallbacks, 1);
	cfi_cache_free(c);
}

static void test_rules_cached(void **state)
{
	struct cfi_cache *c = cfi_cache_new();
	uint64_t pcs[CTOP_MAX_FRAMES];
	int more = 0, beyond = 0;
	int n = cfi_unwind(c, symtab_dwfl(st), &cap.s, pcs, CTOP_MAX_FRAMES, &more, &beyond);
	struct cfi_stats a, b;
	cfi_get_stats(c, &a);
	assert_int_equal(a.misses, (uint64_t)n);
	assert_int_equal(a.rules, (uint64_t)n);
	for (int i = 0; i < 10; i++)
		assert_int_equal(cfi_unwind(c, symtab_dwfl(st), &cap.s, pcs, CTOP_MAX_FRAMES,
					    &more, &beyond), n);
	cfi_get_stats(c, &b);
	assert_int_equal(b.misses, a.misses);
	assert_int_equal(b.lookups, a.lookups * 11);
	cfi_cache_flush(c);
	cfi_get_stats(c, &b);
	assert_int_equal(b.rules, 0);
	cfi_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_to_main),
		cmocka_unit_test(test_same_as_unwind_sample),
		cmocka_unit_test(test_short_copy_is_cut),
		cmocka_unit_test(test_max),
		cmocka_unit_test(test_unknown_code_falls_back),
		cmocka_unit_test(test_rules_cached),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
