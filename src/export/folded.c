/* Folded stacks ("root;caller;leaf COUNT" per line), the input format of
 * flamegraph.pl and inferno. Threads are merged (the format has no place for
 * them), inline frames are expanded outer first, and lines are sorted so two
 * exports of the same profile are byte-identical. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "export.h"
#include "export_impl.h"

struct fline { char *s; uint64_t count; };

struct fw {
	struct xsym s;
	struct fline *l; size_t n, cap;
	uint32_t *li; uint32_t ncap;
	char *buf; size_t len, bufcap;
};

static void put(struct fw *w, const char *p, size_t n)
{
	if (w->len + n + 1 > w->bufcap) {
		while (w->len + n + 1 > w->bufcap)
			w->bufcap = w->bufcap ? w->bufcap * 2 : 1024;
		w->buf = xrealloc(w->buf, w->bufcap);
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
	w->buf[w->len] = 0;
}

/* ';' separates frames and the last ' ' the count: a ';' in a name (Rust
 * and C++ templates can have them) becomes ':', line breaks become ' '. */
static void put_name(struct fw *w, const char *name)
{
	size_t start = w->len;
	put(w, name, strlen(name));
	for (size_t i = start; i < w->len; i++) {
		if (w->buf[i] == ';')
			w->buf[i] = ':';
		else if (w->buf[i] == '\n' || w->buf[i] == '\r')
			w->buf[i] = ' ';
	}
}

static void add_stack(struct fw *w, const uint64_t *pcs, uint32_t n, uint64_t count)
{
	if (!count || !n)
		return;
	if (n > w->ncap) {
		w->ncap = n;
		w->li = xrealloc(w->li, n * sizeof *w->li);
	}
	int k = xsym_stack(&w->s, pcs, n, w->li);
	if (k <= 0)
		return;
	w->len = 0;
	int first = 1;
	for (int i = k - 1; i >= 0; i--) {
		const struct xloc *l = &w->s.locs[w->li[i]];
		for (uint32_t j = l->nframes; j-- > 0;) {
			if (!first)
				put(w, ";", 1);
			first = 0;
			put_name(w, xsym_str(&w->s, w->s.frames[l->frame0 + j].name));
		}
	}
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 256;
		w->l = xrealloc(w->l, w->cap * sizeof *w->l);
	}
	w->l[w->n].s = xstrdup(w->buf);
	w->l[w->n].count = count;
	w->n++;
}

static int cpu_visit(pid_t tid, const uint64_t *pcs, uint32_t n,
		     uint64_t count, void *arg)
{
	struct fw *w = arg;
	if (!w->s.tid || tid == w->s.tid)
		add_stack(w, pcs, n, count);
	return 0;
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fline *)a)->s, ((const struct fline *)b)->s);
}

static int gen(FILE *f, void *arg)
{
	struct fw *w = arg;
	if (w->n)       /* w->l is NULL for an empty profile: qsort(NULL) is UB */
		qsort(w->l, w->n, sizeof *w->l, line_cmp);
	for (size_t i = 0; i < w->n;) {
		uint64_t c = w->l[i].count;
		size_t j = i + 1;
		while (j < w->n && !strcmp(w->l[j].s, w->l[i].s))
			c += w->l[j++].count;
		if (fprintf(f, "%s %" PRIu64 "\n", w->l[i].s, c) < 0)
			return -EIO;
		i = j;
	}
	return 0;
}

static void fw_free(struct fw *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->l[i].s);
	free(w->l);
	free(w->li);
	free(w->buf);
	xsym_free(&w->s);
}

int folded_write(const char *path, const struct export_ctx *x)
{
	struct fw w;
	memset(&w, 0, sizeof w);
	int r = xsym_init(&w.s, x, 1);
	if (r < 0)
		return r;
	if (x->prof)
		profile_foreach(x->prof, x->window, x->now_ns, cpu_visit, &w);
	r = export_with_stream(path, x->overwrite, gen, &w);
	fw_free(&w);
	return r;
}

int folded_write_groups(const char *path, const struct group_sample *g,
			size_t n, const struct export_ctx *x)
{
	struct fw w;
	memset(&w, 0, sizeof w);
	int r = xsym_init(&w.s, x, 0);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (g[i].count > 0 && g[i].pcs)
			add_stack(&w, g[i].pcs, g[i].n, (uint64_t)g[i].count);
	r = export_with_stream(path, x->overwrite, gen, &w);
	fw_free(&w);
	return r;
}
