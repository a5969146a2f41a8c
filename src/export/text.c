/* Text outputs: the pprof-style top table of the CPU profile (the report
 * module prints it, so the file matches the view), and a readable dump of
 * stack groups in the spirit of Go's goroutine?debug=1. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "export.h"
#include "export_impl.h"

struct tcpu { const struct export_ctx *x; struct report *r; };

static int gen_cpu(FILE *f, void *arg)
{
	struct tcpu *t = arg;
	if (t->x->comment && *t->x->comment)
		fprintf(f, "%s\n", t->x->comment);
	fprintf(f, "Window: %s\n", window_name(t->x->window));
	report_print_top(t->r, f, INT_MAX);
	return 0;
}

int text_write_cpu(const char *path, const struct export_ctx *x)
{
	const char *err = NULL;
	if (!x->prof) {
		errmsg("cannot write %s: no profile", path);
		return -EINVAL;
	}
	struct report *r = report_build(x->prof, x->window, x->now_ns, x->filter,
					x->resolve, x->rctx, &err);
	if (!r) {
		errmsg("cannot write %s: %s", path, err ? err : "cannot build the report");
		return -EINVAL;
	}
	struct tcpu t = { x, r };
	int rc = export_with_stream(path, x->overwrite, gen_cpu, &t);
	report_free(r);
	return rc;
}

struct tgroups {
	const char *type;
	const struct group_sample *g;
	size_t n;
	struct xsym s;
	const struct export_ctx *x;
};

static int gen_groups(FILE *f, void *arg)
{
	struct tgroups *t = arg;
	int64_t total = 0;
	for (size_t i = 0; i < t->n; i++)
		total += t->g[i].count;
	if (t->x->comment && *t->x->comment)
		fprintf(f, "%s\n", t->x->comment);
	fprintf(f, "%s profile: total %" PRId64 " in %zu groups\n", t->type, total, t->n);
	for (size_t i = 0; i < t->n; i++) {
		const struct group_sample *g = &t->g[i];
		fprintf(f, "\n%" PRId64 " @ state=", g->count);
		report_put_clean(f, g->state && *g->state ? g->state : "?");
		if (g->wait && *g->wait) {
			fputs(" wait=", f);
			report_put_clean(f, g->wait);
		}
		fputc('\n', f);
		for (uint32_t k = 0; g->pcs && k < g->n; k++) {
			uint32_t li = xsym_loc(&t->s, g->pcs[k]);   /* may move locs */
			const struct xloc *l = &t->s.locs[li];
			for (uint32_t j = 0; j < l->nframes; j++) {
				const struct xframe *fr = &t->s.frames[l->frame0 + j];
				const char *file = xsym_str(&t->s, fr->file);
				if (l->pc == CTOP_TRUNCATED_PC)
					fprintf(f, "#\t%18s\t", "");
				else
					fprintf(f, "#\t0x%016" PRIx64 "\t", l->pc);
				report_put_clean(f, xsym_str(&t->s, fr->name));
				if (*file) {
					fputc('\t', f);
					report_put_clean(f, file);
					fprintf(f, ":%d", fr->line);
				}
				fputc('\n', f);
			}
		}
	}
	return 0;
}

int text_write_groups(const char *path, const char *kind,
		      const struct group_sample *g, size_t n,
		      const struct export_ctx *x)
{
	struct tgroups t = { .type = export_group_type(kind), .g = g, .n = n, .x = x };
	if (!t.type) {
		errmsg("unknown group profile kind '%s' (use threads or goroutine)",
		       kind ? kind : "");
		return -EINVAL;
	}
	int r = xsym_init(&t.s, x, 0);
	if (r < 0)
		return r;
	r = export_with_stream(path, x->overwrite, gen_groups, &t);
	xsym_free(&t.s);
	return r;
}
