/* unwind: synthetic callchains and stacks, then real samples of a child of
 * this test (this binary re-executed in "spin" mode) taken with the perf
 * sampler and unwound in fp and dwarf mode: the stacks must reach main. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <linux/perf_event.h>

#include "sampler.h"
#include "symbol.h"
#include "unwind.h"

/* ---- the child: known call chains, frame pointers kept ------------------ */

#define SPIN __attribute__((noinline, used, optimize("no-omit-frame-pointer")))

volatile unsigned long spin_sink;
volatile int spin_stop;         /* never set: keeps the loops returning */

SPIN static void spin_leaf(void)
{
	unsigned long x = spin_sink;
	for (int i = 0; i < 100000; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	spin_sink = x;
}

SPIN static void spin_mid(void)
{
	spin_leaf();
	spin_sink++;
}

SPIN static void spin_top(void)
{
	while (!spin_stop) {
		spin_mid();
		spin_leaf();
	}
}

SPIN static void spin_deep(int depth)
{
	if (depth > 0)
		spin_deep(depth - 1);
	else
		spin_top();
	spin_sink++;    /* not a tail call */
}

/* ---- synthetic -------------------------------------------------------- */

static void test_callchain_markers(void **state)
{
	struct unwinder *u = unwinder_new(NULL, UNWIND_FP);
	uint64_t chain[] = {
		(uint64_t)PERF_CONTEXT_KERNEL, 0xffffffff81000000ull,
		(uint64_t)PERF_CONTEXT_USER, 0x401000, 0x402010, 0x403020, 0,
	};
	struct raw_sample s = { .pid = 1, .tid = 1, .nr_ips = 7, .ips = chain };
	uint64_t pcs[16];
	int n = unwind_sample(u, &s, pcs, 16);
	assert_int_equal(n, 3);
	assert_int_equal(pcs[0], 0x401000);     /* leaf: exact */
	assert_int_equal(pcs[1], 0x40200f);     /* callers: call site */
	assert_int_equal(pcs[2], 0x40301f);

	/* deeper than max: cut at the root side, marker last */
	n = unwind_sample(u, &s, pcs, 2);
	assert_int_equal(n, 2);
	assert_int_equal(pcs[0], 0x401000);
	assert_true(pcs[1] == CTOP_TRUNCATED_PC);

	/* the kernel hit its depth limit */
	s.ips_truncated = 1;
	n = unwind_sample(u, &s, pcs, 16);
	assert_int_equal(n, 4);
	assert_true(pcs[3] == CTOP_TRUNCATED_PC);

	/* no user part */
	struct raw_sample k = { .nr_ips = 2, .ips = chain };
	assert_int_equal(unwind_sample(u, &k, pcs, 16), 0);
	assert_int_equal(unwind_sample(u, &s, pcs, 0), 0);

	struct unwind_stats st;
	unwind_get_stats(u, &st);
	assert_int_equal(st.samples, 4);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.truncated, 2);
	unwinder_free(u);
}

/* A copied stack at address 0x7fff0000: frames at +16 and +48. */
static void fake_stack(uint64_t *stk, struct raw_sample *s)
{
	const uint64_t base = 0x7fff0000;
	memset(stk, 0, 64 * 8);
	stk[2] = base + 48;             /* frame 1: saved rbp */
	stk[3] = 0x401234;              /*          return address */
	stk[6] = base + 96;             /* frame 2 */
	stk[7] = 0x405678;
	stk[12] = 0;                    /* frame 3: end of chain */
	stk[13] = 0x409abc;
	memset(s, 0, sizeof *s);
	s->pid = s->tid = 1;
	s->has_regs = 1;
	s->regs[CTOP_REG_IP] = 0x400100;
	s->regs[CTOP_REG_SP] = base;
	s->regs[CTOP_REG_BP] = base + 16;
	s->stack = (const uint8_t *)stk;
	s->stack_size = 64 * 8;
}

static void test_fp_walk_copied_stack(void **state)
{
	uint64_t stk[64], pcs[16];
	struct raw_sample s;
	struct unwinder *u = unwinder_new(NULL, UNWIND_FP);

	fake_stack(stk, &s);
	int n = unwind_sample(u, &s, pcs, 16);
	assert_int_equal(n, 4);
	assert_int_equal(pcs[0], 0x400100);
	assert_int_equal(pcs[1], 0x401233);
	assert_int_equal(pcs[2], 0x405677);
	assert_int_equal(pcs[3], 0x409abb);

	/* truncated */
	n = unwind_sample(u, &s, pcs, 3);
	assert_int_equal(n, 3);
	assert_true(pcs[2] == CTOP_TRUNCATED_PC);

	/* a loop in the chain stops the walk */
	fake_stack(stk, &s);
	stk[6] = 0x7fff0000 + 16;
	assert_int_equal(unwind_sample(u, &s, pcs, 16), 3);

	/* rbp outside the copy, misaligned, or at its very end */
	fake_stack(stk, &s);
	s.regs[CTOP_REG_BP] = 0x1000;
	assert_int_equal(unwind_sample(u, &s, pcs, 16), 1);
	s.regs[CTOP_REG_BP] = 0x7fff0000 + 17;
	assert_int_equal(unwind_sample(u, &s, pcs, 16), 1);
	s.regs[CTOP_REG_BP] = 0x7fff0000 + 64 * 8 - 8;
	assert_int_equal(unwind_sample(u, &s, pcs, 16), 1);
	s.regs[CTOP_REG_BP] = UINT64_MAX - 7;
	assert_int_equal(unwind_sample(u, &s, pcs, 16), 1);

	/* the chain leads above the copy: the root side is cut */
	fake_stack(stk, &s);
	stk[6] = 0x7fff0000 + 64 * 8 + 64;
	assert_int_equal(unwind_sample(u, &s, pcs, 16), 4);
	assert_true(pcs[3] == CTOP_TRUNCATED_PC);

	/* no stack at all: the pc alone */
	fake_stack(stk, &s);
	s.stack = NULL;
	s.stack_size = 0;
	assert_int_equal(unwind_sample(u, &s, pcs, 16), 1);

	/* dwarf mode without a symtab walks frame pointers too */
	struct unwinder *d = unwinder_new(NULL, UNWIND_DWARF);
	fake_stack(stk, &s);
	assert_int_equal(unwind_sample(d, &s, pcs, 16), 4);
	unwinder_free(d);
	unwinder_free(u);
}

/* ---- real samples of a child ------------------------------------------- */

static pid_t spawn_child(const char *mode)
{
	pid_t c = fork();
	if (c == 0) {
		setenv("CTOP_UNWIND_SPIN", mode, 1);
		execl("/proc/self/exe", "test_unwind", (char *)NULL);
		_exit(127);
	}
	assert_true(c > 0);
	/* wait until the exec happened and the child spins */
	char path[64], buf[64];
	snprintf(path, sizeof path, "/proc/%d/comm", (int)c);
	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(path, "r");
		if (f) {
			int ok = fgets(buf, sizeof buf, f) && strncmp(buf, "test_unwind", 11) == 0;
			fclose(f);
			if (ok)
				break;
		}
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	struct timespec ts = { 0, 100000000 };
	nanosleep(&ts, NULL);
	return c;
}

static void reap(pid_t c)
{
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
}

struct collect {
	struct unwinder *u, *fpw;     /* fpw: fp walk of the same copied stack */
	struct unwinder *u2;          /* a second dwarf unwinder on the same symtab */
	struct symtab *st;
	long samples, main_ok, fpw_ok, trunc_last, leaf_ok, fpw_trunc, u2_ok;
};

static int has_func(struct symtab *st, const uint64_t *pcs, int n, const char *name)
{
	for (int i = 0; i < n; i++) {
		if (pcs[i] == CTOP_TRUNCATED_PC)
			continue;
		const struct sym_loc *l = symtab_lookup(st, pcs[i]);
		for (uint32_t k = 0; k < l->nframes; k++)
			if (strcmp(l->frames[k].func, name) == 0)
				return 1;
	}
	return 0;
}

static void on_sample(const struct raw_sample *s, void *arg)
{
	struct collect *c = arg;
	uint64_t pcs[CTOP_MAX_FRAMES];
	int n = unwind_sample(c->u, s, pcs, CTOP_MAX_FRAMES);
	c->samples++;
	if (n > 0 && has_func(c->st, pcs, n, "main"))
		c->main_ok++;
	if (n > 0 && pcs[n - 1] == CTOP_TRUNCATED_PC)
		c->trunc_last++;
	if (n > 0 && (has_func(c->st, pcs, 1, "spin_leaf") || has_func(c->st, pcs, 1, "spin_mid")))
		c->leaf_ok++;
	if (c->fpw && s->has_regs) {
		/* the ptrace paths' view: regs + stack, no callchain */
		n = unwind_sample(c->fpw, s, pcs, CTOP_MAX_FRAMES);
		if (n > 0 && has_func(c->st, pcs, n, "main"))
			c->fpw_ok++;
		if (n > 0 && pcs[n - 1] == CTOP_TRUNCATED_PC)
			c->fpw_trunc++;
	}
	if (c->u2) {
		n = unwind_sample(c->u2, s, pcs, CTOP_MAX_FRAMES);
		if (n > 0 && has_func(c->st, pcs, n, "main"))
			c->u2_ok++;
	}
}

static void sample_child(const char *mode, enum unwind_mode um, struct collect *c)
{
	pid_t child = spawn_child(mode);
	struct sampler_opts o = { .pid = child, .freq = 999, .unwind = um };
	struct sampler *s = NULL;
	char err[512] = "";
	int r = sampler_perf_open(&o, &s, err, sizeof err);
	if (r != 0) {
		reap(child);
		fail_msg("perf_event_open is needed for this test: %s", err);
	}
	c->st = symtab_open(child);
	assert_non_null(c->st);
	c->u = unwinder_new(c->st, um);
	c->fpw = um == UNWIND_FP ? NULL : unwinder_new(c->st, UNWIND_FP);
	c->u2 = um == UNWIND_FP ? NULL : unwinder_new(c->st, UNWIND_AUTO);
	uint64_t end = now_ns() + 1000000000ull;
	/* a loaded machine gives the child little CPU: sample for up to 10 s
	 * until there are enough samples to judge */
	while (now_ns() < end || (c->samples < 200 && now_ns() < end + 9000000000ull)) {
		sampler_wait(s, 50);
		assert_true(sampler_drain(s, on_sample, c) >= 0);
	}
	sampler_drain(s, on_sample, c);
	assert_int_equal(sampler_target_gone(s), 0);
	struct sampler_stats ss;
	sampler_get_stats(s, &ss);
	assert_true(ss.samples >= (uint64_t)c->samples);
	assert_string_equal(sampler_describe(s), "perf cpu-clock 999 Hz");
	sampler_close(s);
	reap(child);
	print_message("    %s/%s: %ld samples, %ld reach main, %ld fp-walk reach main, "
		      "%ld truncated, %ld lost\n", mode,
		      um == UNWIND_FP ? "fp" : "dwarf", c->samples, c->main_ok,
		      c->fpw_ok, c->trunc_last, (long)ss.lost);
	unwinder_free(c->u);
	if (c->fpw)
		unwinder_free(c->fpw);
	if (c->u2)
		unwinder_free(c->u2);
	symtab_close(c->st);
	assert_true(c->samples >= 50);
}

static void test_child_fp(void **state)
{
	struct collect c = {0};
	sample_child("spin", UNWIND_FP, &c);
	assert_true(c.main_ok * 100 >= c.samples * 97);
	assert_true(c.leaf_ok * 100 >= c.samples * 97);
}

static void test_child_dwarf(void **state)
{
	struct collect c = {0};
	sample_child("spin", UNWIND_DWARF, &c);
	assert_true(c.main_ok * 100 >= c.samples * 97);
	assert_true(c.leaf_ok * 100 >= c.samples * 97);
	/* the same copied stacks walked by frame pointers (ptrace paths) */
	assert_true(c.fpw_ok * 100 >= c.samples * 97);
	/* a second unwinder sharing the symtab (and its attached Dwfl) */
	assert_true(c.u2_ok * 100 >= c.samples * 97);
}

/* 1000 frames: more than the kernel's callchain limit (127) and more than
 * the 8 KiB stack copy holds. The cut must be marked, not hidden. */
static void test_child_deep_fp(void **state)
{
	struct collect c = {0};
	sample_child("deep", UNWIND_FP, &c);
	assert_true(c.trunc_last * 100 >= c.samples * 97);
}

static void test_child_deep_dwarf(void **state)
{
	struct collect c = {0};
	sample_child("deep", UNWIND_DWARF, &c);
	assert_true(c.trunc_last * 100 >= c.samples * 97);
	assert_true(c.fpw_trunc * 100 >= c.samples * 97);
}

static void test_target_gone(void **state)
{
	pid_t child = spawn_child("spin");
	struct sampler_opts o = { .pid = child, .freq = 99, .unwind = UNWIND_FP };
	struct sampler *s = NULL;
	char err[512] = "";
	if (sampler_perf_open(&o, &s, err, sizeof err) != 0) {
		reap(child);
		fail_msg("perf_event_open is needed for this test: %s", err);
	}
	assert_int_equal(sampler_target_gone(s), 0);
	kill(child, SIGKILL);
	/* a zombie counts as gone, before and after reaping */
	for (int i = 0; i < 200 && !sampler_target_gone(s); i++) {
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	assert_int_equal(sampler_target_gone(s), 1);
	waitpid(child, NULL, 0);
	assert_int_equal(sampler_target_gone(s), 1);
	sampler_close(s);
}

static void test_open_errors(void **state)
{
	struct sampler_opts o = { .pid = 0, .freq = 99, .unwind = UNWIND_FP };
	struct sampler *s = NULL;
	char err[512] = "";
	o.pid = 0x3ffffff0;     /* beyond pid_max */
	assert_int_equal(sampler_perf_open(&o, &s, err, sizeof err), -ESRCH);
	assert_non_null(strstr(err, "no such process"));
	assert_null(s);

	o.pid = getpid();
	setenv("CTOP_FORCE_PERF_EPERM", "1", 1);
	assert_int_equal(sampler_perf_open(&o, &s, err, sizeof err), -EACCES);
	unsetenv("CTOP_FORCE_PERF_EPERM");
	assert_null(s);
	assert_non_null(strstr(err, "perf_event_paranoid="));
	assert_non_null(strstr(err, "--sampler ptrace"));
	assert_non_null(strstr(err, "cap_perfmon"));
	assert_null(strchr(err, '\n'));

	pid_t bad = 0x3ffffff0;
	o.tids = &bad;
	o.ntids = 1;
	assert_int_equal(sampler_perf_open(&o, &s, err, sizeof err), -ESRCH);
	assert_null(s);
}

int main(void)
{
	const char *mode = getenv("CTOP_UNWIND_SPIN");
	if (mode) {
		if (strcmp(mode, "deep") == 0)
			spin_deep(1000);
		spin_top();
		return 0;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_callchain_markers),
		cmocka_unit_test(test_fp_walk_copied_stack),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_target_gone),
		cmocka_unit_test(test_child_fp),
		cmocka_unit_test(test_child_dwarf),
		cmocka_unit_test(test_child_deep_fp),
		cmocka_unit_test(test_child_deep_dwarf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
