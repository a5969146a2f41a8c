/* The periodic stack scan of every thread of the target, running or blocked.
 *
 * Per thread: PTRACE_SEIZE (does not stop it), PTRACE_INTERRUPT, wait for
 * the stop, PTRACE_GETREGS, copy the user stack from rsp, PTRACE_DETACH at
 * once. Unwinding happens after the detach, so a thread is stopped only for
 * a handful of syscalls (~5 us for a sleeper here, more when threads
 * outnumber cores). Costs kept per scan, not per thread: /proc/PID/maps is
 * read once, one stack buffer is reused, no fork/exec.
 *
 * Threads we must not or cannot stop are read without ptrace from
 * /proc/PID/task/TID/syscall, which gives the user sp and pc of a blocked
 * thread (no frame pointer or other registers, so the unwinder gets less to
 * work with):
 *  - T (group stop, e.g. SIGSTOP / ^Z): seizing would move them through
 *    a transient run state that their parent's wait() can observe; their
 *    stop state is theirs, never ours to change;
 *  - t (traced by a debugger: PTRACE_SEIZE would fail with EPERM anyway);
 *  - D (uninterruptible: PTRACE_INTERRUPT would only take effect when the
 *    sleep ends, which may be long (NFS, vfork parent), while we wait).
 * Zombies (a leader that called pthread_exit) have no user stack.
 *
 * Safety: after PTRACE_INTERRUPT every path ends in PTRACE_DETACH or in
 * the thread's death. If the stop does not arrive in time (the thread
 * entered D right after we looked), the tracee is remembered and detached
 * by the next scan or threads_refresh in the same thread (only the tracer
 * thread may detach); if ctop-prof dies, the kernel detaches it and clears
 * the pending interrupt (tests/integration/threads.sh checks that). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "target.h"
#include "threads.h"
#include "threads_int.h"

#define SCAN_STACK_MAX   (64 * 1024)
#define STOP_TIMEOUT_NS  (500 * 1000000ull)   /* per thread, then pending */

/* ---- tracees interrupted but not yet stopped -------------------------- */

struct pending { pid_t pid, tid, tracer; };
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pending *pending;
static size_t npending, pendcap;

static pid_t my_tid(void) { return (pid_t)gettid(); }

static void pending_add(pid_t pid, pid_t tid)
{
	pthread_mutex_lock(&pending_lock);
	if (npending == pendcap) {
		pendcap = pendcap ? pendcap * 2 : 16;
		pending = xrealloc(pending, pendcap * sizeof *pending);
	}
	pending[npending++] = (struct pending){ pid, tid, my_tid() };
	pthread_mutex_unlock(&pending_lock);
}

static size_t pending_count(void)
{
	pthread_mutex_lock(&pending_lock);
	size_t n = npending;
	pthread_mutex_unlock(&pending_lock);
	return n;
}

/* Signal to hand back at detach: a signal-delivery-stop carries a signal
 * the thread must still receive; our interrupt and group stops carry none.
 * (A seized tracee gets no legacy SIGTRAP on exec, so a SIGTRAP here is
 * real and is passed on too.) */
static int stop_signal(int status)
{
	if ((status >> 16) == PTRACE_EVENT_STOP)
		return 0;
	return WSTOPSIG(status);
}

/* Signal to hand back when the wait status is unknown (see wait_stop):
 * the stop's siginfo tells a signal-delivery-stop from our interrupt. */
static int stop_signal_siginfo(pid_t tid)
{
	siginfo_t si;
	if (ptrace(PTRACE_GETSIGINFO, tid, 0, &si) < 0)
		return 0;
	if ((si.si_code >> 8) == PTRACE_EVENT_STOP)
		return 0;
	return si.si_signo;
}

/* 1 when /proc shows tid in a ptrace stop. */
static int in_trace_stop(pid_t pid, pid_t tid)
{
	char path[96], buf[1024];
	struct proc_stat ps;
	snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	return threads_read_small(path, buf, sizeof buf) > 0 &&
	       parse_proc_stat(buf, &ps) == 0 && ps.state == 't';
}

/* 1: handled (detached or gone); 0: still not stopped. */
static int pending_try(pid_t pid, pid_t tid)
{
	int status;
	pid_t r = waitpid(tid, &status, __WALL | WNOHANG);
	if (r == 0) {
		/* Stopped, but its wait status went to another waiter? */
		if (in_trace_stop(pid, tid)) {
			ptrace(PTRACE_DETACH, tid, 0, (void *)(uintptr_t)stop_signal_siginfo(tid));
			return 1;
		}
		return 0;
	}
	if (r == tid && WIFSTOPPED(status)) {
		ptrace(PTRACE_DETACH, tid, 0, (void *)(uintptr_t)stop_signal(status));
		return 1;
	}
	return 1;   /* exited, or ECHILD: not our tracee any more */
}

static int thread_alive(pid_t tid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%d", (int)tid);
	return access(path, F_OK) == 0;
}

void threads_scan_reap(void)
{
	pthread_mutex_lock(&pending_lock);
	pid_t me = my_tid();
	size_t k = 0;
	for (size_t i = 0; i < npending; i++) {
		struct pending p = pending[i];
		int done;
		if (p.tracer == me)
			done = pending_try(p.pid, p.tid);
		else
			/* A tracer thread that is gone has released it. */
			done = !thread_alive(p.tracer);
		if (!done)
			pending[k++] = p;
	}
	npending = k;
	pthread_mutex_unlock(&pending_lock);
}

/* ---- stack bounds from /proc/PID/maps --------------------------------- */

struct range { uint64_t start, end; };
struct maps { struct range *r; size_t n; };

static int maps_read(pid_t pid, struct maps *m)
{
	char *buf;
	free(m->r);
	m->r = NULL;
	m->n = 0;
	ssize_t len = target_read_maps(pid, &buf);
	if (len < 0)
		return (int)len;
	size_t cap = 0;
	struct map_entry *e = xmalloc(sizeof *e);
	for (char *line = buf; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		if (parse_maps_line(line, e) == 0) {
			if (m->n == cap) {
				cap = cap ? cap * 2 : 256;
				m->r = xrealloc(m->r, cap * sizeof *m->r);
			}
			m->r[m->n++] = (struct range){ e->start, e->end };
		}
		line = nl ? nl + 1 : NULL;
	}
	free(e);
	free(buf);
	return 0;
}

/* End of the mapping containing addr (maps are sorted), 0 if none. */
static uint64_t maps_end(const struct maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (addr < m->r[mid].start)
			hi = mid;
		else if (addr >= m->r[mid].end)
			lo = mid + 1;
		else
			return m->r[mid].end;
	}
	return 0;
}

/* ---- the target's identity -------------------------------------------- */

/* A scan of many threads takes seconds on a loaded machine (1000 threads:
 * ~4 s seen). If the target exits meanwhile and its PID is reused, the rest
 * of the scan must not interrupt a stranger's threads. The target is the
 * process whose main thread started at `start` (read at scan start); a
 * pidfd taken before that read stays bound to it, and polls readable once
 * its whole thread group has exited (a zombie leader with live threads
 * does not count): one syscall per thread, no /proc parsing. Kernels
 * without pidfd_open (< 5.3) compare /proc/PID/stat's starttime instead. */
struct ident { pid_t pid; uint64_t start; int pidfd; };

static int ident_open(struct ident *id, pid_t pid)
{
	struct proc_stat ps;
	id->pid = pid;
	id->pidfd = -1;
#ifdef SYS_pidfd_open
	id->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (id->pidfd < 0 && errno == ESRCH)
		return -ESRCH;
#endif
	int r = target_thread_stat(pid, pid, &ps);
	if (r < 0) {
		if (id->pidfd >= 0)
			close(id->pidfd);
		id->pidfd = -1;
		return r == -ENOENT ? -ESRCH : r;
	}
	id->start = ps.starttime;
	return 0;
}

static void ident_close(struct ident *id)
{
	if (id->pidfd >= 0)
		close(id->pidfd);
	id->pidfd = -1;
}

/* 1 while id->pid still names the process the scan started on. */
static int ident_same(const struct ident *id)
{
	if (id->pidfd >= 0) {
		struct pollfd p = { .fd = id->pidfd, .events = POLLIN };
		int r;
		while ((r = poll(&p, 1, 0)) < 0 && errno == EINTR)
			;
		return r == 0;
	}
	struct proc_stat ps;
	return target_thread_stat(id->pid, id->pid, &ps) == 0 && ps.starttime == id->start;
}

/* ---- one thread -------------------------------------------------------- */

struct scanctx {
	pid_t pid;
	struct ident id;
	struct maps maps;
	int maps_fresh;           /* re-read at most once per scan */
	uint8_t *stack;           /* SCAN_STACK_MAX bytes, reused */
	struct unwinder *u;
	void (*lock)(void *), (*unlock)(void *);
	void *lockarg;
};

/* Copy the stack from sp up to the end of its mapping (max 64 KiB). A
 * partial copy (small stacks, a page going away) is fine: the unwinder
 * stops where the copy ends. */
static uint64_t copy_stack(struct scanctx *c, pid_t tid, uint64_t sp)
{
	if (!sp)
		return 0;
	uint64_t end = maps_end(&c->maps, sp);
	if (!end && !c->maps_fresh) {
		/* a thread created after we read the maps */
		maps_read(c->pid, &c->maps);
		c->maps_fresh = 1;
		end = maps_end(&c->maps, sp);
	}
	uint64_t len = SCAN_STACK_MAX;
	if (end && end - sp < len)
		len = end - sp;
	struct iovec local = { c->stack, (size_t)len };
	struct iovec remote = { (void *)(uintptr_t)sp, (size_t)len };
	/* process_vm_readv needs no stop and reads up to the first fault;
	 * the pid argument may be a tid. */
	ssize_t r = process_vm_readv(tid, &local, 1, &remote, 1, 0);
	if (r < 0 && end == 0) {
		/* unknown mapping: retry page by page up to the fault */
		uint64_t got = 0, step = 4096 - (sp & 4095);
		while (got < len) {
			uint64_t l = len - got < step ? len - got : step;
			struct iovec lo = { c->stack + got, (size_t)l };
			struct iovec re = { (void *)(uintptr_t)(sp + got), (size_t)l };
			if (process_vm_readv(tid, &lo, 1, &re, 1, 0) != (ssize_t)l)
				break;
			got += l;
			step = 4096;
		}
		return got;
	}
	return r < 0 ? 0 : (uint64_t)r;
}

/* Wait for tid's next ptrace stop or death without ever blocking for good
 * (a zombie leader's exit is not reported while other threads live, and a
 * thread in D does not stop until its sleep ends). 1 got status, 2 stopped
 * but the status is unknown, 0 timeout, -errno.
 * Any thread of ctop-prof that calls waitpid() on the target (launch mode:
 * it is our child) can collect the stop report in our place, so from time
 * to time /proc is asked whether the thread sits in a ptrace stop: we may
 * detach it without having seen the report. */
static int wait_stop(pid_t pid, pid_t tid, int *status, uint64_t timeout_ns)
{
	uint64_t t0 = now_ns(), delay = 5000, next_proc = 2000000;
	for (;;) {
		pid_t r = waitpid(tid, status, __WALL | WNOHANG);
		if (r == tid)
			return 1;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		uint64_t el = now_ns() - t0;
		if (el > next_proc) {
			if (in_trace_stop(pid, tid) &&
			    waitpid(tid, status, __WALL | WNOHANG) == 0)
				return 2;
			next_proc = el + 2000000;
		}
		if (el > timeout_ns)
			return 0;
		/* A sleeper stops within microseconds once it runs: yield the
		 * CPU first (it may be waiting for ours), then back off. */
		if (el < 50000) {
			sched_yield();
		} else {
			sleep_ns(delay);
			if (delay < 500000)
				delay *= 2;
		}
	}
}

enum { GOT_NONE, GOT_REGS, GOT_GONE, GOT_EPERM, GOT_TARGET_GONE };

/* Stop, read, resume. Returns GOT_*; *stop_ns is the time stopped. */
static int seize_read(struct scanctx *c, pid_t tid, uint64_t *regs,
		      uint64_t *stack_len, uint64_t *stop_ns)
{
	*stop_ns = 0;
	*stack_len = 0;
	/* Checked right before each seize: the window left for a PID reuse
	 * is a few syscalls, not the whole scan. */
	if (!ident_same(&c->id))
		return GOT_TARGET_GONE;
	if (ptrace(PTRACE_SEIZE, tid, 0, 0) < 0)
		return errno == ESRCH ? GOT_GONE : errno == EPERM ? GOT_EPERM : GOT_NONE;
	uint64_t t0 = now_ns();
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0) {
		/* Only fails when the thread is gone; it cannot have
		 * stopped for us without an interrupt. */
		int status;
		if (waitpid(tid, &status, __WALL | WNOHANG) == tid && WIFSTOPPED(status))
			ptrace(PTRACE_DETACH, tid, 0, (void *)(uintptr_t)stop_signal(status));
		else
			ptrace(PTRACE_DETACH, tid, 0, 0);
		return GOT_GONE;
	}
	int status = 0;
	int w = wait_stop(c->pid, tid, &status, STOP_TIMEOUT_NS);
	if (w == 0) {
		dbg("scan: thread %d did not stop within %llu ms; detaching later",
		    (int)tid, (unsigned long long)(STOP_TIMEOUT_NS / 1000000));
		pending_add(c->pid, tid);
		*stop_ns = now_ns() - t0;
		return GOT_NONE;
	}
	if (w < 0 || (w == 1 && !WIFSTOPPED(status)))
		return GOT_GONE;       /* exited (or reaped): nothing to detach */
	int sig = w == 2 ? stop_signal_siginfo(tid) : stop_signal(status);
	if (sig)
		dbg("scan: thread %d stopped for signal %d; passing it on", (int)tid, sig);
	int ret = GOT_NONE;
	struct user_regs_struct ur;
	if (ptrace(PTRACE_GETREGS, tid, 0, &ur) == 0) {
		regs_from_ptrace(regs, &ur);
		*stack_len = copy_stack(c, tid, ur.rsp);
		ret = GOT_REGS;
	}
	ptrace(PTRACE_DETACH, tid, 0, (void *)(uintptr_t)sig);
	*stop_ns = now_ns() - t0;
	return ret;
}

static void do_unwind(struct scanctx *c, pid_t tid, const uint64_t *regs,
		      uint64_t stack_len, struct scanned_thread *out)
{
	struct raw_sample s;
	memset(&s, 0, sizeof s);
	s.pid = c->pid;
	s.tid = tid;
	s.time_ns = now_ns();
	s.has_regs = 1;
	memcpy(s.regs, regs, sizeof s.regs);
	s.stack = c->stack;
	s.stack_size = stack_len;
	int n = 0;
	if (c->u) {
		if (c->lock)
			c->lock(c->lockarg);
		n = unwind_sample(c->u, &s, out->pcs, CTOP_MAX_FRAMES);
		if (c->unlock)
			c->unlock(c->lockarg);
	}
	if (n <= 0 && regs[CTOP_REG_IP]) {
		out->pcs[0] = regs[CTOP_REG_IP];   /* at least the leaf */
		n = 1;
	}
	out->n = (uint32_t)(n < 0 ? 0 : n);
}

int threads_scan(pid_t pid, struct unwinder *u, void (*lock)(void *),
		 void (*unlock)(void *), void *lockarg,
		 struct scanned_thread **out, struct scan_stats *st)
{
	struct scan_stats stats;
	memset(&stats, 0, sizeof stats);
	uint64_t t_start = now_ns();
	*out = NULL;
	if (st)
		*st = stats;
	if (pid <= 0 || pid == getpid())
		return -EINVAL;

	threads_scan_reap();
	struct scanctx c = { .pid = pid, .u = u, .lock = lock, .unlock = unlock,
			     .lockarg = lockarg };
	int r = ident_open(&c.id, pid);
	if (r < 0)
		return r;
	pid_t *tids = NULL;
	int ntids = target_tasks(pid, &tids);
	if (ntids < 0) {
		ident_close(&c.id);
		return ntids == -ENOENT ? -ESRCH : ntids;
	}

	c.stack = xmalloc(SCAN_STACK_MAX);
	maps_read(pid, &c.maps);
	struct scanned_thread *res = xcalloc((size_t)ntids + 1, sizeof *res);
	int n = 0, gone = 0;

	for (int i = 0; i < ntids; i++) {
		pid_t tid = tids[i];
		char path[96], buf[4096];
		struct proc_stat ps;
		snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
		if (threads_read_small(path, buf, sizeof buf) <= 0 ||
		    parse_proc_stat(buf, &ps) < 0)
			continue;                  /* exited meanwhile */
		/* No thread of the target is older than its main thread: an
		 * older one is not ours (the PID was reused meanwhile). */
		if (ps.starttime < c.id.start)
			continue;
		struct scanned_thread *t = &res[n];
		t->tid = tid;
		t->state = ps.state;
		t->n = 0;
		t->wait[0] = 0;
		long nr = -1;
		uint64_t sp = 0, pc = 0;
		threads_read_wait(pid, tid, ps.state, t->wait, sizeof t->wait, &nr, &sp, &pc);
		if (!t->wait[0] && nr >= 0) {
			const char *name = threads_syscall_name(nr);
			if (name)
				snprintf(t->wait, sizeof t->wait, "%s", name);
		}
		if (ps.state == 'Z' || ps.state == 'X') {
			n++;                       /* no user stack to read */
			continue;
		}
		uint64_t regs[CTOP_NREGS];
		uint64_t len = 0, stop = 0;
		int got = GOT_NONE;
		if (ps.state != 'T' && ps.state != 't' && ps.state != 'D') {
			got = seize_read(&c, tid, regs, &len, &stop);
			/* EPERM: traced by someone else. When that is our own
			 * ptrace sampler it lets go within microseconds. */
			for (int k = 0; got == GOT_EPERM && k < 3; k++) {
				sleep_ns(50000);
				got = seize_read(&c, tid, regs, &len, &stop);
			}
			if (got == GOT_TARGET_GONE) {
				dbg("scan: pid %d exited during the scan; scan dropped", (int)pid);
				gone = 1;
				break;
			}
			if (got == GOT_GONE)
				continue;
			if (stop > stats.max_stop_ns)
				stats.max_stop_ns = stop;
			stats.sum_stop_ns += stop;
		}
		if (got != GOT_REGS && sp && pc) {
			/* Not stopped by us: the user sp/pc the kernel saved for
			 * this blocked thread; its stack does not move while it
			 * blocks, so reading it without a stop is consistent. */
			memset(regs, 0, sizeof regs);
			regs[CTOP_REG_SP] = sp;
			regs[CTOP_REG_IP] = pc;
			len = copy_stack(&c, tid, sp);
			got = GOT_REGS;
		}
		if (got == GOT_REGS)
			do_unwind(&c, tid, regs, len, t);
		if (t->n == 0)
			stats.failed++;
		n++;
	}
	/* Give stragglers one more chance in this scan. */
	for (int k = 0; k < 20 && pending_count(); k++) {
		threads_scan_reap();
		if (pending_count())
			sleep_ns(5000000);
	}
	stats.threads = (unsigned)n;
	stats.total_ns = now_ns() - t_start;
	dbg("scan: pid %d: %u threads, %u without stack, total %.3f ms, "
	    "max stop %.1f us, mean stop %.1f us", (int)pid, stats.threads,
	    stats.failed, stats.total_ns / 1e6, stats.max_stop_ns / 1e3,
	    n ? stats.sum_stop_ns / 1e3 / n : 0.0);
	ident_close(&c.id);
	free(c.maps.r);
	free(c.stack);
	free(tids);
	if (gone) {
		free(res);
		return -ESRCH;
	}
	if (st)
		*st = stats;
	*out = res;
	return n;
}
