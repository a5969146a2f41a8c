/* A profiling session: the target, the sampler, the collector thread that
 * drains, unwinds and aggregates, and the scanner thread that collects thread
 * and goroutine stack groups. The UI (TUI or batch) reads aggregates under
 * app_lock; sampling never waits for drawing longer than one report build. */
#ifndef CTOP_APP_H
#define CTOP_APP_H

#include <pthread.h>
#include <stdatomic.h>
#include "options.h"
#include "sampler.h"
#include "symbol.h"
#include "unwind.h"
#include "profile.h"
#include "report.h"
#include "threads.h"
#include "groups.h"
#include "gort.h"
#include "export.h"

struct app {
	struct options *opt;
	pid_t pid;
	char comm[64];
	pid_t child;              /* launch mode: the child we started */
	uint64_t starttime;       /* of pid (/proc stat field 22): tells the
				   * target from a process that reused its PID */

	struct sampler *sampler;
	struct symtab *symtab;
	struct unwinder *unwinder;
	struct profile *prof;
	struct threads *threads;
	struct groups *thread_groups;
	struct groups *go_groups;     /* NULL unless a Go target */
	struct gort *gort;            /* NULL unless a Go target */
	int go_checked;               /* gort_open was tried (in the scanner) */
	struct scan_stats last_scan;
	int64_t goroutines;           /* total from the last goroutine scan, -1 none */

	pthread_mutex_t lock;     /* guards everything above except opt */
	pthread_t collector, scanner;
	int have_collector, have_scanner;
	atomic_int stop;          /* ask threads to finish */
	atomic_int target_exited;
	atomic_int sampling_done; /* -d elapsed or target gone */
	uint64_t start_ns, start_wall_ns, end_ns;
	char status[256];         /* last message for the status line */
};

/* Attach (or launch) and start sampling. Returns 0, or 1 after printing one
 * error line (exit status 1). */
int app_start(struct app *a, struct options *o);
/* Stop threads, close the sampler. Keeps the aggregates for output. */
void app_finish(struct app *a);
void app_free(struct app *a);

void app_lock(struct app *a);
void app_unlock(struct app *a);
/* resolve_fn for report/export, on the app's symtab. Call with the lock held. */
const struct sym_loc *app_resolve(void *app, uint64_t pc);
/* thread_name_fn. Call with the lock held. */
const char *app_thread_name(void *app, pid_t tid);
/* Fill an export context for the current state (lock held). at_ns: the
 * moment window w is taken at (a paused display's), 0 = now. */
void app_export_ctx(struct app *a, struct export_ctx *x, enum window w,
		    const struct report_filter *f, uint64_t at_ns);
/* Write the profile of o->profile kind to path (lock taken inside); at_ns
 * as for app_export_ctx. */
int app_write(struct app *a, const char *path, enum profile_kind kind,
	      enum window w, const struct report_filter *f, int overwrite,
	      uint64_t at_ns);
/* Print the batch table for kind to stdout (lock taken inside). */
void app_print_table(struct app *a, enum profile_kind kind, FILE *out);
/* Stop reason bookkeeping: sampled time so far in ns. */
uint64_t app_elapsed_ns(struct app *a);

#endif
