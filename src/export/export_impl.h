/* Internals shared by the writers in src/export: a small hash index, string
 * interning, and the symbol cache that turns pcs into (filtered) frames once
 * per distinct address for every output format. */
#ifndef CTOP_EXPORT_IMPL_H
#define CTOP_EXPORT_IMPL_H

#include <stdint.h>
#include <stdio.h>
#include "export.h"

int outfile_write_all(int fd, const void *buf, size_t n);

/* Open-addressing index from a 32-bit hash to entry numbers of an array the
 * caller owns; eq() compares a candidate entry with the key being looked up. */
struct imap {
	struct { uint32_t idx1, h; } *slot;   /* idx1 = entry + 1, 0 = empty */
	uint32_t cap, n;
};
typedef int (*imap_eq_fn)(const void *ctx, uint32_t idx);
uint32_t imap_get(const struct imap *m, uint32_t h, imap_eq_fn eq, const void *ctx);  /* UINT32_MAX: none */
void imap_add(struct imap *m, uint32_t h, uint32_t idx);
void imap_free(struct imap *m);

/* Interned strings; id 0 is always "" (pprof's string_table[0]). */
struct strtab {
	char **s;
	uint32_t n, cap;
	struct imap map;
};
void strtab_init(struct strtab *t);
void strtab_free(struct strtab *t);
uint32_t strtab_id(struct strtab *t, const char *s);   /* NULL -> 0 */

/* One symbolized frame; strings are strtab ids. */
struct xframe { uint32_t name, file; int line, start_line; };

struct xmod {
	uint64_t start, end, pgoff;
	uint32_t path, build_id;
	uint8_t has_functions, has_filenames, has_lines, has_inline;
	uint32_t id;            /* writer's use (pprof mapping id), 0 = unset */
};

/* One distinct pc. frames[frame0 .. frame0+nframes) are the frames left
 * after `hide`, innermost first (sym_loc order); nframes == 0 means the whole
 * location is hidden. */
struct xloc {
	uint64_t pc;
	int32_t mod;            /* index in xsym.mods, -1 = unmapped */
	uint32_t frame0, nframes;
	uint8_t flags;          /* REPORT_* bits of its frames, before hide */
	uint32_t id;            /* writer's use (pprof location id), 0 = unset */
};

struct xsym {
	const struct export_ctx *x;
	struct strtab str;
	struct xloc *locs; uint32_t nlocs, caplocs; struct imap locmap;
	struct xframe *frames; uint32_t nframes, capframes;
	struct xmod *mods; uint32_t nmods, capmods; struct imap modmap;
	struct report_match *match;   /* NULL: no filter */
	pid_t tid;              /* 0 = all threads */
};

/* use_filter: apply x->filter (pprof focus/ignore/hide and tid). Returns 0,
 * or -EINVAL with an errmsg when a regex does not compile. */
int xsym_init(struct xsym *s, const struct export_ctx *x, int use_filter);
void xsym_free(struct xsym *s);
/* Index of the location of pc (symbolized on first use). */
uint32_t xsym_loc(struct xsym *s, uint64_t pc);
/* Filters one stack (leaf first) with report.c's rule (report_match_keep):
 * returns -1 when it is dropped, else writes the indexes of the locations
 * not wholly hidden to out (room for n) and returns how many. */
int xsym_stack(struct xsym *s, const uint64_t *pcs, uint32_t n, uint32_t *out);
static inline const char *xsym_str(const struct xsym *s, uint32_t id) { return s->str.s[id]; }

/* Format of a path by suffix. */
enum xformat { XF_UNKNOWN, XF_PPROF, XF_FOLDED, XF_TEXT };
enum xformat export_format(const char *path);

/* Writes through outfile_open/commit with a stdio stream: gen writes to f
 * and returns 0 or -errno. */
typedef int (*xwrite_fn)(FILE *f, void *arg);
int export_with_stream(const char *path, int overwrite, xwrite_fn gen, void *arg);

/* Sample type of a group kind ("threads", "goroutine"), NULL if unknown. */
const char *export_group_type(const char *kind);

/* Group profiles in each format. */
int pprof_write_groups(const char *path, const char *kind,
		       const struct group_sample *g, size_t n,
		       const struct export_ctx *x);
int folded_write_groups(const char *path, const struct group_sample *g,
			size_t n, const struct export_ctx *x);
int text_write_cpu(const char *path, const struct export_ctx *x);
int text_write_groups(const char *path, const char *kind,
		      const struct group_sample *g, size_t n,
		      const struct export_ctx *x);

#endif
