/* The ptrace sampler: where perf_event_open is refused (paranoid 3,
 * containers, seccomp). A private thread wakes at the sampling rate and, for
 * each thread that /proc shows running, does PTRACE_SEIZE + PTRACE_INTERRUPT,
 * reads the registers and copies 8 KiB of user stack with process_vm_readv,
 * and detaches at once. Unwinding happens later, in the collector, on the
 * copy. Nothing stays attached between samples: if ctop-prof dies, at most
 * the one thread being sampled is attached, and the kernel detaches and
 * resumes it. Cost: a stop of ~10-150 us per sampled running thread; an
 * adaptive cap keeps the target's slowdown within PTRACE_BUDGET. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sampler_impl.h"
#include "target.h"

#define PTRACE_BUDGET   0.02     /* max share of a thread's time spent stopped */
#define STACK_COPY      8192
#define QUEUE_SLOTS     512

struct slot {
	pid_t tid;
	uint64_t time_ns;
	uint64_t period_ns;     /* the interval in force when it was taken */
	uint64_t regs[CTOP_NREGS];
	uint32_t stack_size;
	uint8_t stack[STACK_COPY];
};

struct psampler {
	struct sampler base;
	pid_t pid;
	pid_t *only;            /* -t */
	int nonly;
	unsigned freq;
	atomic_uint eff_freq;
	pthread_t thread;
	int have_thread;
	atomic_int stop, gone;
	int efd;                /* eventfd: samples ready */

	pthread_mutex_t qlock;
	struct slot *q;
	size_t head, tail;      /* producer writes head, consumer reads tail */
	atomic_ullong samples, lost;
	atomic_uint nthreads;
	pid_t *late;            /* interrupted, not yet stopped: see detach_late */
	size_t nlate;
	uint64_t starttime;     /* of the target at open: a PID reused by another
				 * process has another one */
	char desc[64];
};

/* 1 while pid still names the process we opened (not a successor that got
 * the same number after it exited). */
static int same_process(struct psampler *s)
{
	struct proc_stat st;
	if (target_thread_stat(s->pid, s->pid, &st) < 0)
		return 0;
	return st.starttime == s->starttime;
}

/* A thread of pid that is not a zombie, 0 if none. */
static pid_t live_thread(pid_t pid)
{
	pid_t *tids = NULL, found = 0;
	int n = target_tasks(pid, &tids);
	for (int i = 0; i < n && !found; i++) {
		struct proc_stat st;
		if (target_thread_stat(pid, tids[i], &st) == 0 && st.state != 'Z' && st.state != 'X')
			found = tids[i];
	}
	free(tids);
	return found;
}

/* Copy up to STACK_COPY bytes from sp, stopping at the first unreadable page. */
static uint32_t copy_stack(pid_t tid, uint64_t sp, uint8_t *buf)
{
	uint32_t got = 0;
	while (got < STACK_COPY) {
		uint64_t addr = sp + got;
		size_t chunk = 4096 - (addr & 4095);
		if (chunk > STACK_COPY - got)
			chunk = STACK_COPY - got;
		struct iovec l = { buf + got, chunk }, r = { (void *)(uintptr_t)addr, chunk };
		ssize_t n = process_vm_readv(tid, &l, 1, &r, 1, 0);
		if (n <= 0)
			break;
		got += (uint32_t)n;
	}
	return got;
}

/* A signal-delivery stop means a signal for the target arrived: hand it
 * back on detach so it is delivered unchanged. An interrupt or group stop
 * (PTRACE_EVENT_STOP) carries no signal to inject. */
static int stop_signal(int st)
{
	return (st >> 16) == PTRACE_EVENT_STOP ? 0 : WSTOPSIG(st);
}

/* Wait for tid's stop, at most STOP_WAIT_NS: a thread that went into an
 * uninterruptible sleep after we saw it running only stops when the sleep
 * ends, and the sampler must not hang on it. 1 stopped, 0 not yet, -1 gone. */
#define STOP_WAIT_NS 100000000u
static int wait_stop(pid_t tid, int *st)
{
	uint64_t t0 = now_ns(), pause = 20000;
	for (;;) {
		pid_t w = waitpid(tid, st, __WALL | WNOHANG);
		if (w == tid)
			return WIFSTOPPED(*st) ? 1 : -1;
		if (w < 0 && errno != EINTR)
			return -1;
		if (now_ns() - t0 >= STOP_WAIT_NS)
			return 0;
		struct timespec ts = { 0, (long)pause };
		nanosleep(&ts, NULL);
		if (pause < 1000000)
			pause *= 2;
	}
}

/* Threads interrupted but not stopped in time: detached as soon as they
 * stop (checked every tick). Should ctop-prof exit first, the kernel
 * detaches them when this tracer thread ends, and they never stop. */
static void detach_late(struct psampler *s)
{
	size_t k = 0;
	for (size_t i = 0; i < s->nlate; i++) {
		int st;
		pid_t w = waitpid(s->late[i], &st, __WALL | WNOHANG);
		if (w == s->late[i] && WIFSTOPPED(st))
			ptrace(PTRACE_DETACH, s->late[i], 0, (void *)(uintptr_t)stop_signal(st));
		else if (w == 0)
			s->late[k++] = s->late[i];   /* still on its way to the stop */
	}
	s->nlate = k;
}

/* Stop one thread briefly and record a slot. Returns the stop time in ns,
 * 0 if the thread could not be sampled. The thread is always detached, at
 * once or (see detach_late) as soon as it stops. */
static uint64_t sample_thread(struct psampler *s, pid_t tid, struct slot *sl)
{
	uint64_t t0 = now_ns();
	if (ptrace(PTRACE_SEIZE, tid, 0, 0) < 0)
		return 0;
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0) {
		/* Seized but not stopped: the thread died; nothing to detach. */
		return 0;
	}
	int st;
	int r = wait_stop(tid, &st);
	if (r <= 0) {
		if (r == 0) {
			s->late = xrealloc(s->late, (s->nlate + 1) * sizeof *s->late);
			s->late[s->nlate++] = tid;
		}
		return 0;
	}
	int sig = stop_signal(st);
	struct user_regs_struct u;
	int ok = ptrace(PTRACE_GETREGS, tid, 0, &u) == 0;
	if (ok) {
		regs_from_ptrace(sl->regs, &u);
		sl->stack_size = copy_stack(tid, u.rsp, sl->stack);
	}
	ptrace(PTRACE_DETACH, tid, 0, (void *)(uintptr_t)sig);
	uint64_t t1 = now_ns();
	if (!ok)
		return 0;
	sl->tid = tid;
	sl->time_ns = t0;
	return t1 - t0 ? t1 - t0 : 1;
}

static int wanted(struct psampler *s, pid_t tid)
{
	if (!s->only)
		return 1;
	for (int i = 0; i < s->nonly; i++)
		if (s->only[i] == tid)
			return 1;
	return 0;
}

static void *sampler_thread(void *arg)
{
	struct psampler *s = arg;
	pid_t *tids = NULL;
	int ntids = 0;
	uint64_t last_list = 0, window_start = now_ns(), window_stop = 0, window_n = 0;
	uint64_t next = now_ns(), rng = next ^ (uint64_t)s->pid;

	while (!atomic_load(&s->stop)) {
		uint64_t t = now_ns();
		if (t - last_list >= 100000000u) {     /* follow new threads: 10 Hz */
			free(tids);
			tids = NULL;
			ntids = target_tasks(s->pid, &tids);
			/* never sample a stranger that got the target's PID */
			if (ntids > 0 && !same_process(s))
				ntids = 0;
			if (ntids <= 0) {
				ntids = 0;
				atomic_store(&s->gone, 1);
				uint64_t one = 1;
				if (write(s->efd, &one, sizeof one) < 0) { /* reader wakes anyway */ }
				break;
			}
			atomic_store(&s->nthreads, (unsigned)ntids);
			last_list = t;
		}
		if (s->nlate)
			detach_late(s);
		for (int i = 0; i < ntids && !atomic_load(&s->stop); i++) {
			struct proc_stat ps;
			if (!wanted(s, tids[i]) || target_thread_stat(s->pid, tids[i], &ps) < 0 ||
			    ps.state != 'R')
				continue;       /* sleeping threads burn no CPU */
			pthread_mutex_lock(&s->qlock);
			int full = s->head - s->tail >= QUEUE_SLOTS;
			pthread_mutex_unlock(&s->qlock);
			if (full) {
				atomic_fetch_add(&s->lost, 1);
				continue;
			}
			/* The list is up to 100 ms old: the target may have exited
			 * and its PID gone to a stranger since. Check before the
			 * stop, and drop a sample taken across such a change. */
			if (!same_process(s)) {
				ntids = 0;
				last_list = 0;  /* re-list now: that marks it gone */
				break;
			}
			struct slot *sl = &s->q[s->head % QUEUE_SLOTS];
			uint64_t cost = sample_thread(s, tids[i], sl);
			if (!cost || !same_process(s))
				continue;
			sl->period_ns = 1000000000u / atomic_load(&s->eff_freq);
			window_stop += cost;
			window_n++;
			pthread_mutex_lock(&s->qlock);
			s->head++;
			pthread_mutex_unlock(&s->qlock);
			atomic_fetch_add(&s->samples, 1);
			uint64_t one = 1;
			if (write(s->efd, &one, sizeof one) < 0) { /* counter saturated: fine */ }
		}
		/* Adaptive cap, once a second: a running thread sampled at f Hz
		 * with a mean stop of c ns loses f*c of its time. */
		t = now_ns();
		if (t - window_start >= 1000000000u && window_n) {
			double c = (double)window_stop / (double)window_n / 1e9;
			unsigned cap = (unsigned)(PTRACE_BUDGET / c);
			unsigned f = cap < s->freq ? (cap ? cap : 1) : s->freq;
			atomic_store(&s->eff_freq, f);
			window_start = t;
			window_stop = window_n = 0;
		}
		/* Jitter each interval uniformly in [0.5, 1.5) periods: a fixed
		 * period beats with periodic work in the target and biases the
		 * profile (seen: 89/11 for a true 75/25 split). */
		uint64_t period = 1000000000u / atomic_load(&s->eff_freq);
		rng = rng * 6364136223846793005u + 1442695040888963407u;
		next += period / 2 + (rng >> 33) % (period ? period : 1);
		if (next < t)
			next = t;   /* running late: do not burst to catch up */
		struct timespec ts = { (time_t)(next / 1000000000u), (long)(next % 1000000000u) };
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	free(tids);
	return NULL;
}

static int ps_wait(struct sampler *b, int timeout_ms)
{
	struct psampler *s = (struct psampler *)b;
	struct pollfd p = { s->efd, POLLIN, 0 };
	int r = poll(&p, 1, timeout_ms);
	return r < 0 ? -errno : r;
}

static int ps_drain(struct sampler *b, sample_cb cb, void *arg)
{
	struct psampler *s = (struct psampler *)b;
	uint64_t v;
	if (read(s->efd, &v, sizeof v) < 0) { /* nothing pending: fine */ }
	pthread_mutex_lock(&s->qlock);
	size_t head = s->head, tail = s->tail;
	pthread_mutex_unlock(&s->qlock);
	int n = 0;
	/* Slots between tail and head belong to us until tail moves. */
	for (; tail != head; tail++, n++) {
		struct slot *sl = &s->q[tail % QUEUE_SLOTS];
		struct raw_sample r;
		memset(&r, 0, sizeof r);
		r.pid = s->pid;
		r.tid = sl->tid;
		r.time_ns = sl->time_ns;
		r.period_ns = sl->period_ns;
		r.has_regs = 1;
		memcpy(r.regs, sl->regs, sizeof r.regs);
		r.stack = sl->stack;
		r.stack_size = sl->stack_size;
		cb(&r, arg);
	}
	pthread_mutex_lock(&s->qlock);
	s->tail = tail;
	pthread_mutex_unlock(&s->qlock);
	return n;
}

static int ps_target_gone(struct sampler *b)
{
	struct psampler *s = (struct psampler *)b;
	if (atomic_load(&s->gone))
		return 1;
	struct proc_stat st;
	if (target_thread_stat(s->pid, s->pid, &st) < 0)
		return 0;       /* the sampler thread's listing decides */
	if (st.starttime != s->starttime)
		return 1;
	if (st.state != 'Z' && st.state != 'X')
		return 0;
	/* A main thread that called pthread_exit is a zombie while the other
	 * threads run on: gone only when it is the last one. */
	return live_thread(s->pid) == 0;
}

static void ps_stats(struct sampler *b, struct sampler_stats *st)
{
	struct psampler *s = (struct psampler *)b;
	st->samples = atomic_load(&s->samples);
	st->lost = atomic_load(&s->lost);
	st->threads = atomic_load(&s->nthreads);
	st->eff_freq = atomic_load(&s->eff_freq);
}

static const char *ps_describe(struct sampler *b)
{
	struct psampler *s = (struct psampler *)b;
	snprintf(s->desc, sizeof s->desc, "ptrace %u Hz", atomic_load(&s->eff_freq));
	return s->desc;
}

static void ps_close(struct sampler *b)
{
	struct psampler *s = (struct psampler *)b;
	atomic_store(&s->stop, 1);
	if (s->have_thread)
		pthread_join(s->thread, NULL);
	close(s->efd);
	pthread_mutex_destroy(&s->qlock);
	free(s->q);
	free(s->only);
	free(s->late);
	free(s);
}

static const struct sampler_ops ptrace_ops = {
	ps_wait, ps_drain, ps_target_gone, ps_stats, ps_describe, ps_close,
};

/* Who traces pid already (TracerPid), 0 if nobody. */
static pid_t tracer_of(pid_t pid)
{
	char path[64], *buf;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (read_file(path, &buf) < 0)
		return 0;
	long t = parse_status_field(buf, "TracerPid");
	free(buf);
	return t > 0 ? (pid_t)t : 0;
}

int sampler_ptrace_open(const struct sampler_opts *o, struct sampler **out,
			char *err, size_t errlen)
{
	pid_t tracer = tracer_of(o->pid);
	if (tracer) {
		snprintf(err, errlen, "PID %d is already traced by PID %d (a debugger?); "
			 "ctop-prof will not interfere: detach it first", (int)o->pid, (int)tracer);
		return -EBUSY;
	}
	struct psampler *s = xcalloc(1, sizeof *s);
	s->base.ops = &ptrace_ops;
	s->pid = o->pid;
	s->freq = o->freq ? o->freq : 199;
	atomic_store(&s->eff_freq, s->freq);
	if (o->tids && o->ntids) {
		s->only = xmalloc(sizeof(pid_t) * (size_t)o->ntids);
		memcpy(s->only, o->tids, sizeof(pid_t) * (size_t)o->ntids);
		s->nonly = o->ntids;
	}
	s->q = xcalloc(QUEUE_SLOTS, sizeof *s->q);
	pthread_mutex_init(&s->qlock, NULL);
	s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct proc_stat pst;
	if (target_thread_stat(o->pid, o->pid, &pst) == 0)
		s->starttime = pst.starttime;

	/* Check permission up front, so the error is clear and immediate
	 * rather than silent samples missing later. Opening a live thread's
	 * /proc/.../mem takes the same access check as PTRACE_SEIZE (including
	 * Yama's) without stopping anything. */
	pid_t probe = live_thread(o->pid);
	char mem[64];
	snprintf(mem, sizeof mem, "/proc/%d/task/%d/mem", (int)o->pid, (int)probe);
	int fd = probe ? open(mem, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0) {
		int e = probe ? errno : ESRCH;
		if (e == ESRCH || e == ENOENT)
			snprintf(err, errlen, "no process with PID %d", (int)o->pid);
		else
			snprintf(err, errlen, "ptrace of PID %d refused: %s (profile your own "
				 "processes, check kernel.yama.ptrace_scope, or run as root)",
				 (int)o->pid, strerror(e));
		ps_close(&s->base);
		return -e;
	}
	close(fd);
	if (pthread_create(&s->thread, NULL, sampler_thread, s) != 0) {
		snprintf(err, errlen, "cannot start the ptrace sampler thread");
		ps_close(&s->base);
		return -EAGAIN;
	}
	s->have_thread = 1;
	*out = &s->base;
	return 0;
}
