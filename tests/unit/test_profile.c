/* Unit tests for src/profile/profile.c: unique stacks, totals, the sliding
 * windows (including expiry of old buckets), reset, period and the cap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "profile.h"

#define S(x) ((uint64_t)((x) * 1e9))   /* seconds -> ns */
#define T0 UINT64_C(1000000000000)      /* an arbitrary monotonic start */

struct seen { int n; uint64_t sum; pid_t last_tid; uint32_t last_n; uint64_t last_count; };

static int visit(pid_t tid, const uint64_t *pcs, uint32_t n, uint64_t count, void *arg)
{
	struct seen *s = arg;
	(void)pcs;
	s->n++;
	s->sum += count;
	s->last_tid = tid;
	s->last_n = n;
	s->last_count = count;
	return 0;
}

static uint64_t win(struct profile *p, enum window w, uint64_t now)
{
	struct seen s = { 0 };
	profile_foreach(p, w, now, visit, &s);
	return s.sum;
}

static void test_window_names(void **state)
{
	(void)state;
	assert_string_equal(window_name(WINDOW_ALL), "since start");
	assert_string_equal(window_name(WINDOW_10S), "last 10s");
	assert_string_equal(window_name(WINDOW_60S), "last 60s");
}

static void test_counts_unique_keys(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	uint64_t a[] = { 0x10, 0x20, 0x30 }, b[] = { 0x10, 0x20 }, c[] = { 0x11, 0x20, 0x30 };
	profile_reset(p, T0);
	profile_add(p, 1, a, 3, T0 + 1, 1, 1000);
	profile_add(p, 1, a, 3, T0 + 2, 2, 1000);
	profile_add(p, 2, a, 3, T0 + 3, 1, 1000);   /* other thread: other key */
	profile_add(p, 1, b, 2, T0 + 4, 1, 1000);   /* prefix: other key */
	profile_add(p, 1, c, 3, T0 + 5, 4, 2000);
	profile_add(p, 1, c, 3, T0 + 6, 0, 2000);   /* count 0: nothing */

	struct profile_totals t;
	profile_totals(p, &t);
	assert_int_equal(t.samples, 9);
	assert_int_equal(t.stacks, 4);
	assert_int_equal(t.dropped, 0);
	assert_int_equal(t.start_ns, T0);
	assert_int_equal(t.last_ns, T0 + 5);
	assert_int_equal(profile_period_ns(p), 2000);

	struct seen s = { 0 };
	profile_foreach(p, WINDOW_ALL, T0 + 10, visit, &s);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.sum, 9);
	profile_free(p);
}

struct find { pid_t tid; uint64_t pc0; uint32_t n; uint64_t count; int hits; };

static int visit_find(pid_t tid, const uint64_t *pcs, uint32_t n, uint64_t count, void *arg)
{
	struct find *f = arg;
	if (tid == f->tid && n == f->n && pcs[0] == f->pc0) {
		f->count = count;
		f->hits++;
	}
	return 0;
}

static void test_foreach_exact_stack(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	uint64_t a[] = { 0x10, 0x20, 0x30 }, c[] = { 0x11, 0x20, 0x30 };
	profile_add(p, 7, a, 3, T0, 3, 1);
	profile_add(p, 7, c, 3, T0, 5, 1);
	profile_add(p, 7, a, 3, T0, 2, 1);
	struct find f = { 7, 0x10, 3, 0, 0 };
	profile_foreach(p, WINDOW_ALL, T0, visit_find, &f);
	assert_int_equal(f.hits, 1);
	assert_int_equal(f.count, 5);
	f = (struct find){ 7, 0x11, 3, 0, 0 };
	profile_foreach(p, WINDOW_ALL, T0, visit_find, &f);
	assert_int_equal(f.hits, 1);
	assert_int_equal(f.count, 5);
	/* no reset: the start is the first sample */
	struct profile_totals t;
	profile_totals(p, &t);
	assert_int_equal(t.start_ns, T0);
	profile_free(p);
}

static int visit_stop(pid_t tid, const uint64_t *pcs, uint32_t n, uint64_t count, void *arg)
{
	(void)tid; (void)pcs; (void)n; (void)count;
	++*(int *)arg;
	return 1;
}

static void test_foreach_stops(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	for (uint64_t i = 1; i <= 10; i++)
		profile_add(p, 1, &i, 1, T0, 1, 1);
	int calls = 0;
	profile_foreach(p, WINDOW_ALL, T0, visit_stop, &calls);
	assert_int_equal(calls, 1);
	profile_free(p);
}

static void test_windows(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	uint64_t a[] = { 0x10, 0x20 };
	profile_reset(p, T0);
	profile_add(p, 1, a, 2, T0 + S(0.5), 1, 1);
	profile_add(p, 1, a, 2, T0 + S(30.2), 2, 1);
	profile_add(p, 1, a, 2, T0 + S(55.5), 4, 1);

	/* now = 55.5 s: last 10s = seconds 46..55, last 60s = 0..55 */
	assert_int_equal(win(p, WINDOW_10S, T0 + S(55.5)), 4);
	assert_int_equal(win(p, WINDOW_60S, T0 + S(55.5)), 7);
	assert_int_equal(win(p, WINDOW_ALL, T0 + S(55.5)), 7);
	/* now = 40 s (before the newest sample): 31..40 holds nothing */
	assert_int_equal(win(p, WINDOW_10S, T0 + S(40)), 0);
	assert_int_equal(win(p, WINDOW_10S, T0 + S(39.9)), 2);  /* 30..39 */
	/* now = 65.2 s: 10s = 56..65 -> 0; 60s = 6..65 -> 2 + 4 */
	assert_int_equal(win(p, WINDOW_10S, T0 + S(65.2)), 0);
	assert_int_equal(win(p, WINDOW_60S, T0 + S(65.2)), 6);
	/* now = 64.9: 10s = 55..64 -> 4 */
	assert_int_equal(win(p, WINDOW_10S, T0 + S(64.9)), 4);
	/* far later: both windows empty, total kept */
	assert_int_equal(win(p, WINDOW_10S, T0 + S(1000)), 0);
	assert_int_equal(win(p, WINDOW_60S, T0 + S(1000)), 0);
	assert_int_equal(win(p, WINDOW_ALL, T0 + S(1000)), 7);
	/* a stack with no count in the window is not visited at all */
	struct seen s = { 0 };
	profile_foreach(p, WINDOW_10S, T0 + S(1000), visit, &s);
	assert_int_equal(s.n, 0);

	/* A new sample long after: old buckets must not come back. */
	profile_add(p, 1, a, 2, T0 + S(1000.3), 8, 1);
	assert_int_equal(win(p, WINDOW_10S, T0 + S(1000.5)), 8);
	assert_int_equal(win(p, WINDOW_60S, T0 + S(1000.5)), 8);
	assert_int_equal(win(p, WINDOW_ALL, T0 + S(1000.5)), 15);
	profile_free(p);
}

static void test_window_ring_aliasing(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	uint64_t a[] = { 0x10 };
	profile_reset(p, T0);
	/* second 5 and second 65 share a ring slot */
	profile_add(p, 1, a, 1, T0 + S(5.1), 1, 1);
	profile_add(p, 1, a, 1, T0 + S(65.1), 2, 1);
	assert_int_equal(win(p, WINDOW_60S, T0 + S(65.5)), 2);
	assert_int_equal(win(p, WINDOW_10S, T0 + S(66.5)), 2);
	assert_int_equal(win(p, WINDOW_ALL, T0 + S(66.5)), 3);

	/* Gap shorter than the ring: the skipped seconds are cleared, the
	 * ones still in range stay. */
	uint64_t b[] = { 0x20 };
	profile_add(p, 1, b, 1, T0 + S(0.0), 1, 1);   /* sec 0 */
	profile_add(p, 1, b, 1, T0 + S(30.0), 1, 1);  /* sec 30 */
	/* a (seconds 5, 65) has nothing in 0..30 any more; b has 0 and 30 */
	assert_int_equal(win(p, WINDOW_60S, T0 + S(30.0)), 2);
	profile_add(p, 1, b, 1, T0 + S(70.0), 1, 1);  /* sec 70: slot of sec 10 */
	/* 60s at 70 = seconds 11..70: b has 30 and 70 (sec 0 expired) */
	struct find f = { 1, 0x20, 1, 0, 0 };
	profile_foreach(p, WINDOW_60S, T0 + S(70.0), visit_find, &f);
	assert_int_equal(f.count, 2);
	/* 60s at 89.9 = 30..89 */
	f = (struct find){ 1, 0x20, 1, 0, 0 };
	profile_foreach(p, WINDOW_60S, T0 + S(89.9), visit_find, &f);
	assert_int_equal(f.count, 2);
	f = (struct find){ 1, 0x20, 1, 0, 0 };
	profile_foreach(p, WINDOW_60S, T0 + S(90.0), visit_find, &f);
	assert_int_equal(f.count, 1);
	profile_free(p);
}

static void test_window_out_of_order(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	uint64_t a[] = { 0x10 };
	profile_reset(p, T0);
	profile_add(p, 1, a, 1, T0 + S(10.5), 1, 1);
	profile_add(p, 1, a, 1, T0 + S(9.9), 2, 1);    /* late, still in ring */
	profile_add(p, 1, a, 1, T0 + S(80.0), 4, 1);
	profile_add(p, 1, a, 1, T0 + S(10.0), 8, 1);   /* late, beyond the ring */
	profile_add(p, 1, a, 1, T0 - S(1), 16, 1);     /* before start: second 0 */
	assert_int_equal(win(p, WINDOW_ALL, T0 + S(80)), 31);
	assert_int_equal(win(p, WINDOW_10S, T0 + S(80)), 4);
	assert_int_equal(win(p, WINDOW_60S, T0 + S(80)), 4);
	struct profile_totals t;
	profile_totals(p, &t);
	assert_int_equal(t.last_ns, T0 + S(80));

	struct profile *q = profile_new();
	profile_reset(q, T0);
	profile_add(q, 1, a, 1, T0 + S(10.5), 1, 1);
	profile_add(q, 1, a, 1, T0 + S(9.9), 2, 1);
	assert_int_equal(win(q, WINDOW_10S, T0 + S(10.5)), 3);
	assert_int_equal(win(q, WINDOW_10S, T0 + S(18.99)), 3);
	assert_int_equal(win(q, WINDOW_10S, T0 + S(19.0)), 1);   /* 10..19 */
	assert_int_equal(win(q, WINDOW_10S, T0 + S(20.0)), 0);
	profile_free(q);
	profile_free(p);
}

static void test_reset(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	uint64_t a[] = { 0x10, 0x20 };
	profile_add(p, 1, a, 2, T0, 5, 4000);
	profile_reset(p, T0 + S(100));
	struct profile_totals t;
	profile_totals(p, &t);
	assert_int_equal(t.samples, 0);
	assert_int_equal(t.stacks, 0);
	assert_int_equal(t.dropped, 0);
	assert_int_equal(t.start_ns, T0 + S(100));
	assert_int_equal(win(p, WINDOW_ALL, T0 + S(100)), 0);
	assert_int_equal(profile_period_ns(p), 4000);
	/* usable again; windows relative to the new start */
	profile_add(p, 1, a, 2, T0 + S(100.5), 3, 4000);
	assert_int_equal(win(p, WINDOW_10S, T0 + S(100.5)), 3);
	assert_int_equal(win(p, WINDOW_ALL, T0 + S(100.5)), 3);
	profile_free(p);
}

static void test_empty_stack(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	profile_add(p, 3, NULL, 0, T0, 2, 1);
	profile_add(p, 3, NULL, 0, T0, 1, 1);
	struct seen s = { 0 };
	profile_foreach(p, WINDOW_ALL, T0, visit, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.last_n, 0);
	assert_int_equal(s.last_count, 3);
	profile_free(p);
}

static void test_cap(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	uint64_t pcs[2];
	for (uint64_t i = 0; i < PROFILE_MAX_STACKS + 10; i++) {
		pcs[0] = 0x400000 + i * 16;
		pcs[1] = 0x500000;
		profile_add(p, 1, pcs, 2, T0 + i, 1, 1);
	}
	struct profile_totals t;
	profile_totals(p, &t);
	assert_int_equal(t.stacks, PROFILE_MAX_STACKS);
	assert_int_equal(t.dropped, 10);
	assert_int_equal(t.samples, PROFILE_MAX_STACKS);
	/* known stacks still count after the cap */
	pcs[0] = 0x400000;
	profile_add(p, 1, pcs, 2, T0, 5, 1);
	profile_totals(p, &t);
	assert_int_equal(t.samples, PROFILE_MAX_STACKS + 5);
	assert_int_equal(t.dropped, 10);
	struct find f = { 1, 0x400000, 2, 0, 0 };
	profile_foreach(p, WINDOW_ALL, T0, visit_find, &f);
	assert_int_equal(f.hits, 1);
	assert_int_equal(f.count, 6);
	profile_reset(p, T0);
	profile_totals(p, &t);
	assert_int_equal(t.stacks, 0);
	assert_int_equal(t.dropped, 0);
	profile_free(p);
}

/* The window's start (the pprof duration of a windowed save) agrees with
 * what foreach counts: a sample is in the window iff it is at or after the
 * start. One sample every 0.25 s for 100 s, windows checked every 0.1 s. */
static void test_window_start(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	profile_reset(p, T0);
	assert_int_equal(profile_window_start(p, WINDOW_ALL, T0 + S(500)), T0);
	assert_int_equal(profile_window_start(p, WINDOW_10S, T0 + S(5.5)), T0);
	assert_int_equal(profile_window_start(p, WINDOW_10S, T0 + S(55.5)), T0 + S(46));
	assert_int_equal(profile_window_start(p, WINDOW_60S, T0 + S(65.2)), T0 + S(6));
	for (uint64_t k = 0; k < 400; k++) {
		uint64_t pc = 0x1000 + k;
		profile_add(p, 1, &pc, 1, T0 + k * S(0.25), 1, 1);
	}
	for (uint64_t now = T0; now < T0 + S(100); now += S(0.1)) {
		for (enum window w = WINDOW_ALL; w < WINDOW_COUNT; w++) {
			uint64_t start = profile_window_start(p, w, now), want = 0;
			for (uint64_t k = 0; k < 400; k++) {
				uint64_t t = T0 + k * S(0.25);
				want += t >= start && t <= now;
			}
			/* samples after now are in the bucket of now's second */
			uint64_t later = 0;
			for (uint64_t k = 0; k < 400; k++) {
				uint64_t t = T0 + k * S(0.25);
				later += t > now && (t - T0) / S(1) == (now - T0) / S(1);
			}
			if (w == WINDOW_ALL)
				later = 400 - want;
			assert_int_equal(win(p, w, now), want + later);
		}
	}
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_start),
		cmocka_unit_test(test_window_names),
		cmocka_unit_test(test_counts_unique_keys),
		cmocka_unit_test(test_foreach_exact_stack),
		cmocka_unit_test(test_foreach_stops),
		cmocka_unit_test(test_windows),
		cmocka_unit_test(test_window_ring_aliasing),
		cmocka_unit_test(test_window_out_of_order),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_empty_stack),
		cmocka_unit_test(test_cap),
	};
	return cmocka_run_group_tests_name("profile", tests, NULL, NULL);
}
