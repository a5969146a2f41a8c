/* unwind: synthetic callchains and stacks, then real samples of a child of
 * this test (this binary re-executed in "spin" mode) taken with the perf
 * sampler and unwound in fp and dwarf mode: the stacks must reach main. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
#include <sys/prctl.h>
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

/* churn mode: one short-lived thread after another, each burning 5 ms of
 * its own CPU time; it reports 'S'+tid when it starts and 'E'+tid when it
 * is done on the fd named by CTOP_UNWIND_FD. */
static int churn_fd = -1;

static void churn_report(char kind)
{
	char msg[5];
	int32_t tid = (int32_t)gettid();
	msg[0] = kind;
	memcpy(msg + 1, &tid, 4);
	if (write(churn_fd, msg, sizeof msg) != (ssize_t)sizeof msg)
		_exit(3);
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

SPIN static void *churn_thread(void *arg)
{
	churn_report('S');
	uint64_t end = thread_cpu_ns() + 5000000;
	while (thread_cpu_ns() < end)
		spin_leaf();
	churn_report('E');
	return arg;
}

SPIN static void churn_main(void)
{
	const char *fd = getenv("CTOP_UNWIND_FD");
	churn_fd = fd ? atoi(fd) : -1;
	while (!spin_stop) {
		pthread_t t;
		if (pthread_create(&t, NULL, churn_thread, NULL) != 0)
			_exit(2);
		pthread_join(t, NULL);
	}
}

SPIN static void *spin_thread(void *arg)
{
	spin_top();
	return arg;
}

/* threads mode: three more threads spinning like the main thread */
SPIN static void threads_main(void)
{
	for (int i = 0; i < 3; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, spin_thread, NULL) != 0)
			_exit(2);
	}
	spin_top();
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
	/* wait until the child is past the dynamic loader and in main (on a
	 * loaded machine the loader alone can take a while) */
	char path[64], buf[64];
	snprintf(path, sizeof path, "/proc/%d/comm", (int)c);
	for (int i = 0; i < 3000; i++) {
		FILE *f = fopen(path, "r");
		if (f) {
			int ok = fgets(buf, sizeof buf, f) && strncmp(buf, "ctop-spin", 9) == 0;
			fclose(f);
			if (ok)
				return c;
		}
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	fail_msg("the spinning child did not reach main within 30 s");
	return -1;
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

/* Threads created after attach are sampled from birth (inherit), also
 * short-lived ones: every thread that started after sampler_perf_open
 * returned and burned its 5 ms (5 periods at 999 Hz) has samples. */
#define TIDSET 65536
static int32_t sampled_tids[TIDSET];

static void tid_add(int32_t *set, int32_t tid)
{
	uint32_t h = (uint32_t)tid * 2654435761u;
	for (uint32_t i = 0; i < TIDSET; i++) {
		int32_t *e = &set[(h + i) % TIDSET];
		if (*e == tid)
			return;
		if (*e == 0) {
			*e = tid;
			return;
		}
	}
}

static int tid_has(const int32_t *set, int32_t tid)
{
	uint32_t h = (uint32_t)tid * 2654435761u;
	for (uint32_t i = 0; i < TIDSET; i++) {
		int32_t e = set[(h + i) % TIDSET];
		if (e == tid)
			return 1;
		if (e == 0)
			return 0;
	}
	return 0;
}

static void on_count_sample(const struct raw_sample *s, void *arg)
{
	*(uint64_t *)arg += s->period_ns;
}

static void on_churn_sample(const struct raw_sample *s, void *arg)
{
	tid_add(sampled_tids, (int32_t)s->tid);
}

/* read complete 5-byte messages; started/ended get the tids */
static void read_reports(int fd, int32_t *started, int *nstarted, int32_t *ended,
			 int *nended, int max)
{
	static char buf[5];
	static size_t have;
	for (;;) {
		ssize_t r = read(fd, buf + have, sizeof buf - have);
		if (r <= 0)
			return;
		have += (size_t)r;
		if (have < sizeof buf)
			continue;
		have = 0;
		int32_t tid;
		memcpy(&tid, buf + 1, 4);
		if (buf[0] == 'S' && started && *nstarted < max)
			started[(*nstarted)++] = tid;
		if (buf[0] == 'E' && ended && *nended < max)
			ended[(*nended)++] = tid;
	}
}

static void test_new_threads_sampled(void **state)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	char fdnum[16];
	snprintf(fdnum, sizeof fdnum, "%d", p[1]);
	setenv("CTOP_UNWIND_FD", fdnum, 1);
	pid_t child = spawn_child("churn");
	unsetenv("CTOP_UNWIND_FD");
	close(p[1]);

	memset(sampled_tids, 0, sizeof sampled_tids);
	struct sampler_opts o = { .pid = child, .freq = 999, .unwind = UNWIND_FP };
	struct sampler *s = NULL;
	char err[512] = "";
	if (sampler_perf_open(&o, &s, err, sizeof err) != 0) {
		reap(child);
		fail_msg("perf_event_open is needed for this test: %s", err);
	}
	/* whatever started before this point does not count */
	enum { MAXT = 20000 };
	static int32_t started[MAXT], ended[MAXT];
	int nstarted = 0, nended = 0, junk = 0;
	read_reports(p[0], NULL, &junk, NULL, &junk, MAXT);
	uint64_t t0 = now_ns();
	while (now_ns() - t0 < 1000000000ull ||
	       (nended < 40 && now_ns() - t0 < 10000000000ull)) {
		sampler_wait(s, 20);
		sampler_drain(s, on_churn_sample, NULL);
		read_reports(p[0], started, &nstarted, ended, &nended, MAXT);
	}
	sampler_drain(s, on_churn_sample, NULL);
	struct sampler_stats ss;
	sampler_get_stats(s, &ss);
	sampler_close(s);
	reap(child);
	close(p[0]);

	/* threads that both started and ended inside the window */
	int n = 0, hit = 0;
	for (int i = 0; i < nended; i++) {
		int in = 0;
		for (int k = 0; k < nstarted && !in; k++)
			in = started[k] == ended[i];
		if (!in)
			continue;
		n++;
		hit += tid_has(sampled_tids, ended[i]);
	}
	print_message("    churn: %d threads born and done while sampling, %d sampled, "
		      "%llu lost\n", n, hit, (unsigned long long)ss.lost);
	assert_true(n >= 20);
	assert_int_equal(ss.lost, 0);
	assert_true(hit * 100 >= n * 97);
}

/* Sum of on-cpu ns of all threads of pid (schedstat), and their count. */
static uint64_t process_cpu_ns(pid_t pid, int *nthreads)
{
	char path[320];
	uint64_t sum = 0;
	*nthreads = 0;
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
		FILE *f = fopen(path, "r");
		unsigned long long run;
		if (f && fscanf(f, "%llu", &run) == 1) {
			sum += run;
			(*nthreads)++;
		}
		if (f)
			fclose(f);
	}
	closedir(d);
	return sum;
}

/* Every thread is sampled once per period of its CPU time: no thread is
 * missed and none counted twice (an explicit event on top of an inherited
 * one would double it). The spinning threads run in user space, so the
 * user-only samples should cover nearly all of their CPU time. */
static void test_samples_match_cpu_time(void **state)
{
	pid_t child = spawn_child("threads");
	int nt = 0;
	for (int i = 0; i < 500 && nt < 4; i++) {
		process_cpu_ns(child, &nt);
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	assert_int_equal(nt, 4);
	for (int round = 0; round < 2; round++) {
		enum unwind_mode um = round ? UNWIND_DWARF : UNWIND_FP;
		struct sampler_opts o = { .pid = child, .freq = 499, .unwind = um };
		struct sampler *s = NULL;
		char err[512] = "";
		if (sampler_perf_open(&o, &s, err, sizeof err) != 0) {
			reap(child);
			fail_msg("perf_event_open is needed for this test: %s", err);
		}
		uint64_t c0 = process_cpu_ns(child, &nt);
		uint64_t t0 = now_ns(), period = 0, nsamp = 0;
		/* a loaded machine gives the child little CPU: go on (up to
		 * 10 s) until there are enough samples to judge */
		while (now_ns() - t0 < 1500000000ull ||
		       (period < 200 * 2004008ull && now_ns() - t0 < 10000000000ull)) {
			sampler_wait(s, 50);
			sampler_drain(s, on_count_sample, &period);
		}
		uint64_t c1 = process_cpu_ns(child, &nt);
		sampler_drain(s, on_count_sample, &period);
		struct sampler_stats ss;
		sampler_get_stats(s, &ss);
		nsamp = ss.samples;
		sampler_close(s);
		double ratio = (double)period / (double)(c1 - c0);
		print_message("    %s: %llu samples, %.3f s sampled, %.3f s on cpu, ratio %.3f, %u threads\n",
			      round ? "dwarf" : "fp", (unsigned long long)nsamp, period / 1e9,
			      (c1 - c0) / 1e9, ratio, ss.threads);
		assert_int_equal(ss.lost, 0);
		assert_int_equal(ss.threads, 4);
		assert_true(nsamp >= 100);
		assert_true(ratio > 0.8 && ratio < 1.1);
	}
	reap(child);
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

static void count_sample(const struct raw_sample *s, void *arg)
{
	(*(long *)arg)++;
}

/* The main thread has called pthread_exit (a zombie), another spins: the
 * target is alive and sampled. */
static void test_zombie_main_thread(void **state)
{
	pid_t child = spawn_child("pexit");
	char path[64], *buf = NULL;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)child);
	for (int i = 0; i < 500; i++) {
		free(buf);
		buf = NULL;
		if (read_file(path, &buf) > 0 && strstr(buf, ") Z"))
			break;
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	assert_non_null(strstr(buf, ") Z"));
	free(buf);
	struct sampler_opts o = { .pid = child, .freq = 499, .unwind = UNWIND_FP };
	struct sampler *s = NULL;
	char err[512] = "";
	if (sampler_perf_open(&o, &s, err, sizeof err) != 0) {
		reap(child);
		fail_msg("perf_event_open is needed for this test: %s", err);
	}
	long n = 0;
	uint64_t t0 = now_ns();
	while (n < 20 && now_ns() - t0 < 10000000000ull) {
		sampler_wait(s, 50);
		sampler_drain(s, count_sample, &n);
	}
	assert_int_equal(sampler_target_gone(s), 0);
	sampler_close(s);
	reap(child);
	assert_true(n >= 20);
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
		prctl(PR_SET_NAME, "ctop-spin");
		if (strcmp(mode, "deep") == 0)
			spin_deep(1000);
		if (strcmp(mode, "churn") == 0)
			churn_main();
		if (strcmp(mode, "threads") == 0)
			threads_main();
		if (strcmp(mode, "pexit") == 0) {
			/* main thread leaves, a thread spins on */
			pthread_t t;
			pthread_create(&t, NULL, spin_thread, NULL);
			pthread_exit(NULL);
		}
		spin_top();
		return 0;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_callchain_markers),
		cmocka_unit_test(test_fp_walk_copied_stack),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_target_gone),
		cmocka_unit_test(test_zombie_main_thread),
		cmocka_unit_test(test_child_fp),
		cmocka_unit_test(test_child_dwarf),
		cmocka_unit_test(test_child_deep_fp),
		cmocka_unit_test(test_child_deep_dwarf),
		cmocka_unit_test(test_new_threads_sampled),
		cmocka_unit_test(test_samples_match_cpu_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
