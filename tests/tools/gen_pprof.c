/* Test-only generator for tests/integration/pprof_oracle.sh: writes CPU,
 * threads and goroutine profiles of a known, fake program through the real
 * export code, so `go tool pprof` (the oracle) can judge the files.
 *
 *   gen_pprof DIR    -> DIR/cpu.pb.gz DIR/threads.pb.gz DIR/goroutine.pb.gz
 *                       DIR/cpu.folded DIR/cpu.txt
 *
 * Known truth of the CPU profile (100 samples, 10 ms each):
 *   main -> work -> hot75 : 60 on thread "worker-a" (tid 1001),
 *                           15 on thread "worker-b" (tid 1002)
 *   main -> work -> caller (inlined: mix_helper) -> cold25 : 25 on worker-b
 * hot75 has 75% flat, cold25 25%, work and main 100% cum. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "export.h"

static struct sym_module exe = {
	.id = 1, .start = 0x400000, .end = 0x480000, .pgoff = 0,
	.path = "/opt/fake/bin/fakeprog", .name = "fakeprog",
	.build_id = "0123456789abcdef0123456789abcdef01234567",
	.has_symbols = 1, .has_lines = 1, .has_inline = 1,
};
static struct sym_module lib = {
	.id = 2, .start = 0x7f0000000000, .end = 0x7f0000100000, .pgoff = 0x2000,
	.path = "/usr/lib/x86_64-linux-gnu/libfake.so.1", .name = "libfake.so.1",
	.build_id = "", .has_symbols = 1, .has_lines = 0, .has_inline = 0,
};

static struct sym_frame f_hot[] = { { "hot75", "/src/fake.c", 12, 10 } };
static struct sym_frame f_cold[] = { { "cold25", "/src/fake.c", 22, 20 } };
static struct sym_frame f_inl[] = { { "mix_helper", "/src/mix.h", 5, 3 },
				    { "caller", "/src/fake.c", 31, 29 } };
static struct sym_frame f_work[] = { { "work", "/src/fake.c", 41, 38 } };
static struct sym_frame f_main[] = { { "main", "/src/fake.c", 52, 50 } };
static struct sym_frame f_wait[] = { { "futex_wait", NULL, 0, 0 } };

#define PC_HOT  0x401010
#define PC_COLD 0x402020
#define PC_INL  0x403030
#define PC_WORK 0x404040
#define PC_MAIN 0x405050
#define PC_WAIT 0x7f0000003000

static struct sym_loc locs[] = {
	{ PC_HOT, &exe, 1, f_hot }, { PC_COLD, &exe, 1, f_cold },
	{ PC_INL, &exe, 2, f_inl }, { PC_WORK, &exe, 1, f_work },
	{ PC_MAIN, &exe, 1, f_main }, { PC_WAIT, &lib, 1, f_wait },
};
static struct sym_frame f_unknown[] = { { "[unknown]", NULL, 0, 0 } };
static struct sym_loc unknown = { 0, NULL, 1, f_unknown };

static const struct sym_loc *resolve(void *ctx, uint64_t pc)
{
	(void)ctx;
	for (size_t i = 0; i < sizeof locs / sizeof locs[0]; i++)
		if (locs[i].pc == pc)
			return &locs[i];
	unknown.pc = pc;
	return &unknown;
}

static const char *thread_name(void *ctx, pid_t tid)
{
	(void)ctx;
	return tid == 1001 ? "worker-a" : tid == 1002 ? "worker-b" : NULL;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_pprof DIR\n");
		return 2;
	}
	const char *dir = argv[1];
	struct profile *p = profile_new();
	uint64_t a[] = { PC_HOT, PC_WORK, PC_MAIN };
	uint64_t b[] = { PC_COLD, PC_INL, PC_WORK, PC_MAIN };
	uint64_t t = now_ns();
	profile_add(p, 1001, a, 3, t, 60, 10000000);
	profile_add(p, 1002, a, 3, t, 15, 10000000);
	profile_add(p, 1002, b, 4, t, 25, 10000000);

	struct export_ctx x = {
		.prof = p, .window = WINDOW_ALL, .now_ns = t,
		.resolve = resolve, .thread_name = thread_name,
		.time_nanos = realtime_ns(), .duration_nanos = 1000000000,
		.comment = "ctop-prof " CTOP_VERSION ": gen_pprof (test)",
		.overwrite = 1,
	};
	char path[4096];
	int rc = 0;
	const char *cpu[] = { "cpu.pb.gz", "cpu.folded", "cpu.txt" };
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, cpu[i]);
		rc |= export_cpu(path, &x) != 0;
	}

	/* 3 threads waiting in futex_wait under work, 1 running hot75. */
	uint64_t w[] = { PC_WAIT, PC_WORK, PC_MAIN };
	struct group_sample g[] = {
		{ w, 3, 3, "S", "futex_wait_queue" },
		{ a, 3, 1, "R", NULL },
	};
	snprintf(path, sizeof path, "%s/threads.pb.gz", dir);
	rc |= export_groups(path, "threads", g, 2, &x) != 0;
	struct group_sample gg[] = {
		{ w, 3, 7, "chan receive", "chan receive" },
		{ b, 4, 2, "runnable", NULL },
	};
	snprintf(path, sizeof path, "%s/goroutine.pb.gz", dir);
	rc |= export_groups(path, "goroutine", gg, 2, &x) != 0;
	profile_free(p);
	return rc;
}
