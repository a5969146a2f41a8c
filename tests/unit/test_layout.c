/* Unit tests of the TUI's pure layout helpers (src/tui/layout.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "tui/layout.h"

static int cols_total(const struct top_cols *c)
{
	return 4 * c->num + 1 + c->name + (c->module ? c->module + 1 : 0) +
	       (c->file ? c->file + 1 : 0);
}

static void test_top_columns_wide(void **state)
{
	struct top_cols c;
	(void)state;
	layout_top_columns(200, &c);
	assert_int_equal(c.num, LAYOUT_NUM_W);
	assert_int_equal(c.module, 16);
	assert_int_equal(c.file, 28);
	assert_int_equal(cols_total(&c), 200);   /* the name takes the rest */
	assert_true(c.name > 40);
}

static void test_top_columns_120(void **state)
{
	struct top_cols c;
	(void)state;
	layout_top_columns(120, &c);
	assert_int_equal(cols_total(&c), 120);
	assert_int_equal(c.module, 16);
	assert_int_equal(c.file, 28);
	assert_int_equal(c.name, 120 - 4 * LAYOUT_NUM_W - 1 - (16 + 1) - (28 + 1));
}

static void test_top_columns_80(void **state)
{
	struct top_cols c;
	(void)state;
	layout_top_columns(80, &c);
	/* name gave way first, to its minimum; numbers untouched */
	assert_int_equal(c.num, LAYOUT_NUM_W);
	assert_int_equal(c.name, LAYOUT_NAME_MIN);
	assert_true(c.file >= LAYOUT_FILE_MIN);
	assert_true(c.module >= LAYOUT_MODULE_MIN);
	assert_true(cols_total(&c) <= 80);
}

static void test_top_columns_every_width(void **state)
{
	(void)state;
	int prev_name = 0;
	for (int w = 40; w <= 300; w++) {
		struct top_cols c;
		layout_top_columns(w, &c);
		assert_int_equal(c.num, LAYOUT_NUM_W);
		assert_true(c.name >= 1);
		assert_true(cols_total(&c) <= w);
		/* the name is the first to shrink: while it is above its
		 * minimum, the other columns have their full width */
		if (c.name > LAYOUT_NAME_MIN && w >= 80) {
			assert_int_equal(c.module, 16);
			assert_int_equal(c.file, 28);
		}
		if (c.module && c.file && c.name >= LAYOUT_NAME_MIN)
			assert_int_equal(cols_total(&c), w);
		(void)prev_name;
	}
}

static void test_top_columns_narrow(void **state)
{
	struct top_cols c;
	(void)state;
	layout_top_columns(60, &c);
	assert_int_equal(c.file, 0);           /* file:line dropped */
	assert_true(c.name >= LAYOUT_NAME_MIN);
	assert_true(cols_total(&c) <= 60);
	layout_top_columns(50, &c);
	assert_int_equal(c.file, 0);
	assert_int_equal(c.module, 0);
	assert_true(c.name >= 1);
	assert_true(cols_total(&c) <= 50);
}

static void check_count(uint64_t v, const char *want)
{
	char b[16];
	layout_fmt_count(v, b, sizeof b);
	assert_string_equal(b, want);
	assert_true(strlen(b) <= 5);
}

static void test_fmt_count(void **state)
{
	(void)state;
	check_count(0, "0");
	check_count(7, "7");
	check_count(9999, "9999");
	check_count(10000, "10.0k");
	check_count(12345, "12.3k");
	check_count(99949, "99.9k");
	check_count(99960, "100k");          /* not the 6-char "100.0k" */
	check_count(123456, "123k");
	check_count(999499, "999k");
	check_count(999500, "1.0M");
	check_count(1500000, "1.5M");
	check_count(UINT64_C(12345678901), "12.3G");
	char b[16];
	layout_fmt_count(UINT64_MAX, b, sizeof b);
	assert_true(strlen(b) <= 6);
}

static void test_fmt_pct(void **state)
{
	char b[16];
	(void)state;
	assert_string_equal(layout_fmt_pct(1, 3, b, sizeof b), "33.3%");
	assert_string_equal(layout_fmt_pct(5, 5, b, sizeof b), "100.0%");
	assert_string_equal(layout_fmt_pct(0, 5, b, sizeof b), "0.0%");
	assert_string_equal(layout_fmt_pct(1, 2000, b, sizeof b), "0.1%");
	assert_string_equal(layout_fmt_pct(0, 0, b, sizeof b), "-");
}

static void test_fmt_duration(void **state)
{
	char b[16];
	(void)state;
	assert_string_equal(layout_fmt_duration(0, b, sizeof b), "0s");
	assert_string_equal(layout_fmt_duration(59, b, sizeof b), "59s");
	assert_string_equal(layout_fmt_duration(62, b, sizeof b), "1m02s");
	assert_string_equal(layout_fmt_duration(3900, b, sizeof b), "1h05m");
	assert_string_equal(layout_fmt_duration(90000, b, sizeof b), "1d01h");
}

static void test_fit(void **state)
{
	char b[64];
	(void)state;
	assert_int_equal(layout_fit("spin_alpha", 20, b, sizeof b), 10);
	assert_string_equal(b, "spin_alpha");
	assert_int_equal(layout_fit("spin_alpha", 10, b, sizeof b), 10);
	assert_string_equal(b, "spin_alpha");
	assert_int_equal(layout_fit("spin_alpha", 9, b, sizeof b), 9);
	assert_string_equal(b, "spin_al..");
	assert_int_equal(layout_fit("spin_alpha", 3, b, sizeof b), 3);
	assert_string_equal(b, "s..");
	assert_int_equal(layout_fit("spin_alpha", 2, b, sizeof b), 2);
	assert_string_equal(b, "sp");
	assert_int_equal(layout_fit("spin_alpha", 0, b, sizeof b), 0);
	assert_string_equal(b, "");
	assert_int_equal(layout_fit(NULL, 5, b, sizeof b), 0);
	/* a small buffer cuts further but stays a valid string */
	char s[6];
	layout_fit("abcdefghijkl", 10, s, sizeof s);
	assert_true(strlen(s) < sizeof s);
	/* UTF-8: counted in code points, never split */
	assert_int_equal(layout_width("\xc3\xa9t\xc3\xa9"), 3);
	assert_int_equal(layout_fit("\xc3\xa9t\xc3\xa9s_\xc3\xa9t\xc3\xa9", 5, b, sizeof b), 5);
	assert_string_equal(b, "\xc3\xa9t\xc3\xa9..");
}

static void test_flame_label(void **state)
{
	char b[64];
	(void)state;
	/* w columns, the last one is the gap between boxes */
	layout_flame_label("main", 5, b, sizeof b);
	assert_string_equal(b, "main");
	layout_flame_label("main", 40, b, sizeof b);
	assert_string_equal(b, "main");
	layout_flame_label("spin_alpha", 8, b, sizeof b);
	assert_string_equal(b, "spin_..");
	assert_int_equal(layout_width(b), 7);
	layout_flame_label("spin_alpha", 4, b, sizeof b);
	assert_string_equal(b, "s..");
	layout_flame_label("spin_alpha", 3, b, sizeof b);
	assert_string_equal(b, "");             /* no room for a useful label */
	layout_flame_label("f", 2, b, sizeof b);
	assert_string_equal(b, "f");            /* fits as is */
	layout_flame_label("main", 1, b, sizeof b);
	assert_string_equal(b, "");
	layout_flame_label("main", 0, b, sizeof b);
	assert_string_equal(b, "");
}

static void test_sparkline_ascii(void **state)
{
	char b[64];
	(void)state;
	int64_t grow[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	layout_sparkline(grow, 8, 8, 0, b, sizeof b);
	/* 8 levels onto 7 marks: the two lowest share "." */
	assert_string_equal(b, "..:-=+*#");
	assert_int_equal(strlen(b), 8);
	/* fewer values than cells: left-padded, newest on the right */
	int64_t two[] = { 1, 9 };
	layout_sparkline(two, 2, 6, 0, b, sizeof b);
	assert_string_equal(b, "    .#");
	/* more values than cells: the newest ones */
	int64_t many[] = { 100, 100, 100, 1, 2 };
	layout_sparkline(many, 5, 2, 0, b, sizeof b);
	assert_string_equal(b, ".#");
	/* flat nonzero: mid height; zero: blank */
	int64_t flat[] = { 5, 5, 0, 5 };
	layout_sparkline(flat, 4, 4, 0, b, sizeof b);
	assert_string_equal(b, "-- -");
	/* scaled between min and max: 100..110 is fully visible */
	int64_t high[] = { 100, 110 };
	layout_sparkline(high, 2, 2, 0, b, sizeof b);
	assert_string_equal(b, ".#");
	/* no history at all */
	layout_sparkline(NULL, 0, 3, 0, b, sizeof b);
	assert_string_equal(b, "   ");
}

static void test_sparkline_unicode(void **state)
{
	char b[64];
	(void)state;
	int64_t grow[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8 };
	layout_sparkline(grow + 1, 8, 8, 1, b, sizeof b);
	assert_string_equal(b, "\xe2\x96\x81\xe2\x96\x82\xe2\x96\x83\xe2\x96\x84"
			       "\xe2\x96\x85\xe2\x96\x86\xe2\x96\x87\xe2\x96\x88");
	assert_int_equal(layout_width(b), 8);
	layout_sparkline(grow, 9, 4, 1, b, sizeof b);
	assert_int_equal(layout_width(b), 4);
	/* the output buffer bounds the glyphs, never overflows */
	char s[7];
	layout_sparkline(grow, 9, 8, 1, s, sizeof s);
	assert_int_equal(layout_width(s), 2);
}

static void test_scroll(void **state)
{
	struct scroll s = { 0, 0 };
	(void)state;
	layout_scroll_move(&s, 1, 100, 10);
	assert_int_equal(s.cursor, 1);
	assert_int_equal(s.offset, 0);
	layout_scroll_move(&s, 10, 100, 10);    /* PgDn */
	assert_int_equal(s.cursor, 11);
	assert_int_equal(s.offset, 2);
	layout_scroll_move(&s, -10, 100, 10);   /* PgUp */
	assert_int_equal(s.cursor, 1);
	assert_int_equal(s.offset, 1);
	layout_scroll_to(&s, 99, 100, 10);      /* G */
	assert_int_equal(s.cursor, 99);
	assert_int_equal(s.offset, 90);
	layout_scroll_move(&s, 5, 100, 10);     /* past the end: clamped */
	assert_int_equal(s.cursor, 99);
	layout_scroll_to(&s, 0, 100, 10);       /* g */
	assert_int_equal(s.cursor, 0);
	assert_int_equal(s.offset, 0);
	/* the list shrinks under the cursor (a refresh) */
	s.cursor = 80; s.offset = 75;
	layout_scroll_fix(&s, 20, 10);
	assert_int_equal(s.cursor, 19);
	assert_int_equal(s.offset, 10);
	/* shorter than the window: no offset */
	s.cursor = 3; s.offset = 2;
	layout_scroll_fix(&s, 5, 10);
	assert_int_equal(s.offset, 0);
	assert_int_equal(s.cursor, 3);
	/* empty list and tiny window */
	layout_scroll_move(&s, 1, 0, 10);
	assert_int_equal(s.cursor, 0);
	assert_int_equal(s.offset, 0);
	s.cursor = 5; s.offset = 0;
	layout_scroll_fix(&s, 10, 0);
	assert_int_equal(s.offset, 5);
	/* huge deltas do not overflow */
	layout_scroll_move(&s, 0x7fffffff, 10, 3);
	assert_int_equal(s.cursor, 9);
	layout_scroll_move(&s, -0x7fffffff, 10, 3);
	assert_int_equal(s.cursor, 0);
}

static void test_regex_quote(void **state)
{
	char b[128];
	(void)state;
	assert_int_equal(layout_regex_quote("spin_alpha", b, sizeof b), 0);
	assert_string_equal(b, "^spin_alpha$");
	assert_int_equal(layout_regex_quote("std::vector<int>::operator[](unsigned long)", b, sizeof b), 0);
	assert_string_equal(b, "^std::vector<int>::operator\\[\\]\\(unsigned long\\)$");
	assert_int_equal(layout_regex_quote("a.b*c+d?e|f^g$h{1}\\", b, sizeof b), 0);
	assert_string_equal(b, "^a\\.b\\*c\\+d\\?e\\|f\\^g\\$h\\{1\\}\\\\$");
	char s[8];
	assert_int_equal(layout_regex_quote("abcdefgh", s, sizeof s), -ENOSPC);
	assert_int_equal(layout_regex_quote("abcde", s, sizeof s), 0);
	assert_string_equal(s, "^abcde$");
}

static void test_snapshot_name(void **state)
{
	char b[128];
	struct tm tm = { .tm_year = 126, .tm_mon = 10, .tm_mday = 26,
			 .tm_hour = 10, .tm_min = 15, .tm_sec = 0 };
	(void)state;
	assert_int_equal(layout_snapshot_name(b, sizeof b, 1234, &tm, 0, ""), 0);
	assert_string_equal(b, "ctop-prof-1234-20261126-101500.pb.gz");
	layout_snapshot_name(b, sizeof b, 1234, &tm, 2, "-threads");
	assert_string_equal(b, "ctop-prof-1234-20261126-101500-2-threads.pb.gz");
	assert_int_equal(layout_snapshot_name(b, 10, 1234, &tm, 0, ""), -ENOSPC);
}

/* Tree rows, flame boxes and zooms are found again by path key: the key
 * depends on the whole path and the order of names, and is never 0. */
static void test_path_key(void **state)
{
	(void)state;
	uint64_t root = 5;
	uint64_t a = layout_path_key(root, "main"), b = layout_path_key(a, "work");
	assert_int_equal(a, layout_path_key(root, "main"));      /* stable */
	assert_true(b != layout_path_key(root, "work"));          /* path matters */
	assert_true(layout_path_key(layout_path_key(root, "x"), "y") !=
		    layout_path_key(layout_path_key(root, "y"), "x"));   /* order matters */
	assert_true(a != layout_path_key(7, "main"));             /* root matters */
	assert_true(layout_path_key(0, "") != 0);
	assert_true(layout_path_key(0, NULL) != 0);
	for (uint64_t k = 0; k < 1000; k++)
		assert_true(layout_path_key(k * 0x1234567, "f") != 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_top_columns_wide),
		cmocka_unit_test(test_top_columns_120),
		cmocka_unit_test(test_top_columns_80),
		cmocka_unit_test(test_top_columns_every_width),
		cmocka_unit_test(test_top_columns_narrow),
		cmocka_unit_test(test_fmt_count),
		cmocka_unit_test(test_fmt_pct),
		cmocka_unit_test(test_fmt_duration),
		cmocka_unit_test(test_fit),
		cmocka_unit_test(test_flame_label),
		cmocka_unit_test(test_sparkline_ascii),
		cmocka_unit_test(test_sparkline_unicode),
		cmocka_unit_test(test_scroll),
		cmocka_unit_test(test_regex_quote),
		cmocka_unit_test(test_snapshot_name),
		cmocka_unit_test(test_path_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
