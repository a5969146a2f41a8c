/* Unit tests of the symbol module: the perf map parser, demangling, and the
 * live symbolizer on this very process (its own functions, an inlined
 * function, libc, the vdso, a JIT map, dlopen and exec). Built with the
 * project's CFLAGS (-O2 -g). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "symbol.h"
#include "symbol/symbol_impl.h"

/* ---- perfmap_parse_line -------------------------------------------------- */

static void test_perfmap_good(void **state)
{
	(void)state;
	uint64_t s, z;
	const char *n;
	size_t nl;
	assert_int_equal(perfmap_parse_line("7f0a1b2c3000 1a0 LazyCompile:*fib /x/a.js:3\n",
					    &s, &z, &n, &nl), 0);
	assert_true(s == 0x7f0a1b2c3000ull);
	assert_true(z == 0x1a0);
	assert_int_equal(nl, strlen("LazyCompile:*fib /x/a.js:3"));
	assert_memory_equal(n, "LazyCompile:*fib /x/a.js:3", nl);

	/* no trailing newline, upper case hex, CRLF, tabs */
	assert_int_equal(perfmap_parse_line("ABCDEF 10 foo", &s, &z, &n, &nl), 0);
	assert_true(s == 0xabcdef && z == 0x10);
	assert_int_equal(nl, 3);
	assert_memory_equal(n, "foo", 3);
	assert_int_equal(perfmap_parse_line("1000\t20\tbar baz\r\n", &s, &z, &n, &nl), 0);
	assert_int_equal(nl, 7);
	assert_memory_equal(n, "bar baz", 7);
	/* a 0x prefix, as some JITs write */
	assert_int_equal(perfmap_parse_line("0x1000 0x20 q", &s, &z, &n, &nl), 0);
	assert_true(s == 0x1000 && z == 0x20);
	/* full 64-bit start */
	assert_int_equal(perfmap_parse_line("ffffffff00000000 ff x", &s, &z, &n, &nl), 0);
	assert_true(s == 0xffffffff00000000ull);
	/* NULL outputs are allowed */
	assert_int_equal(perfmap_parse_line("1 1 a", NULL, NULL, NULL, NULL), 0);
}

static void test_perfmap_bad(void **state)
{
	(void)state;
	uint64_t s, z;
	const char *n;
	size_t nl;
	static const char *bad[] = {
		"", "\n", "1000", "1000 20", "1000 20 ", "1000 20 \n",
		"xyz 20 foo", "1000 xyz foo", "1000 0 foo",      /* empty range */
		"ffffffffffffffff 2 wrap",                       /* wraps */
		"11111111111111111 1 toolong",                   /* 17 digits */
		" 1000 20 foo",                                  /* leading blank */
		"1000-20 foo", "1000 20foo", "0x 20 foo",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int r = perfmap_parse_line(bad[i], &s, &z, &n, &nl);
		if (r != -EINVAL)
			fail_msg("accepted bad line '%s'", bad[i]);
	}
	assert_int_equal(perfmap_parse_line(NULL, &s, &z, &n, &nl), -EINVAL);
}

static void test_perfmap_long_name(void **state)
{
	(void)state;
	size_t len = 100000;
	char *line = malloc(len + 32);
	int k = sprintf(line, "4000 80 ");
	memset(line + k, 'n', len);
	line[k + len] = '\n';
	line[k + len + 1] = 0;
	uint64_t s, z;
	const char *n;
	size_t nl;
	assert_int_equal(perfmap_parse_line(line, &s, &z, &n, &nl), 0);
	assert_int_equal(nl, len);
	assert_ptr_equal(n, line + k);
	free(line);
}

/* ---- perfmap reading, bounded ------------------------------------------ */

static long max_rss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* A huge sparse map (the target can write anything to /tmp/perf-PID.map):
 * the valid lines at its start are found, every update reads a bounded
 * piece, and memory does not grow with the file. */
static void test_perfmap_huge_sparse(void **state)
{
	(void)state;
	char path[64];
	snprintf(path, sizeof path, "/tmp/ctop-symtest-pm-%d", (int)getpid());
	unlink(path);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	const char head[] = "1000 100 first\n2000 100 second\n3000 100 third\n";
	assert_int_equal(write(fd, head, sizeof head - 1), (ssize_t)(sizeof head - 1));
	/* 8 GB of zero bytes after them: one endless line */
	assert_int_equal(ftruncate(fd, (off_t)8 << 30), 0);
	close(fd);

	long rss0 = max_rss_kib();
	struct perfmap *pm = perfmap_open(path, getuid(), geteuid());
	assert_non_null(pm);
	assert_int_equal(perfmap_update(pm), 1);
	assert_string_equal(perfmap_lookup(pm, 0x1010, NULL), "first");
	assert_string_equal(perfmap_lookup(pm, 0x20ff, NULL), "second");
	assert_string_equal(perfmap_lookup(pm, 0x3000, NULL), "third");
	assert_null(perfmap_lookup(pm, 0x3100, NULL));
	/* more updates walk on through the zeros, finding nothing */
	for (int i = 0; i < 50; i++)
		assert_int_equal(perfmap_update(pm), 0);
	assert_string_equal(perfmap_lookup(pm, 0x1010, NULL), "first");
	long grown = max_rss_kib() - rss0;
	/* one read buffer of a few MiB, not the file (ASan adds its own) */
	assert_true(grown < 64 * 1024);
	perfmap_close(pm);
	unlink(path);
}

/* An over-long line is skipped, the lines after it are read; a partial
 * last line is kept for the update that sees its end. */
static void test_perfmap_long_line_and_partial(void **state)
{
	(void)state;
	char path[64];
	snprintf(path, sizeof path, "/tmp/ctop-symtest-pm-%d", (int)getpid());
	unlink(path);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "1000 100 a\n5000 100 ");
	for (int i = 0; i < 200000; i++)
		fputc('x', f);
	fprintf(f, "\n2000 100 b\n3000 10");
	fflush(f);
	struct perfmap *pm = perfmap_open(path, getuid(), geteuid());
	assert_non_null(pm);
	assert_int_equal(perfmap_update(pm), 1);
	assert_string_equal(perfmap_lookup(pm, 0x1000, NULL), "a");
	assert_null(perfmap_lookup(pm, 0x5000, NULL));
	assert_string_equal(perfmap_lookup(pm, 0x2000, NULL), "b");
	assert_null(perfmap_lookup(pm, 0x3000, NULL));
	fprintf(f, "0 c\n");
	fflush(f);
	assert_int_equal(perfmap_update(pm), 1);
	assert_string_equal(perfmap_lookup(pm, 0x3000, NULL), "c");
	assert_string_equal(perfmap_lookup(pm, 0x1000, NULL), "a");

	/* an unterminated line growing past the limit is dropped up to its end */
	for (int i = 0; i < 100000; i++)
		fputc('y', f);
	fflush(f);
	assert_int_equal(perfmap_update(pm), 0);
	fprintf(f, "yyy\n4000 10 d\n");
	fflush(f);
	assert_int_equal(perfmap_update(pm), 1);
	assert_string_equal(perfmap_lookup(pm, 0x4000, NULL), "d");
	fclose(f);
	perfmap_close(pm);
	unlink(path);
}

/* Past the entry limit new lines are ignored, the old ones still answer. */
static void test_perfmap_entry_cap(void **state)
{
	(void)state;
	char path[64];
	snprintf(path, sizeof path, "/tmp/ctop-symtest-pm-%d", (int)getpid());
	unlink(path);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (unsigned i = 0; i < 1000100; i++)
		fprintf(f, "%x 10 f%u\n", 0x100000u + 0x10 * i, i);
	fclose(f);
	struct perfmap *pm = perfmap_open(path, getuid(), geteuid());
	assert_non_null(pm);
	int rounds = 0;
	while (perfmap_update(pm) > 0 || rounds < 2)
		assert_true(++rounds < 100);
	assert_string_equal(perfmap_lookup(pm, 0x100000, NULL), "f0");
	assert_string_equal(perfmap_lookup(pm, 0x100000 + 0x10 * 999999u, NULL), "f999999");
	assert_null(perfmap_lookup(pm, 0x100000 + 0x10 * 1000000u, NULL));
	assert_null(perfmap_lookup(pm, 0x100000 + 0x10 * 1000099u, NULL));
	perfmap_close(pm);
	unlink(path);
}

/* ---- symbol_demangle ----------------------------------------------------- */

static void test_demangle(void **state)
{
	(void)state;
	char *d = symbol_demangle("_ZN3foo3barEi");
	assert_non_null(d);
	assert_string_equal(d, "foo::bar(int)");
	free(d);
	d = symbol_demangle("_ZNKSt6vectorIiSaIiEE4sizeEv");
	assert_non_null(d);
	assert_string_equal(d, "std::vector<int, std::allocator<int> >::size() const");
	free(d);
	/* GCC clones */
	d = symbol_demangle("_Z3fooi.cold");
	assert_non_null(d);
	assert_string_equal(d, "foo(int) [clone .cold]");
	free(d);
	/* Rust legacy: hash dropped, escapes undone */
	d = symbol_demangle("_ZN4core3fmt5write17h0123456789abcdefE");
	assert_non_null(d);
	assert_string_equal(d, "core::fmt::write");
	free(d);
	d = symbol_demangle("_ZN66_$LT$alloc..vec..Vec$LT$T$GT$$u20$as$u20$core..ops..drop..Drop$GT$4drop17h4a5b6c7d8e9f0a1bE");
	assert_non_null(d);
	assert_string_equal(d, "<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop");
	free(d);
	/* not mangled */
	assert_null(symbol_demangle("main"));
	assert_null(symbol_demangle("runtime.mallocgc"));
	assert_null(symbol_demangle(""));
	assert_null(symbol_demangle(NULL));
	assert_null(symbol_demangle("_Zgarbage"));
}

/* ---- the live symbolizer on ourselves ------------------------------------ */

int sym_target_fn(int x);
int sym_outer_fn(int x);
int sym_child_fn(int x);
void sym_capture_ra(void);

static volatile int sink;
static volatile uint64_t captured_ra;
static int inl_call_line, outer_call_line;

__attribute__((noinline)) void sym_capture_ra(void)
{
	captured_ra = (uint64_t)(uintptr_t)__builtin_return_address(0);
	__asm__ volatile("" ::: "memory");
}

static const int target_decl_line = __LINE__ + 1;
__attribute__((noinline)) int sym_target_fn(int x)
{
	sink = x;
	return sink * 3 + 1;
}

static const int inl_decl_line = __LINE__ + 1;
static inline __attribute__((always_inline)) int sym_inl_helper(int x)
{
	inl_call_line = __LINE__; sym_capture_ra();
	return x * 7 + sink;
}

static const int outer_decl_line = __LINE__ + 1;
__attribute__((noinline)) int sym_outer_fn(int x)
{
	int r;
	outer_call_line = __LINE__; r = sym_inl_helper(x);
	return r + 1;
}

__attribute__((noinline)) int sym_child_fn(int x)
{
	sink = x;
	return sink + 2;
}

static int ends_with(const char *s, const char *suf)
{
	size_t a = s ? strlen(s) : 0, b = strlen(suf);
	return s && a >= b && strcmp(s + a - b, suf) == 0;
}

static void test_live_own_functions(void **state)
{
	(void)state;
	struct symtab *st = symtab_open(getpid());
	assert_non_null(st);
	assert_non_null(symtab_dwfl(st));

	uint64_t pc = (uint64_t)(uintptr_t)&sym_target_fn;
	const struct sym_loc *l = symtab_lookup(st, pc);
	assert_non_null(l);
	assert_true(l->pc == pc);
	assert_true(l->nframes >= 1);
	const struct sym_frame *f = &l->frames[l->nframes - 1];
	assert_string_equal(f->func, "sym_target_fn");
	assert_true(ends_with(f->file, "test_symbol.c"));
	assert_true(f->line >= target_decl_line && f->line <= target_decl_line + 2);
	assert_int_equal(f->start_line, target_decl_line);
	assert_non_null(l->mod);
	assert_string_equal(l->mod->name, "test_symbol");
	assert_true(l->mod->has_symbols && l->mod->has_lines);
	assert_true(l->mod->build_id[0] != 0);   /* Debian's gcc links --build-id */

	/* cached: the same pointer */
	assert_ptr_equal(symtab_lookup(st, pc), l);

	/* a call site inside the function */
	sym_target_fn(1);
	sym_outer_fn(2);
	assert_true(captured_ra != 0);

	/* an inlined function: its frame first, then the real function */
	l = symtab_lookup(st, captured_ra - 1);
	assert_int_equal(l->nframes, 2);
	assert_string_equal(l->frames[0].func, "sym_inl_helper");
	assert_true(ends_with(l->frames[0].file, "test_symbol.c"));
	assert_int_equal(l->frames[0].line, inl_call_line);
	assert_int_equal(l->frames[0].start_line, inl_decl_line);
	assert_string_equal(l->frames[1].func, "sym_outer_fn");
	assert_true(ends_with(l->frames[1].file, "test_symbol.c"));
	assert_int_equal(l->frames[1].line, outer_call_line);
	assert_int_equal(l->frames[1].start_line, outer_decl_line);
	assert_true(l->mod->has_inline);

	/* unmapped and the truncation marker */
	l = symtab_lookup(st, 0x10);
	assert_int_equal(l->nframes, 1);
	assert_string_equal(l->frames[0].func, "[unknown]");
	assert_null(l->mod);
	l = symtab_lookup(st, CTOP_TRUNCATED_PC);
	assert_int_equal(l->nframes, 1);
	assert_string_equal(l->frames[0].func, "[truncated]");

	/* modules: unique ids 1..n, our binary is there */
	const struct sym_module **mods;
	int n = symtab_modules(st, &mods);
	assert_true(n >= 3);
	int found = 0;
	for (int i = 0; i < n; i++) {
		assert_int_equal(mods[i]->id, i + 1);
		assert_true(mods[i]->start < mods[i]->end);
		if (strcmp(mods[i]->name, "test_symbol") == 0)
			found = 1;
	}
	assert_true(found);
	symtab_close(st);
}

static void test_live_libc_and_vdso(void **state)
{
	(void)state;
	struct symtab *st = symtab_open(getpid());
	assert_non_null(st);
	/* libc: .dynsym or its debug file */
	void *p = dlsym(RTLD_DEFAULT, "getpid");
	assert_non_null(p);
	const struct sym_loc *l = symtab_lookup(st, (uint64_t)(uintptr_t)p);
	assert_non_null(l->mod);
	assert_string_equal(l->mod->name, "libc.so.6");
	assert_non_null(strstr(l->frames[l->nframes - 1].func, "getpid"));

	/* the vdso: find clock_gettime in our own image */
	unsigned long base = getauxval(AT_SYSINFO_EHDR);
	assert_true(base != 0);
	elf_version(EV_CURRENT);
	Elf *e = elf_memory((char *)base, 8192);
	assert_non_null(e);
	uint64_t addr = 0;
	for (Elf_Scn *s = NULL; (s = elf_nextscn(e, s)) && !addr;) {
		GElf_Shdr sh;
		gelf_getshdr(s, &sh);
		if (sh.sh_type != SHT_DYNSYM)
			continue;
		Elf_Data *d = elf_getdata(s, NULL);
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			gelf_getsym(d, (int)i, &sym);
			const char *nm = elf_strptr(e, sh.sh_link, sym.st_name);
			if (nm && strstr(nm, "clock_gettime") && sym.st_value) {
				addr = base + sym.st_value;
				break;
			}
		}
	}
	elf_end(e);
	assert_true(addr != 0);
	l = symtab_lookup(st, addr + 1);
	assert_non_null(l->mod);
	assert_string_equal(l->mod->name, "[vdso]");
	assert_non_null(strstr(l->frames[l->nframes - 1].func, "clock_gettime"));
	symtab_close(st);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void test_live_jit_map(void **state)
{
	(void)state;
	/* Anonymous executable memory described by /tmp/perf-PID.map, placed
	 * in the gap after two adjacent file mappings: libdwfl's address table
	 * once let the second file swallow that gap. */
	long pg = sysconf(_SC_PAGESIZE);
	size_t sz = 1 << 16;
	uint8_t *area = mmap(NULL, 3 * (size_t)pg + sz, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(area != MAP_FAILED);
	char fpath[2][64];
	for (int i = 0; i < 2; i++) {
		snprintf(fpath[i], sizeof fpath[i], "/tmp/ctop-symtest-%d-%d", (int)getpid(), i);
		FILE *ff = fopen(fpath[i], "w");
		assert_non_null(ff);
		for (long k = 0; k < pg; k++)
			fputc(0xcc, ff);
		fclose(ff);
		int fd = open(fpath[i], O_RDONLY);
		assert_true(fd >= 0);
		assert_true(mmap(area + i * pg, (size_t)pg, PROT_READ | PROT_EXEC,
				 MAP_PRIVATE | MAP_FIXED, fd, 0) != MAP_FAILED);
		close(fd);
	}
	munmap(area + 2 * pg, (size_t)pg);
	uint8_t *code = mmap(area + 3 * pg, sz, PROT_READ | PROT_EXEC,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	assert_true(code != MAP_FAILED);
	char path[64];
	snprintf(path, sizeof path, "/tmp/perf-%d.map", (int)getpid());
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%lx 100 LazyCompile:*first /app/a.js:1\n", (unsigned long)(uintptr_t)code);
	fprintf(f, "%lx 100 Function:second\n", (unsigned long)(uintptr_t)code + 0x100);
	fflush(f);

	struct symtab *st = symtab_open(getpid());
	assert_non_null(st);
	uint64_t base = (uint64_t)(uintptr_t)code;
	const struct sym_loc *l = symtab_lookup(st, base + 0x10);
	assert_string_equal(l->frames[0].func, "LazyCompile:*first /app/a.js:1");
	assert_non_null(l->mod);
	l = symtab_lookup(st, base + 0x1ff);
	assert_string_equal(l->frames[0].func, "Function:second");
	l = symtab_lookup(st, base + 0x300);
	assert_string_equal(l->frames[0].func, "[unknown]");
	/* the files next to it: module+offset (not ELF), and no bleeding */
	l = symtab_lookup(st, (uint64_t)(uintptr_t)area + (uint64_t)pg + 8);
	assert_non_null(l->mod);
	assert_non_null(strstr(l->frames[0].func, "ctop-symtest-"));
	assert_non_null(strstr(l->frames[0].func, "-1+0x8"));
	l = symtab_lookup(st, (uint64_t)(uintptr_t)area + 2 * (uint64_t)pg + 8);
	assert_null(l->mod);
	assert_string_equal(l->frames[0].func, "[unknown]");

	/* sampled before the JIT wrote its line: [unknown], for now */
	l = symtab_lookup(st, base + 0x420);
	assert_string_equal(l->frames[0].func, "[unknown]");

	/* the JIT appends: new code, and old code replaced at the same place */
	fprintf(f, "%lx 100 Function:third\n", (unsigned long)(uintptr_t)code + 0x400);
	fprintf(f, "%lx 100 Function:first_v2\n", (unsigned long)(uintptr_t)code);
	fclose(f);
	sleep_ms(150);          /* longer than the map's poll interval */
	l = symtab_lookup(st, base + 0x420);
	assert_string_equal(l->frames[0].func, "Function:third");
	l = symtab_lookup(st, base + 0x410);
	assert_string_equal(l->frames[0].func, "Function:third");
	l = symtab_lookup(st, base + 0x10);
	assert_string_equal(l->frames[0].func, "Function:first_v2");
	symtab_close(st);
	unlink(path);
	unlink(fpath[0]);
	unlink(fpath[1]);
	munmap(area, 3 * (size_t)pg + sz);
}

/* A long-running JIT target must not make the symtab grow without bound:
 * results in JIT code are updated in place when the map grows, and the
 * modules of anonymous mappings that come and go are reused. */
static void test_live_jit_bounded(void **state)
{
	(void)state;
	size_t sz = 1 << 16;
	uint8_t *code = mmap(NULL, sz, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(code != MAP_FAILED);
	char path[64];
	snprintf(path, sizeof path, "/tmp/perf-%d.map", (int)getpid());
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%lx 100 Function:one\n", (unsigned long)(uintptr_t)code);
	fflush(f);
	struct symtab *st = symtab_open(getpid());
	assert_non_null(st);
	uint64_t base = (uint64_t)(uintptr_t)code;
	const struct sym_loc *l1 = symtab_lookup(st, base + 0x10);
	assert_string_equal(l1->frames[0].func, "Function:one");
	const struct sym_loc *l2 = symtab_lookup(st, base + 0x210);
	assert_string_equal(l2->frames[0].func, "[unknown]");
	fprintf(f, "%lx 100 Function:two\n", (unsigned long)(uintptr_t)code + 0x200);
	fprintf(f, "%lx 100 Function:one_v2\n", (unsigned long)(uintptr_t)code);
	fflush(f);
	sleep_ms(150);
	assert_ptr_equal(symtab_lookup(st, base + 0x210), l2);
	assert_string_equal(l2->frames[0].func, "Function:two");
	assert_ptr_equal(symtab_lookup(st, base + 0x10), l1);
	assert_string_equal(l1->frames[0].func, "Function:one_v2");

	/* anonymous code mapped and unmapped over and over */
	const struct sym_module **mods;
	int n0 = -1;
	for (int i = 0; i < 20; i++) {
		size_t len = sz + (size_t)i * 4096;
		uint8_t *c = mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		assert_true(c != MAP_FAILED);
		assert_int_equal(symtab_refresh(st, 1), 0);
		const struct sym_loc *l = symtab_lookup(st, (uint64_t)(uintptr_t)c + 8);
		assert_non_null(l->mod);
		assert_string_equal(l->mod->name, "[jit]");
		munmap(c, len);
		assert_int_equal(symtab_refresh(st, 1), 0);
		int n = symtab_modules(st, &mods);
		if (n0 < 0)
			n0 = n;
		assert_true(n <= n0 + 1);
	}
	/* the first JIT code still answers */
	assert_string_equal(symtab_lookup(st, base + 0x10)->frames[0].func, "Function:one_v2");
	fclose(f);
	symtab_close(st);
	unlink(path);
	munmap(code, sz);
}

static void test_live_dlopen(void **state)
{
	(void)state;
	struct symtab *st = symtab_open(getpid());
	assert_non_null(st);
	uint64_t gen = symtab_generation(st);
	void *h = dlopen("libcrypt.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		fail_msg("libcrypt.so.1 needed for the dlopen test: %s", dlerror());
	void *p = dlsym(h, "crypt");
	assert_non_null(p);
	/* Right after the dlopen the maps may not be re-read (rate limit):
	 * whatever this says, it must not stick. */
	symtab_lookup(st, (uint64_t)(uintptr_t)p);
	sleep_ms(600);          /* past the refresh rate limit */
	const struct sym_loc *l = symtab_lookup(st, (uint64_t)(uintptr_t)p);
	assert_non_null(l->mod);
	assert_non_null(strstr(l->mod->name, "libcrypt"));
	assert_non_null(strstr(l->frames[l->nframes - 1].func, "crypt"));
	/* additions keep the Dwfl (and the unwinder's attachment) */
	assert_true(symtab_generation(st) == gen);
	symtab_close(st);
	dlclose(h);
}

static void test_live_exec(void **state)
{
	(void)state;
	int go[2], out[2];
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(out), 0);
	pid_t c = fork();
	assert_true(c >= 0);
	if (c == 0) {
		char b;
		close(go[1]);
		if (read(go[0], &b, 1) != 1)
			_exit(1);
		dup2(out[1], 1);
		execl("/proc/self/exe", "test_symbol", "--child", (char *)NULL);
		_exit(1);
	}
	close(go[0]);
	close(out[1]);
	struct symtab *st = symtab_open(c);
	assert_non_null(st);
	uint64_t gen = symtab_generation(st);
	const struct sym_loc *l = symtab_lookup(st, (uint64_t)(uintptr_t)&sym_target_fn);
	assert_string_equal(l->frames[l->nframes - 1].func, "sym_target_fn");

	assert_int_equal(write(go[1], "x", 1), 1);
	char buf[64] = "";
	ssize_t n = read(out[0], buf, sizeof buf - 1);
	assert_true(n > 0);
	buf[n] = 0;
	uint64_t addr = strtoull(buf, NULL, 16);
	assert_true(addr != 0);
	assert_int_equal(symtab_refresh(st, 1), 0);
	assert_true(symtab_generation(st) != gen);
	l = symtab_lookup(st, addr);
	assert_string_equal(l->frames[l->nframes - 1].func, "sym_child_fn");
	/* samples taken before the exec still name their functions */
	l = symtab_lookup(st, (uint64_t)(uintptr_t)&sym_target_fn);
	assert_string_equal(l->frames[l->nframes - 1].func, "sym_target_fn");
	symtab_close(st);
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	close(go[1]);
	close(out[0]);
}

/* Runs `path --child` and returns the address of sym_child_fn in it. */
static pid_t start_child(const char *path, uint64_t *addr)
{
	int out[2];
	assert_int_equal(pipe(out), 0);
	pid_t c = fork();
	assert_true(c >= 0);
	if (c == 0) {
		dup2(out[1], 1);
		execl(path, "test_symbol", "--child", (char *)NULL);
		_exit(1);
	}
	close(out[1]);
	char buf[64] = "";
	ssize_t n = read(out[0], buf, sizeof buf - 1);
	close(out[0]);
	if (n <= 0) {
		kill(c, SIGKILL);
		waitpid(c, NULL, 0);
		fail_msg("%s --child did not start", path);
	}
	buf[n] = 0;
	*addr = strtoull(buf, NULL, 16);
	return c;
}

static void stop_child(pid_t c)
{
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
}

/* The child's sym_child_fn resolves with file and line. */
static void check_child_fn(pid_t c, uint64_t addr)
{
	struct symtab *st = symtab_open(c);
	assert_non_null(st);
	const struct sym_loc *l = symtab_lookup(st, addr);
	assert_string_equal(l->frames[l->nframes - 1].func, "sym_child_fn");
	assert_true(ends_with(l->frames[0].file, "test_symbol.c"));
	assert_true(l->frames[0].line > 0);
	assert_true(l->frames[l->nframes - 1].start_line > 0);
	symtab_close(st);
}

static void self_exe(char *exe, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", exe, size - 1);
	assert_true(n > 0);
	exe[n] = 0;
}

/* A copy of this binary without .debug_aranges, as clang, rustc and Go
 * produce them: libdw finds no CU for an address then, and we must. */
static void test_live_no_aranges(void **state)
{
	(void)state;
	char exe[4096], copy[64], cmd[8400];
	self_exe(exe, sizeof exe);
	snprintf(copy, sizeof copy, "/tmp/ctop-symtest-noar-%d", (int)getpid());
	snprintf(cmd, sizeof cmd, "objcopy --remove-section=.debug_aranges '%s' '%s'", exe, copy);
	if (system(cmd) != 0)
		fail_msg("objcopy (binutils) is needed for this test: %s", cmd);
	uint64_t addr;
	pid_t c = start_child(copy, &addr);
	check_child_fn(c, addr);
	stop_child(c);
	unlink(copy);
}

/* A running binary that was deleted, or replaced by another file under the
 * same name (a rebuild, a package upgrade): the mapped file is read through
 * /proc/PID/map_files. */
static void test_live_deleted_and_replaced(void **state)
{
	(void)state;
	char exe[4096], copy[64], cmd[8400];
	self_exe(exe, sizeof exe);
	snprintf(copy, sizeof copy, "/tmp/ctop-symtest-del-%d", (int)getpid());
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", exe, copy);
	assert_int_equal(system(cmd), 0);
	uint64_t addr;
	pid_t c = start_child(copy, &addr);
	assert_int_equal(unlink(copy), 0);
	check_child_fn(c, addr);
	stop_child(c);

	assert_int_equal(system(cmd), 0);
	c = start_child(copy, &addr);
	/* same name, other content: symbols from it would be wrong */
	snprintf(cmd, sizeof cmd, "cp /bin/true '%s.new' && mv '%s.new' '%s'", copy, copy, copy);
	assert_int_equal(system(cmd), 0);
	check_child_fn(c, addr);
	stop_child(c);
	unlink(copy);
}

/* Files the live tests create, removed even when an assertion cut a test
 * short. */
static int remove_test_files(void **state)
{
	(void)state;
	static const char *names[] = { "perf-", "ctop-symtest-", "ctop-symtest-",
				       "ctop-symtest-noar-", "ctop-symtest-del-" };
	static const char *tails[] = { ".map", "-0", "-1", "", "" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char p[64];
		snprintf(p, sizeof p, "/tmp/%s%d%s", names[i], (int)getpid(), tails[i]);
		unlink(p);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--child") == 0) {
		/* the exec'd image of test_live_exec: say where a function is.
		 * Never outlive the test, even when an assertion aborted it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			return 1;
		alarm(120);
		printf("%lx\n", (unsigned long)(uintptr_t)&sym_child_fn);
		fflush(stdout);
		sym_child_fn(1);
		pause();
		return 0;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_perfmap_good),
		cmocka_unit_test(test_perfmap_bad),
		cmocka_unit_test(test_perfmap_long_name),
		cmocka_unit_test(test_perfmap_huge_sparse),
		cmocka_unit_test(test_perfmap_long_line_and_partial),
		cmocka_unit_test(test_perfmap_entry_cap),
		cmocka_unit_test(test_demangle),
		cmocka_unit_test(test_live_own_functions),
		cmocka_unit_test(test_live_libc_and_vdso),
		cmocka_unit_test(test_live_jit_map),
		cmocka_unit_test(test_live_jit_bounded),
		cmocka_unit_test(test_live_dlopen),
		cmocka_unit_test(test_live_exec),
		cmocka_unit_test(test_live_no_aranges),
		cmocka_unit_test(test_live_deleted_and_replaced),
	};
	return cmocka_run_group_tests(tests, NULL, remove_test_files);
}
