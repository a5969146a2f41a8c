/* perfrec: decoding hand-built perf ring-buffer records, good and bad. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <linux/perf_event.h>

#include "perfrec.h"

#define FP_TYPE (PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | \
		 PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN)
#define DW_TYPE (PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | \
		 PERF_SAMPLE_PERIOD | PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER)

/* A record under construction: 8-byte words after the header. */
struct rb {
	uint64_t w[4096];
	size_t n;       /* words including the header word */
};

static void rb_start(struct rb *r, uint32_t type)
{
	memset(r, 0, sizeof *r);
	struct perf_event_header h = { .type = type, .misc = 0, .size = 0 };
	memcpy(&r->w[0], &h, sizeof h);
	r->n = 1;
}

static void put(struct rb *r, uint64_t v) { r->w[r->n++] = v; }
static void put2(struct rb *r, uint32_t a, uint32_t b)
{
	uint32_t x[2] = { a, b };
	memcpy(&r->w[r->n++], x, 8);
}

static size_t rb_end(struct rb *r)
{
	size_t len = r->n * 8;
	uint16_t sz = (uint16_t)len;
	memcpy((char *)&r->w[0] + 6, &sz, 2);
	return len;
}

static void set_size(struct rb *r, size_t len)
{
	uint16_t sz = (uint16_t)len;
	memcpy((char *)&r->w[0] + 6, &sz, 2);
}

static size_t build_fp(struct rb *r)
{
	rb_start(r, PERF_RECORD_SAMPLE);
	put(r, 0x401000);               /* ip */
	put2(r, 100, 101);              /* pid, tid */
	put(r, 123456789);              /* time */
	put(r, 5025125);                /* period */
	put(r, 4);                      /* nr */
	put(r, (uint64_t)PERF_CONTEXT_USER);
	put(r, 0x401000);
	put(r, 0x402010);
	put(r, 0x403020);
	return rb_end(r);
}

static size_t build_dwarf(struct rb *r, uint64_t abi, uint64_t stack_size,
			  uint64_t dyn)
{
	rb_start(r, PERF_RECORD_SAMPLE);
	put(r, 0x401000);
	put2(r, 7, 8);
	put(r, 42);
	put(r, 1000);
	put(r, abi);
	if (abi)
		for (int i = 0; i < 20; i++)
			put(r, 1000 + (uint64_t)i);
	put(r, stack_size);
	if (stack_size) {
		for (uint64_t i = 0; i < stack_size / 8; i++)
			put(r, 0xabc0 + i);
		put(r, dyn);
	}
	return rb_end(r);
}

static void test_fp_sample(void **state)
{
	struct rb r;
	struct perfrec pr;
	struct perfrec_fmt f = { FP_TYPE, 0 };
	size_t len = build_fp(&r);
	assert_int_equal(perfrec_decode(&f, r.w, len, &pr), 0);
	assert_int_equal(pr.kind, PERFREC_SAMPLE);
	const struct raw_sample *s = &pr.u.sample;
	assert_int_equal(s->pid, 100);
	assert_int_equal(s->tid, 101);
	assert_int_equal(s->time_ns, 123456789);
	assert_int_equal(s->period_ns, 5025125);
	assert_int_equal(s->nr_ips, 4);
	assert_true(s->ips[0] == (uint64_t)PERF_CONTEXT_USER);
	assert_int_equal(s->ips[3], 0x403020);
	assert_int_equal(s->has_regs, 0);
	assert_null(s->stack);
	assert_int_equal(perfrec_user_ips(s->ips, s->nr_ips), 3);
}

static void test_dwarf_sample(void **state)
{
	struct rb r;
	struct perfrec pr;
	struct perfrec_fmt f = { DW_TYPE, PERFREC_REGS_MASK };
	size_t len = build_dwarf(&r, PERF_SAMPLE_REGS_ABI_64, 64, 48);
	assert_int_equal(perfrec_decode(&f, r.w, len, &pr), 0);
	const struct raw_sample *s = &pr.u.sample;
	assert_int_equal(s->tid, 8);
	assert_int_equal(s->has_regs, 1);
	/* bits 0-11 are AX..SS, then bits 16-23 R8..R15: the 13th value is R8 */
	assert_int_equal(s->regs[CTOP_REG_AX], 1000);
	assert_int_equal(s->regs[CTOP_REG_SP], 1007);
	assert_int_equal(s->regs[CTOP_REG_IP], 1008);
	assert_int_equal(s->regs[CTOP_REG_SS], 1011);
	assert_int_equal(s->regs[CTOP_REG_DS], 0);
	assert_int_equal(s->regs[CTOP_REG_GS], 0);
	assert_int_equal(s->regs[CTOP_REG_R8], 1012);
	assert_int_equal(s->regs[CTOP_REG_R15], 1019);
	assert_int_equal(s->stack_size, 48);
	uint64_t w;
	memcpy(&w, s->stack + 8, 8);
	assert_int_equal(w, 0xabc1);
	assert_int_equal(s->nr_ips, 0);
}

static void test_no_regs_gives_ip(void **state)
{
	struct rb r;
	struct perfrec pr;
	struct perfrec_fmt f = { DW_TYPE, PERFREC_REGS_MASK };
	size_t len = build_dwarf(&r, PERF_SAMPLE_REGS_ABI_NONE, 0, 0);
	assert_int_equal(perfrec_decode(&f, r.w, len, &pr), 0);
	assert_int_equal(pr.u.sample.has_regs, 0);
	assert_null(pr.u.sample.stack);
	assert_int_equal(pr.u.sample.nr_ips, 1);
	assert_int_equal(pr.u.sample.ips[0], 0x401000);
}

static void test_every_truncation_rejected(void **state)
{
	struct rb r;
	struct perfrec pr;
	struct perfrec_fmt fp = { FP_TYPE, 0 }, dw = { DW_TYPE, PERFREC_REGS_MASK };
	size_t len = build_fp(&r);
	for (size_t l = 8; l < len; l += 8) {
		set_size(&r, l);
		assert_int_equal(perfrec_decode(&fp, r.w, l, &pr), -EINVAL);
	}
	len = build_dwarf(&r, PERF_SAMPLE_REGS_ABI_64, 64, 64);
	for (size_t l = 8; l < len; l += 8) {
		set_size(&r, l);
		assert_int_equal(perfrec_decode(&dw, r.w, l, &pr), -EINVAL);
	}
	/* and less than a header */
	assert_int_equal(perfrec_decode(&fp, r.w, 4, &pr), -EINVAL);
	assert_int_equal(perfrec_decode(&fp, r.w, 0, &pr), -EINVAL);
	assert_int_equal(perfrec_decode(&fp, NULL, 64, &pr), -EINVAL);
}

static void test_size_mismatch(void **state)
{
	struct rb r;
	struct perfrec pr;
	struct perfrec_fmt f = { FP_TYPE, 0 };
	size_t len = build_fp(&r);
	assert_int_equal(perfrec_decode(&f, r.w, len - 8, &pr), -EINVAL);
	assert_int_equal(perfrec_decode(&f, r.w, len + 8, &pr), -EINVAL);
	set_size(&r, 4);        /* smaller than a header */
	assert_int_equal(perfrec_decode(&f, r.w, 4, &pr), -EINVAL);
}

static void test_huge_nr(void **state)
{
	struct rb r;
	struct perfrec pr;
	struct perfrec_fmt f = { FP_TYPE, 0 };
	uint64_t bad[] = { UINT64_MAX, UINT64_C(1) << 61, UINT64_C(1) << 32, 5 };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t len = build_fp(&r);
		r.w[5] = bad[i];        /* nr: one more than present is too many */
		assert_int_equal(perfrec_decode(&f, r.w, len, &pr), -EINVAL);
	}
	/* nr smaller than the words present leaves trailing bytes: fine */
	size_t len = build_fp(&r);
	r.w[5] = 2;
	assert_int_equal(perfrec_decode(&f, r.w, len, &pr), 0);
	assert_int_equal(pr.u.sample.nr_ips, 2);
}

static void test_bad_stack_sizes(void **state)
{
	struct rb r;
	struct perfrec pr;
	struct perfrec_fmt f = { DW_TYPE, PERFREC_REGS_MASK };
	/* dyn_size larger than size */
	size_t len = build_dwarf(&r, PERF_SAMPLE_REGS_ABI_64, 64, 72);
	assert_int_equal(perfrec_decode(&f, r.w, len, &pr), -EINVAL);
	/* size claims more than the record holds */
	len = build_dwarf(&r, PERF_SAMPLE_REGS_ABI_64, 64, 8);
	r.w[1 + 4 + 1 + 20] = UINT64_MAX - 3;
	assert_int_equal(perfrec_decode(&f, r.w, len, &pr), -EINVAL);
	len = build_dwarf(&r, PERF_SAMPLE_REGS_ABI_64, 64, 8);
	r.w[1 + 4 + 1 + 20] = 72;
	assert_int_equal(perfrec_decode(&f, r.w, len, &pr), -EINVAL);
	/* dyn_size 0: no stack */
	len = build_dwarf(&r, PERF_SAMPLE_REGS_ABI_64, 64, 0);
	assert_int_equal(perfrec_decode(&f, r.w, len, &pr), 0);
	assert_null(pr.u.sample.stack);
	assert_int_equal(pr.u.sample.stack_size, 0);
}

static void test_unaligned_rejected(void **state)
{
	static uint64_t buf[64];
	struct rb r;
	struct perfrec pr;
	struct perfrec_fmt f = { FP_TYPE, 0 };
	size_t len = build_fp(&r);
	memcpy((char *)buf + 4, r.w, len);
	assert_int_equal(perfrec_decode(&f, (char *)buf + 4, len, &pr), -EINVAL);
}

static void test_lost_fork_other(void **state)
{
	struct rb r;
	struct perfrec pr;
	struct perfrec_fmt f = { FP_TYPE, 0 };

	rb_start(&r, PERF_RECORD_LOST);
	put(&r, 77);    /* id */
	put(&r, 12);    /* lost */
	size_t len = rb_end(&r);
	assert_int_equal(perfrec_decode(&f, r.w, len, &pr), 0);
	assert_int_equal(pr.kind, PERFREC_LOST);
	assert_int_equal(pr.u.lost, 12);
	set_size(&r, 16);
	assert_int_equal(perfrec_decode(&f, r.w, 16, &pr), -EINVAL);

	rb_start(&r, PERF_RECORD_LOST_SAMPLES);
	put(&r, 3);
	len = rb_end(&r);
	assert_int_equal(perfrec_decode(&f, r.w, len, &pr), 0);
	assert_int_equal(pr.kind, PERFREC_LOST);
	assert_int_equal(pr.u.lost, 3);

	rb_start(&r, PERF_RECORD_FORK);
	put2(&r, 10, 1);
	put2(&r, 11, 10);
	put(&r, 999);
	len = rb_end(&r);
	assert_int_equal(perfrec_decode(&f, r.w, len, &pr), 0);
	assert_int_equal(pr.kind, PERFREC_FORK);
	assert_int_equal(pr.u.task.pid, 10);
	assert_int_equal(pr.u.task.tid, 11);
	assert_int_equal(pr.u.task.ptid, 10);
	assert_int_equal(pr.u.task.time, 999);
	set_size(&r, 16);
	assert_int_equal(perfrec_decode(&f, r.w, 16, &pr), -EINVAL);

	rb_start(&r, PERF_RECORD_EXIT);
	put2(&r, 10, 1);
	put2(&r, 11, 10);
	put(&r, 1000);
	len = rb_end(&r);
	assert_int_equal(perfrec_decode(&f, r.w, len, &pr), 0);
	assert_int_equal(pr.kind, PERFREC_EXIT);

	rb_start(&r, PERF_RECORD_THROTTLE);
	put(&r, 1);
	put(&r, 2);
	put(&r, 3);
	len = rb_end(&r);
	assert_int_equal(perfrec_decode(&f, r.w, len, &pr), 0);
	assert_int_equal(pr.kind, PERFREC_OTHER);
	assert_int_equal(pr.type, PERF_RECORD_THROTTLE);
}

static void test_unsupported_fields(void **state)
{
	struct rb r;
	struct perfrec pr;
	struct perfrec_fmt f = { FP_TYPE | PERF_SAMPLE_READ, 0 };
	size_t len = build_fp(&r);
	assert_int_equal(perfrec_decode(&f, r.w, len, &pr), -ENOTSUP);
	f.sample_type = FP_TYPE | PERF_SAMPLE_BRANCH_STACK;
	assert_int_equal(perfrec_decode(&f, r.w, len, &pr), -ENOTSUP);
}

static void test_optional_fields_skipped(void **state)
{
	/* IDENTIFIER ID STREAM_ID CPU ADDR RAW are stepped over in order */
	struct rb r;
	struct perfrec pr;
	struct perfrec_fmt f = { PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP |
		PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_ADDR |
		PERF_SAMPLE_ID | PERF_SAMPLE_STREAM_ID | PERF_SAMPLE_CPU |
		PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_RAW, 0 };
	rb_start(&r, PERF_RECORD_SAMPLE);
	put(&r, 1);             /* identifier */
	put(&r, 0x5000);        /* ip */
	put2(&r, 3, 4);         /* pid tid */
	put(&r, 77);            /* time */
	put(&r, 0xdead);        /* addr */
	put(&r, 2);             /* id */
	put(&r, 2);             /* stream id */
	put2(&r, 1, 0);         /* cpu */
	put(&r, 88);            /* period */
	put(&r, 1);             /* nr */
	put(&r, 0x5000);
	put2(&r, 12, 0);        /* raw size 12: 4 bytes here + 8 */
	put(&r, 0);
	size_t len = rb_end(&r);
	assert_int_equal(perfrec_decode(&f, r.w, len, &pr), 0);
	assert_int_equal(pr.u.sample.tid, 4);
	assert_int_equal(pr.u.sample.time_ns, 77);
	assert_int_equal(pr.u.sample.period_ns, 88);
	assert_int_equal(pr.u.sample.nr_ips, 1);
	/* raw size running past the end */
	memcpy(&r.w[r.n - 2], (uint32_t[]){ 0xffffffffu }, 4);
	assert_int_equal(perfrec_decode(&f, r.w, len, &pr), -EINVAL);
}

static void test_user_ips_contexts(void **state)
{
	uint64_t chain[] = {
		(uint64_t)PERF_CONTEXT_KERNEL, 0xffffffff81000000ull, 0xffffffff81000100ull,
		(uint64_t)PERF_CONTEXT_USER, 0x401000, 0x402000,
	};
	assert_int_equal(perfrec_user_ips(chain, 6), 2);
	assert_int_equal(perfrec_user_ips(chain + 4, 2), 2);
	assert_int_equal(perfrec_user_ips(chain, 3), 0);
	assert_int_equal(perfrec_user_ips(NULL, 0), 0);
}

/* Random garbage must never crash (a smoke version of the fuzzer). */
static void test_random_bytes(void **state)
{
	static uint64_t buf[512];
	struct perfrec pr;
	struct perfrec_fmt fmts[] = { { FP_TYPE, 0 }, { DW_TYPE, PERFREC_REGS_MASK } };
	srand(12345);
	for (int it = 0; it < 20000; it++) {
		size_t len = (size_t)(rand() % (int)sizeof buf);
		unsigned char *p = (unsigned char *)buf;
		for (size_t i = 0; i < len; i++)
			p[i] = (unsigned char)rand();
		if (len >= 8 && (rand() & 1)) {   /* make the size field agree */
			uint16_t sz = (uint16_t)len;
			memcpy(p + 6, &sz, 2);
			uint32_t type = PERF_RECORD_SAMPLE;
			memcpy(p, &type, 4);
		}
		int r = perfrec_decode(&fmts[it & 1], buf, len, &pr);
		assert_true(r == 0 || r == -EINVAL);
		if (r == 0 && pr.kind == PERFREC_SAMPLE) {
			/* everything decoded lies inside the buffer */
			const struct raw_sample *s = &pr.u.sample;
			if (s->nr_ips)
				assert_true((const unsigned char *)(s->ips + s->nr_ips) <= p + len);
			if (s->stack)
				assert_true(s->stack + s->stack_size <= p + len);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fp_sample),
		cmocka_unit_test(test_dwarf_sample),
		cmocka_unit_test(test_no_regs_gives_ip),
		cmocka_unit_test(test_every_truncation_rejected),
		cmocka_unit_test(test_size_mismatch),
		cmocka_unit_test(test_huge_nr),
		cmocka_unit_test(test_bad_stack_sizes),
		cmocka_unit_test(test_unaligned_rejected),
		cmocka_unit_test(test_lost_fork_other),
		cmocka_unit_test(test_unsupported_fields),
		cmocka_unit_test(test_optional_fields_skipped),
		cmocka_unit_test(test_user_ips_contexts),
		cmocka_unit_test(test_random_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
