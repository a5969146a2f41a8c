/* Symbol cache for the writers: each distinct pc is resolved once, its
 * frames and module copied into interned strings (the resolver's results
 * only live until the next symtab refresh, which a lookup may trigger), and
 * classified against the pprof filters once, by report.c's matcher. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "export_impl.h"

/* ---- index ------------------------------------------------------------ */

uint32_t imap_get(const struct imap *m, uint32_t h, imap_eq_fn eq, const void *ctx)
{
	if (!m->cap)
		return UINT32_MAX;
	for (uint32_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (!m->slot[i].idx1)
			return UINT32_MAX;
		if (m->slot[i].h == h && eq(ctx, m->slot[i].idx1 - 1))
			return m->slot[i].idx1 - 1;
	}
}

static void imap_put(struct imap *m, uint32_t h, uint32_t idx1)
{
	uint32_t i = h & (m->cap - 1);
	while (m->slot[i].idx1)
		i = (i + 1) & (m->cap - 1);
	m->slot[i].idx1 = idx1;
	m->slot[i].h = h;
}

void imap_add(struct imap *m, uint32_t h, uint32_t idx)
{
	if ((m->n + 1) * 2 > m->cap) {   /* load <= 1/2 keeps probes short */
		struct imap old = *m;
		m->cap = old.cap ? old.cap * 2 : 64;
		m->slot = xcalloc(m->cap, sizeof *m->slot);
		for (uint32_t i = 0; i < old.cap; i++)
			if (old.slot[i].idx1)
				imap_put(m, old.slot[i].h, old.slot[i].idx1);
		free(old.slot);
	}
	imap_put(m, h, idx + 1);
	m->n++;
}

void imap_free(struct imap *m)
{
	free(m->slot);
	memset(m, 0, sizeof *m);
}

/* ---- strings ---------------------------------------------------------- */

void strtab_init(struct strtab *t)
{
	memset(t, 0, sizeof *t);
	strtab_id(t, "");
}

void strtab_free(struct strtab *t)
{
	for (uint32_t i = 0; i < t->n; i++)
		free(t->s[i]);
	free(t->s);
	imap_free(&t->map);
	memset(t, 0, sizeof *t);
}

static int str_eq(const void *ctx, uint32_t idx)
{
	const void *const *c = ctx;
	const struct strtab *t = c[0];
	return strcmp(t->s[idx], c[1]) == 0;
}

uint32_t strtab_id(struct strtab *t, const char *s)
{
	if (!s)
		s = "";
	if (!*s && t->n)
		return 0;
	uint32_t h = (uint32_t)hash_fnv(HASH_INIT, s, strlen(s));
	const void *ctx[2] = { t, s };
	uint32_t id = imap_get(&t->map, h, str_eq, ctx);
	if (id != UINT32_MAX)
		return id;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->s = xrealloc(t->s, t->cap * sizeof *t->s);
	}
	id = t->n++;
	t->s[id] = xstrdup(s);
	imap_add(&t->map, h, id);
	return id;
}

/* ---- symbols ---------------------------------------------------------- */

int xsym_init(struct xsym *s, const struct export_ctx *x, int use_filter)
{
	memset(s, 0, sizeof *s);
	s->x = x;
	strtab_init(&s->str);
	const struct report_filter *f = use_filter ? x->filter : NULL;
	if (!f)
		return 0;
	s->tid = f->tid;
	const char *err = NULL;
	if (report_match_new(f, &s->match, &err) < 0) {
		errmsg("%s", err ? err : "bad filter regex");
		xsym_free(s);
		return -EINVAL;
	}
	return 0;
}

void xsym_free(struct xsym *s)
{
	report_match_free(s->match);
	strtab_free(&s->str);
	free(s->locs);
	free(s->frames);
	free(s->mods);
	imap_free(&s->locmap);
	imap_free(&s->modmap);
	memset(s, 0, sizeof *s);
}

static int loc_eq(const void *ctx, uint32_t idx)
{
	const struct xsym *s = ((const void *const *)ctx)[0];
	const uint64_t *pc = ((const void *const *)ctx)[1];
	return s->locs[idx].pc == *pc;
}

static int mod_eq(const void *ctx, uint32_t idx)
{
	const struct xsym *s = ((const void *const *)ctx)[0];
	const struct xmod *m = ((const void *const *)ctx)[1];
	return s->mods[idx].start == m->start && s->mods[idx].path == m->path;
}

/* Modules are keyed by (path, start), not by pointer: a refresh during the
 * export may hand out new sym_module objects for the same mapping. */
static int32_t intern_mod(struct xsym *s, const struct sym_module *sm)
{
	struct xmod m = {
		.start = sm->start, .end = sm->end, .pgoff = sm->pgoff,
		.path = strtab_id(&s->str, sm->path ? sm->path : sm->name),
		.build_id = strtab_id(&s->str, sm->build_id),
		.has_functions = !!sm->has_symbols,
		.has_filenames = !!sm->has_lines,
		.has_lines = !!sm->has_lines,
		/* Line tables came from DWARF, where inline chains are looked up
		 * too: no inline frame found there means there is none. */
		.has_inline = sm->has_inline || sm->has_lines,
	};
	uint32_t h = (uint32_t)hash_mix(m.start ^ ((uint64_t)m.path << 40));
	const void *ctx[2] = { s, &m };
	uint32_t i = imap_get(&s->modmap, h, mod_eq, ctx);
	if (i != UINT32_MAX)
		return (int32_t)i;
	if (s->nmods == s->capmods) {
		s->capmods = s->capmods ? s->capmods * 2 : 16;
		s->mods = xrealloc(s->mods, s->capmods * sizeof *s->mods);
	}
	i = s->nmods++;
	s->mods[i] = m;
	imap_add(&s->modmap, h, i);
	return (int32_t)i;
}

static void push_frame(struct xsym *s, const char *name, const char *file,
		       int line, int start_line)
{
	if (s->nframes == s->capframes) {
		s->capframes = s->capframes ? s->capframes * 2 : 256;
		s->frames = xrealloc(s->frames, s->capframes * sizeof *s->frames);
	}
	struct xframe *f = &s->frames[s->nframes++];
	f->name = strtab_id(&s->str, name);
	f->file = strtab_id(&s->str, file);
	f->line = line > 0 ? line : 0;
	f->start_line = start_line > 0 ? start_line : 0;
}

uint32_t xsym_loc(struct xsym *s, uint64_t pc)
{
	uint32_t h = (uint32_t)hash_mix(pc);
	const void *ctx[2] = { s, &pc };
	uint32_t i = imap_get(&s->locmap, h, loc_eq, ctx);
	if (i != UINT32_MAX)
		return i;

	struct xloc l = { .pc = pc, .mod = -1, .frame0 = s->nframes };
	const struct sym_loc *sl = NULL;
	if (pc == CTOP_TRUNCATED_PC) {
		push_frame(s, "[truncated]", NULL, 0, 0);
	} else {
		if (s->x->resolve)
			sl = s->x->resolve(s->x->rctx, pc);
		if (sl && sl->nframes && sl->frames) {
			if (sl->mod)
				l.mod = intern_mod(s, sl->mod);
			for (uint32_t k = 0; k < sl->nframes; k++) {
				const struct sym_frame *f = &sl->frames[k];
				push_frame(s, f->func && *f->func ? f->func : "[unknown]",
					   f->file, f->line, f->start_line);
			}
		} else {
			if (sl && sl->mod)
				l.mod = intern_mod(s, sl->mod);
			push_frame(s, "[unknown]", NULL, 0, 0);
		}
	}
	l.nframes = s->nframes - l.frame0;

	/* Classify every frame before hiding, with the views' own filter
	 * code (report.c), so a saved file holds what the view showed. */
	if (s->match) {
		uint32_t k = 0;
		for (uint32_t j = 0; j < l.nframes; j++) {
			struct xframe f = s->frames[l.frame0 + j];
			unsigned fl = report_match_name(s->match, xsym_str(s, f.name));
			l.flags |= (uint8_t)fl;
			if (!(fl & REPORT_HIDE))
				s->frames[l.frame0 + k++] = f;
		}
		l.nframes = k;
		s->nframes = l.frame0 + l.nframes;
	}

	if (s->nlocs == s->caplocs) {
		s->caplocs = s->caplocs ? s->caplocs * 2 : 256;
		s->locs = xrealloc(s->locs, s->caplocs * sizeof *s->locs);
	}
	i = s->nlocs++;
	s->locs[i] = l;
	imap_add(&s->locmap, h, i);
	return i;
}

int xsym_stack(struct xsym *s, const uint64_t *pcs, uint32_t n, uint32_t *out)
{
	unsigned seen = 0;
	int k = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t li = xsym_loc(s, pcs[i]);
		const struct xloc *l = &s->locs[li];
		if (l->flags & REPORT_IGNORE)
			return -1;
		seen |= l->flags;
		if (l->nframes)
			out[k++] = li;
	}
	return report_match_keep(s->match, seen, (size_t)k) ? k : -1;
}

/* ---- format ----------------------------------------------------------- */

static int ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a > b && strcmp(s + a - b, suf) == 0;
}

enum xformat export_format(const char *path)
{
	if (ends_with(path, ".pb.gz") || ends_with(path, ".pprof"))
		return XF_PPROF;
	if (ends_with(path, ".folded") || ends_with(path, ".collapsed"))
		return XF_FOLDED;
	if (ends_with(path, ".txt"))
		return XF_TEXT;
	return XF_UNKNOWN;
}

int export_path_known(const char *path)
{
	return path && export_format(path) != XF_UNKNOWN;
}

int export_with_stream(const char *path, int overwrite, xwrite_fn gen, void *arg)
{
	char tmp[4096];
	int fd = outfile_open(path, overwrite, tmp, sizeof tmp);
	if (fd < 0)
		return fd;
	/* stdio gets its own descriptor so that fclose flushes and reports
	 * write errors while fd stays open for outfile_commit's fsync. */
	int fd2 = dup(fd);
	FILE *f = fd2 >= 0 ? fdopen(fd2, "w") : NULL;
	if (!f) {
		int e = errno;
		if (fd2 >= 0)
			close(fd2);
		errmsg("cannot write %s: %s", path, strerror(e));
		outfile_commit(fd, tmp, path, 0);
		return -e;
	}
	int r = gen(f, arg);
	int ferr = ferror(f);
	errno = 0;
	if (fclose(f) != 0 || ferr) {
		int e = errno ? errno : EIO;
		if (r == 0) {
			errmsg("cannot write %s: %s", path, strerror(e));
			r = -e;
		}
	}
	int c = outfile_commit(fd, tmp, path, r == 0);
	return r ? r : c;
}
