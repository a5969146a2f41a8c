/* Writers of profile files. Every writer writes to a temporary name in the
 * destination directory and renames on success (no partial files); refuses to
 * follow a symlink; mode 0644. */
#ifndef CTOP_EXPORT_H
#define CTOP_EXPORT_H

#include <stdint.h>
#include <sys/types.h>
#include "profile.h"
#include "report.h"
#include "symbol.h"

/* Names of threads for the `thread` label. */
typedef const char *(*thread_name_fn)(void *ctx, pid_t tid);

struct export_ctx {
	const struct profile *prof;
	enum window window;
	uint64_t now_ns;
	const struct report_filter *filter;   /* may be NULL */
	resolve_fn resolve; void *rctx;
	/* Not read by the writers (each location's module comes with its
	 * sym_loc); left for callers that still fill it. */
	const struct sym_module *const *mods; int nmods;
	thread_name_fn thread_name; void *tctx;
	uint64_t time_nanos, duration_nanos;  /* wall start, length */
	const char *comment;                  /* "ctop-prof 0.1.0: ctop-prof -p 42 ..." */
	int overwrite;          /* 1: -o named it explicitly; 0: never replace */
};

/* A group profile (threads or goroutines): one sample per stack group. */
struct group_sample {
	const uint64_t *pcs; uint32_t n;   /* leaf first, call-site addresses */
	int64_t count;
	const char *state;                 /* label "state" */
	const char *wait;                  /* label "wait" or NULL */
};

/* Write by file suffix: .pb.gz/.pprof, .folded/.collapsed, .txt. -errno and
 * an errmsg on failure. */
/* 1 when path ends in one of those suffixes (after a non-empty name). */
int export_path_known(const char *path);
int export_cpu(const char *path, const struct export_ctx *x);
/* kind: "threads" or "goroutine". */
int export_groups(const char *path, const char *kind,
		  const struct group_sample *g, size_t n,
		  const struct export_ctx *x);

/* Low level, exposed for tests. */
int pprof_write_cpu(const char *path, const struct export_ctx *x);
int folded_write(const char *path, const struct export_ctx *x);
/* Open path for an atomic write: returns fd of a temp file; commit renames. */
int outfile_open(const char *path, int overwrite, char *tmp, size_t tmplen);
int outfile_commit(int fd, const char *tmp, const char *path, int ok);

#endif
