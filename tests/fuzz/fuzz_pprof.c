/* pprof encoder round trip: a profile built from the input (threads, stack
 * shapes, counts, symbol names taken from the input bytes: non-UTF-8, ';',
 * newlines, 10 KB names, inline chains, unmapped pcs, the truncation
 * marker) is written with pprof_write_cpu and folded_write, then read back
 * with an independent minimal protobuf reader. Checks: the file decodes,
 * every reference (string, location, function, mapping) resolves, and the
 * sample values add up to exactly what went in. */
#include <zlib.h>
#include "fuzz_common.h"
#include "common.h"
#include "export.h"
#include "profile.h"

#define NPC 256
#define PERIOD 1000000u

static char namebuf[NPC][64];
static char *longname;
static struct sym_frame frames[NPC + 1][3];
static struct sym_loc locs[NPC + 1];
static struct sym_module mods[2] = {
	{ .id = 1, .start = 0x1000, .end = 0x1800, .pgoff = 0, .path = "/bin/a",
	  .name = "a", .build_id = "00ff", .has_symbols = 1, .has_lines = 1 },
	{ .id = 2, .start = 0x1800, .end = 0x2000, .pgoff = 0x1000, .path = "/lib/b \xff;\n",
	  .name = "b", .build_id = "", .has_symbols = 1 },
};
static const struct sym_module *modp[2] = { &mods[0], &mods[1] };

static uint64_t pc_of(unsigned k) { return k == 0xff ? CTOP_TRUNCATED_PC : 0x1000 + k * 16; }

static const struct sym_loc *resolve(void *ctx, uint64_t pc)
{
	(void)ctx;
	if (pc == CTOP_TRUNCATED_PC)
		return &locs[NPC];
	unsigned k = (unsigned)((pc - 0x1000) / 16);
	FUZZ_CHECK(pc >= 0x1000 && k < NPC);
	return &locs[k];
}

static const char *tname(void *ctx, pid_t tid)
{
	(void)ctx;
	static char b[32];
	if (tid % 3 == 0)
		return NULL;
	snprintf(b, sizeof b, "t\xfe%d;\n", (int)tid);
	return b;
}

/* --- minimal protobuf reader (independent of src/export/pb.c) --- */
struct rd { const uint8_t *p, *e; int bad; };
static uint64_t varint(struct rd *r)
{
	uint64_t v = 0;
	for (int s = 0; s < 64; s += 7) {
		if (r->p >= r->e) { r->bad = 1; return 0; }
		uint8_t b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80))
			return v;
	}
	r->bad = 1;
	return 0;
}
/* next field: 1, or 0 at the end; sub set for length-delimited */
static int field(struct rd *r, int *f, int *wt, uint64_t *v, struct rd *sub)
{
	if (r->p >= r->e || r->bad)
		return 0;
	uint64_t k = varint(r);
	*f = (int)(k >> 3);
	*wt = (int)(k & 7);
	if (*wt == 0) {
		*v = varint(r);
	} else if (*wt == 2) {
		uint64_t n = varint(r);
		if (n > (uint64_t)(r->e - r->p)) { r->bad = 1; return 0; }
		sub->p = r->p; sub->e = r->p + n; sub->bad = 0;
		r->p += n;
	} else {
		r->bad = 1;
		return 0;
	}
	return !r->bad;
}
/* repeated integer, packed or not: calls back per value */
#define EACH_INT(wt, v, sub, x, body) do { \
	if ((wt) == 0) { uint64_t x = (v); body; } \
	else { while ((sub).p < (sub).e && !(sub).bad) { uint64_t x = varint(&(sub)); body; } \
	       FUZZ_CHECK(!(sub).bad); } } while (0)

struct ids { uint64_t *v; size_t n, cap; };
static void ids_add(struct ids *s, uint64_t x)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = realloc(s->v, s->cap * sizeof *s->v);
	}
	s->v[s->n++] = x;
}
static int ids_has(const struct ids *s, uint64_t x)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == x)
			return 1;
	return 0;
}

static void check_pprof(const char *path, uint64_t want_count)
{
	gzFile gz = gzopen(path, "rb");
	FUZZ_CHECK(gz);
	size_t cap = 1 << 16, len = 0;
	uint8_t *b = malloc(cap);
	int r;
	while ((r = gzread(gz, b + len, (unsigned)(cap - len))) > 0) {
		len += (size_t)r;
		if (len == cap)
			b = realloc(b, cap *= 2);
	}
	FUZZ_CHECK(r == 0);
	gzclose(gz);

	struct ids loc_ref = {0}, loc_def = {0}, fn_ref = {0}, fn_def = {0},
		   map_ref = {0}, map_def = {0}, str_ref = {0};
	size_t nstr = 0;
	int first_empty = 0;
	uint64_t count = 0, cpu = 0;
	struct rd top = { b, b + len, 0 }, s, s2, s3;
	int f, wt, f2, wt2, f3, wt3;
	uint64_t v, v2, v3;
	while (field(&top, &f, &wt, &v, &s)) {
		switch (f) {
		case 2: { /* sample */
			int nv = 0;
			while (field(&s, &f2, &wt2, &v2, &s2)) {
				if (f2 == 1)
					EACH_INT(wt2, v2, s2, x, ids_add(&loc_ref, x));
				else if (f2 == 2)
					EACH_INT(wt2, v2, s2, x, { if (nv == 0) count += x; else cpu += x; nv++; });
				else if (f2 == 3)
					while (field(&s2, &f3, &wt3, &v3, &s3))
						if (f3 == 1 || f3 == 2) ids_add(&str_ref, v3);
			}
			FUZZ_CHECK(!s.bad && nv == 2);
			break;
		}
		case 3: /* mapping */
			while (field(&s, &f2, &wt2, &v2, &s2)) {
				if (f2 == 1) ids_add(&map_def, v2);
				if (f2 == 5 || f2 == 6) ids_add(&str_ref, v2);
			}
			FUZZ_CHECK(!s.bad);
			break;
		case 4: /* location */
			while (field(&s, &f2, &wt2, &v2, &s2)) {
				if (f2 == 1) { FUZZ_CHECK(v2 && !ids_has(&loc_def, v2)); ids_add(&loc_def, v2); }
				if (f2 == 2) ids_add(&map_ref, v2);
				if (f2 == 4)
					while (field(&s2, &f3, &wt3, &v3, &s3))
						if (f3 == 1) ids_add(&fn_ref, v3);
			}
			FUZZ_CHECK(!s.bad);
			break;
		case 5: /* function */
			while (field(&s, &f2, &wt2, &v2, &s2)) {
				if (f2 == 1) { FUZZ_CHECK(v2 && !ids_has(&fn_def, v2)); ids_add(&fn_def, v2); }
				if (f2 >= 2 && f2 <= 4) ids_add(&str_ref, v2);
			}
			FUZZ_CHECK(!s.bad);
			break;
		case 6:
			if (nstr == 0)
				first_empty = s.p == s.e;
			nstr++;
			break;
		case 1: case 11:
			while (field(&s, &f2, &wt2, &v2, &s2))
				ids_add(&str_ref, v2);
			break;
		case 13:
			ids_add(&str_ref, v);
			break;
		}
	}
	FUZZ_CHECK(!top.bad);
	FUZZ_CHECK(nstr > 0 && first_empty);
	for (size_t i = 0; i < str_ref.n; i++) FUZZ_CHECK(str_ref.v[i] < nstr);
	for (size_t i = 0; i < loc_ref.n; i++) FUZZ_CHECK(ids_has(&loc_def, loc_ref.v[i]));
	for (size_t i = 0; i < fn_ref.n; i++) FUZZ_CHECK(ids_has(&fn_def, fn_ref.v[i]));
	for (size_t i = 0; i < map_ref.n; i++) FUZZ_CHECK(ids_has(&map_def, map_ref.v[i]));
	FUZZ_CHECK(count == want_count);
	FUZZ_CHECK(cpu == want_count * PERIOD);
	free(loc_ref.v); free(loc_def.v); free(fn_ref.v); free(fn_def.v);
	free(map_ref.v); free(map_def.v); free(str_ref.v);
	free(b);
}

static void check_folded(const char *path, uint64_t want_count)
{
	FILE *fp = fopen(path, "r");
	FUZZ_CHECK(fp);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	uint64_t sum = 0;
	while ((n = getline(&line, &cap, fp)) > 0) {
		FUZZ_CHECK(line[n - 1] == '\n');
		line[n - 1] = 0;
		char *sp = strrchr(line, ' ');
		FUZZ_CHECK(sp && sp[1]);
		char *e;
		unsigned long long c = strtoull(sp + 1, &e, 10);
		FUZZ_CHECK(*e == 0 && c > 0);
		sum += c;
	}
	free(line);
	fclose(fp);
	FUZZ_CHECK(sum == want_count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[64];
	if (!longname) {
		longname = malloc(10241);
		for (int i = 0; i < 10240; i++)
			longname[i] = (char)(0x80 + i % 0x7f);
		longname[10240] = 0;
		snprintf(dir, sizeof dir, "/tmp/ctop-fuzz-pprof.%d", (int)getpid());
		mkdir(dir, 0700);
	}
	struct fuzz_in in = { data, size };
	/* symbols: each pc gets 1-3 frames with names cut from the input */
	for (unsigned k = 0; k <= NPC; k++) {
		unsigned nf = k == NPC ? 1 : 1 + (unsigned)fuzz_take(&in, 1) % 3;
		for (unsigned j = 0; j < nf; j++) {
			struct sym_frame *fr = &frames[k][j];
			if (k == NPC) {
				fr->func = "[truncated]";
			} else if (k == 0xfe) {
				fr->func = longname;
			} else {
				char *nb = namebuf[k];
				size_t l = (size_t)fuzz_take(&in, 1) % 8;
				if (j == 0 || !l) {
					snprintf(nb, sizeof namebuf[k], "f%u", k % 50);
				} else {
					for (size_t i = 0; i < l; i++)
						nb[i] = (char)(fuzz_take(&in, 1) | 1);
					nb[l] = 0;
				}
				fr->func = nb;
			}
			fr->file = (k & 1) ? NULL : "/src/\xff.c";
			fr->line = (int)(k * 3 + j);
			fr->start_line = (int)k;
		}
		locs[k] = (struct sym_loc){ pc_of(k), k >= 0xc0 ? NULL : &mods[k >= 0x80], nf, frames[k] };
	}
	locs[NPC].pc = CTOP_TRUNCATED_PC;

	struct profile *p = profile_new();
	uint64_t total = 0, t = 1000000000ull;
	while (in.n >= 3) {
		pid_t tid = (pid_t)fuzz_take(&in, 1) + 1;
		uint32_t n = (uint32_t)fuzz_take(&in, 1) % 40 + 1;
		uint32_t c = (uint32_t)fuzz_take(&in, 1) + 1;
		uint64_t pcs[40];
		for (uint32_t i = 0; i < n; i++)
			pcs[i] = pc_of((unsigned)fuzz_take(&in, 1));
		profile_add(p, tid, pcs, n, t, c, PERIOD);
		t += 1000;
		total += c;
	}
	struct export_ctx x = {
		.prof = p, .window = WINDOW_ALL, .now_ns = t + 1, .filter = NULL,
		.resolve = resolve, .rctx = NULL, .mods = modp, .nmods = 2,
		.thread_name = tname, .tctx = NULL,
		.time_nanos = 1700000000000000000ull, .duration_nanos = 3000000000ull,
		.comment = "fuzz \xff\n;", .overwrite = 1,
	};
	char path[128];
	snprintf(path, sizeof path, "%s/p.pb.gz", dir);
	FUZZ_CHECK(pprof_write_cpu(path, &x) == 0);
	check_pprof(path, total);
	snprintf(path, sizeof path, "%s/p.folded", dir);
	FUZZ_CHECK(folded_write(path, &x) == 0);
	check_folded(path, total);
	profile_free(p);
	return 0;
}
