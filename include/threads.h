/* Per-thread state of the target (as htop's thread view shows it) and the
 * periodic stack scan of every thread, running or blocked. */
#ifndef CTOP_THREADS_H
#define CTOP_THREADS_H

#include <stdint.h>
#include <sys/types.h>
#include "unwind.h"

struct thread_info {
	pid_t tid;
	char name[64];
	char state;               /* R S D T t Z ... */
	double cpu_pct;           /* htop's: delta(utime+stime) / delta(wall) */
	uint64_t vcsw, nvcsw;     /* voluntary / involuntary context switches */
	char wchan[64];           /* kernel wait channel, "" if none/unknown */
	long syscall;             /* current syscall number, -1 running / unknown */
	int alive;                /* 0: exited since the last refresh */
};

struct threads;
struct threads *threads_new(pid_t pid);
void threads_free(struct threads *t);
/* Re-read /proc/PID/task/ *. Returns number of live threads or -errno. */
int threads_refresh(struct threads *t, uint64_t now_ns);
/* The same in two steps, so that a caller's lock is held only for the merge:
 * collect reads /proc into a private snapshot (it uses only t's pid, so it
 * may run unlocked while others read t; call it from the scanning thread:
 * it also detaches what an earlier scan left interrupted); commit merges
 * the snapshot into t, frees it, and returns what threads_refresh does. */
struct threads_snap;
struct threads_snap *threads_refresh_collect(const struct threads *t, uint64_t now_ns);
int threads_refresh_commit(struct threads *t, struct threads_snap *s);
void threads_snap_free(struct threads_snap *s);   /* a snapshot not committed */
/* Current table (alive threads first, by tid). Valid until next refresh. */
const struct thread_info *threads_list(struct threads *t, int *n);
/* Name of a thread, also for threads that have exited ("" if never seen). */
const char *threads_name(struct threads *t, pid_t tid);

/* One thread's stack as collected by a scan. */
struct scanned_thread {
	pid_t tid;
	char state;
	char wait[64];            /* wchan, or syscall name, "" if running */
	uint32_t n;
	uint64_t pcs[CTOP_MAX_FRAMES];
};
struct scan_stats {
	unsigned threads;         /* threads found (entries returned) */
	unsigned failed;          /* of those, without any stack (n == 0):
				   * e.g. running under another tracer (zombies,
				   * which have no user stack, do not count) */
	uint64_t total_ns;        /* wall time of the whole scan */
	uint64_t max_stop_ns;     /* longest time any thread was stopped */
	uint64_t sum_stop_ns;
};
/* Collect the user stack of every thread (PTRACE_SEIZE + PTRACE_INTERRUPT,
 * regs + stack copy, detach at once; a thread is never left stopped).
 * The unwind callback runs after the thread is resumed. Returns count or
 * -errno; *out malloc'ed. lock/unlock (may be NULL) guard the unwinder. */
int threads_scan(pid_t pid, struct unwinder *u, void (*lock)(void *),
		 void (*unlock)(void *), void *lockarg,
		 struct scanned_thread **out, struct scan_stats *st);

/* Detach the threads an earlier threads_scan of this calling thread had to
 * leave interrupted (they did not stop in time, see scan.c). Cheap when
 * there are none; the scanning thread calls it between scans so such a
 * thread is not kept stopped until the next scan or refresh. */
void threads_scan_reap(void);

/* x86-64 system call name ("read", "futex"), NULL if unknown. */
const char *threads_syscall_name(long nr);

#endif
