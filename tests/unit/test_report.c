/* Unit tests for src/profile/report.c with a fake resolver.
 *
 * Fake program (module "prog" unless noted), pc -> frames (innermost first):
 *   0x10 main  main.c:10
 *   0x20 a     a.c:20
 *   0x30 inl   inl.h:5   inlined into  b  b.c:33   (2 frames)
 *   0x31 b     b.c:35
 *   0x40 c     c.c:40
 *   0x50 rec   rec.c:50
 *   0x51 rec   rec.c:51
 *   0x60 memcpy (libc.so.6, no file)
 *   0x70 d2    d.c:7  inlined into  d1 d.c:3  inlined into  d0 d.c:1 (3 frames)
 *
 * Base profile (leaf first):
 *   S1 tid 1 x5: a main
 *   S2 tid 1 x3: (inl b) a main
 *   S3 tid 2 x2: c b main           (b at line 35)
 *   S4 tid 2 x1: memcpy c main
 * total 11; flat a5 inl3 c2 memcpy1; cum main11 a8 b5 inl3 c3 memcpy1. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common.h"
#include "profile.h"
#include "report.h"

#define T0 UINT64_C(5000000000)

static struct sym_module prog = { .id = 1, .name = "prog", .path = "/bin/prog", .build_id = "" };
static struct sym_module libc = { .id = 2, .name = "libc.so.6", .path = "/lib/libc.so.6", .build_id = "" };

static struct sym_frame f_main[] = { { "main", "main.c", 10, 9 } };
static struct sym_frame f_a[] = { { "a", "a.c", 20, 19 } };
static struct sym_frame f_inl_b[] = { { "inl", "inl.h", 5, 4 }, { "b", "b.c", 33, 30 } };
static struct sym_frame f_b[] = { { "b", "b.c", 35, 30 } };
static struct sym_frame f_c[] = { { "c", "c.c", 40, 39 } };
static struct sym_frame f_rec0[] = { { "rec", "rec.c", 50, 49 } };
static struct sym_frame f_rec1[] = { { "rec", "rec.c", 51, 49 } };
static struct sym_frame f_memcpy[] = { { "memcpy", NULL, 0, 0 } };
static struct sym_frame f_d[] = { { "d2", "d.c", 7, 6 }, { "d1", "d.c", 3, 2 }, { "d0", "d.c", 1, 1 } };

static struct sym_loc locs[] = {
	{ 0x10, &prog, 1, f_main }, { 0x20, &prog, 1, f_a }, { 0x30, &prog, 2, f_inl_b },
	{ 0x31, &prog, 1, f_b }, { 0x40, &prog, 1, f_c }, { 0x50, &prog, 1, f_rec0 },
	{ 0x51, &prog, 1, f_rec1 }, { 0x60, &libc, 1, f_memcpy }, { 0x70, &prog, 3, f_d },
};

struct fake { int calls; int per_pc[16]; };

static const struct sym_loc *fake_resolve(void *ctx, uint64_t pc)
{
	struct fake *fk = ctx;
	static struct sym_frame unk[] = { { "[unknown]", NULL, 0, 0 } };
	static struct sym_loc unknown = { 0, NULL, 1, unk };
	fk->calls++;
	for (size_t i = 0; i < sizeof locs / sizeof *locs; i++)
		if (locs[i].pc == pc) {
			fk->per_pc[i]++;
			return &locs[i];
		}
	return &unknown;
}

static struct profile *base_profile(void)
{
	struct profile *p = profile_new();
	uint64_t s1[] = { 0x20, 0x10 }, s2[] = { 0x30, 0x20, 0x10 };
	uint64_t s3[] = { 0x40, 0x31, 0x10 }, s4[] = { 0x60, 0x40, 0x10 };
	profile_reset(p, T0);
	profile_add(p, 1, s1, 2, T0 + 1, 5, 1000000);
	profile_add(p, 1, s2, 3, T0 + 2, 3, 1000000);
	profile_add(p, 2, s3, 3, T0 + 3, 2, 1000000);
	profile_add(p, 2, s4, 3, T0 + 4, 1, 1000000);
	return p;
}

static struct report *build(const struct profile *p, const char *focus, const char *ignore,
			    const char *hide, pid_t tid, struct fake *fk)
{
	struct report_filter f = { focus, ignore, hide, tid };
	const char *err = NULL;
	struct fake local = { 0 };
	struct report *r = report_build(p, WINDOW_ALL, T0 + 10, &f, fake_resolve,
					fk ? fk : &local, &err);
	assert_non_null(r);
	assert_null(err);
	return r;
}

static int fid(const struct report *r, const char *name)
{
	for (uint32_t i = 0; i < report_nfuncs(r); i++)
		if (!strcmp(report_func(r, i)->name, name))
			return (int)i;
	return -1;
}

static uint64_t flat(const struct report *r, const char *name)
{
	int i = fid(r, name);
	return i < 0 ? UINT64_MAX : report_func(r, (uint32_t)i)->flat;
}

static uint64_t cum(const struct report *r, const char *name)
{
	int i = fid(r, name);
	return i < 0 ? UINT64_MAX : report_func(r, (uint32_t)i)->cum;
}

static void test_counts(void **state)
{
	(void)state;
	struct profile *p = base_profile();
	struct fake fk = { 0 };
	struct report *r = build(p, NULL, NULL, NULL, 0, &fk);
	assert_int_equal(report_total(r), 11);
	assert_int_equal(report_nfuncs(r), 6);
	assert_int_equal(flat(r, "a"), 5);
	assert_int_equal(flat(r, "inl"), 3);
	assert_int_equal(flat(r, "c"), 2);
	assert_int_equal(flat(r, "memcpy"), 1);
	assert_int_equal(flat(r, "b"), 0);
	assert_int_equal(flat(r, "main"), 0);
	assert_int_equal(cum(r, "main"), 11);
	assert_int_equal(cum(r, "a"), 8);
	assert_int_equal(cum(r, "b"), 5);
	assert_int_equal(cum(r, "inl"), 3);
	assert_int_equal(cum(r, "c"), 3);
	assert_int_equal(cum(r, "memcpy"), 1);

	/* each distinct pc resolved once per build (6 distinct pcs) */
	assert_int_equal(fk.calls, 6);

	const struct rfunc *b = report_func(r, (uint32_t)fid(r, "b"));
	assert_string_equal(b->file, "b.c");
	assert_string_equal(b->module, "prog");
	assert_int_equal(b->line, 33);         /* 3 samples at 33, 2 at 35 */
	assert_int_equal(b->start_line, 30);
	const struct rfunc *m = report_func(r, (uint32_t)fid(r, "memcpy"));
	assert_null(m->file);
	assert_string_equal(m->module, "libc.so.6");
	assert_int_equal(m->line, 0);
	assert_null(report_func(r, report_nfuncs(r)));
	report_free(r);

	/* Filters with no match on anything: everything stays. Empty strings
	 * count as no filter. */
	r = build(p, "", "", "", 0, NULL);
	assert_int_equal(report_total(r), 11);
	report_free(r);
	profile_free(p);
}

static void test_no_resolver(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	uint64_t pc = 0x99;
	profile_add(p, 1, &pc, 1, T0, 1, 1);
	struct report *r = report_build(p, WINDOW_ALL, T0, NULL, NULL, NULL, NULL);
	assert_non_null(r);
	assert_int_equal(report_nfuncs(r), 1);
	assert_string_equal(report_func(r, 0)->name, "[unknown]");
	assert_int_equal(report_func(r, 0)->flat, 1);
	report_free(r);
	profile_free(p);
}

static const struct sym_loc *one_loc_resolve(void *ctx, uint64_t pc)
{
	(void)pc;
	return ctx;
}

static void test_strings_copied_resolver(void **state)
{
	(void)state;
	char name[16] = "volatile_fn", file[16] = "v.c";
	struct sym_frame fr[] = { { name, file, 1, 1 } };
	struct sym_loc l = { 0x99, NULL, 1, fr };
	struct profile *p = profile_new();
	uint64_t pcs[] = { 0x99, CTOP_TRUNCATED_PC };
	profile_add(p, 1, pcs, 2, T0, 1, 1);
	struct report *r = report_build(p, WINDOW_ALL, T0, NULL, one_loc_resolve, &l, NULL);
	assert_non_null(r);
	strcpy(name, "XXXX");
	strcpy(file, "YYY");
	assert_int_equal(report_nfuncs(r), 2);
	assert_string_equal(report_func(r, 0)->name, "volatile_fn");
	assert_string_equal(report_func(r, 0)->file, "v.c");
	assert_string_equal(report_func(r, 0)->module, "");
	/* the truncation pseudo-frame never reaches the resolver */
	assert_string_equal(report_func(r, 1)->name, "[truncated]");
	assert_int_equal(report_func(r, 1)->cum, 1);
	report_free(r);
	profile_free(p);
}

static void test_thread_restriction(void **state)
{
	(void)state;
	struct profile *p = base_profile();
	struct report *r = build(p, NULL, NULL, NULL, 2, NULL);
	assert_int_equal(report_total(r), 3);
	assert_int_equal(report_nfuncs(r), 4);   /* main b c memcpy */
	assert_int_equal(fid(r, "a"), -1);
	assert_int_equal(cum(r, "c"), 3);
	assert_int_equal(flat(r, "c"), 2);
	assert_int_equal(report_func(r, (uint32_t)fid(r, "b"))->line, 35);
	report_free(r);
	r = build(p, NULL, NULL, NULL, 99, NULL);
	assert_int_equal(report_total(r), 0);
	assert_int_equal(report_nfuncs(r), 0);
	report_free(r);
	profile_free(p);
}

static void test_focus(void **state)
{
	(void)state;
	struct profile *p = base_profile();
	struct report *r = build(p, "^b$", NULL, NULL, 0, NULL);
	assert_int_equal(report_total(r), 5);       /* S2 + S3 */
	assert_int_equal(cum(r, "main"), 5);
	assert_int_equal(flat(r, "inl"), 3);
	assert_int_equal(flat(r, "c"), 2);
	assert_int_equal(fid(r, "memcpy"), -1);
	report_free(r);

	/* an inline frame is a function of its own */
	r = build(p, "inl", NULL, NULL, 0, NULL);
	assert_int_equal(report_total(r), 3);
	/* b's line 35 is only in dropped stacks: not in its lines */
	struct rline *l;
	int nl = report_lines(r, (uint32_t)fid(r, "b"), NULL, &l);
	assert_int_equal(nl, 1);
	assert_int_equal(l[0].line, 33);
	assert_int_equal(l[0].cum, 3);
	free(l);
	assert_int_equal(report_func(r, (uint32_t)fid(r, "b"))->line, 33);
	report_free(r);

	/* S3 and S4 dropped: c's line 40 and memcpy are gone; b keeps 33 only */
	r = build(p, "^a$", NULL, NULL, 0, NULL);
	assert_int_equal(report_total(r), 8);
	assert_int_equal(report_nfuncs(r), 4);   /* a main inl b */
	nl = report_lines(r, (uint32_t)fid(r, "b"), NULL, &l);
	assert_int_equal(nl, 1);
	free(l);
	report_free(r);

	/* regex, not equality: "^(a|c)$" keeps S1 S2 S3 S4 */
	r = build(p, "^(a|c)$", NULL, NULL, 0, NULL);
	assert_int_equal(report_total(r), 11);
	report_free(r);

	r = build(p, "nomatch", NULL, NULL, 0, NULL);
	assert_int_equal(report_total(r), 0);
	assert_int_equal(report_nfuncs(r), 0);
	report_free(r);
	profile_free(p);
}

static void test_ignore(void **state)
{
	(void)state;
	struct profile *p = base_profile();
	struct report *r = build(p, NULL, "^c$", NULL, 0, NULL);
	assert_int_equal(report_total(r), 8);       /* S1 + S2 */
	assert_int_equal(fid(r, "c"), -1);
	assert_int_equal(fid(r, "memcpy"), -1);
	assert_int_equal(cum(r, "b"), 3);
	report_free(r);

	/* ignore wins over focus on the same stack */
	r = build(p, "^b$", "^inl$", NULL, 0, NULL);
	assert_int_equal(report_total(r), 2);       /* S3 only */
	report_free(r);
	profile_free(p);
}

static void test_hide(void **state)
{
	(void)state;
	struct profile *p = base_profile();
	struct report *r = build(p, NULL, NULL, "^a$", 0, NULL);
	assert_int_equal(report_total(r), 11);
	assert_int_equal(fid(r, "a"), -1);          /* no samples: not listed */
	assert_int_equal(flat(r, "main"), 5);       /* S1 is now just main */
	assert_int_equal(cum(r, "b"), 5);
	assert_int_equal(report_nfuncs(r), 5);
	report_free(r);

	/* hiding the inline leaf gives its flat to the function it is in */
	r = build(p, NULL, NULL, "^inl$", 0, NULL);
	assert_int_equal(flat(r, "b"), 3);
	assert_int_equal(cum(r, "b"), 5);
	assert_int_equal(fid(r, "inl"), -1);
	report_free(r);

	/* focus sees hidden frames (pprof applies focus before hide) */
	r = build(p, "^inl$", NULL, "^inl$", 0, NULL);
	assert_int_equal(report_total(r), 3);
	assert_int_equal(flat(r, "b"), 3);
	report_free(r);

	/* stacks left without frames are dropped, as pprof does */
	r = build(p, NULL, NULL, ".", 0, NULL);
	assert_int_equal(report_total(r), 0);
	assert_int_equal(report_nfuncs(r), 0);
	uint32_t n;
	const struct rnode *t = report_tree(r, 0, &n);
	assert_int_equal(n, 1);
	assert_int_equal(t[0].total, 0);
	report_free(r);
	r = build(p, NULL, NULL, "^(a|main)$", 0, NULL);
	assert_int_equal(report_total(r), 6);       /* S1 (a main) is gone */
	assert_int_equal(flat(r, "inl"), 3);
	assert_int_equal(cum(r, "b"), 5);
	t = report_tree(r, 0, &n);
	assert_int_equal(t[0].self, 0);
	report_free(r);

	/* the regex looks at names only, not files: "inl.h" is b's inline
	 * callee's file, "\\.h$" matches no name */
	r = build(p, "\\.h$", NULL, NULL, 0, NULL);
	assert_int_equal(report_total(r), 0);
	report_free(r);
	profile_free(p);
}

static void test_bad_regex(void **state)
{
	(void)state;
	struct profile *p = base_profile();
	const char *bad[3] = { "(", "[z-a]", "a{2" };
	for (int k = 0; k < 3; k++) {
		struct report_filter f = { 0 };
		if (k == 0) f.focus = bad[k];
		if (k == 1) f.ignore = bad[k];
		if (k == 2) f.hide = "(unclosed";
		const char *err = NULL;
		struct fake fk = { 0 };
		struct report *r = report_build(p, WINDOW_ALL, T0, &f, fake_resolve, &fk, &err);
		assert_null(r);
		assert_non_null(err);
		assert_non_null(strstr(err, k == 0 ? "focus" : k == 1 ? "ignore" : "hide"));
		assert_int_equal(fk.calls, 0);
	}
	profile_free(p);
}

/* The matcher the writers share with the report: per-name bits and the
 * stack rule, including the no-filter case (NULL matcher). */
static void test_match_api(void **state)
{
	(void)state;
	struct report_match *m = (struct report_match *)1;
	const char *err = NULL;
	assert_int_equal(report_match_new(NULL, &m, &err), 0);
	assert_null(m);
	struct report_filter none = { .focus = "", .tid = 5 };
	assert_int_equal(report_match_new(&none, &m, &err), 0);
	assert_null(m);
	assert_int_equal(report_match_name(NULL, "x"), 0);
	assert_int_equal(report_match_keep(NULL, 0, 1), 1);
	assert_int_equal(report_match_keep(NULL, 0, 0), 0);   /* nothing left */

	struct report_filter f = { .focus = "^a", .ignore = "b$", .hide = "c" };
	assert_int_equal(report_match_new(&f, &m, &err), 0);
	assert_non_null(m);
	assert_int_equal(report_match_name(m, "abc"), REPORT_FOCUS | REPORT_HIDE);
	assert_int_equal(report_match_name(m, "ab"), REPORT_FOCUS | REPORT_IGNORE);
	assert_int_equal(report_match_name(m, "zzz"), 0);
	assert_int_equal(report_match_keep(m, REPORT_FOCUS, 1), 1);
	assert_int_equal(report_match_keep(m, 0, 1), 0);               /* not focused */
	assert_int_equal(report_match_keep(m, REPORT_FOCUS | REPORT_IGNORE, 3), 0);
	assert_int_equal(report_match_keep(m, REPORT_FOCUS | REPORT_HIDE, 0), 0);
	report_match_free(m);

	struct report_filter bad = { .hide = "(" };
	m = (struct report_match *)1;
	assert_int_equal(report_match_new(&bad, &m, &err), -EINVAL);
	assert_null(m);
	assert_non_null(strstr(err, "hide"));
	report_match_free(NULL);
}

static struct profile *rec_profile(void)
{
	struct profile *p = profile_new();
	uint64_t s[] = { 0x50, 0x51, 0x51, 0x10 };   /* rec rec rec main */
	uint64_t t[] = { 0x20, 0x50, 0x51, 0x10 };   /* a rec rec main */
	profile_reset(p, T0);
	profile_add(p, 1, s, 4, T0, 4, 1);
	profile_add(p, 1, t, 4, T0, 1, 1);
	return p;
}

static void test_recursion(void **state)
{
	(void)state;
	struct profile *p = rec_profile();
	struct report *r = build(p, NULL, NULL, NULL, 0, NULL);
	assert_int_equal(report_total(r), 5);
	assert_int_equal(cum(r, "rec"), 5);          /* once per stack */
	assert_int_equal(flat(r, "rec"), 4);
	assert_int_equal(cum(r, "main"), 5);
	assert_int_equal(flat(r, "a"), 1);

	const struct rfunc *rf;
	struct rline *lines;
	const char *file;
	int id = fid(r, "rec");
	int nl = report_lines(r, (uint32_t)id, &file, &lines);
	assert_int_equal(nl, 2);
	assert_string_equal(file, "rec.c");
	assert_int_equal(lines[0].line, 50);
	assert_int_equal(lines[0].flat, 4);
	assert_int_equal(lines[0].cum, 5);
	assert_int_equal(lines[1].line, 51);
	assert_int_equal(lines[1].flat, 0);
	assert_int_equal(lines[1].cum, 5);           /* 2 frames, one stack */
	free(lines);
	rf = report_func(r, (uint32_t)id);
	assert_int_equal(rf->line, 50);              /* tie: lowest line */

	/* peek: self edges are not edges */
	struct redge *up, *down;
	uint32_t nup, ndown;
	report_peek(r, (uint32_t)id, &up, &nup, &down, &ndown);
	assert_int_equal(nup, 1);
	assert_int_equal(up[0].func, fid(r, "main"));
	assert_int_equal(up[0].count, 5);
	assert_int_equal(ndown, 1);
	assert_int_equal(down[0].func, fid(r, "a"));
	assert_int_equal(down[0].count, 1);
	free(up);
	free(down);

	/* tree: recursion is depth, and totals still nest */
	uint32_t n;
	const struct rnode *t = report_tree(r, 0, &n);
	/* root main rec rec rec(x4 leaf) | rec->a */
	assert_int_equal(n, 6);
	assert_int_equal(t[0].total, 5);
	assert_int_equal(t[1].func, fid(r, "main"));
	assert_int_equal(t[2].func, id);
	assert_int_equal(t[3].func, id);
	assert_int_equal(t[3].total, 5);
	assert_int_equal(t[4].func, id);
	assert_int_equal(t[4].total, 4);
	assert_int_equal(t[4].self, 4);
	assert_int_equal(t[5].func, fid(r, "a"));
	assert_int_equal(t[5].self, 1);
	report_free(r);
	profile_free(p);
}

static int find_edge(const struct redge *e, uint32_t n, int func, uint64_t *count)
{
	for (uint32_t i = 0; i < n; i++)
		if ((int)e[i].func == func) {
			*count = e[i].count;
			return (int)i;
		}
	return -1;
}

static void test_peek(void **state)
{
	(void)state;
	struct profile *p = base_profile();
	struct report *r = build(p, NULL, NULL, NULL, 0, NULL);
	struct redge *up, *down;
	uint32_t nup, ndown;
	uint64_t c = 0;

	report_peek(r, (uint32_t)fid(r, "b"), &up, &nup, &down, &ndown);
	assert_int_equal(nup, 2);
	assert_int_equal(find_edge(up, nup, fid(r, "a"), &c), 0);
	assert_int_equal(c, 3);
	assert_int_equal(find_edge(up, nup, fid(r, "main"), &c), 1);
	assert_int_equal(c, 2);
	assert_int_equal(ndown, 2);
	assert_int_equal(find_edge(down, ndown, fid(r, "inl"), &c), 0);
	assert_int_equal(c, 3);
	assert_int_equal(find_edge(down, ndown, fid(r, "c"), &c), 1);
	assert_int_equal(c, 2);
	free(up);
	free(down);

	report_peek(r, (uint32_t)fid(r, "main"), &up, &nup, &down, &ndown);
	assert_int_equal(nup, 0);
	assert_int_equal(ndown, 3);                   /* sorted by count */
	assert_int_equal(down[0].func, fid(r, "a"));
	assert_int_equal(down[0].count, 8);
	assert_int_equal(down[1].func, fid(r, "b"));
	assert_int_equal(down[1].count, 2);
	assert_int_equal(down[2].func, fid(r, "c"));
	assert_int_equal(down[2].count, 1);
	free(up);
	free(down);

	report_peek(r, (uint32_t)fid(r, "memcpy"), &up, &nup, &down, &ndown);
	assert_int_equal(nup, 1);
	assert_int_equal(up[0].func, fid(r, "c"));
	assert_int_equal(up[0].count, 1);
	assert_int_equal(ndown, 0);
	free(up);
	free(down);
	report_free(r);
	profile_free(p);
}

static void check_tree_invariants(const struct rnode *t, uint32_t n)
{
	assert_int_equal(t[0].func, UINT32_MAX);
	assert_int_equal(t[0].parent, UINT32_MAX);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t sum = 0, prev = UINT64_MAX;
		uint32_t expect = i + 1;
		for (uint32_t c = t[i].first_child; c != UINT32_MAX; c = t[c].next_sibling) {
			assert_int_equal(t[c].parent, i);
			assert_true(t[c].total <= prev);   /* sorted by total */
			assert_int_equal(c, expect);       /* preorder numbering */
			prev = t[c].total;
			sum += t[c].total;
			/* next sibling comes after c's subtree */
			uint32_t end = c + 1;
			while (end < n) {
				uint32_t q = t[end].parent;
				while (q != UINT32_MAX && q != c)
					q = t[q].parent;
				if (q != c)
					break;
				end++;
			}
			expect = end;
		}
		assert_true(sum <= t[i].total);
		assert_int_equal(sum + t[i].self, t[i].total);
	}
}

static void test_tree(void **state)
{
	(void)state;
	struct profile *p = base_profile();
	struct report *r = build(p, NULL, NULL, NULL, 0, NULL);
	uint32_t n;
	const struct rnode *t = report_tree(r, 0, &n);
	/* 0 root, 1 main, 2 a, 3 b, 4 inl, 5 b, 6 c, 7 c, 8 memcpy */
	assert_int_equal(n, 9);
	check_tree_invariants(t, n);
	const char *names[] = { NULL, "main", "a", "b", "inl", "b", "c", "c", "memcpy" };
	const uint64_t totals[] = { 11, 11, 8, 3, 3, 2, 2, 1, 1 };
	const uint64_t selfs[] = { 0, 0, 5, 0, 3, 0, 2, 0, 1 };
	for (uint32_t i = 1; i < n; i++) {
		assert_string_equal(report_func(r, t[i].func)->name, names[i]);
		assert_int_equal(t[i].total, totals[i]);
		assert_int_equal(t[i].self, selfs[i]);
	}
	assert_int_equal(t[0].total, 11);
	assert_int_equal(t[1].first_child, 2);
	assert_int_equal(t[2].next_sibling, 5);
	assert_int_equal(t[5].next_sibling, 7);
	assert_int_equal(t[7].next_sibling, UINT32_MAX);
	assert_int_equal(t[4].parent, 3);
	/* cached: same pointer */
	uint32_t n2;
	assert_ptr_equal(report_tree(r, 0, &n2), t);
	assert_int_equal(n2, n);

	/* inverted: leaf first; first level totals are flat counts */
	const struct rnode *it = report_tree(r, 1, &n);
	check_tree_invariants(it, n);
	assert_int_equal(it[0].total, 11);
	uint64_t sum = 0;
	int level1 = 0;
	for (uint32_t c = it[0].first_child; c != UINT32_MAX; c = it[c].next_sibling) {
		assert_int_equal(it[c].total, report_func(r, it[c].func)->flat);
		sum += it[c].total;
		level1++;
	}
	assert_int_equal(level1, 4);
	assert_int_equal(sum, 11);
	/* first: a(5) -> main(5) */
	uint32_t c = it[0].first_child;
	assert_string_equal(report_func(r, it[c].func)->name, "a");
	assert_string_equal(report_func(r, it[c + 1].func)->name, "main");
	assert_int_equal(it[c + 1].self, 5);
	/* inl(3) -> b -> a -> main; 1+1+4+1+2+... nodes: a main inl b a main c b main memcpy c main */
	assert_int_equal(n, 13);
	report_free(r);
	profile_free(p);
}

static struct flame_box *box_of(struct flame_box *b, int nb, uint32_t node)
{
	for (int i = 0; i < nb; i++)
		if (b[i].node == node)
			return &b[i];
	return NULL;
}

static void test_flame(void **state)
{
	(void)state;
	struct profile *p = base_profile();
	struct report *r = build(p, NULL, NULL, NULL, 0, NULL);
	uint32_t n;
	const struct rnode *t = report_tree(r, 0, &n);
	struct flame_box *b;

	/* width 110: 10 columns per sample */
	int nb = flame_layout(r, 0, 110, &b);
	assert_int_equal(nb, 9);
	struct { uint32_t node; int depth, x, w; } want[] = {
		{ 0, 0, 0, 110 }, { 1, 1, 0, 110 },
		{ 2, 2, 0, 80 }, { 3, 3, 0, 30 }, { 4, 4, 0, 30 },   /* a, b, inl */
		{ 5, 2, 80, 20 }, { 6, 3, 80, 20 },                  /* b, c */
		{ 7, 2, 100, 10 }, { 8, 3, 100, 10 },                /* c, memcpy */
	};
	for (int i = 0; i < 9; i++) {
		/* preorder, children left to right by name */
		assert_int_equal(b[i].node, want[i].node);
		assert_int_equal(b[i].depth, want[i].depth);
		assert_int_equal(b[i].x, want[i].x);
		assert_int_equal(b[i].w, want[i].w);
	}
	free(b);

	/* width 3: b under main gets floor(3*10/11) - floor(3*8/11) = 0 columns
	 * and is left out with its child; so is a's child b (floor(2*3/8) = 0). */
	nb = flame_layout(r, 0, 3, &b);
	assert_int_equal(nb, 5);
	assert_int_equal(box_of(b, nb, 2)->w, 2);
	assert_null(box_of(b, nb, 3));
	assert_null(box_of(b, nb, 4));
	assert_null(box_of(b, nb, 5));
	assert_null(box_of(b, nb, 6));
	assert_int_equal(box_of(b, nb, 7)->x, 2);
	assert_int_equal(box_of(b, nb, 7)->w, 1);
	assert_int_equal(box_of(b, nb, 8)->w, 1);
	for (int i = 0; i < nb; i++) {
		assert_true(b[i].w > 0);
		assert_true(b[i].x >= 0 && b[i].x + b[i].w <= 3);
	}
	free(b);

	/* zoom into a (node 2): a fills the width at depth 0 */
	assert_string_equal(report_func(r, t[2].func)->name, "a");
	nb = flame_layout(r, 2, 80, &b);
	assert_int_equal(nb, 3);
	assert_int_equal(b[0].node, 2);
	assert_int_equal(b[0].depth, 0);
	assert_int_equal(b[0].w, 80);
	assert_int_equal(b[1].node, 3);
	assert_int_equal(b[1].depth, 1);
	assert_int_equal(b[1].w, 30);
	assert_int_equal(b[2].node, 4);
	assert_int_equal(b[2].depth, 2);
	free(b);

	assert_true(flame_layout(r, n, 80, &b) < 0);
	free(b);
	assert_true(flame_layout(r, 0, 0, &b) < 0);
	free(b);
	report_free(r);
	profile_free(p);
}

static void test_flame_name_order(void **state)
{
	(void)state;
	/* children by name, not by count: c (big) right of b (small) */
	struct profile *p = profile_new();
	uint64_t s1[] = { 0x40, 0x10 }, s2[] = { 0x31, 0x10 };
	profile_reset(p, T0);
	profile_add(p, 1, s1, 2, T0, 9, 1);
	profile_add(p, 1, s2, 2, T0, 1, 1);
	struct report *r = build(p, NULL, NULL, NULL, 0, NULL);
	struct flame_box *b;
	int nb = flame_layout(r, 0, 100, &b);
	assert_int_equal(nb, 4);
	assert_string_equal(report_func(r, report_tree(r, 0, NULL)[b[2].node].func)->name, "b");
	assert_int_equal(b[2].x, 0);
	assert_int_equal(b[2].w, 10);
	assert_int_equal(b[3].x, 10);
	assert_int_equal(b[3].w, 90);
	free(b);
	report_free(r);
	profile_free(p);
}

static void test_lines(void **state)
{
	(void)state;
	struct profile *p = base_profile();
	struct report *r = build(p, NULL, NULL, NULL, 0, NULL);
	struct rline *l;
	const char *file;
	int n = report_lines(r, (uint32_t)fid(r, "b"), &file, &l);
	assert_int_equal(n, 2);
	assert_string_equal(file, "b.c");
	assert_int_equal(l[0].line, 33);
	assert_int_equal(l[0].flat, 0);
	assert_int_equal(l[0].cum, 3);
	assert_int_equal(l[1].line, 35);
	assert_int_equal(l[1].flat, 0);
	assert_int_equal(l[1].cum, 2);
	free(l);
	n = report_lines(r, (uint32_t)fid(r, "inl"), &file, &l);
	assert_int_equal(n, 1);
	assert_string_equal(file, "inl.h");
	assert_int_equal(l[0].line, 5);
	assert_int_equal(l[0].flat, 3);
	assert_int_equal(l[0].cum, 3);
	free(l);
	n = report_lines(r, (uint32_t)fid(r, "memcpy"), &file, &l);
	assert_int_equal(n, 0);
	assert_null(file);
	free(l);
	assert_true(report_lines(r, report_nfuncs(r), &file, &l) < 0);
	report_free(r);
	profile_free(p);
}

static void test_inline_chain(void **state)
{
	(void)state;
	/* three frames at one pc: d2 (leaf) d1 d0, then main */
	struct profile *p = profile_new();
	uint64_t s[] = { 0x70, 0x10 };
	profile_add(p, 1, s, 2, T0, 7, 1);
	struct report *r = build(p, NULL, NULL, NULL, 0, NULL);
	uint32_t n;
	const struct rnode *t = report_tree(r, 0, &n);
	assert_int_equal(n, 5);
	const char *names[] = { NULL, "main", "d0", "d1", "d2" };
	for (uint32_t i = 1; i < n; i++) {
		assert_string_equal(report_func(r, t[i].func)->name, names[i]);
		assert_int_equal(t[i].total, 7);
	}
	assert_int_equal(flat(r, "d2"), 7);
	assert_int_equal(report_func(r, (uint32_t)fid(r, "d1"))->line, 3);
	assert_int_equal(report_func(r, (uint32_t)fid(r, "d0"))->line, 1);
	report_free(r);
	profile_free(p);
}

static void test_sorting(void **state)
{
	(void)state;
	struct profile *p = base_profile();
	struct report *r = build(p, NULL, NULL, NULL, 0, NULL);
	const char *by_flat[] = { "a", "inl", "c", "memcpy", "main", "b" };
	const char *by_cum[] = { "main", "a", "b", "inl", "c", "memcpy" };
	const char *by_name[] = { "a", "b", "c", "inl", "main", "memcpy" };
	struct { enum sort_key k; const char **want; } cases[] = {
		{ SORT_FLAT, by_flat }, { SORT_FLAT_PCT, by_flat },
		{ SORT_CUM, by_cum }, { SORT_CUM_PCT, by_cum }, { SORT_NAME, by_name },
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		uint32_t *ids = report_sorted(r, cases[c].k);
		for (int i = 0; i < 6; i++)
			assert_string_equal(report_func(r, ids[i])->name, cases[c].want[i]);
		free(ids);
	}
	report_free(r);
	profile_free(p);
}

static void test_window_report(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	uint64_t old[] = { 0x20, 0x10 }, new[] = { 0x40, 0x10 };
	profile_reset(p, T0);
	profile_add(p, 1, old, 2, T0 + 1000000000ull, 5, 1);
	profile_add(p, 1, new, 2, T0 + 50000000000ull, 2, 1);
	struct fake fk = { 0 };
	struct report *r = report_build(p, WINDOW_10S, T0 + 50500000000ull, NULL,
					fake_resolve, &fk, NULL);
	assert_int_equal(report_total(r), 2);
	assert_int_equal(fid(r, "a"), -1);
	report_free(r);
	r = report_build(p, WINDOW_60S, T0 + 50500000000ull, NULL, fake_resolve, &fk, NULL);
	assert_int_equal(report_total(r), 7);
	report_free(r);
	profile_free(p);
}

static void test_print_top(void **state)
{
	(void)state;
	struct profile *p = base_profile();
	struct report *r = build(p, NULL, NULL, NULL, 0, NULL);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	report_print_top(r, f, 3);
	fclose(f);
	char *save, *line = strtok_r(buf, "\n", &save);
	assert_non_null(strstr(line, "Showing"));
	assert_non_null(strstr(line, "10, 90.91% of 11 total samples"));
	line = strtok_r(NULL, "\n", &save);          /* column header */
	assert_non_null(strstr(line, "flat%"));
	char name[64], mod[64], fl[64];
	unsigned long long fa, ca;
	double fp, sp, cp;
	line = strtok_r(NULL, "\n", &save);
	assert_int_equal(sscanf(line, "%llu %lf%% %lf%% %llu %lf%% %63s %63s %63s",
				&fa, &fp, &sp, &ca, &cp, name, mod, fl), 8);
	assert_int_equal(fa, 5);
	assert_int_equal(ca, 8);
	assert_string_equal(name, "a");
	assert_string_equal(mod, "prog");
	assert_string_equal(fl, "a.c:20");
	assert_true(fp > 45.449 && fp < 45.451);
	line = strtok_r(NULL, "\n", &save);
	assert_int_equal(sscanf(line, "%llu %lf%% %lf%% %llu %lf%% %63s",
				&fa, &fp, &sp, &ca, &cp, name), 6);
	assert_string_equal(name, "inl");
	assert_true(sp > 72.729 && sp < 72.731);
	line = strtok_r(NULL, "\n", &save);
	assert_non_null(line);
	assert_null(strtok_r(NULL, "\n", &save));    /* max_rows = 3 */
	free(buf);

	/* all rows; memcpy has "-" for file */
	buf = NULL;
	f = open_memstream(&buf, &len);
	report_print_top(r, f, 0);
	fclose(f);
	int rows = 0;
	for (char *q = buf; (q = strchr(q, '\n')); q++)
		rows++;
	assert_int_equal(rows, 2 + 6);
	assert_non_null(strstr(buf, "memcpy libc.so.6 -\n"));
	free(buf);
	report_free(r);
	profile_free(p);
}

static void test_empty(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	struct report *r = report_build(p, WINDOW_ALL, T0, NULL, fake_resolve, NULL, NULL);
	assert_int_equal(report_total(r), 0);
	assert_int_equal(report_nfuncs(r), 0);
	uint32_t n;
	const struct rnode *t = report_tree(r, 1, &n);
	assert_int_equal(n, 1);
	assert_int_equal(t[0].total, 0);
	struct flame_box *b;
	assert_int_equal(flame_layout(r, 0, 80, &b), 0);
	free(b);
	uint32_t *ids = report_sorted(r, SORT_NAME);
	free(ids);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	report_print_top(r, f, 10);
	fclose(f);
	assert_non_null(strstr(buf, "0 total samples"));
	free(buf);
	report_free(r);
	profile_free(p);
}

/* A name with control characters (a terminal escape, a newline) cannot
 * forge rows of the text table or reach a terminal raw. */
static const struct sym_loc *evil_resolve(void *ctx, uint64_t pc)
{
	(void)ctx;
	static struct sym_frame fr[] = { { "evil\033[2J\nname", "/src/x\r.c", 7, 0 } };
	static struct sym_module m = { .name = "mod\007" };
	static struct sym_loc l = { 0, &m, 1, fr };
	l.pc = pc;
	return &l;
}

static void test_print_top_control_chars(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	uint64_t pc = 0x1234;
	profile_add(p, 1, &pc, 1, T0, 3, 1);
	struct report *r = report_build(p, WINDOW_ALL, T0, NULL, evil_resolve, NULL, NULL);
	assert_non_null(r);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	report_print_top(r, f, 0);
	fclose(f);
	for (size_t i = 0; i < len; i++)
		assert_true(buf[i] == '\n' || ((unsigned char)buf[i] >= 0x20 && buf[i] != 0x7f));
	assert_non_null(strstr(buf, "evil?[2J?name mod? /src/x?.c:7\n"));
	int lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	assert_int_equal(lines, 3);    /* summary, header, one row */
	free(buf);
	report_free(r);
	profile_free(p);
}

/* Randomized cross-check against a naive computation on expanded stacks:
 * flat/cum per function, tree node totals = number of samples whose
 * root-first (or leaf-first) name sequence starts with the node's path,
 * flame boxes nested in their parents without overlap. */
#define RSTACKS 400
#define RDEPTH 12
static const char *rnames[RSTACKS][RDEPTH * 3];
static int rlen[RSTACKS];
static uint64_t rcount[RSTACKS];

static int rprefix(int s, const char **path, int depth, int inv)
{
	if (rlen[s] < depth)
		return 0;
	for (int i = 0; i < depth; i++) {
		const char *nm = inv ? rnames[s][i] : rnames[s][rlen[s] - 1 - i];
		if (strcmp(nm, path[i]))
			return 0;
	}
	return 1;
}

static void test_random_crosscheck(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	profile_reset(p, T0);
	uint64_t pool[] = { 0x10, 0x20, 0x30, 0x31, 0x40, 0x50, 0x51, 0x60, 0x70 };
	srand(12345);
	int nst = 0;
	for (int k = 0; k < RSTACKS; k++) {
		uint64_t pcs[RDEPTH];
		uint32_t n = 1 + (uint32_t)(rand() % RDEPTH);
		for (uint32_t i = 0; i < n; i++)
			pcs[i] = pool[rand() % 9];
		uint32_t c = 1 + (uint32_t)(rand() % 5);
		profile_add(p, 1 + rand() % 3, pcs, n, T0 + 1, c, 1);
		/* expanded names, leaf first; duplicates of an earlier key just
		 * add another row with the same names (same counts overall) */
		rlen[nst] = 0;
		for (uint32_t i = 0; i < n; i++) {
			const struct sym_loc *l = fake_resolve(&(struct fake){ 0 }, pcs[i]);
			for (uint32_t f = 0; f < l->nframes; f++)
				rnames[nst][rlen[nst]++] = l->frames[f].func;
		}
		rcount[nst++] = c;
	}
	struct report *r = build(p, NULL, NULL, NULL, 0, NULL);
	uint64_t total = 0;
	for (int s = 0; s < nst; s++)
		total += rcount[s];
	assert_int_equal(report_total(r), total);
	for (uint32_t f = 0; f < report_nfuncs(r); f++) {
		const char *nm = report_func(r, f)->name;
		uint64_t fl = 0, cu = 0;
		for (int s = 0; s < nst; s++) {
			if (!strcmp(rnames[s][0], nm))
				fl += rcount[s];
			for (int i = 0; i < rlen[s]; i++)
				if (!strcmp(rnames[s][i], nm)) {
					cu += rcount[s];
					break;
				}
		}
		assert_int_equal(report_func(r, f)->flat, fl);
		assert_int_equal(report_func(r, f)->cum, cu);
	}
	for (int inv = 0; inv < 2; inv++) {
		uint32_t n;
		const struct rnode *t = report_tree(r, inv, &n);
		check_tree_invariants(t, n);
		for (uint32_t i = 1; i < n; i++) {
			const char *path[RDEPTH * 3];
			int depth = 0;
			for (uint32_t q = i; q != 0; q = t[q].parent)
				depth++;
			int d = depth;
			for (uint32_t q = i; q != 0; q = t[q].parent)
				path[--d] = report_func(r, t[q].func)->name;
			uint64_t want = 0, self = 0;
			for (int s = 0; s < nst; s++)
				if (rprefix(s, path, depth, inv)) {
					want += rcount[s];
					if (rlen[s] == depth)
						self += rcount[s];
				}
			assert_int_equal(t[i].total, want);
			assert_int_equal(t[i].self, self);
		}
	}
	struct flame_box *b;
	uint32_t n;
	const struct rnode *t = report_tree(r, 0, &n);
	int nb = flame_layout(r, 0, 97, &b);
	assert_true(nb > 1);
	for (int i = 1; i < nb; i++) {
		const struct flame_box *par = NULL;
		for (int j = 0; j < i; j++)
			if (b[j].node == t[b[i].node].parent)
				par = &b[j];
		assert_non_null(par);               /* parents come first */
		assert_int_equal(b[i].depth, par->depth + 1);
		assert_true(b[i].w > 0);
		assert_true(b[i].x >= par->x && b[i].x + b[i].w <= par->x + par->w);
		for (int j = 1; j < i; j++)     /* siblings do not overlap */
			if (b[j].depth == b[i].depth)
				assert_true(b[j].x + b[j].w <= b[i].x || b[i].x + b[i].w <= b[j].x);
	}
	free(b);
	report_free(r);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_no_resolver),
		cmocka_unit_test(test_strings_copied_resolver),
		cmocka_unit_test(test_thread_restriction),
		cmocka_unit_test(test_focus),
		cmocka_unit_test(test_ignore),
		cmocka_unit_test(test_hide),
		cmocka_unit_test(test_bad_regex),
		cmocka_unit_test(test_match_api),
		cmocka_unit_test(test_print_top_control_chars),
		cmocka_unit_test(test_recursion),
		cmocka_unit_test(test_peek),
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_flame),
		cmocka_unit_test(test_flame_name_order),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_inline_chain),
		cmocka_unit_test(test_sorting),
		cmocka_unit_test(test_window_report),
		cmocka_unit_test(test_print_top),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_random_crosscheck),
	};
	return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
