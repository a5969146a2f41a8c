/* Unit tests for stack groups and the leak rule (src/groups/groups.c), with
 * a fake resolver: pc 0xFFLL -> function FF, line LL/16. Functions 0x70..
 * live in libc.so.6, 0x60.. are named runtime.* (0x68.. runtime/internal/x.*),
 * 0x50 has an inline frame. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "groups.h"

#define SEC 1000000000ull

static struct sym_module libc_mod = { .id = 1, .path = "/usr/lib/x86_64-linux-gnu/libc.so.6", .name = "libc.so.6" };
static struct sym_module app_mod = { .id = 2, .path = "/tmp/app", .name = "app" };
static int nresolves;

struct fake { uint64_t pc; struct sym_loc loc; struct sym_frame fr[2]; char name[2][32]; };
static struct fake cache[4096];
static int ncache;

static const struct sym_loc *fake_resolve(void *ctx, uint64_t pc)
{
	(void)ctx;
	nresolves++;
	for (int i = 0; i < ncache; i++)
		if (cache[i].pc == pc)
			return &cache[i].loc;
	struct fake *f = &cache[ncache++];
	memset(f, 0, sizeof *f);
	unsigned fn = (unsigned)(pc >> 8) & 0xff;
	f->pc = pc;
	f->loc.pc = pc;
	f->loc.mod = fn >= 0x70 ? &libc_mod : &app_mod;
	if (fn >= 0x68 && fn < 0x70)
		snprintf(f->name[0], sizeof f->name[0], "runtime/internal/x.f%02x", fn);
	else if (fn >= 0x60 && fn < 0x70)
		snprintf(f->name[0], sizeof f->name[0], "runtime.f%02x", fn);
	else
		snprintf(f->name[0], sizeof f->name[0], "f%02x", fn);
	f->fr[0].func = f->name[0];
	f->fr[0].line = (int)((pc & 0xff) >> 4);
	f->loc.nframes = 1;
	if (fn == 0x50) {   /* inlined into g50 */
		snprintf(f->name[1], sizeof f->name[1], "g50");
		f->fr[1].func = f->name[1];
		f->fr[1].line = 99;
		f->loc.nframes = 2;
	}
	f->loc.frames = f->fr;
	return &f->loc;
}

static int reset_cache(void **state)
{
	(void)state;
	ncache = 0;
	nresolves = 0;
	return 0;
}

static const struct group_view *find_top(struct groups *g, const char *top)
{
	const struct group_view *v;
	int n = groups_view(g, &v);
	for (int i = 0; i < n; i++)
		if (strcmp(v[i].top_frame, top) == 0)
			return &v[i];
	return NULL;
}

/* Same function and line, different addresses: one group. */
static void test_group_by_symbolized_stack(void **state)
{
	struct groups *g = groups_new();
	uint64_t a[] = { 0x7010, 0x1012, 0x2020 };   /* libc leaf, f10 line 1, f20 line 2 */
	uint64_t b[] = { 0x7010, 0x1018, 0x2024 };   /* same lines, other pcs */
	uint64_t c[] = { 0x7010, 0x1032, 0x2020 };   /* f10 line 3: another group */
	struct group_member m[] = {
		{ .pcs = a, .n = 3, .state = 'S', .wait = "pipe_read" },
		{ .pcs = b, .n = 3, .state = 'S', .wait = "pipe_read" },
		{ .pcs = c, .n = 3, .state = 'R' },
		{ .pcs = a, .n = 3, .state = 'D', .wait = "futex" },
	};
	groups_update(g, 1 * SEC, m, 4, fake_resolve, NULL);
	const struct group_view *v;
	assert_int_equal(groups_view(g, &v), 2);
	assert_int_equal(groups_total(g), 4);
	assert_int_equal(groups_scans(g), 1);
	assert_int_equal(v[0].count, 3);
	assert_int_equal(v[1].count, 1);
	assert_string_equal(v[0].top_frame, "f10");  /* libc leaf skipped */
	assert_string_equal(v[0].states, "S:2,D:1");
	assert_string_equal(v[0].wait, "pipe_read");
	assert_string_equal(v[1].states, "R");
	assert_string_equal(v[1].wait, "");
	assert_int_equal(v[0].nhistory, 1);
	assert_int_equal(v[0].history[0], 3);
	assert_int_equal(v[0].n, 3);
	assert_true(v[0].pcs[1] == 0x1012 || v[0].pcs[1] == 0x1018);
	assert_int_equal(v[0].first_seen_ns, 1 * SEC);
	assert_string_equal(v[0].created_by, "");
	groups_free(g);
}

static void test_top_frame_rules(void **state)
{
	struct groups *g = groups_new();
	uint64_t go[] = { 0x6010, 0x6820, 0x3030, 0x7040 };    /* runtime.*, runtime/internal/..., f30 */
	uint64_t all_libc[] = { 0x7010, 0x7120 };
	uint64_t inl[] = { 0x7010, 0x5010 };                   /* f50 inlined in g50 */
	struct group_member m[] = {
		{ .pcs = go, .n = 4, .state = 'S', .state_name = "waiting", .wait = "chan receive", .created_pc = 0x4011 },
		{ .pcs = all_libc, .n = 2, .state = 'S' },
		{ .pcs = inl, .n = 2, .state = 'S' },
		{ .pcs = NULL, .n = 0, .state = 'Z' },
	};
	groups_update(g, SEC, m, 4, fake_resolve, NULL);
	const struct group_view *v = find_top(g, "f30");
	assert_non_null(v);
	assert_string_equal(v->wait, "chan receive");
	assert_string_equal(v->created_by, "f40");        /* gopc - 1 resolved */
	assert_non_null(find_top(g, "f70"));               /* only plumbing: the leaf */
	assert_non_null(find_top(g, "f50"));               /* inline frame first */
	v = find_top(g, "[no stack]");
	assert_non_null(v);
	assert_string_equal(v->states, "Z");
	groups_free(g);
}

/* Inline frames are part of the key: same outer function and line but a
 * different inlined callee line is another group. */
static void test_inline_in_key(void **state)
{
	struct groups *g = groups_new();
	uint64_t a[] = { 0x5010 }, b[] = { 0x5020 }, c[] = { 0x5018 };
	struct group_member m[] = {
		{ .pcs = a, .n = 1, .state = 'S' }, { .pcs = b, .n = 1, .state = 'S' },
		{ .pcs = c, .n = 1, .state = 'S' },
	};
	groups_update(g, SEC, m, 3, fake_resolve, NULL);
	const struct group_view *v;
	assert_int_equal(groups_view(g, &v), 2);
	assert_int_equal(v[0].count, 2);
	groups_free(g);
}

/* Identical raw stacks are symbolized once per update. */
static void test_resolve_once(void **state)
{
	struct groups *g = groups_new();
	uint64_t a[] = { 0x7010, 0x1012, 0x2020 };
	struct group_member *m = calloc(1000, sizeof *m);
	for (int i = 0; i < 1000; i++)
		m[i] = (struct group_member){ .pcs = a, .n = 3, .state = 'S' };
	nresolves = 0;
	groups_update(g, SEC, m, 1000, fake_resolve, NULL);
	assert_true(nresolves <= 10);
	const struct group_view *v;
	assert_int_equal(groups_view(g, &v), 1);
	assert_int_equal(v[0].count, 1000);
	free(m);
	groups_free(g);
}

/* One scan of `count` members of stack X plus `other` of stack Y. */
static void scan(struct groups *g, uint64_t t, int count, int other)
{
	static uint64_t x[] = { 0x7010, 0x1110 }, y[] = { 0x7010, 0x1210 };
	struct group_member *m = calloc((size_t)(count + other + 1), sizeof *m);
	for (int i = 0; i < count; i++)
		m[i] = (struct group_member){ .pcs = x, .n = 2, .state = 'S' };
	for (int i = 0; i < other; i++)
		m[count + i] = (struct group_member){ .pcs = y, .n = 2, .state = 'S' };
	groups_update(g, t, m, (size_t)(count + other), fake_resolve, NULL);
	free(m);
}

static int suspect_of(struct groups *g, const char *top)
{
	const struct group_view *v = find_top(g, top);
	return v ? v->suspect : -1;
}

static void test_leak_rule_pure(void **state)
{
	int64_t steady[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	int64_t stable[] = { 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5 };
	int64_t noisy[] = { 5, 7, 6, 8, 7, 9, 8, 10, 9, 11 };
	int64_t jump[] = { 5, 5, 5, 5, 25, 25, 25, 25 };
	int64_t two_steps[] = { 5, 5, 10, 15, 15, 15 };
	int64_t slow_big[] = { 100, 100, 101, 101, 102, 102, 103, 103, 104, 104 };
	int64_t early[] = { 1, 2, 3 };
	int64_t min_ok[] = { 0, 1, 2, 3 };
	assert_int_equal(groups_is_leak(steady, 8), 1);
	assert_int_equal(groups_is_leak(stable, 12), 0);
	assert_int_equal(groups_is_leak(noisy, 10), 0);
	assert_int_equal(groups_is_leak(jump, 8), 0);
	assert_int_equal(groups_is_leak(two_steps, 6), 0);
	assert_int_equal(groups_is_leak(slow_big, 10), 0);   /* +4 on 100: < 20 % */
	assert_int_equal(groups_is_leak(early, 3), 0);       /* N < 4 */
	assert_int_equal(groups_is_leak(min_ok, 4), 1);
	/* growth then 10 flat scans: out of the window */
	int64_t stopped[30];
	for (int i = 0; i < 30; i++)
		stopped[i] = i < 10 ? i : 9;
	assert_int_equal(groups_is_leak(stopped, 12), 1);
	assert_int_equal(groups_is_leak(stopped, 16), 1);   /* window 6..15: 6 -> 9 */
	assert_int_equal(groups_is_leak(stopped, 17), 0);   /* window 7..16: +2 only */
	assert_int_equal(groups_is_leak(stopped, 20), 0);
	assert_int_equal(groups_is_leak(stopped, 30), 0);
}

static void test_leak_steady_growth(void **state)
{
	struct groups *g = groups_new();
	for (int s = 0; s < 3; s++) {
		scan(g, (uint64_t)(s + 1) * 2 * SEC, 3 + s, 10);
		assert_int_equal(suspect_of(g, "f11"), 0);     /* fewer than 4 scans */
	}
	scan(g, 8 * SEC, 6, 10);
	assert_int_equal(suspect_of(g, "f11"), 1);
	assert_int_equal(suspect_of(g, "f12"), 0);
	/* suspects sort first although smaller */
	const struct group_view *v;
	assert_int_equal(groups_view(g, &v), 2);
	assert_string_equal(v[0].top_frame, "f11");
	assert_int_equal(v[0].count, 6);
	assert_string_equal(v[1].top_frame, "f12");
	/* print table: header, then count first */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	groups_print_table(g, f, "threads");
	fclose(f);
	assert_non_null(strstr(buf, "COUNT"));
	char *row = strchr(buf, '\n') + 1;
	assert_int_equal(atoi(row), 6);
	assert_non_null(strstr(row, "f11"));
	assert_non_null(strstr(row, "LEAK?"));
	assert_non_null(strstr(row, "+3"));            /* delta: 6 - 3 at first scan */
	row = strchr(row, '\n') + 1;
	assert_int_equal(atoi(row), 10);
	assert_null(strstr(row, "LEAK?"));
	free(buf);
	groups_free(g);
}

static void test_leak_noisy_and_jump(void **state)
{
	struct groups *g = groups_new();
	int noisy[] = { 5, 7, 6, 8, 7, 9, 8, 10, 9, 11, 10, 12 };
	for (int s = 0; s < 12; s++) {
		scan(g, (uint64_t)s * SEC, noisy[s], 5 + (s >= 6 ? 20 : 0));
		assert_int_equal(suspect_of(g, "f11"), 0);
		assert_int_equal(suspect_of(g, "f12"), 0);   /* one-off jump 5 -> 25 */
	}
	groups_free(g);
}

static void test_leak_stops(void **state)
{
	struct groups *g = groups_new();
	int s = 0;
	for (; s < 8; s++)
		scan(g, (uint64_t)s * SEC, s, 1);
	assert_int_equal(suspect_of(g, "f11"), 1);
	/* growth stops: flagged while the growth is in the window, then not */
	int last_flag = -1;
	for (; s < 30; s++) {
		scan(g, (uint64_t)s * SEC, 7, 1);
		if (suspect_of(g, "f11") == 1)
			last_flag = s;
	}
	assert_int_equal(suspect_of(g, "f11"), 0);
	assert_true(last_flag >= 8 && last_flag < 8 + 10);
	groups_free(g);
}

/* Small passing groups (a running thread) go after 30 empty scans. */
static void test_small_groups_dropped_early(void **state)
{
	struct groups *g = groups_new();
	scan(g, SEC, 2, 5);
	int s;
	for (s = 2; s < 31; s++)
		scan(g, (uint64_t)s * SEC, 0, 5);
	assert_non_null(find_top(g, "f11"));     /* 0 for 29 scans */
	scan(g, (uint64_t)s * SEC, 0, 5);
	assert_null(find_top(g, "f11"));         /* 0 for 30 scans */
	assert_non_null(find_top(g, "f12"));
	groups_free(g);
}

/* Groups that disappear keep their history at 0, then are dropped. */
static void test_disappear_and_drop(void **state)
{
	struct groups *g = groups_new();
	scan(g, SEC, 4, 2);
	scan(g, 2 * SEC, 0, 2);
	const struct group_view *v = find_top(g, "f11");
	assert_non_null(v);
	assert_int_equal(v->count, 0);
	assert_int_equal(v->nhistory, 2);
	assert_int_equal(v->history[0], 4);
	assert_int_equal(v->history[1], 0);
	assert_string_equal(v->states, "");
	/* the batch table leaves empty groups out, and says so */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	groups_print_table(g, f, "threads");
	fclose(f);
	assert_null(strstr(buf, "f11"));
	assert_non_null(strstr(buf, "f12"));
	assert_non_null(strstr(buf, "(1 more group with no threads now)"));
	free(buf);
	/* sorted after the live group */
	const struct group_view *all;
	assert_int_equal(groups_view(g, &all), 2);
	assert_string_equal(all[0].top_frame, "f12");
	int s;
	for (s = 3; s < GROUPS_HISTORY + 1; s++)
		scan(g, (uint64_t)s * SEC, 0, 2);
	assert_non_null(find_top(g, "f11"));
	scan(g, (uint64_t)s++ * SEC, 0, 2);
	assert_null(find_top(g, "f11"));
	v = find_top(g, "f12");
	assert_int_equal(v->nhistory, GROUPS_HISTORY);
	assert_int_equal(v->history[GROUPS_HISTORY - 1], 2);
	/* it comes back: a new group, history zero before */
	scan(g, (uint64_t)s++ * SEC, 3, 2);
	v = find_top(g, "f11");
	assert_non_null(v);
	assert_int_equal(v->count, 3);
	assert_int_equal(v->history[GROUPS_HISTORY - 2], 0);
	groups_free(g);
}

static void test_delta_1m(void **state)
{
	struct groups *g = groups_new();
	/* one scan every 10 s: count = scan number */
	for (int s = 0; s <= 12; s++)
		scan(g, (uint64_t)s * 10 * SEC, s, 0);
	/* now = 120 s; 60 s ago (scan 6) count was 6 */
	const struct group_view *v = find_top(g, "f11");
	assert_int_equal(v->count, 12);
	assert_int_equal(v->delta_1m, 6);
	groups_free(g);

	/* younger than a minute: since the first scan */
	g = groups_new();
	scan(g, 0, 5, 0);
	scan(g, 2 * SEC, 9, 0);
	v = find_top(g, "f11");
	assert_int_equal(v->delta_1m, 4);
	/* a group that appeared later counts from 0 */
	scan(g, 4 * SEC, 9, 3);
	v = find_top(g, "f12");
	assert_int_equal(v->delta_1m, 3);
	groups_free(g);
}

static void test_reset_and_empty(void **state)
{
	struct groups *g = groups_new();
	const struct group_view *v;
	assert_int_equal(groups_view(g, &v), 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	groups_print_table(g, f, "threads");
	fclose(f);
	assert_non_null(strstr(buf, "COUNT"));
	free(buf);
	scan(g, SEC, 3, 1);
	groups_update(g, 2 * SEC, NULL, 0, fake_resolve, NULL);
	assert_int_equal(groups_total(g), 0);
	assert_int_equal(groups_view(g, &v), 2);
	groups_reset(g);
	assert_int_equal(groups_scans(g), 0);
	assert_int_equal(groups_view(g, &v), 0);
	scan(g, SEC, 3, 1);
	assert_int_equal(groups_view(g, &v), 2);
	/* no resolver: raw addresses */
	uint64_t a[] = { 0x1234 };
	struct group_member m = { .pcs = a, .n = 1, .state = 'S' };
	groups_update(g, 3 * SEC, &m, 1, NULL, NULL);
	assert_non_null(find_top(g, "0x1234"));
	groups_free(g);
}

/* Target-supplied strings (wait reasons, symbol names) reach the batch table
 * with control characters as '?', and the columns stay aligned. */
static const struct sym_loc *evil_resolve(void *ctx, uint64_t pc)
{
	static struct sym_module mod = { .id = 3, .path = "/tmp/evil", .name = "evil" };
	static struct sym_frame fr = { .func = "ev\x1b[2Jil\nfake_row" };
	static struct sym_loc loc;
	(void)ctx;
	loc.pc = pc;
	loc.mod = &mod;
	loc.frames = &fr;
	loc.nframes = 1;
	return &loc;
}

static void test_print_table_cleans(void **state)
{
	(void)state;
	struct groups *g = groups_new();
	uint64_t a[] = { 0x1234 };
	struct group_member m = { .pcs = a, .n = 1, .state = 'S', .wait = "wa\x1b]0;t\ait\r" };
	groups_update(g, SEC, &m, 1, evil_resolve, NULL);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	groups_print_table(g, f, "threads");
	fclose(f);
	for (size_t i = 0; i < len; i++)
		if (buf[i] != '\n')
			assert_true((unsigned char)buf[i] >= 0x20 && buf[i] != 0x7f);
	char *row = strchr(buf, '\n') + 1;
	assert_non_null(strstr(row, "wa?]0;t?it?"));
	assert_non_null(strstr(row, "ev?[2Jil?fake_row\n"));
	/* header and row: the TOP-FRAME column starts at the same offset */
	assert_int_equal(strstr(buf, "TOP-FRAME") - buf, strstr(row, "ev?") - row);
	assert_null(strchr(strchr(row, '\n') + 1, '\n'));   /* two lines only */
	free(buf);
	groups_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_group_by_symbolized_stack, reset_cache),
		cmocka_unit_test_setup(test_top_frame_rules, reset_cache),
		cmocka_unit_test_setup(test_inline_in_key, reset_cache),
		cmocka_unit_test_setup(test_resolve_once, reset_cache),
		cmocka_unit_test(test_leak_rule_pure),
		cmocka_unit_test_setup(test_leak_steady_growth, reset_cache),
		cmocka_unit_test_setup(test_leak_noisy_and_jump, reset_cache),
		cmocka_unit_test_setup(test_leak_stops, reset_cache),
		cmocka_unit_test_setup(test_disappear_and_drop, reset_cache),
		cmocka_unit_test_setup(test_small_groups_dropped_early, reset_cache),
		cmocka_unit_test_setup(test_delta_1m, reset_cache),
		cmocka_unit_test_setup(test_reset_and_empty, reset_cache),
		cmocka_unit_test(test_print_table_cleans),
	};
	return cmocka_run_group_tests_name("groups", tests, NULL, NULL);
}
