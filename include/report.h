/* Function-level view of a profile for the views and text outputs: applies
 * the window, thread restriction and pprof-style filters, symbolizes through
 * a resolver callback, and derives the top table, call tree, callers/callees
 * (peek), flame graph layout and per-line source counts. Pure given the
 * resolver, so it is unit-tested with a fake one. */
#ifndef CTOP_REPORT_H
#define CTOP_REPORT_H

#include <stdint.h>
#include <sys/types.h>
#include "profile.h"
#include "symbol.h"

typedef const struct sym_loc *(*resolve_fn)(void *ctx, uint64_t pc);

struct report_filter {
	const char *focus;      /* regex: keep stacks with a frame matching */
	const char *ignore;     /* regex: drop stacks with a frame matching */
	const char *hide;       /* regex: elide matching frames */
	pid_t tid;              /* 0 = all threads */
};

/* The filters compiled once, shared by the report and the writers of
 * src/export, so that a saved file holds what the views show. pprof's
 * semantics on function names only (not files or modules): a stack with an
 * `ignore` frame is dropped; with `focus` set, a stack without a focus frame
 * is dropped (both judged on every frame, before hiding); `hide` elides
 * frames, and a stack left without frames is dropped. */
enum { REPORT_FOCUS = 1, REPORT_IGNORE = 2, REPORT_HIDE = 4 };
struct report_match;
/* *out = NULL when f sets no pattern (then every name gets 0 and every
 * non-empty stack is kept). Returns 0, or -EINVAL with *err (a thread-local
 * static string naming the filter) when a regex does not compile. */
int report_match_new(const struct report_filter *f, struct report_match **out,
		     const char **err);
void report_match_free(struct report_match *m);
/* REPORT_* bits of the patterns that match name (m may be NULL). */
unsigned report_match_name(const struct report_match *m, const char *name);
/* The stack rule: 1 keep, 0 drop, for a stack whose frames' bits OR to
 * `seen` and that has `left` frames after hiding. */
int report_match_keep(const struct report_match *m, unsigned seen, size_t left);

struct rfunc {
	const char *name;       /* function name (inline frames are functions too) */
	const char *module;     /* module basename or "" */
	const char *file;       /* may be NULL */
	int line;               /* the line with most samples in this function */
	int start_line;
	uint64_t flat, cum;
};

struct report;

/* Builds the report. Returns NULL and sets *err (static string) when a
 * filter regex does not compile. */
struct report *report_build(const struct profile *p, enum window w,
			    uint64_t now_ns, const struct report_filter *f,
			    resolve_fn resolve, void *rctx, const char **err);
void report_free(struct report *r);

uint64_t report_total(const struct report *r);      /* samples after filters */
uint32_t report_nfuncs(const struct report *r);
const struct rfunc *report_func(const struct report *r, uint32_t id);

enum sort_key { SORT_FLAT, SORT_FLAT_PCT, SORT_CUM, SORT_CUM_PCT, SORT_NAME, SORT_COUNT };
/* Function ids sorted by key (descending counts, ascending name); n = nfuncs.
 * Malloc'ed; the caller frees it. Only functions with samples are listed
 * (ids 0..nfuncs-1 all have cum > 0). */
uint32_t *report_sorted(const struct report *r, enum sort_key key);

/* Callers and callees of one function (pprof peek). Arrays malloc'ed (also
 * when empty); sorted by count, descending. Counted once per stack; direct
 * recursion (f calling f) is not an edge. */
struct redge { uint32_t func; uint64_t count; };
void report_peek(const struct report *r, uint32_t func,
		 struct redge **callers, uint32_t *ncallers,
		 struct redge **callees, uint32_t *ncallees);

/* Call tree, root first (inverted: leaf first). Node 0 is a synthetic root
 * holding the total. Children are sorted by total, descending. Nodes are
 * numbered in preorder (a node's first child is node+1). Built on first call
 * and owned by the report; needs no resolver, so it can run unlocked. */
struct rnode {
	uint32_t func;          /* UINT32_MAX for the root */
	uint32_t parent, first_child, next_sibling;   /* UINT32_MAX = none */
	uint64_t self, total;
};
const struct rnode *report_tree(struct report *r, int inverted, uint32_t *n);

/* Flame graph layout of the (non-inverted) tree below node `zoom` (0 = all)
 * in a width-column area: one box per node wider than 0 columns. depth 0 is
 * the bottom row. Children left to right by function name (stable across
 * refreshes); boxes in preorder. Returns the box count (*boxes malloc'ed,
 * caller frees) or -EINVAL for a bad zoom node or width. */
struct flame_box { uint32_t node; int depth, x, w; };
int flame_layout(struct report *r, uint32_t zoom, int width,
		 struct flame_box **boxes);

/* Samples per source line of one function (pprof list), ascending lines,
 * unknown line 0 left out. Returns the row count (*lines malloc'ed) or
 * -EINVAL; *file = the function's file (NULL if unknown). */
struct rline { int line; uint64_t flat, cum; };
int report_lines(const struct report *r, uint32_t func, const char **file,
		 struct rline **lines);

/* Text table, as `pprof -top` prints it (header line + rows), to f.
 * Rows: flat flat% sum% cum cum% name module file:line, sorted by flat;
 * max_rows <= 0 = all. name is field 6 but may contain spaces (C++). */
#include <stdio.h>
void report_print_top(const struct report *r, FILE *f, int max_rows);
/* Writes s with control characters as '?': names come from the target's
 * binaries and must not carry terminal escapes or line breaks into text
 * output. */
void report_put_clean(FILE *f, const char *s);

#endif
