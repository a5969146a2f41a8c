/* Writers of src/export: pprof (decoded here with a tiny protobuf reader, so
 * the test does not trust our own encoder), folded, text, group profiles. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "testdir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common.h"
#include "export.h"
#include "pb.h"

/* ---- fake symbols ------------------------------------------------------- */

#define PC_HOT   0x401000
#define PC_INL   0x402000
#define PC_MAIN  0x403000
#define PC_WEIRD 0x404000
#define PC_UNMAP 0x9000

static struct sym_module mod = {
	.id = 7, .start = 0x400000, .end = 0x500000, .pgoff = 0x1000,
	.path = "/usr/bin/fake", .name = "fake", .build_id = "abcdef0123",
	.has_symbols = 1, .has_lines = 1, .has_inline = 1,
};
static struct sym_frame fr_hot[] = { { "hot", "/src/a.c", 10, 5 } };
static struct sym_frame fr_inl[] = { { "inl_callee", "/src/b.h", 3, 1 },
				     { "caller", "/src/a.c", 20, 15 } };
static struct sym_frame fr_main[] = { { "main", "/src/a.c", 30, 25 } };
static struct sym_frame fr_weird[] = { { "ns;weird", "/src/a.c", 40, 38 } };
static struct sym_frame fr_unk[] = { { "[unknown]", NULL, 0, 0 } };
static struct sym_loc locs[] = {
	{ PC_HOT, &mod, 1, fr_hot },
	{ PC_INL, &mod, 2, fr_inl },
	{ PC_MAIN, &mod, 1, fr_main },
	{ PC_WEIRD, &mod, 1, fr_weird },
	{ PC_UNMAP, NULL, 1, fr_unk },
};

static int resolves;
static const struct sym_loc *fake_resolve(void *ctx, uint64_t pc)
{
	(void)ctx;
	resolves++;
	for (size_t i = 0; i < sizeof locs / sizeof locs[0]; i++)
		if (locs[i].pc == pc)
			return &locs[i];
	return &locs[4];
}

static const char *fake_thread(void *ctx, pid_t tid)
{
	(void)ctx;
	return tid == 100 ? "worker-a" : tid == 101 ? "worker-b" : NULL;
}

#define PERIOD 5000000u   /* 200 Hz */

/* 100 samples: hot 75 (70 on tid 100, 5 on 101), weird 20, unmapped 5 under
 * a truncated stack. */
static struct profile *make_profile(void)
{
	struct profile *p = profile_new();
	uint64_t a[] = { PC_HOT, PC_INL, PC_MAIN };
	uint64_t b[] = { PC_WEIRD, PC_MAIN };
	uint64_t c[] = { PC_UNMAP, CTOP_TRUNCATED_PC };
	uint64_t t = 1000000000ull;
	profile_add(p, 100, a, 3, t, 70, PERIOD);
	profile_add(p, 101, a, 3, t, 5, PERIOD);
	profile_add(p, 101, b, 2, t, 20, PERIOD);
	profile_add(p, 100, c, 2, t, 5, PERIOD);
	return p;
}


static void mkpath(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
}

static struct export_ctx ctx_for(const struct profile *p, const struct report_filter *f)
{
	struct export_ctx x = {
		.prof = p, .window = WINDOW_ALL, .now_ns = 2000000000ull,
		.filter = f, .resolve = fake_resolve, .rctx = NULL,
		.thread_name = fake_thread,
		.time_nanos = 1700000000000000000ull, .duration_nanos = 3000000000ull,
		.comment = "ctop-prof 0.1.0: ctop-prof -p 42 -o x.pb.gz",
	};
	return x;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap + 1);
	size_t r;
	while ((r = fread(b + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap)
			b = realloc(b, (cap *= 2) + 1);
	}
	fclose(f);
	b[n] = 0;
	if (len)
		*len = n;
	return b;
}

/* ---- a tiny independent protobuf reader ------------------------------ */

struct rd { const uint8_t *p, *end; };

static uint64_t rd_varint(struct rd *r)
{
	uint64_t v = 0;
	for (int s = 0; s < 64; s += 7) {
		assert_true(r->p < r->end);
		uint8_t c = *r->p++;
		v |= (uint64_t)(c & 0x7f) << s;
		if (!(c & 0x80))
			return v;
	}
	fail_msg("varint too long");
	return 0;
}

/* Next field: returns 0 at end. For wire type 2, sub is the payload. */
static int rd_field(struct rd *r, int *field, int *wt, uint64_t *v, struct rd *sub)
{
	if (r->p >= r->end)
		return 0;
	uint64_t t = rd_varint(r);
	*field = (int)(t >> 3);
	*wt = (int)(t & 7);
	if (*wt == 0) {
		*v = rd_varint(r);
	} else if (*wt == 2) {
		uint64_t n = rd_varint(r);
		assert_true(n <= (uint64_t)(r->end - r->p));
		sub->p = r->p;
		sub->end = r->p + n;
		r->p += n;
		*v = n;
	} else {
		fail_msg("unexpected wire type %d", *wt);
	}
	return 1;
}

/* Repeated varint, packed or not. */
static void rd_rep(int wt, uint64_t v, struct rd *sub, uint64_t *out, int *n, int max)
{
	if (wt == 0) {
		assert_true(*n < max);
		out[(*n)++] = v;
		return;
	}
	while (sub->p < sub->end) {
		assert_true(*n < max);
		out[(*n)++] = rd_varint(sub);
	}
}

#define MAXN 64
struct label { uint64_t key, str, num; };
struct sample { uint64_t loc[MAXN]; int nloc; uint64_t val[4]; int nval; struct label lab[4]; int nlab; };
struct mapping { uint64_t id, start, limit, off, file, build, hf, hfn, hl, hi; };
struct line { uint64_t fn; int64_t line; };
struct location { uint64_t id, mapping, addr; struct line ln[4]; int nln; };
struct function { uint64_t id, name, sys, file, start; };
struct vt { uint64_t type, unit; };
struct prof {
	char *str[MAXN * 2]; int nstr;
	struct vt st[4]; int nst;
	struct vt pt;
	struct sample s[MAXN]; int ns;
	struct mapping m[MAXN]; int nm;
	struct location l[MAXN]; int nl;
	struct function f[MAXN]; int nf;
	uint64_t time, dur, period, comment[4]; int ncomment;
	uint64_t default_st;
};

static struct vt rd_vt(struct rd *r)
{
	struct vt v = { 0, 0 };
	int f, wt; uint64_t x; struct rd sub;
	while (rd_field(r, &f, &wt, &x, &sub)) {
		if (f == 1) v.type = x;
		if (f == 2) v.unit = x;
	}
	return v;
}

static void decode(const uint8_t *buf, size_t len, struct prof *P)
{
	memset(P, 0, sizeof *P);
	struct rd r = { buf, buf + len }, sub, s2;
	int f, wt, f2, wt2, f3, wt3; uint64_t v, v2, v3; struct rd s3;
	while (rd_field(&r, &f, &wt, &v, &sub)) {
		switch (f) {
		case 1: assert_true(P->nst < 4); P->st[P->nst++] = rd_vt(&sub); break;
		case 2: {
			assert_true(P->ns < MAXN);
			struct sample *s = &P->s[P->ns++];
			while (rd_field(&sub, &f2, &wt2, &v2, &s2)) {
				if (f2 == 1) rd_rep(wt2, v2, &s2, s->loc, &s->nloc, MAXN);
				else if (f2 == 2) {
					uint64_t tmp[4]; int n = 0;
					rd_rep(wt2, v2, &s2, tmp, &n, 4);
					for (int i = 0; i < n; i++) s->val[s->nval++] = tmp[i];
				} else if (f2 == 3) {
					assert_true(s->nlab < 4);
					struct label *lb = &s->lab[s->nlab++];
					while (rd_field(&s2, &f3, &wt3, &v3, &s3)) {
						if (f3 == 1) lb->key = v3;
						if (f3 == 2) lb->str = v3;
						if (f3 == 3) lb->num = v3;
					}
				}
			}
			break;
		}
		case 3: {
			assert_true(P->nm < MAXN);
			struct mapping *m = &P->m[P->nm++];
			while (rd_field(&sub, &f2, &wt2, &v2, &s2)) {
				uint64_t *fld[] = { NULL, &m->id, &m->start, &m->limit, &m->off, &m->file,
						    &m->build, &m->hf, &m->hfn, &m->hl, &m->hi };
				if (f2 >= 1 && f2 <= 10) *fld[f2] = v2;
			}
			break;
		}
		case 4: {
			assert_true(P->nl < MAXN);
			struct location *l = &P->l[P->nl++];
			while (rd_field(&sub, &f2, &wt2, &v2, &s2)) {
				if (f2 == 1) l->id = v2;
				if (f2 == 2) l->mapping = v2;
				if (f2 == 3) l->addr = v2;
				if (f2 == 4) {
					assert_true(l->nln < 4);
					struct line *ln = &l->ln[l->nln++];
					while (rd_field(&s2, &f3, &wt3, &v3, &s3)) {
						if (f3 == 1) ln->fn = v3;
						if (f3 == 2) ln->line = (int64_t)v3;
					}
				}
			}
			break;
		}
		case 5: {
			assert_true(P->nf < MAXN);
			struct function *fn = &P->f[P->nf++];
			while (rd_field(&sub, &f2, &wt2, &v2, &s2)) {
				if (f2 == 1) fn->id = v2;
				if (f2 == 2) fn->name = v2;
				if (f2 == 3) fn->sys = v2;
				if (f2 == 4) fn->file = v2;
				if (f2 == 5) fn->start = v2;
			}
			break;
		}
		case 6:
			assert_int_equal(wt, 2);
			assert_true(P->nstr < MAXN * 2);
			P->str[P->nstr++] = strndup((const char *)sub.p, (size_t)(sub.end - sub.p));
			break;
		case 9: P->time = v; break;
		case 10: P->dur = v; break;
		case 11: P->pt = rd_vt(&sub); break;
		case 12: P->period = v; break;
		case 13: rd_rep(wt, v, &sub, P->comment, &P->ncomment, 4); break;
		case 14: P->default_st = v; break;
		default: break;
		}
	}
}

static void free_prof(struct prof *P)
{
	for (int i = 0; i < P->nstr; i++)
		free(P->str[i]);
}

static void load(const char *path, struct prof *P)
{
	gzFile gz = gzopen(path, "rb");
	assert_non_null(gz);
	size_t cap = 1 << 20, n = 0;
	uint8_t *buf = malloc(cap);
	int r;
	while ((r = gzread(gz, buf + n, (unsigned)(cap - n))) > 0)
		n += (size_t)r;
	assert_true(r == 0);
	assert_int_equal(gzclose(gz), Z_OK);
	/* The file really is gzip: magic bytes. */
	size_t raw;
	char *hdr = slurp(path, &raw);
	assert_true(raw > 2 && (uint8_t)hdr[0] == 0x1f && (uint8_t)hdr[1] == 0x8b);
	free(hdr);
	decode(buf, n, P);
	free(buf);
}

static const char *S(const struct prof *P, uint64_t i)
{
	assert_true(i < (uint64_t)P->nstr);
	return P->str[i];
}

static const struct location *loc_by_id(const struct prof *P, uint64_t id)
{
	for (int i = 0; i < P->nl; i++)
		if (P->l[i].id == id)
			return &P->l[i];
	fail_msg("no location %llu", (unsigned long long)id);
	return NULL;
}

static const struct function *fn_by_id(const struct prof *P, uint64_t id)
{
	for (int i = 0; i < P->nf; i++)
		if (P->f[i].id == id)
			return &P->f[i];
	fail_msg("no function %llu", (unsigned long long)id);
	return NULL;
}

static const struct location *loc_by_addr(const struct prof *P, uint64_t a)
{
	for (int i = 0; i < P->nl; i++)
		if (P->l[i].addr == a)
			return &P->l[i];
	return NULL;
}

static const char *label_str(const struct prof *P, const struct sample *s, const char *key)
{
	for (int i = 0; i < s->nlab; i++)
		if (!strcmp(S(P, s->lab[i].key), key))
			return s->lab[i].str ? S(P, s->lab[i].str) : "";
	return NULL;
}

static int64_t label_num(const struct prof *P, const struct sample *s, const char *key)
{
	for (int i = 0; i < s->nlab; i++)
		if (!strcmp(S(P, s->lab[i].key), key))
			return (int64_t)s->lab[i].num;
	return -1;
}

/* IDs nonzero and unique, references valid: the rules pprof checks. */
static void check_ids(const struct prof *P)
{
	for (int i = 0; i < P->nm; i++) {
		assert_true(P->m[i].id != 0);
		for (int j = 0; j < i; j++) assert_true(P->m[i].id != P->m[j].id);
	}
	for (int i = 0; i < P->nl; i++) {
		assert_true(P->l[i].id != 0);
		for (int j = 0; j < i; j++) assert_true(P->l[i].id != P->l[j].id);
		if (P->l[i].mapping) {
			int found = 0;
			for (int j = 0; j < P->nm; j++) found |= P->m[j].id == P->l[i].mapping;
			assert_true(found);
		}
		assert_true(P->l[i].nln >= 1);
		for (int k = 0; k < P->l[i].nln; k++)
			fn_by_id(P, P->l[i].ln[k].fn);
	}
	for (int i = 0; i < P->nf; i++) {
		assert_true(P->f[i].id != 0);
		for (int j = 0; j < i; j++) assert_true(P->f[i].id != P->f[j].id);
		/* unique by (name, file, start_line) */
		for (int j = 0; j < i; j++)
			assert_false(P->f[i].name == P->f[j].name && P->f[i].file == P->f[j].file &&
				     P->f[i].start == P->f[j].start);
	}
	for (int i = 0; i < P->ns; i++) {
		assert_int_equal(P->s[i].nval, P->nst);
		assert_true(P->s[i].nloc >= 1);
		for (int k = 0; k < P->s[i].nloc; k++)
			loc_by_id(P, P->s[i].loc[k]);
	}
	assert_true(P->nstr >= 1);
	assert_string_equal(P->str[0], "");
}

/* Leaf function name of sample s. */
static const char *leaf(const struct prof *P, const struct sample *s)
{
	const struct location *l = loc_by_id(P, s->loc[0]);
	return S(P, fn_by_id(P, l->ln[0].fn)->name);
}

/* ---- tests -------------------------------------------------------------- */

static void test_pb_encoding(void **state)
{
	(void)state;
	struct pb b;
	pb_init(&b);
	pb_uint64(&b, 1, 150);                 /* 08 96 01 */
	pb_uint64_opt(&b, 2, 0);               /* nothing */
	pb_int64(&b, 3, -1);                   /* 18 + 10 bytes */
	size_t m = pb_msg_start(&b);
	pb_string(&b, 2, "testing");           /* 12 07 t e s t i n g */
	pb_msg_end(&b, 4, m);                  /* 22 09 ... */
	uint64_t pk[] = { 3, 270, 86942 };
	pb_packed_uint64(&b, 5, pk, 3);        /* 2a 06 03 8e 02 9e a7 05 */
	const uint8_t want[] = {
		0x08, 0x96, 0x01,
		0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
		0x22, 0x09, 0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g',
		0x2a, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05,
	};
	assert_int_equal(b.len, sizeof want);
	assert_memory_equal(b.buf, want, sizeof want);

	/* A nested message longer than 127 bytes needs a 2-byte length. */
	pb_reset(&b);
	m = pb_msg_start(&b);
	char big[200];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	pb_string(&b, 1, big);
	pb_msg_end(&b, 2, m);
	assert_int_equal(b.len, 1 + 2 + 1 + 2 + 199);
	assert_int_equal(b.buf[0], 0x12);
	assert_int_equal(b.buf[1], 0x80 | ((202) & 0x7f));
	assert_int_equal(b.buf[2], 202 >> 7);
	assert_int_equal(pb_varint_len(0), 1);
	assert_int_equal(pb_varint_len(127), 1);
	assert_int_equal(pb_varint_len(128), 2);
	assert_int_equal(pb_varint_len(UINT64_MAX), 10);
	pb_free(&b);
}

static void test_pprof_cpu(void **state)
{
	(void)state;
	struct profile *p = make_profile();
	struct export_ctx x = ctx_for(p, NULL);
	char path[128];
	mkpath(path, sizeof path, "cpu.pb.gz");
	assert_int_equal(pprof_write_cpu(path, &x), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);

	struct prof P;
	load(path, &P);
	check_ids(&P);
	assert_int_equal(P.nst, 2);
	assert_string_equal(S(&P, P.st[0].type), "samples");
	assert_string_equal(S(&P, P.st[0].unit), "count");
	assert_string_equal(S(&P, P.st[1].type), "cpu");
	assert_string_equal(S(&P, P.st[1].unit), "nanoseconds");
	assert_int_equal(P.default_st, 0);
	assert_string_equal(S(&P, P.pt.type), "cpu");
	assert_string_equal(S(&P, P.pt.unit), "nanoseconds");
	assert_int_equal(P.period, PERIOD);
	assert_int_equal(P.time, 1700000000000000000ull);
	assert_int_equal(P.dur, 3000000000ull);
	assert_int_equal(P.ncomment, 1);
	assert_string_equal(S(&P, P.comment[0]), "ctop-prof 0.1.0: ctop-prof -p 42 -o x.pb.gz");

	/* One sample per (tid, stack). */
	assert_int_equal(P.ns, 4);
	uint64_t total = 0, hot = 0;
	int seen100 = 0, seen101 = 0;
	for (int i = 0; i < P.ns; i++) {
		const struct sample *s = &P.s[i];
		assert_int_equal(s->nval, 2);
		assert_int_equal(s->val[1], s->val[0] * PERIOD);
		total += s->val[0];
		if (!strcmp(leaf(&P, s), "hot"))
			hot += s->val[0];
		int64_t tid = label_num(&P, s, "tid");
		const char *tn = label_str(&P, s, "thread");
		assert_non_null(tn);
		if (tid == 100) { assert_string_equal(tn, "worker-a"); seen100++; }
		else if (tid == 101) { assert_string_equal(tn, "worker-b"); seen101++; }
		else fail_msg("bad tid label %lld", (long long)tid);
	}
	assert_int_equal(total, 100);
	assert_int_equal(hot, 75);
	assert_int_equal(seen100, 2);
	assert_int_equal(seen101, 2);

	/* One mapping: the module, fully described. */
	assert_int_equal(P.nm, 1);
	assert_string_equal(S(&P, P.m[0].file), "/usr/bin/fake");
	assert_string_equal(S(&P, P.m[0].build), "abcdef0123");
	assert_int_equal(P.m[0].start, 0x400000);
	assert_int_equal(P.m[0].limit, 0x500000);
	assert_int_equal(P.m[0].off, 0x1000);
	assert_int_equal(P.m[0].hf, 1);
	assert_int_equal(P.m[0].hfn, 1);
	assert_int_equal(P.m[0].hl, 1);
	assert_int_equal(P.m[0].hi, 1);

	/* Inline chain: callee first, then the real function. */
	const struct location *l = loc_by_addr(&P, PC_INL);
	assert_non_null(l);
	assert_int_equal(l->mapping, P.m[0].id);
	assert_int_equal(l->nln, 2);
	const struct function *f0 = fn_by_id(&P, l->ln[0].fn), *f1 = fn_by_id(&P, l->ln[1].fn);
	assert_string_equal(S(&P, f0->name), "inl_callee");
	assert_string_equal(S(&P, f0->file), "/src/b.h");
	assert_int_equal(f0->start, 1);
	assert_int_equal(l->ln[0].line, 3);
	assert_string_equal(S(&P, f1->name), "caller");
	assert_string_equal(S(&P, f1->sys), "caller");
	assert_int_equal(f1->start, 15);
	assert_int_equal(l->ln[1].line, 20);

	/* Unmapped and truncated: no mapping, pseudo function names. */
	l = loc_by_addr(&P, PC_UNMAP);
	assert_non_null(l);
	assert_int_equal(l->mapping, 0);
	assert_string_equal(S(&P, fn_by_id(&P, l->ln[0].fn)->name), "[unknown]");
	int truncated = 0;
	for (int i = 0; i < P.nl; i++)
		if (!strcmp(S(&P, fn_by_id(&P, P.l[i].ln[0].fn)->name), "[truncated]")) {
			truncated++;
			assert_int_equal(P.l[i].mapping, 0);
		}
	assert_int_equal(truncated, 1);

	/* Leaf first: the stack of tid 100 with 70 samples is hot, inl, main. */
	for (int i = 0; i < P.ns; i++)
		if (P.s[i].val[0] == 70) {
			assert_int_equal(P.s[i].nloc, 3);
			assert_int_equal(loc_by_id(&P, P.s[i].loc[0])->addr, PC_HOT);
			assert_int_equal(loc_by_id(&P, P.s[i].loc[1])->addr, PC_INL);
			assert_int_equal(loc_by_id(&P, P.s[i].loc[2])->addr, PC_MAIN);
		}
	/* Locations and functions are shared between samples. */
	assert_int_equal(P.nl, 6);
	assert_int_equal(P.nf, 7);
	free_prof(&P);
	profile_free(p);
}

static void test_pprof_filters(void **state)
{
	(void)state;
	struct profile *p = make_profile();
	char path[128];
	struct prof P;

	/* focus: only stacks through weird. */
	struct report_filter f = { .focus = "weird" };
	struct export_ctx x = ctx_for(p, &f);
	mkpath(path, sizeof path, "focus.pb.gz");
	assert_int_equal(pprof_write_cpu(path, &x), 0);
	load(path, &P);
	check_ids(&P);
	assert_int_equal(P.ns, 1);
	assert_int_equal(P.s[0].val[0], 20);
	free_prof(&P);

	/* ignore + tid: tid 101 without hot. */
	struct report_filter g = { .ignore = "^hot$", .tid = 101 };
	x = ctx_for(p, &g);
	mkpath(path, sizeof path, "ignore.pb.gz");
	assert_int_equal(pprof_write_cpu(path, &x), 0);
	load(path, &P);
	check_ids(&P);
	assert_int_equal(P.ns, 1);
	assert_int_equal(label_num(&P, &P.s[0], "tid"), 101);
	assert_string_equal(leaf(&P, &P.s[0]), "ns;weird");
	free_prof(&P);

	/* hide one inline frame: the location keeps the other. */
	struct report_filter h = { .hide = "^inl_callee$" };
	x = ctx_for(p, &h);
	mkpath(path, sizeof path, "hide.pb.gz");
	assert_int_equal(pprof_write_cpu(path, &x), 0);
	load(path, &P);
	check_ids(&P);
	const struct location *l = loc_by_addr(&P, PC_INL);
	assert_non_null(l);
	assert_int_equal(l->nln, 1);
	assert_string_equal(S(&P, fn_by_id(&P, l->ln[0].fn)->name), "caller");
	free_prof(&P);

	/* bad regex: error, no file. */
	struct report_filter bad = { .focus = "(" };
	x = ctx_for(p, &bad);
	mkpath(path, sizeof path, "bad.pb.gz");
	assert_int_equal(pprof_write_cpu(path, &x), -EINVAL);
	assert_int_equal(access(path, F_OK), -1);
	profile_free(p);
}

/* The writers and the views apply one filter implementation (report.c):
 * for every filter the file's total and each leaf's count equal the
 * report's total and flat counts, and hide drops a stack left empty. */
static void test_filters_match_report(void **state)
{
	(void)state;
	struct profile *p = make_profile();
	const struct report_filter fs[] = {
		{ 0 },
		{ .focus = "weird" },
		{ .focus = "^caller$" },               /* an inline frame */
		{ .ignore = "^hot$" },
		{ .ignore = "inl_callee", .tid = 100 },
		{ .hide = "^inl_callee$" },
		{ .hide = "^(hot|caller|inl_callee|main)$" },   /* stacks left empty */
		{ .hide = "unknown|truncated" },
		{ .focus = "main", .ignore = "weird", .hide = "^hot$" },
		{ .focus = "nothing-matches" },
		{ .tid = 101 },
	};
	for (size_t k = 0; k < sizeof fs / sizeof fs[0]; k++) {
		char path[128];
		struct prof P;
		struct export_ctx x = ctx_for(p, &fs[k]);
		const char *err = NULL;
		struct report *r = report_build(p, WINDOW_ALL, x.now_ns, &fs[k],
						fake_resolve, NULL, &err);
		assert_non_null(r);
		mkpath(path, sizeof path, "parity.pb.gz");
		unlink(path);
		assert_int_equal(pprof_write_cpu(path, &x), 0);
		load(path, &P);
		check_ids(&P);
		uint64_t total = 0;
		for (int i = 0; i < P.ns; i++)
			total += P.s[i].val[0];
		assert_int_equal(total, report_total(r));
		for (uint32_t f = 0; f < report_nfuncs(r); f++) {
			const struct rfunc *rf = report_func(r, f);
			uint64_t flat = 0;
			for (int i = 0; i < P.ns; i++)
				if (!strcmp(leaf(&P, &P.s[i]), rf->name))
					flat += P.s[i].val[0];
			assert_int_equal(flat, rf->flat);
		}
		free_prof(&P);
		report_free(r);
	}
	profile_free(p);
}

static void test_folded(void **state)
{
	(void)state;
	struct profile *p = make_profile();
	struct export_ctx x = ctx_for(p, NULL);
	char path[128];
	mkpath(path, sizeof path, "cpu.folded");
	assert_int_equal(export_cpu(path, &x), 0);
	char *s = slurp(path, NULL);
	assert_string_equal(s,
		"[truncated];[unknown] 5\n"
		"main;caller;inl_callee;hot 75\n"
		"main;ns:weird 20\n");
	free(s);

	struct report_filter f = { .hide = "caller", .tid = 101 };
	x = ctx_for(p, &f);
	mkpath(path, sizeof path, "tid.collapsed");
	assert_int_equal(export_cpu(path, &x), 0);
	s = slurp(path, NULL);
	assert_string_equal(s,
		"main;inl_callee;hot 5\n"
		"main;ns:weird 20\n");
	free(s);
	profile_free(p);
}

static void test_text_and_errors(void **state)
{
	(void)state;
	struct profile *p = make_profile();
	struct export_ctx x = ctx_for(p, NULL);
	char path[128];
	mkpath(path, sizeof path, "top.txt");
	assert_int_equal(export_cpu(path, &x), 0);
	char *s = slurp(path, NULL);
	assert_non_null(strstr(s, "of 100 total"));
	assert_non_null(strstr(s, " hot "));
	free(s);

	mkpath(path, sizeof path, "x.json");
	assert_int_equal(export_cpu(path, &x), -EINVAL);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(export_groups(path, "threads", NULL, 0, &x), -EINVAL);

	/* Existing file: not replaced unless overwrite. */
	mkpath(path, sizeof path, "top.txt");
	assert_int_equal(export_cpu(path, &x), -EEXIST);
	x.overwrite = 1;
	assert_int_equal(export_cpu(path, &x), 0);

	/* Empty profile: a valid file with no samples. */
	struct profile *e = profile_new();
	x = ctx_for(e, NULL);
	mkpath(path, sizeof path, "empty.pb.gz");
	assert_int_equal(export_cpu(path, &x), 0);
	struct prof P;
	load(path, &P);
	check_ids(&P);
	assert_int_equal(P.ns, 0);
	assert_int_equal(P.nst, 2);
	free_prof(&P);
	profile_free(e);
	profile_free(p);
}

static const uint64_t g1[] = { PC_HOT, PC_INL, PC_MAIN };
static const uint64_t g2[] = { PC_WEIRD, PC_MAIN };
static const struct group_sample groups[] = {
	{ g1, 3, 4, "S", "futex_wait_queue" },
	{ g2, 2, 1, "R", NULL },
};

static void test_groups(void **state)
{
	(void)state;
	struct export_ctx x = ctx_for(NULL, NULL);
	char path[128];
	struct prof P;
	const char *kinds[] = { "threads", "goroutine" };
	for (int k = 0; k < 2; k++) {
		snprintf(path, sizeof path, "%s/%s.pb.gz", dir, kinds[k]);
		assert_int_equal(export_groups(path, kinds[k], groups, 2, &x), 0);
		load(path, &P);
		check_ids(&P);
		assert_int_equal(P.nst, 1);
		assert_string_equal(S(&P, P.st[0].type), kinds[k]);
		assert_string_equal(S(&P, P.st[0].unit), "count");
		assert_string_equal(S(&P, P.pt.type), kinds[k]);
		assert_string_equal(S(&P, P.pt.unit), "count");
		assert_int_equal(P.period, 1);
		assert_int_equal(P.ns, 2);
		assert_int_equal(P.s[0].nval, 1);
		assert_int_equal(P.s[0].val[0], 4);
		assert_string_equal(label_str(&P, &P.s[0], "state"), "S");
		assert_string_equal(label_str(&P, &P.s[0], "wait"), "futex_wait_queue");
		assert_string_equal(leaf(&P, &P.s[0]), "hot");
		assert_int_equal(P.s[1].val[0], 1);
		assert_string_equal(label_str(&P, &P.s[1], "state"), "R");
		assert_null(label_str(&P, &P.s[1], "wait"));
		assert_int_equal(loc_by_addr(&P, PC_INL)->nln, 2);
		free_prof(&P);
	}
	mkpath(path, sizeof path, "bad.pb.gz");
	assert_int_equal(export_groups(path, "heap", groups, 2, &x), -EINVAL);
	assert_int_equal(access(path, F_OK), -1);

	mkpath(path, sizeof path, "threads.txt");
	assert_int_equal(export_groups(path, "threads", groups, 2, &x), 0);
	char *s = slurp(path, NULL);
	assert_non_null(strstr(s, "threads profile: total 5 in 2 groups"));
	assert_non_null(strstr(s, "\n4 @ state=S wait=futex_wait_queue\n"));
	assert_non_null(strstr(s, "\n1 @ state=R\n"));
	assert_non_null(strstr(s, "\tinl_callee\t/src/b.h:3\n"));
	/* frames in stack order: hot before main */
	assert_true(strstr(s, "\thot\t") < strstr(s, "\tmain\t"));
	free(s);

	mkpath(path, sizeof path, "threads.folded");
	assert_int_equal(export_groups(path, "threads", groups, 2, &x), 0);
	s = slurp(path, NULL);
	assert_string_equal(s, "main;caller;inl_callee;hot 4\nmain;ns:weird 1\n");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pb_encoding),
		cmocka_unit_test(test_pprof_cpu),
		cmocka_unit_test(test_pprof_filters),
		cmocka_unit_test(test_filters_match_report),
		cmocka_unit_test(test_folded),
		cmocka_unit_test(test_text_and_errors),
		cmocka_unit_test(test_groups),
	};
	return cmocka_run_group_tests(tests, testdir_setup, testdir_teardown);
}
