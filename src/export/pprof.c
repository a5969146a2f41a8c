/* pprof writer: profile.proto, gzip-compressed, as `go tool pprof` reads it.
 *
 * Shape (field numbers from google/pprof proto/profile.proto):
 *   CPU:    sample_type [samples/count, cpu/nanoseconds], period_type
 *           cpu/nanoseconds, one sample per (thread, stack) with values
 *           [count, count*period] and labels thread (name) and tid (number).
 *   groups: sample_type [threads/count] or [goroutine/count], one sample per
 *           stack group with labels state and wait, as Go's own goroutine
 *           profile.
 * Locations are per distinct pc, lines are the inline chain callee first,
 * functions are unique by (name, file, start line), mappings one per module
 * referenced. Samples are encoded as they are visited; the tables and the
 * string table follow at the end (field order does not matter in protobuf,
 * and the string table can only be written once every string is known). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "common.h"
#include "export.h"
#include "export_impl.h"
#include "pb.h"

/* profile.proto field numbers */
enum {
	P_SAMPLE_TYPE = 1, P_SAMPLE = 2, P_MAPPING = 3, P_LOCATION = 4,
	P_FUNCTION = 5, P_STRING_TABLE = 6, P_TIME_NANOS = 9,
	P_DURATION_NANOS = 10, P_PERIOD_TYPE = 11, P_PERIOD = 12, P_COMMENT = 13,
};
enum { VT_TYPE = 1, VT_UNIT = 2 };
enum { S_LOCATION_ID = 1, S_VALUE = 2, S_LABEL = 3 };
enum { L_KEY = 1, L_STR = 2, L_NUM = 3 };
enum {
	M_ID = 1, M_START = 2, M_LIMIT = 3, M_OFFSET = 4, M_FILENAME = 5,
	M_BUILD_ID = 6, M_HAS_FUNCTIONS = 7, M_HAS_FILENAMES = 8,
	M_HAS_LINES = 9, M_HAS_INLINE = 10,
};
enum { LOC_ID = 1, LOC_MAPPING_ID = 2, LOC_ADDRESS = 3, LOC_LINE = 4 };
enum { LN_FUNCTION_ID = 1, LN_LINE = 2 };
enum { F_ID = 1, F_NAME = 2, F_SYSTEM_NAME = 3, F_FILENAME = 4, F_START_LINE = 5 };

struct pfunc { uint32_t name, file; int start_line; };
struct ptid { pid_t tid; uint32_t name; };

struct pw {
	struct xsym s;
	struct pb out;
	uint32_t nextloc;
	struct pfunc *fn; uint32_t nfn, capfn; struct imap fnmap;
	struct ptid *tids; uint32_t ntids, captids; struct imap tidmap;
	uint32_t *li; uint64_t *ids; uint32_t cap;   /* per-sample scratch */
	uint32_t k_thread, k_tid, k_state, k_wait;
	uint64_t period;
};

static int pw_init(struct pw *w, const struct export_ctx *x, int use_filter)
{
	memset(w, 0, sizeof *w);
	int r = xsym_init(&w->s, x, use_filter);
	if (r < 0)
		return r;
	pb_init(&w->out);
	return 0;
}

static void pw_free(struct pw *w)
{
	xsym_free(&w->s);
	pb_free(&w->out);
	free(w->fn);
	free(w->tids);
	free(w->li);
	free(w->ids);
	imap_free(&w->fnmap);
	imap_free(&w->tidmap);
}

static void scratch(struct pw *w, uint32_t n)
{
	if (n <= w->cap)
		return;
	w->cap = n;
	w->li = xrealloc(w->li, n * sizeof *w->li);
	w->ids = xrealloc(w->ids, n * sizeof *w->ids);
}

static void value_type(struct pw *w, int field, const char *type, const char *unit)
{
	size_t m = pb_msg_start(&w->out);
	pb_int64(&w->out, VT_TYPE, strtab_id(&w->s.str, type));
	pb_int64(&w->out, VT_UNIT, strtab_id(&w->s.str, unit));
	pb_msg_end(&w->out, field, m);
}

static void label_str(struct pw *w, uint32_t key, const char *v)
{
	size_t m = pb_msg_start(&w->out);
	pb_int64(&w->out, L_KEY, key);
	pb_int64(&w->out, L_STR, strtab_id(&w->s.str, v));
	pb_msg_end(&w->out, S_LABEL, m);
}

static void label_num(struct pw *w, uint32_t key, int64_t v)
{
	size_t m = pb_msg_start(&w->out);
	pb_int64(&w->out, L_KEY, key);
	pb_int64(&w->out, L_NUM, v);
	pb_msg_end(&w->out, S_LABEL, m);
}

/* Filters and maps a stack to location ids; 0 = sample dropped. */
static uint32_t stack_ids(struct pw *w, const uint64_t *pcs, uint32_t n)
{
	scratch(w, n);
	int k = xsym_stack(&w->s, pcs, n, w->li);
	if (k <= 0)
		return 0;
	for (int i = 0; i < k; i++) {
		struct xloc *l = &w->s.locs[w->li[i]];
		if (!l->id)
			l->id = ++w->nextloc;
		w->ids[i] = l->id;
	}
	return (uint32_t)k;
}

static int tid_eq(const void *ctx, uint32_t idx)
{
	const struct pw *w = ((const void *const *)ctx)[0];
	const pid_t *tid = ((const void *const *)ctx)[1];
	return w->tids[idx].tid == *tid;
}

static uint32_t thread_name_id(struct pw *w, pid_t tid)
{
	uint32_t h = (uint32_t)hash_mix((uint64_t)tid);
	const void *ctx[2] = { w, &tid };
	uint32_t i = imap_get(&w->tidmap, h, tid_eq, ctx);
	if (i != UINT32_MAX)
		return w->tids[i].name;
	const struct export_ctx *x = w->s.x;
	const char *name = x->thread_name ? x->thread_name(x->tctx, tid) : NULL;
	char buf[32];
	if (!name || !*name) {
		/* pprof groups by label value: an empty name would merge threads */
		snprintf(buf, sizeof buf, "%d", (int)tid);
		name = buf;
	}
	if (w->ntids == w->captids) {
		w->captids = w->captids ? w->captids * 2 : 64;
		w->tids = xrealloc(w->tids, w->captids * sizeof *w->tids);
	}
	i = w->ntids++;
	w->tids[i].tid = tid;
	w->tids[i].name = strtab_id(&w->s.str, name);
	imap_add(&w->tidmap, h, i);
	return w->tids[i].name;
}

static int cpu_visit(pid_t tid, const uint64_t *pcs, uint32_t n,
		     uint64_t count, void *arg)
{
	struct pw *w = arg;
	if (w->s.tid && tid != w->s.tid)
		return 0;
	uint32_t k = stack_ids(w, pcs, n);
	if (!k)
		return 0;
	int64_t v[2] = { (int64_t)count, (int64_t)(count * w->period) };
	size_t m = pb_msg_start(&w->out);
	pb_packed_uint64(&w->out, S_LOCATION_ID, w->ids, k);
	pb_packed_int64(&w->out, S_VALUE, v, 2);
	uint32_t name = thread_name_id(w, tid);
	size_t lm = pb_msg_start(&w->out);
	pb_int64(&w->out, L_KEY, w->k_thread);
	pb_int64(&w->out, L_STR, name);
	pb_msg_end(&w->out, S_LABEL, lm);
	label_num(w, w->k_tid, tid);
	pb_msg_end(&w->out, P_SAMPLE, m);
	return 0;
}

static int fn_eq(const void *ctx, uint32_t idx)
{
	const struct pw *w = ((const void *const *)ctx)[0];
	const struct pfunc *f = ((const void *const *)ctx)[1];
	const struct pfunc *g = &w->fn[idx];
	return g->name == f->name && g->file == f->file && g->start_line == f->start_line;
}

static uint64_t function_id(struct pw *w, const struct xframe *fr)
{
	struct pfunc f = { fr->name, fr->file, fr->start_line };
	uint32_t h = (uint32_t)hash_fnv(HASH_INIT, &f, sizeof f);
	const void *ctx[2] = { w, &f };
	uint32_t i = imap_get(&w->fnmap, h, fn_eq, ctx);
	if (i != UINT32_MAX)
		return i + 1;
	if (w->nfn == w->capfn) {
		w->capfn = w->capfn ? w->capfn * 2 : 256;
		w->fn = xrealloc(w->fn, w->capfn * sizeof *w->fn);
	}
	i = w->nfn++;
	w->fn[i] = f;
	imap_add(&w->fnmap, h, i);
	return i + 1;
}

static int mod_cmp(const void *a, const void *b)
{
	const struct xmod *x = *(const struct xmod *const *)a, *y = *(const struct xmod *const *)b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Mappings, locations, functions: the ones referenced by samples. */
static void tables(struct pw *w)
{
	struct xsym *s = &w->s;
	struct pb *o = &w->out;

	/* Mappings in address order: the main executable (lowest, for both
	 * non-PIE and PIE, below the libraries) comes first, as pprof expects. */
	struct xmod **used = xcalloc(s->nmods, sizeof *used);
	uint32_t nused = 0;
	for (uint32_t i = 0; i < s->nlocs; i++) {
		struct xloc *l = &s->locs[i];
		if (l->id && l->mod >= 0 && !s->mods[l->mod].id) {
			s->mods[l->mod].id = UINT32_MAX;   /* mark; numbered below */
			used[nused++] = &s->mods[l->mod];
		}
	}
	qsort(used, nused, sizeof *used, mod_cmp);
	for (uint32_t i = 0; i < nused; i++) {
		struct xmod *m = used[i];
		m->id = i + 1;
		size_t mk = pb_msg_start(o);
		pb_uint64(o, M_ID, m->id);
		pb_uint64_opt(o, M_START, m->start);
		pb_uint64_opt(o, M_LIMIT, m->end);
		pb_uint64_opt(o, M_OFFSET, m->pgoff);
		pb_int64_opt(o, M_FILENAME, m->path);
		pb_int64_opt(o, M_BUILD_ID, m->build_id);
		pb_bool_opt(o, M_HAS_FUNCTIONS, m->has_functions);
		pb_bool_opt(o, M_HAS_FILENAMES, m->has_filenames);
		pb_bool_opt(o, M_HAS_LINES, m->has_lines);
		pb_bool_opt(o, M_HAS_INLINE, m->has_inline);
		pb_msg_end(o, P_MAPPING, mk);
	}
	free(used);

	for (uint32_t i = 0; i < s->nlocs; i++) {
		const struct xloc *l = &s->locs[i];
		if (!l->id)
			continue;
		size_t mk = pb_msg_start(o);
		pb_uint64(o, LOC_ID, l->id);
		if (l->mod >= 0)
			pb_uint64(o, LOC_MAPPING_ID, s->mods[l->mod].id);
		/* The truncation marker is not an address of the target. */
		if (l->pc != CTOP_TRUNCATED_PC)
			pb_uint64_opt(o, LOC_ADDRESS, l->pc);
		for (uint32_t j = 0; j < l->nframes; j++) {
			const struct xframe *fr = &s->frames[l->frame0 + j];
			size_t lk = pb_msg_start(o);
			pb_uint64(o, LN_FUNCTION_ID, function_id(w, fr));
			pb_int64_opt(o, LN_LINE, fr->line);
			pb_msg_end(o, LOC_LINE, lk);
		}
		pb_msg_end(o, P_LOCATION, mk);
	}

	for (uint32_t i = 0; i < w->nfn; i++) {
		const struct pfunc *f = &w->fn[i];
		size_t mk = pb_msg_start(o);
		pb_uint64(o, F_ID, i + 1);
		pb_int64_opt(o, F_NAME, f->name);
		/* No mangled names are kept: the system name is the same. */
		pb_int64_opt(o, F_SYSTEM_NAME, f->name);
		pb_int64_opt(o, F_FILENAME, f->file);
		pb_int64_opt(o, F_START_LINE, f->start_line);
		pb_msg_end(o, P_FUNCTION, mk);
	}
}

/* Must come last: every string has to be interned before. */
static void string_table(struct pw *w)
{
	for (uint32_t i = 0; i < w->s.str.n; i++)
		pb_string(&w->out, P_STRING_TABLE, w->s.str.s[i]);
}

static void comment(struct pw *w)
{
	const char *c = w->s.x->comment;
	if (c && *c)
		pb_int64(&w->out, P_COMMENT, strtab_id(&w->s.str, c));
}

static int write_gz(const char *path, int overwrite, const struct pb *b)
{
	char tmp[4096];
	int fd = outfile_open(path, overwrite, tmp, sizeof tmp);
	if (fd < 0)
		return fd;
	z_stream z;
	memset(&z, 0, sizeof z);
	/* 16 + MAX_WBITS: gzip wrapper, which pprof requires of files. */
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS,
			 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		errmsg("cannot write %s: zlib init failed", path);
		outfile_commit(fd, tmp, path, 0);
		return -ENOMEM;
	}
	enum { CHUNK = 1 << 16 };
	unsigned char *chunk = xmalloc(CHUNK);
	int r = 0, zr;
	/* avail_in is 32 bits: feed the buffer in pieces, finishing with the last */
	const uint8_t *in = b->buf;
	size_t left = b->len;
	do {
		if (!z.avail_in && left) {
			z.next_in = (Bytef *)(uintptr_t)in;
			z.avail_in = left > (1u << 30) ? 1u << 30 : (uInt)left;
			in += z.avail_in;
			left -= z.avail_in;
		}
		z.next_out = chunk;
		z.avail_out = CHUNK;
		zr = deflate(&z, left ? Z_NO_FLUSH : Z_FINISH);
		if (zr == Z_STREAM_ERROR) {
			errmsg("cannot write %s: zlib error", path);
			r = -EIO;
			break;
		}
		r = outfile_write_all(fd, chunk, CHUNK - z.avail_out);
		if (r < 0) {
			errmsg("cannot write %s: %s", path, strerror(-r));
			break;
		}
	} while (zr != Z_STREAM_END);
	deflateEnd(&z);
	free(chunk);
	int c = outfile_commit(fd, tmp, path, r == 0);
	return r ? r : c;
}

int pprof_write_cpu(const char *path, const struct export_ctx *x)
{
	struct pw w;
	int r = pw_init(&w, x, 1);
	if (r < 0)
		return r;
	w.period = x->prof ? profile_period_ns(x->prof) : 0;
	value_type(&w, P_SAMPLE_TYPE, "samples", "count");
	value_type(&w, P_SAMPLE_TYPE, "cpu", "nanoseconds");
	w.k_thread = strtab_id(&w.s.str, "thread");
	w.k_tid = strtab_id(&w.s.str, "tid");
	if (x->prof)
		profile_foreach(x->prof, x->window, x->now_ns, cpu_visit, &w);
	tables(&w);
	pb_int64_opt(&w.out, P_TIME_NANOS, (int64_t)x->time_nanos);
	pb_int64_opt(&w.out, P_DURATION_NANOS, (int64_t)x->duration_nanos);
	value_type(&w, P_PERIOD_TYPE, "cpu", "nanoseconds");
	pb_int64_opt(&w.out, P_PERIOD, (int64_t)w.period);
	comment(&w);
	string_table(&w);
	r = write_gz(path, x->overwrite, &w.out);
	pw_free(&w);
	return r;
}

/* Group kinds by the name pprof shows as the sample type. */
const char *export_group_type(const char *kind)
{
	if (!kind)
		return NULL;
	if (!strcmp(kind, "threads") || !strcmp(kind, "thread"))
		return "threads";
	if (!strcmp(kind, "goroutine") || !strcmp(kind, "goroutines"))
		return "goroutine";
	return NULL;
}

int pprof_write_groups(const char *path, const char *kind,
		       const struct group_sample *g, size_t n,
		       const struct export_ctx *x)
{
	const char *type = export_group_type(kind);
	if (!type) {
		errmsg("unknown group profile kind '%s' (use threads or goroutine)",
		       kind ? kind : "");
		return -EINVAL;
	}
	struct pw w;
	/* Group profiles are snapshots of every member: the view filters and
	 * the thread restriction of the CPU views do not apply. */
	int r = pw_init(&w, x, 0);
	if (r < 0)
		return r;
	value_type(&w, P_SAMPLE_TYPE, type, "count");
	w.k_state = strtab_id(&w.s.str, "state");
	w.k_wait = strtab_id(&w.s.str, "wait");
	for (size_t i = 0; i < n; i++) {
		if (!g[i].pcs || !g[i].n)
			continue;
		uint32_t k = stack_ids(&w, g[i].pcs, g[i].n);
		if (!k)
			continue;
		size_t m = pb_msg_start(&w.out);
		pb_packed_uint64(&w.out, S_LOCATION_ID, w.ids, k);
		pb_packed_int64(&w.out, S_VALUE, &g[i].count, 1);
		if (g[i].state && *g[i].state)
			label_str(&w, w.k_state, g[i].state);
		if (g[i].wait && *g[i].wait)
			label_str(&w, w.k_wait, g[i].wait);
		pb_msg_end(&w.out, P_SAMPLE, m);
	}
	tables(&w);
	pb_int64_opt(&w.out, P_TIME_NANOS, (int64_t)x->time_nanos);
	value_type(&w, P_PERIOD_TYPE, type, "count");
	pb_int64(&w.out, P_PERIOD, 1);
	comment(&w);
	string_table(&w);
	r = write_gz(path, x->overwrite, &w.out);
	pw_free(&w);
	return r;
}
