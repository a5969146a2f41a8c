/* Regression (found by tests/fuzz/fuzz_elf.c on its dwarf4z seed: gcc
 * -gdwarf-4 with zlib-compressed debug sections): a mapped object whose
 * DWARF has no .debug_aranges and no CU with address ranges made the CU
 * index call qsort(NULL, 0, ...), undefined behaviour that aborts the
 * SANITIZE=1 build. The object is mapped executable into this process, as
 * a library appears in a target's maps, and resolved through the symtab. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbol.h"

static void test_object_without_cu_ranges(void **state)
{
	(void)state;
	const char *path = "tests/fuzz/regress/elf-dwarf4z-noaranges.so";
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	struct stat sb;
	assert_int_equal(fstat(fd, &sb), 0);
	size_t len = ((size_t)sb.st_size + 0xfff) & ~(size_t)0xfff;
	void *map = mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	assert_true(map != MAP_FAILED);
	struct symtab *st = symtab_open(getpid());
	assert_non_null(st);
	for (size_t off = 0; off < len; off += 64) {
		const struct sym_loc *l = symtab_lookup(st, (uint64_t)(uintptr_t)map + off);
		assert_non_null(l);
		assert_true(l->nframes >= 1);
		assert_non_null(l->frames[0].func);
	}
	symtab_close(st);
	munmap(map, len);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_object_without_cu_ranges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
