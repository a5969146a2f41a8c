/* Regression (found by tests/fuzz/fuzz_pprof.c): writing a profile with no
 * samples (an idle target, -d shorter than the first tick) called
 * qsort(NULL, 0, ...) in the folded writer, undefined behaviour that the
 * SANITIZE=1 build aborts on. Every writer must produce a valid, empty
 * output for an empty profile. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "export.h"
#include "profile.h"

static struct sym_frame fr = { "f", NULL, 0, 0 };
static struct sym_loc loc = { 0x1000, NULL, 1, &fr };
static const struct sym_loc *resolve(void *ctx, uint64_t pc)
{
	(void)ctx; (void)pc;
	return &loc;
}

static void write_empty(const char *suffix)
{
	char dir[] = "/tmp/ctop-regress.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof path, "%s/empty%s", dir, suffix);
	struct profile *p = profile_new();
	struct export_ctx x = {
		.prof = p, .window = WINDOW_ALL, .now_ns = 2000000000ull,
		.resolve = resolve, .time_nanos = 1, .duration_nanos = 1,
		.comment = "regress", .overwrite = 0,
	};
	assert_int_equal(export_cpu(path, &x), 0);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	/* groups with no groups, too */
	snprintf(path, sizeof path, "%s/groups%s", dir, suffix);
	assert_int_equal(export_groups(path, "threads", NULL, 0, &x), 0);
	profile_free(p);
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_empty_folded(void **state) { (void)state; write_empty(".folded"); }
static void test_empty_pprof(void **state) { (void)state; write_empty(".pb.gz"); }
static void test_empty_text(void **state) { (void)state; write_empty(".txt"); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_folded),
		cmocka_unit_test(test_empty_pprof),
		cmocka_unit_test(test_empty_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
