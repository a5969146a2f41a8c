/* Go runtime reader: .gopclntab against `go tool addr2line`, the DWARF layout
 * reader on a real Go binary, status / wait-reason names, the g validator on
 * garbage, and one live scan of the goleak workload (counts checked against
 * the program's own runtime.NumGoroutine()).
 *
 * The Go binaries and oracle files come from tests/workloads/mk/50-go.mk
 * (`make workloads`, which `make check` runs first). Missing ones fail the
 * test loudly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gort.h"
#include "gort/gort_impl.h"

#ifndef CTOP_WLBIN
#define CTOP_WLBIN "tests/workloads/bin"
#endif

static char *wl_path(const char *name)
{
	static char buf[4][1024];
	static int k;
	const char *dir = getenv("CTOP_WLBIN");
	char *b = buf[k++ & 3];
	snprintf(b, sizeof buf[0], "%s/%s", dir && *dir ? dir : CTOP_WLBIN, name);
	if (access(b, R_OK)) {
		fail_msg("missing %s: build the Go workloads first (make workloads; needs `go`)", b);
	}
	return b;
}

/* ---------------------------------------------------------------- ELF */

struct sect { void *data; size_t size; uint64_t addr; };

static int read_section(const char *path, const char *name, struct sect *out)
{
	elf_version(EV_CURRENT);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	size_t shstr;
	int rc = -1;
	if (e && elf_getshdrstrndx(e, &shstr) == 0) {
		for (Elf_Scn *s = NULL; (s = elf_nextscn(e, s));) {
			GElf_Shdr sh;
			gelf_getshdr(s, &sh);
			const char *n = elf_strptr(e, shstr, sh.sh_name);
			if (!n || strcmp(n, name))
				continue;
			Elf_Data *d = elf_getdata(s, NULL);
			if (!d)
				break;
			out->size = d->d_size;
			out->addr = sh.sh_addr;
			out->data = malloc(d->d_size ? d->d_size : 1);
			memcpy(out->data, d->d_buf, d->d_size);
			rc = 0;
			break;
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	return rc;
}

/* Address of a symbol in the binary's .symtab, 0 if absent. */
static uint64_t symtab_addr(const char *path, const char *name)
{
	elf_version(EV_CURRENT);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	uint64_t addr = 0;
	for (Elf_Scn *s = NULL; e && (s = elf_nextscn(e, s));) {
		GElf_Shdr sh;
		gelf_getshdr(s, &sh);
		if (sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		Elf_Data *d = elf_getdata(s, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			gelf_getsym(d, (int)i, &sym);
			const char *n = elf_strptr(e, sh.sh_link, sym.st_name);
			if (n && !strcmp(n, name))
				addr = sym.st_value;
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	return addr;
}

static struct gopclntab *open_pcln(const char *bin, struct sect *pcln)
{
	struct sect text;
	if (read_section(bin, ".gopclntab", pcln))   /* PIE: in RELRO */
		assert_int_equal(read_section(bin, ".data.rel.ro.gopclntab", pcln), 0);
	assert_int_equal(read_section(bin, ".text", &text), 0);
	free(text.data);
	struct gopclntab *t = gopclntab_open(pcln->data, pcln->size, text.addr);
	assert_non_null(t);
	return t;
}

/* ----------------------------------------------------------- pclntab */

/* Every text symbol's entry and middle, as go tool addr2line resolves them. */
static struct gopclntab *open_pcln_elf(const char *bin)
{
	elf_version(EV_CURRENT);
	int fd = open(bin, O_RDONLY);
	assert_true(fd >= 0);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(e);
	struct gopclntab *t = gopclntab_open_elf(e);
	elf_end(e);
	close(fd);
	return t;
}

/* elf: find the table with gopclntab_open_elf instead of by section name. */
static void check_against_addr2line(const char *bin, const char *oracle, int elf)
{
	struct sect pcln = { NULL, 0, 0 };
	struct gopclntab *t = elf ? open_pcln_elf(bin) : open_pcln(bin, &pcln);
	assert_non_null(t);
	FILE *f = fopen(oracle, "r");
	assert_non_null(f);
	char line[4096];
	int rows = 0, bad = 0, badline = 0;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		char *a = strtok(line, "\t"), *want = strtok(NULL, "\t"), *pos = strtok(NULL, "\t");
		if (!a || !want || !pos)
			continue;
		uint64_t pc = strtoull(a, NULL, 16);
		const char *file;
		int ln;
		uint64_t entry = 0;
		const char *name = gopclntab_lookup(t, pc, &file, &ln, &entry);
		rows++;
		if (!strcmp(want, "?")) {   /* addr2line knows nothing there */
			continue;
		}
		if (!name || strcmp(name, want)) {
			if (bad++ < 5)
				print_message("%s %#llx: got %s, addr2line says %s\n", bin,
					      (unsigned long long)pc, name ? name : "(null)", want);
			continue;
		}
		assert_true(entry <= pc);
		char got[2048];
		snprintf(got, sizeof got, "%s:%d", file ? file : "?", ln);
		if (strcmp(got, pos) && badline++ < 5)
			print_message("%s %#llx %s: got %s, addr2line says %s\n", bin,
				      (unsigned long long)pc, name, got, pos);
	}
	fclose(f);
	print_message("%s: %d addresses, %d name and %d file:line mismatches\n", bin, rows, bad,
		      badline);
	assert_true(rows > 1000);
	assert_int_equal(bad, 0);
	assert_int_equal(badline, 0);
	gopclntab_close(t);
	free(pcln.data);
}

static void test_pclntab_stripped_vs_addr2line(void **state)
{
	check_against_addr2line(wl_path("goleak-stripped"), wl_path("goleak-stripped.addr2line"), 0);
	check_against_addr2line(wl_path("goleak-stripped"), wl_path("goleak-stripped.addr2line"), 1);
}

/* No .gopclntab section: the table is found inside .data.rel.ro. */
static void test_pclntab_merged_vs_addr2line(void **state)
{
	const char *bin = wl_path("goleak-merged");
	struct sect s;
	assert_int_not_equal(read_section(bin, ".gopclntab", &s), 0);
	check_against_addr2line(bin, wl_path("goleak-stripped.addr2line"), 1);
}

static void test_pclntab_full_vs_addr2line(void **state)
{
	check_against_addr2line(wl_path("goleak"), wl_path("goleak.addr2line"), 0);
}

/* The workload's own functions: entry == the ELF symbol, name, file, and a
 * line inside main.go; the stripped twin agrees. */
static void test_pclntab_workload_functions(void **state)
{
	const char *full = wl_path("goleak"), *strip = wl_path("goleak-stripped");
	struct sect p1, p2;
	struct gopclntab *t1 = open_pcln(full, &p1), *t2 = open_pcln(strip, &p2);
	/* ELF symbol, Go function name (assembly functions carry their ABI) */
	const char *syms[] = { "main.leakyReceiver", "main.fixedWaiter", "main.burn", "main.main",
			       "runtime.gopark", "runtime.goexit.abi0" };
	const char *fns[] = { "main.leakyReceiver", "main.fixedWaiter", "main.burn", "main.main",
			      "runtime.gopark", "runtime.goexit" };
	for (size_t i = 0; i < sizeof fns / sizeof *fns; i++) {
		uint64_t a = symtab_addr(full, syms[i]);
		assert_true(a != 0);
		for (int k = 0; k < 2; k++) {
			const char *file;
			int line;
			uint64_t entry;
			const char *n = gopclntab_lookup(k ? t2 : t1, a + 1, &file, &line, &entry);
			assert_non_null(n);
			assert_string_equal(n, fns[i]);
			assert_int_equal(entry, a);
			assert_non_null(file);
			assert_true(line > 0);
			if (!strncmp(fns[i], "main.", 5))
				assert_non_null(strstr(file, "goleak/main.go"));
		}
	}
	/* outside the text: nothing */
	const char *file = "x";
	int line = 7;
	assert_null(gopclntab_lookup(t1, 0x10, &file, &line, NULL));
	assert_null(file);
	assert_int_equal(line, 0);
	assert_null(gopclntab_lookup(t1, UINT64_MAX - 5, NULL, NULL, NULL));
	/* pcsp: 0 at a function's entry, positive inside a function with a frame */
	int32_t d = -1;
	uint64_t burn = symtab_addr(full, "main.leakyReceiver");
	assert_int_equal(gopclntab_spdelta(t1, burn, &d), 0);
	assert_int_equal(d, 0);
	const char *f2;
	int l2;
	for (uint64_t pc = burn + 1; pc < burn + 64; pc++) {
		if (!gopclntab_lookup(t1, pc, &f2, &l2, NULL) || gopclntab_spdelta(t1, pc, &d))
			break;
		if (d > 0)
			break;
	}
	assert_true(d > 0 && d % 8 == 0);
	gopclntab_close(t1);
	gopclntab_close(t2);
	free(p1.data);
	free(p2.data);
}

/* Truncated, corrupted and foreign tables: NULL or harmless lookups. */
static void test_pclntab_garbage(void **state)
{
	struct sect p;
	struct gopclntab *t = open_pcln(wl_path("goleak-stripped"), &p);
	uint64_t lo = 0x401000, hi = lo + 0x100000;
	gopclntab_close(t);

	assert_null(gopclntab_open(NULL, 0, 0));
	assert_null(gopclntab_open(p.data, 7, 0));
	uint8_t zero[4096] = { 0 };
	assert_null(gopclntab_open(zero, sizeof zero, lo));
	uint32_t old = 0xfffffffb;   /* Go 1.2-1.15: not supported, refused */
	uint8_t *c = malloc(p.size);
	memcpy(c, p.data, p.size);
	memcpy(c, &old, 4);
	assert_null(gopclntab_open(c, p.size, lo));

	srand(12345);
	const char *file;
	int line;
	uint64_t entry;
	/* Truncations: the header may survive, the tables not. */
	size_t cuts[] = { 8, 16, 40, 72, 100, 4096, p.size / 3, p.size / 2, p.size - 1 };
	for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
		struct gopclntab *x = gopclntab_open(p.data, cuts[i], lo);
		for (int k = 0; x && k < 2000; k++)
			gopclntab_lookup(x, lo + (uint64_t)rand() % (hi - lo), &file, &line, &entry);
		gopclntab_close(x);
	}
	/* Random byte flips after the header. */
	for (int round = 0; round < 40; round++) {
		memcpy(c, p.data, p.size);
		for (int k = 0; k < 200; k++)
			c[72 + (size_t)rand() % (p.size - 72)] = (uint8_t)rand();
		if (round % 4 == 0)   /* and sometimes the header words */
			c[8 + rand() % 64] = (uint8_t)rand();
		struct gopclntab *x = gopclntab_open(c, p.size, lo);
		for (int k = 0; x && k < 2000; k++) {
			int32_t d;
			uint64_t pc = lo + (uint64_t)rand() % (hi - lo);
			gopclntab_lookup(x, pc, &file, &line, &entry);
			gopclntab_spdelta(x, pc, &d);
		}
		gopclntab_close(x);
	}
	/* Pure noise with a valid magic. */
	for (int round = 0; round < 40; round++) {
		size_t n = 64 + (size_t)rand() % 8192;
		for (size_t k = 0; k < n; k++)
			c[k] = (uint8_t)rand();
		uint32_t m = round & 1 ? 0xfffffff0 : 0xfffffff1;
		memcpy(c, &m, 4);
		c[4] = c[5] = 0;
		c[6] = 1;
		c[7] = 8;
		struct gopclntab *x = gopclntab_open(c, n, lo);
		for (int k = 0; x && k < 500; k++)
			gopclntab_lookup(x, (uint64_t)rand() << 8, &file, &line, &entry);
		gopclntab_close(x);
	}
	free(c);
	free(p.data);
}

/* ------------------------------------------------------------- layout */

static void test_layout_from_dwarf(void **state)
{
	struct gort *g = gort_open_exe(wl_path("goleak"), 0);
	assert_non_null(g);
	assert_null(gort_error(g));
	assert_true(!strncmp(gort_version(g), "go1.", 4));
	const struct gort_layout *L = gort_get_layout(g);
	assert_non_null(L);
	print_message("%s: g %d bytes, goid@%d(%d) status@%d(%d) waitreason@%d(%d) sched.pc@%d "
		      "sched.sp@%d sched.bp@%d stack@%d,%d m@%d; m %d bytes, procid@%d\n",
		      gort_version(g), L->g_size, L->goid, L->goid_size, L->status,
		      L->status_size, L->waitreason, L->waitreason_size, L->sched_pc,
		      L->sched_sp, L->sched_bp, L->stack_lo, L->stack_hi, L->m, L->m_size,
		      L->m_procid);
	assert_true(L->g_size >= 200 && L->g_size < 4096);
	int32_t offs[] = { L->goid, L->status, L->waitreason, L->waitsince, L->sched_pc,
			   L->sched_sp, L->sched_bp, L->stack_lo, L->stack_hi, L->startpc,
			   L->gopc, L->m };
	for (size_t i = 0; i < sizeof offs / sizeof *offs; i++) {
		assert_true(offs[i] >= 0);
		assert_true(offs[i] + 8 <= L->g_size);
		for (size_t j = 0; j < i; j++)
			assert_true(offs[i] != offs[j]);
	}
	/* Facts of the runtime.g definition that hold across versions:
	 * stack is the first field, {lo, hi}; gobuf = {sp, pc, ...}. */
	assert_int_equal(L->stack_lo, 0);
	assert_int_equal(L->stack_hi, 8);
	assert_int_equal(L->sched_pc, L->sched_sp + 8);
	assert_true(L->sched_bp > L->sched_pc && L->sched_bp - L->sched_sp < 64);
	assert_int_equal(L->goid_size, 8);
	assert_int_equal(L->status_size, 4);
	assert_int_equal(L->waitreason_size, 1);
	assert_true(L->m_size > 0 && L->m_procid >= 0 && L->m_procid < L->m_size);
	/* Globals: where the ELF symbol table puts them. */
	assert_int_equal(L->allglen, symtab_addr(wl_path("goleak"), "runtime.allglen"));
	assert_int_equal(L->allgs, symtab_addr(wl_path("goleak"), "runtime.allgs"));
	assert_int_equal(L->allm, symtab_addr(wl_path("goleak"), "runtime.allm"));
	assert_int_equal(L->waitreason_strings,
			 symtab_addr(wl_path("goleak"), "runtime.waitReasonStrings"));
	assert_true(L->nwaitreasons >= 20 && L->nwaitreasons < 100);
	gort_close(g);
}

/* Wait reasons come from the binary's runtime.waitReasonStrings. */
static void test_wait_reasons(void **state)
{
	struct gort *g = gort_open_exe(wl_path("goleak"), 0);
	assert_non_null(g);
	const struct gort_layout *L = gort_get_layout(g);
	assert_non_null(L);
	assert_string_equal(gort_wait_reason(g, 0), "");   /* waitReasonZero */
	int chan = 0, sel = 0, sleep = 0, named = 0;
	for (unsigned i = 0; i < L->nwaitreasons; i++) {
		const char *w = gort_wait_reason(g, i);
		named += w[0] != 0;
		chan += !strcmp(w, "chan receive");
		sel += !strcmp(w, "select");
		sleep += !strcmp(w, "sleep");
	}
	assert_int_equal(chan, 1);
	assert_int_equal(sel, 1);
	assert_int_equal(sleep, 1);
	assert_int_equal(named, (int)L->nwaitreasons - 1);
	assert_string_equal(gort_wait_reason(g, L->nwaitreasons), "");
	assert_string_equal(gort_wait_reason(g, 100000), "");
	assert_string_equal(gort_wait_reason(NULL, 1), "");
	gort_close(g);
}

static void test_status_names(void **state)
{
	const char *want[] = { "idle", "runnable", "running", "syscall", "waiting",
			       "moribund", "dead", "enqueue", "copystack", "preempted" };
	for (unsigned i = 0; i < 10; i++) {
		assert_string_equal(gort_status_name(i), want[i]);
		assert_string_equal(gort_status_name(i | 0x1000), want[i]);
	}
	assert_string_equal(gort_status_name(10), "?");
	assert_string_equal(gort_status_name(0xffffffff), "?");
	assert_int_equal(gort_state_char(2), 'R');
	assert_int_equal(gort_state_char(1), 'R');
	assert_int_equal(gort_state_char(4 | 0x1000), 'S');
	assert_int_equal(gort_state_char(3), 'D');
	assert_int_equal(gort_state_char(6), '?');
}

/* The stripped twin: Go, version known, and one clear line on goroutines. */
static void test_stripped_binary(void **state)
{
	struct gort *g = gort_open_exe(wl_path("goleak-stripped"), 0);
	assert_non_null(g);
	assert_true(!strncmp(gort_version(g), "go1.", 4));
	assert_non_null(gort_error(g));
	assert_string_equal(gort_error(g),
			    "goroutines need the binary's DWARF (built with -ldflags=-w?)");
	assert_null(gort_get_layout(g));
	struct goroutine *gs = (void *)1;
	struct gort_stats st;
	assert_true(gort_scan(g, &gs, &st) < 0);
	assert_null(gs);
	gort_close(g);
}

static void test_not_go(void **state)
{
	assert_null(gort_open_exe("/bin/sh", 0));
	assert_null(gort_open_exe("/nonexistent/x", 0));
	assert_null(gort_open_exe("/proc/self/status", 0));   /* not ELF */
	assert_null(gort_open(getpid()));                    /* C test binary */
	assert_null(gort_open(0x7ffffff0));                  /* no such pid */
}

/* ----------------------------------------------------------- validator */

static struct gort_layout synth_layout(void)
{
	struct gort_layout L;
	memset(&L, 0xff, sizeof L);
	L.g_size = 256;
	L.stack_lo = 0; L.stack_hi = 8;
	L.sched_sp = 56; L.sched_pc = 64; L.sched_bp = 104;
	L.m = 48;
	L.status = 144; L.status_size = 4;
	L.goid = 152; L.goid_size = 8;
	L.waitreason = 176; L.waitreason_size = 1;
	L.waitsince = 184;
	L.startpc = 200; L.gopc = 208;
	L.nwaitreasons = 30;
	return L;
}

static void put64(uint8_t *b, int32_t off, uint64_t v) { memcpy(b + off, &v, 8); }
static void put32(uint8_t *b, int32_t off, uint32_t v) { memcpy(b + off, &v, 4); }

#define TLO 0x401000u
#define THI 0x500000u

static void valid_g(const struct gort_layout *L, uint8_t *b)
{
	memset(b, 0, (size_t)L->g_size);
	put64(b, L->stack_lo, 0xc000100000);
	put64(b, L->stack_hi, 0xc000102000);
	put64(b, L->sched_sp, 0xc000101f00);
	put64(b, L->sched_bp, 0xc000101f40);
	put64(b, L->sched_pc, 0x434000);
	put32(b, L->status, 4);
	put64(b, L->goid, 42);
	b[L->waitreason] = 14;
	put64(b, L->startpc, 0x492d40);
	put64(b, L->gopc, 0x493200);
}

static void test_decode_valid_and_broken(void **state)
{
	struct gort_layout L = synth_layout();
	uint8_t b[256];
	struct gort_graw o;
	valid_g(&L, b);
	assert_int_equal(gort_decode_g(&L, b, sizeof b, TLO, THI, &o), GORT_G_OK);
	assert_int_equal(o.goid, 42);
	assert_int_equal(o.status, 4);
	assert_int_equal(o.waitreason, 14);
	assert_int_equal(o.pc, 0x434000);
	assert_int_equal(o.bp, 0xc000101f40);
	assert_int_equal(o.startpc, 0x492d40);
	/* scan bit: still valid */
	put32(b, L.status, 0x1004);
	assert_int_equal(gort_decode_g(&L, b, sizeof b, TLO, THI, &o), GORT_G_OK);
	assert_int_equal(o.status, 0x1004);
	/* dead and idle: skipped, not errors */
	put32(b, L.status, 6);
	assert_int_equal(gort_decode_g(&L, b, sizeof b, TLO, THI, &o), GORT_G_SKIP);
	put32(b, L.status, 0);
	assert_int_equal(gort_decode_g(&L, b, sizeof b, TLO, THI, &o), GORT_G_SKIP);
	/* running with cleared sched: fine, no stack */
	valid_g(&L, b);
	put32(b, L.status, 2);
	put64(b, L.sched_sp, 0);
	put64(b, L.sched_bp, 0);
	assert_int_equal(gort_decode_g(&L, b, sizeof b, TLO, THI, &o), GORT_G_OK);
	assert_int_equal(o.pc, 0);
	/* each broken field */
	struct { int32_t off; int size; uint64_t v; } bad[] = {
		{ L.status, 4, 5 }, { L.status, 4, 7 }, { L.status, 4, 10 },
		{ L.status, 4, 0x2004 }, { L.status, 4, 0xffffffff },
		{ L.goid, 8, 0 }, { L.goid, 8, (uint64_t)-3 },
		{ L.stack_lo, 8, 0 }, { L.stack_hi, 8, 0xc000100000 },
		{ L.stack_hi, 8, 0xc000100000 + (UINT64_C(2) << 30) },
		{ L.sched_sp, 8, 0xc000102008 }, { L.sched_sp, 8, 0xc0000fff00 },
		{ L.sched_sp, 8, 0xc000101f01 }, { L.sched_sp, 8, 0 },
		{ L.sched_pc, 8, 0 }, { L.sched_pc, 8, THI }, { L.sched_pc, 8, 0x1000 },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		valid_g(&L, b);
		if (bad[i].size == 4)
			put32(b, bad[i].off, (uint32_t)bad[i].v);
		else
			put64(b, bad[i].off, bad[i].v);
		assert_int_equal(gort_decode_g(&L, b, sizeof b, TLO, THI, &o), GORT_G_BAD);
	}
	/* a bp outside the stack is dropped, not fatal */
	valid_g(&L, b);
	put64(b, L.sched_bp, 0xdeadbeef);
	assert_int_equal(gort_decode_g(&L, b, sizeof b, TLO, THI, &o), GORT_G_OK);
	assert_int_equal(o.bp, 0);
	/* startpc outside the text: dropped */
	valid_g(&L, b);
	put64(b, L.startpc, 0x10);
	assert_int_equal(gort_decode_g(&L, b, sizeof b, TLO, THI, &o), GORT_G_OK);
	assert_int_equal(o.startpc, 0);
	/* short buffer, no layout */
	assert_int_equal(gort_decode_g(&L, b, 100, TLO, THI, &o), GORT_G_BAD);
	assert_int_equal(gort_decode_g(NULL, b, sizeof b, TLO, THI, &o), GORT_G_BAD);
	assert_int_equal(gort_decode_g(&L, NULL, sizeof b, TLO, THI, &o), GORT_G_BAD);
}

/* Random bytes into the validator with the real binary's layout: whatever
 * it accepts satisfies every invariant the unwinder relies on. */
static void test_decode_random_bytes(void **state)
{
	struct gort *g = gort_open_exe(wl_path("goleak"), 0);
	assert_non_null(g);
	struct gort_layout L = *gort_get_layout(g);
	gort_close(g);
	uint8_t *b = malloc((size_t)L.g_size);
	srand(777);
	int ok = 0, skip = 0, badn = 0;
	for (int round = 0; round < 200000; round++) {
		for (int32_t i = 0; i < L.g_size; i++)
			b[i] = (uint8_t)rand();
		if (round & 1) {   /* make half of them nearly plausible */
			put32(b, L.status, (uint32_t)(rand() % 12) | (rand() & 1 ? 0x1000u : 0));
			put64(b, L.goid, (uint64_t)(rand() % 1000));
			uint64_t lo = 0xc000000000 + ((uint64_t)(rand() % 4096) << 13);
			put64(b, L.stack_lo, rand() % 8 ? lo : (uint64_t)rand());
			put64(b, L.stack_hi, lo + 8192);
			put64(b, L.sched_sp, lo + (uint64_t)(rand() % 10000) * 8 - 8000);
			put64(b, L.sched_bp, lo + (uint64_t)(rand() % 10000) * 8 - 8000);
			put64(b, L.sched_pc, TLO + (uint64_t)(rand() % 0x120000) - 0x10000);
		}
		struct gort_graw o;
		int rc = gort_decode_g(&L, b, (size_t)L.g_size, TLO, THI, &o);
		if (rc == GORT_G_BAD) {
			badn++;
			continue;
		}
		uint32_t st = o.status & ~0x1000u;
		assert_true(st < 10);
		if (rc == GORT_G_SKIP) {
			assert_true(st == 0 || st == 6);
			skip++;
			continue;
		}
		ok++;
		assert_true(st != 0 && st != 6 && st != 5 && st != 7);
		assert_true(o.goid > 0);
		assert_true(o.lo && o.lo < o.hi && o.hi - o.lo <= (UINT64_C(1) << 30));
		if (o.sp) {
			assert_true(o.sp >= o.lo && o.sp <= o.hi);
			assert_true(o.pc >= TLO && o.pc < THI);
		} else {
			assert_int_equal(st, 2);
		}
		if (o.bp)
			assert_true(o.bp >= o.sp && o.bp + 16 <= o.hi);
		assert_true(!o.startpc || (o.startpc >= TLO && o.startpc < THI));
	}
	print_message("random g structs: %d accepted, %d skipped, %d rejected\n", ok, skip, badn);
	assert_true(ok > 100);   /* the plausible half does get through */
	free(b);
}

/* ------------------------------------------------------------ live scan */

static int read_int_file(const char *path, long *v)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int rc = fscanf(f, "%ld", v) == 1 ? 0 : -1;
	fclose(f);
	return rc;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Load bias of bin in pid, computed independently of gort: the mapping of
 * file offset 0 minus the lowest PT_LOAD address. */
static uint64_t exe_bias(pid_t pid, const char *bin)
{
	elf_version(EV_CURRENT);
	int fd = open(bin, O_RDONLY);
	assert_true(fd >= 0);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	size_t n = 0;
	uint64_t lowest = UINT64_MAX;
	assert_int_equal(elf_getphdrnum(e, &n), 0);
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && ph.p_vaddr < lowest)
			lowest = ph.p_vaddr;
	}
	elf_end(e);
	close(fd);
	char path[64], line[1024];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	const char *base = strrchr(bin, '/') + 1;
	uint64_t start = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long long lo, off;
		line[strcspn(line, "\n")] = 0;
		const char *b = strrchr(line, '/');
		if (sscanf(line, "%llx-%*x %*s %llx", &lo, &off) == 2 && off == 0 && b &&
		    !strcmp(b + 1, base)) {
			start = lo;
			break;
		}
	}
	fclose(f);
	assert_true(start != 0);
	return start - (lowest & ~UINT64_C(0xfff));
}

/* goleak with N=120 leaked at once, K=3: the scan must find exactly 120
 * goroutines whose stack holds main.leakyReceiver, 3 in main.fixedWaiter,
 * burn running, syscallWaiter in a syscall, and as many goroutines in all as
 * runtime.NumGoroutine(). */
static void live_scan(const char *bin)
{
	char dir[] = "/tmp/test_gort.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char out[256], outl[300], prog[300];
	snprintf(out, sizeof out, "%s/n", dir);
	snprintf(outl, sizeof outl, "%s/n.leaked", dir);
	snprintf(prog, sizeof prog, "%s/n.progress", dir);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(bin, bin, "120", "0", "3", out, (char *)NULL);
		_exit(127);
	}
	long leaked = 0, ng = 0;
	for (int i = 0; i < 200 && (read_int_file(outl, &leaked) || leaked < 120); i++)
		sleep_ms(50);
	assert_int_equal(leaked, 120);
	sleep_ms(300);   /* let all of them park */

	struct gort *g = gort_open(pid);
	assert_non_null(g);
	assert_null(gort_error(g));
	struct sect pcln;
	struct gopclntab *t = open_pcln(bin, &pcln);
	uint64_t bias = exe_bias(pid, bin);
	print_message("%s: load bias %#llx\n", bin, (unsigned long long)bias);

	int tries, good = 0;
	for (tries = 0; tries < 20 && !good; tries++) {
		struct goroutine *gs;
		struct gort_stats st;
		long p0 = 0, p1 = 0;
		read_int_file(prog, &p0);
		int n = gort_scan(g, &gs, &st);
		assert_true(n > 0);
		assert_int_equal(read_int_file(out, &ng), 0);
		int leak = 0, fixed = 0, burn = 0, runningburn = 0, intact = 0, sys = 0;
		for (int i = 0; i < n; i++) {
			int hasleak = 0, hasfixed = 0, hasexit = 0, hassys = 0;
			for (uint32_t k = 0; k < gs[i].n; k++) {
				const char *fn = gopclntab_lookup(t, gs[i].pcs[k] - bias, NULL, NULL, NULL);
				assert_non_null(fn);
				hasleak |= !strcmp(fn, "main.leakyReceiver");
				hasfixed |= !strcmp(fn, "main.fixedWaiter");
				hasexit |= !strcmp(fn, "runtime.goexit");
				hassys |= !strcmp(fn, "main.syscallWaiter");
				if (!strcmp(fn, "main.burn")) {
					burn++;
					runningburn += gs[i].stale && gs[i].tid > 0;
				}
			}
			const char *top = gopclntab_lookup(t, gs[i].pcs[0] - bias, NULL, NULL, NULL);
			if (hasleak || hasfixed) {
				/* parked in a channel receive, the whole stack read */
				assert_string_equal(gs[i].status_name, "waiting");
				assert_string_equal(gs[i].wait_reason, "chan receive");
				assert_string_equal(top, "runtime.gopark");
				assert_true(hasexit);
				intact++;
			}
			if (hassys) {
				/* entersyscall saved pc and sp, no bp: unwound
				 * with the pcsp table; the thread is known */
				assert_string_equal(gs[i].status_name, "syscall");
				assert_true(gs[i].tid > 0);
				assert_true(hasexit);
				assert_string_equal(top, "syscall.Syscall");
			}
			leak += hasleak;
			fixed += hasfixed;
			sys += hassys;
		}
		read_int_file(prog, &p1);
		print_message("scan %d: %d goroutines (NumGoroutine %ld), leaky %d fixed %d burn %d "
			      "(running on a known thread: %d) syscall %d, skipped %u system %u, "
			      "%.2f ms, progress %ld -> %ld\n", tries, n, ng, leak, fixed, burn,
			      runningburn, sys, st.skipped, st.system, st.total_ns / 1e6, p0, p1);
		/* The target keeps running: a scan may race with the status
		 * writer goroutine; retry then, never accept wrong counts. */
		good = leak == 120 && fixed == 3 && n == ng && burn == 1 && sys == 1 &&
		       intact == 123;
		if (!good) {
			assert_true(leak <= 120 && fixed <= 3);
			sleep_ms(100);
		}
		free(gs);
	}
	assert_true(good);
	gopclntab_close(t);
	free(pcln.data);
	gort_close(g);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_live_scan(void **state) { live_scan(wl_path("goleak")); }
/* Loaded at a random base: every address read must be relocated. */
static void test_live_scan_pie(void **state)
{
	struct gopclntab *t = open_pcln_elf(wl_path("goleak-pie"));
	assert_non_null(t);   /* .data.rel.ro.gopclntab */
	gopclntab_close(t);
	live_scan(wl_path("goleak-pie"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pclntab_stripped_vs_addr2line),
		cmocka_unit_test(test_pclntab_full_vs_addr2line),
		cmocka_unit_test(test_pclntab_merged_vs_addr2line),
		cmocka_unit_test(test_pclntab_workload_functions),
		cmocka_unit_test(test_pclntab_garbage),
		cmocka_unit_test(test_layout_from_dwarf),
		cmocka_unit_test(test_wait_reasons),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_stripped_binary),
		cmocka_unit_test(test_not_go),
		cmocka_unit_test(test_decode_valid_and_broken),
		cmocka_unit_test(test_decode_random_bytes),
		cmocka_unit_test(test_live_scan),
		cmocka_unit_test(test_live_scan_pie),
	};
	return cmocka_run_group_tests_name("gort", tests, NULL, NULL);
}
