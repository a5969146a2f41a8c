/* perf_event_open sampler.
 *
 * One software cpu-clock event per (thread, cpu), all events of a cpu
 * redirected (PERF_EVENT_IOC_SET_OUTPUT) into one mmap'ed ring per cpu.
 * With -p the events are opened with inherit=1 (inherit_thread where the
 * kernel has it): threads created later inherit the event from birth and
 * write into the parent's ring, so even short-lived threads are sampled and
 * nothing has to poll /proc. Threads born during the attach loop from a
 * thread we had not reached yet are found by a fix-up pass (see
 * attach_fixup). Per-thread mmaps (cpu=-1) cannot be combined with inherit.
 *
 * Each ring is owned by a dummy event on our own process: an event whose
 * task exits reports POLLHUP forever, so the thread that happens to come
 * first must not own the ring.
 *
 * hrtimer software events ignore frequency mode: freq becomes a fixed
 * period of 1e9/freq ns, which is also the CPU time each sample stands for.
 * No hardware cycles: their period is in cycles, not CPU time, and VMs
 * often have no PMU at all. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "perfrec.h"
#include "sampler_impl.h"
#include "target.h"

#define STACK_USER_BYTES 8192   /* as perf: enough for most leaf chains */
#define MAX_RECORD 65536        /* perf_event_header.size is 16 bits */
#define GONE_POLL_NS 250000000u /* target_gone reads /proc at most this often */

struct ring {
	int fd;                 /* dummy event on ourselves, owns the buffer */
	struct perf_event_mmap_page *meta;
	uint8_t *data;
	uint64_t size;          /* data bytes, power of two */
	size_t map_len;
};

struct tidset {
	pid_t *v;
	size_t n, cap;
};

struct perf_sampler {
	struct sampler base;
	pid_t pid;
	int follow;             /* -p: inherit + fix-up; -t: fixed tids */
	pid_t *fixed;           /* -t tids */
	int nfixed;
	int ncpu;
	int *cpus;
	struct ring *rings;
	struct pollfd *pfds;
	int *efds;              /* (thread, cpu) events */
	size_t nefd, cap_efd;
	struct tidset attached;
	struct perf_event_attr attr;
	struct perfrec_fmt fmt;
	uint32_t max_stack;     /* FP: kernel callchain depth limit */
	uint8_t *scratch;       /* records that wrap around the ring end */
	unsigned freq;
	uint64_t samples, lost, malformed, foreign;
	unsigned threads;
	uint64_t threads_at;    /* when threads was counted */
	uint64_t gone_at;       /* last /proc look in target_gone */
	int gone;               /* target_gone said 1 */
	uint64_t starttime;     /* of the target at open: tells a successor that
				 * got the same PID from the target */
	char desc[64];
};

static const struct sampler_ops perf_ops;

static int perf_open_event(struct perf_event_attr *a, pid_t tid, int cpu)
{
	int fd = (int)syscall(SYS_perf_event_open, a, tid, cpu, -1,
			      PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* ---- small helpers ------------------------------------------------------ */

static int tidset_has(const struct tidset *s, pid_t t)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->v[mid] == t)
			return 1;
		if (s->v[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static void tidset_add(struct tidset *s, pid_t t)
{
	if (tidset_has(s, t))
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = xrealloc(s->v, s->cap * sizeof *s->v);
	}
	size_t i = s->n;
	while (i > 0 && s->v[i - 1] > t) {
		s->v[i] = s->v[i - 1];
		i--;
	}
	s->v[i] = t;
	s->n++;
}

static int task_exists(pid_t pid, pid_t tid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task/%d", (int)pid, (int)tid);
	return access(path, F_OK) == 0;
}

/* 1 if the thread has been on a cpu at least once, 0 if not yet, -1 if it
 * is gone, 2 if the kernel does not tell (no schedstat). */
static int task_has_run(pid_t pid, pid_t tid)
{
	char path[80], *buf = NULL;
	snprintf(path, sizeof path, "/proc/%d/task/%d/schedstat", (int)pid, (int)tid);
	ssize_t r = read_file(path, &buf);
	if (r < 0) {
		free(buf);
		return task_exists(pid, tid) ? 2 : -1;
	}
	unsigned long long run, wait, slices;
	int ok = sscanf(buf, "%llu %llu %llu", &run, &wait, &slices) == 3;
	free(buf);
	if (!ok)
		return 2;
	return slices > 0 || run > 0;
}

/* Online cpus from /sys ("0-3,6"), or 0..nconf-1. */
static int online_cpus(int **out)
{
	char *buf = NULL;
	long nconf = sysconf(_SC_NPROCESSORS_CONF);
	if (nconf < 1)
		nconf = 1;
	int *v = xcalloc((size_t)nconf + 1, sizeof *v);
	int n = 0;
	if (read_file("/sys/devices/system/cpu/online", &buf) > 0) {
		char *p = buf;
		while (*p && *p != '\n') {
			char *end;
			long a = strtol(p, &end, 10), b = a;
			if (end == p)
				break;
			p = end;
			if (*p == '-') {
				b = strtol(p + 1, &end, 10);
				p = end;
			}
			for (long c = a; c <= b && n < nconf; c++)
				v[n++] = (int)c;
			if (*p == ',')
				p++;
		}
	}
	free(buf);
	if (n == 0)
		for (n = 0; n < nconf; n++)
			v[n] = n;
	*out = v;
	return n;
}

static unsigned read_sysctl_uint(const char *path, unsigned dflt)
{
	char *buf = NULL;
	unsigned v = dflt;
	if (read_file(path, &buf) > 0) {
		char *end;
		long x = strtol(buf, &end, 10);
		if (end != buf)
			v = (unsigned)x;
	}
	free(buf);
	return v;
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void refused_msg(int err, char *buf, size_t len)
{
	char *p = NULL;
	char val[32] = "unknown";
	if (read_file("/proc/sys/kernel/perf_event_paranoid", &p) > 0) {
		p[strcspn(p, "\n")] = 0;
		snprintf(val, sizeof val, "%s", p);
	}
	free(p);
	snprintf(buf, len,
		 "perf_event_open refused (%s), kernel.perf_event_paranoid=%s: "
		 "run as root, or `setcap cap_perfmon,cap_sys_ptrace+ep ctop-prof`, "
		 "or `sysctl kernel.perf_event_paranoid=1`, or use --sampler ptrace",
		 strerror(err), val);
}

/* ---- rings -------------------------------------------------------------- */

static uint64_t pow2_floor(uint64_t x)
{
	uint64_t p = 1;
	while (p * 2 <= x)
		p *= 2;
	return p;
}

/* Open the dummy event owning cpu's ring and map the ring. Shrinks *pages
 * on EPERM/ENOMEM (locked-memory budget) down to min_pages. The ring's
 * wakeup watermark (a quarter) comes from the owner's attr, so the dummy is
 * reopened for each size tried. */
static int ring_open(struct perf_sampler *ps, struct ring *r, int cpu,
		     unsigned *pages, unsigned min_pages)
{
	struct perf_event_attr a;
	long pg = sysconf(_SC_PAGESIZE);
	memset(&a, 0, sizeof a);
	a.size = sizeof a;
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_DUMMY;
	a.sample_type = PERF_SAMPLE_IP;   /* never samples; must pass attr checks */
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	a.use_clockid = 1;      /* SET_OUTPUT requires the same clock */
	a.clockid = CLOCK_MONOTONIC;
	a.watermark = 1;
	for (;;) {
		size_t len = (size_t)(*pages + 1) * (size_t)pg;
		a.wakeup_watermark = (uint32_t)((size_t)*pages * (size_t)pg / 4);
		int fd = perf_open_event(&a, getpid(), cpu);
		if (fd < 0)
			return fd;
		void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m != MAP_FAILED) {
			r->fd = fd;
			r->meta = m;
			r->data = (uint8_t *)m + pg;
			r->size = (uint64_t)*pages * (uint64_t)pg;
			r->map_len = len;
			return 0;
		}
		int e = errno;
		close(fd);
		if ((e == EPERM || e == ENOMEM) && *pages / 2 >= min_pages) {
			*pages /= 2;
			continue;
		}
		return -e;
	}
}

/* Call fn for every complete record between tail and head. Records that
 * wrap around the end are copied into scratch. Returns the new tail. When
 * consume is set, data_tail is released after each record so the kernel can
 * reuse the space while we work. */
typedef void (*rec_fn)(struct perf_sampler *ps, const void *rec, size_t len,
		       void *arg);

static void ring_walk(struct perf_sampler *ps, struct ring *r, int consume,
		      rec_fn fn, void *arg)
{
	uint64_t head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = r->meta->data_tail;
	uint64_t mask = r->size - 1;
	while (head - tail >= sizeof(struct perf_event_header)) {
		struct perf_event_header h;
		uint64_t off = tail & mask;
		/* records are 8-byte aligned and the ring a power of two: a
		 * header never straddles the end */
		memcpy(&h, r->data + off, sizeof h);
		if (h.size < sizeof h || h.size > head - tail || (h.size & 7)) {
			/* cannot happen with a sane kernel; resync at head */
			ps->malformed++;
			tail = head;
			break;
		}
		const void *rec;
		if (off + h.size <= r->size) {
			rec = r->data + off;
		} else {
			uint64_t first = r->size - off;
			memcpy(ps->scratch, r->data + off, first);
			memcpy(ps->scratch + first, r->data, h.size - first);
			rec = ps->scratch;
		}
		fn(ps, rec, h.size, arg);
		tail += h.size;
		if (consume)
			__atomic_store_n(&r->meta->data_tail, tail, __ATOMIC_RELEASE);
	}
	if (consume)
		__atomic_store_n(&r->meta->data_tail, tail, __ATOMIC_RELEASE);
}

/* ---- attach ------------------------------------------------------------- */

/* Open one event per cpu on tid. 0, -ESRCH (thread gone), or -errno. */
static int attach_tid(struct perf_sampler *ps, pid_t tid)
{
	size_t first = ps->nefd;
	for (int i = 0; i < ps->ncpu; i++) {
		int fd = perf_open_event(&ps->attr, tid, ps->cpus[i]);
		if (fd == -EINVAL && ps->attr.inherit_thread) {
			/* kernel before 5.13: no inherit_thread; child processes
			 * of the target then inherit too and are filtered by pid */
			ps->attr.inherit_thread = 0;
			fd = perf_open_event(&ps->attr, tid, ps->cpus[i]);
		}
		if (fd == -EOVERFLOW && ps->attr.sample_max_stack) {
			ps->attr.sample_max_stack = 0;  /* kernel default depth */
			fd = perf_open_event(&ps->attr, tid, ps->cpus[i]);
		}
		if (fd >= 0 && ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, ps->rings[i].fd) < 0) {
			int e = errno;
			close(fd);
			fd = -e;
		}
		if (fd < 0) {
			while (ps->nefd > first)
				close(ps->efds[--ps->nefd]);
			return fd;
		}
		if (ps->nefd == ps->cap_efd) {
			ps->cap_efd = ps->cap_efd ? 2 * ps->cap_efd : 64;
			ps->efds = xrealloc(ps->efds, ps->cap_efd * sizeof *ps->efds);
		}
		ps->efds[ps->nefd++] = fd;
	}
	tidset_add(&ps->attached, tid);
	return 0;
}

static void note_fork(struct perf_sampler *ps, const void *rec, size_t len,
		      void *arg)
{
	struct tidset *born = arg;
	struct perfrec pr;
	if (len < sizeof(struct perf_event_header) ||
	    ((const struct perf_event_header *)rec)->type != PERF_RECORD_FORK)
		return;
	if (perfrec_decode(&ps->fmt, rec, len, &pr) == 0 &&
	    pr.u.task.pid == (uint32_t)ps->pid)
		tidset_add(born, (pid_t)pr.u.task.tid);
}

/* Threads that appeared while we attached, created by a thread we had not
 * reached yet, did not inherit anything. Those born of an attached thread
 * did, and the kernel wrote a FORK record for them (attr.task) before the
 * new thread could first run. So a thread seen to have run *before* we look
 * at the rings, and without a FORK record there, is uncovered and gets its
 * own events; one that has not run yet is looked at again a moment later.
 * Rings are only peeked at here; drain delivers their samples later. */
static int attach_fixup(struct perf_sampler *ps)
{
	struct tidset born = {0};
	int rc = 0;
	for (int round = 0; round < 200 && !rc; round++) {
		pid_t *tids = NULL;
		int pending = 0, added = 0, m = 0;
		int n = target_tasks(ps->pid, &tids);
		if (n < 0)
			break;
		/* keep the candidates that have run, in place */
		for (int i = 0; i < n; i++) {
			pid_t t = tids[i];
			if (tidset_has(&ps->attached, t) || tidset_has(&born, t))
				continue;
			int run = task_has_run(ps->pid, t);
			if (run < 0)
				continue;
			if (run == 0 || (run == 2 && round < 3)) {
				pending++;
				continue;
			}
			tids[m++] = t;
		}
		for (int i = 0; m && i < ps->ncpu; i++)
			ring_walk(ps, &ps->rings[i], 0, note_fork, &born);
		for (int i = 0; i < m; i++) {
			if (tidset_has(&born, tids[i]))
				continue;
			int r = attach_tid(ps, tids[i]);
			if (r == 0) {
				added++;
				dbg("perf: thread %d born during attach, attached",
				    (int)tids[i]);
			} else if (r != -ESRCH) {
				rc = r;
				break;
			}
		}
		free(tids);
		if (!pending && !added)
			break;
		if (pending) {
			struct timespec ts = { 0, 2000000 };
			nanosleep(&ts, NULL);
		}
	}
	free(born.v);
	return rc;
}

/* ---- ops ---------------------------------------------------------------- */

static int perf_wait(struct sampler *s, int timeout_ms)
{
	struct perf_sampler *ps = (struct perf_sampler *)s;
	for (int i = 0; i < ps->ncpu; i++) {
		struct ring *r = &ps->rings[i];
		if (__atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE) -
		    r->meta->data_tail >= r->size / 4)
			return 1;
	}
	int n = poll(ps->pfds, (nfds_t)ps->ncpu, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n > 0;
}

struct drain_ctx {
	sample_cb cb;
	void *arg;
	int n;
};

static void on_record(struct perf_sampler *ps, const void *rec, size_t len,
		      void *arg)
{
	struct drain_ctx *d = arg;
	struct perfrec pr;
	if (perfrec_decode(&ps->fmt, rec, len, &pr) != 0) {
		ps->malformed++;
		return;
	}
	switch (pr.kind) {
	case PERFREC_SAMPLE:
		/* with plain inherit (old kernels) forked children of the
		 * target write into our rings too */
		if (pr.u.sample.pid != ps->pid) {
			ps->foreign++;
			return;
		}
		if (ps->max_stack && pr.u.sample.nr_ips &&
		    perfrec_user_ips(pr.u.sample.ips, pr.u.sample.nr_ips) >= ps->max_stack)
			pr.u.sample.ips_truncated = 1;
		ps->samples++;
		d->n++;
		d->cb(&pr.u.sample, d->arg);
		return;
	case PERFREC_LOST:
		ps->lost += pr.u.lost;
		return;
	default:
		return;
	}
}

static int perf_drain(struct sampler *s, sample_cb cb, void *arg)
{
	struct perf_sampler *ps = (struct perf_sampler *)s;
	struct drain_ctx d = { cb, arg, 0 };
	for (int i = 0; i < ps->ncpu; i++)
		ring_walk(ps, &ps->rings[i], 1, on_record, &d);
	return d.n;
}

/* What /proc says: a zombie, a PID that names another process now, or no
 * -t thread left. 1 gone, 0 not. */
static int target_gone_proc(struct perf_sampler *ps)
{
	char path[64], *buf = NULL;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)ps->pid);
	if (read_file(path, &buf) < 0) {
		free(buf);
		return 1;
	}
	/* state follows the last ')' (comm may contain anything) */
	const char *p = strrchr(buf, ')');
	int zombie = p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
	/* the PID now names another process (the target exited and the
	 * number was reused): gone, whatever that process does */
	struct proc_stat st;
	int other = ps->starttime && parse_proc_stat(buf, &st) == 0 &&
		    st.starttime != ps->starttime;
	free(buf);
	if (other)
		return 1;
	if (zombie) {
		/* a main thread that called pthread_exit is a zombie while the
		 * other threads go on: gone only when it is the last one */
		pid_t *t = NULL;
		int n = target_tasks(ps->pid, &t);
		int others = 0;
		for (int i = 0; i < n; i++)
			others += t[i] != ps->pid;
		free(t);
		if (!others)
			return 1;
	}
	if (!ps->follow) {
		for (int i = 0; i < ps->nfixed; i++)
			if (task_exists(ps->pid, ps->fixed[i]))
				return 0;
		return 1;
	}
	return 0;
}

static int perf_target_gone(struct sampler *s)
{
	struct perf_sampler *ps = (struct perf_sampler *)s;
	if (ps->gone)
		return 1;       /* a target that is gone stays gone */
	if (kill(ps->pid, 0) < 0 && errno == ESRCH)
		return ps->gone = 1;
	/* The collector asks after every wakeup (~20 a second); reading
	 * /proc each time was half of its CPU on a busy target. A zombie or
	 * a reused PID is noticed within GONE_POLL_NS instead. */
	uint64_t now = now_ns();
	if (ps->gone_at && now - ps->gone_at < GONE_POLL_NS)
		return 0;
	ps->gone_at = now;
	return ps->gone = target_gone_proc(ps);
}

static unsigned count_threads(struct perf_sampler *ps)
{
	if (!ps->follow) {
		unsigned n = 0;
		for (int i = 0; i < ps->nfixed; i++)
			n += task_exists(ps->pid, ps->fixed[i]);
		return n;
	}
	pid_t *t = NULL;
	int n = target_tasks(ps->pid, &t);
	free(t);
	return n < 0 ? 0 : (unsigned)n;
}

static void perf_get_stats(struct sampler *s, struct sampler_stats *st)
{
	struct perf_sampler *ps = (struct perf_sampler *)s;
	uint64_t now = now_ns();
	/* every thread of the target is sampled (inherit covers new ones):
	 * the live count from /proc, refreshed at most twice a second */
	if (now - ps->threads_at > 500000000u) {
		ps->threads = count_threads(ps);
		ps->threads_at = now;
	}
	memset(st, 0, sizeof *st);
	st->samples = ps->samples;
	st->lost = ps->lost + ps->malformed;
	st->threads = ps->threads;
	st->eff_freq = ps->freq;
}

static const char *perf_describe(struct sampler *s)
{
	return ((struct perf_sampler *)s)->desc;
}

static void perf_close(struct sampler *s)
{
	struct perf_sampler *ps = (struct perf_sampler *)s;
	for (size_t i = 0; i < ps->nefd; i++)
		close(ps->efds[i]);
	for (int i = 0; ps->rings && i < ps->ncpu; i++) {
		if (ps->rings[i].meta)
			munmap(ps->rings[i].meta, ps->rings[i].map_len);
		if (ps->rings[i].fd >= 0)
			close(ps->rings[i].fd);
	}
	dbg("perf: %llu samples, %llu lost, %llu malformed, %llu of other processes",
	    (unsigned long long)ps->samples, (unsigned long long)ps->lost,
	    (unsigned long long)ps->malformed, (unsigned long long)ps->foreign);
	free(ps->efds);
	free(ps->rings);
	free(ps->pfds);
	free(ps->cpus);
	free(ps->fixed);
	free(ps->attached.v);
	free(ps->scratch);
	free(ps);
}

static const struct sampler_ops perf_ops = {
	.wait = perf_wait,
	.drain = perf_drain,
	.target_gone = perf_target_gone,
	.get_stats = perf_get_stats,
	.describe = perf_describe,
	.close = perf_close,
};

/* ---- open --------------------------------------------------------------- */

static void setup_attr(struct perf_sampler *ps, const struct sampler_opts *o)
{
	struct perf_event_attr *a = &ps->attr;
	memset(a, 0, sizeof *a);
	a->size = sizeof *a;
	a->type = PERF_TYPE_SOFTWARE;
	a->config = PERF_COUNT_SW_CPU_CLOCK;
	a->sample_period = 1000000000u / ps->freq;
	a->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
			 PERF_SAMPLE_PERIOD;
	if (o->unwind == UNWIND_FP) {
		a->sample_type |= PERF_SAMPLE_CALLCHAIN;
		/* asking for more than the sysctl allows is EOVERFLOW */
		ps->max_stack = read_sysctl_uint("/proc/sys/kernel/perf_event_max_stack", 127);
		if (ps->max_stack > CTOP_MAX_FRAMES)
			ps->max_stack = CTOP_MAX_FRAMES;
		a->sample_max_stack = (uint16_t)ps->max_stack;
	} else {
		a->sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
		a->sample_regs_user = PERFREC_REGS_MASK;
		a->sample_stack_user = STACK_USER_BYTES;
	}
	/* user space only: what paranoid=2 allows, and all we can unwind */
	a->exclude_kernel = 1;
	a->exclude_hv = 1;
	a->exclude_callchain_kernel = 1;
	a->use_clockid = 1;
	a->clockid = CLOCK_MONOTONIC;   /* times comparable with now_ns() */
	if (ps->follow) {
		a->inherit = 1;
		a->inherit_thread = 1;  /* threads only, not forked children */
		a->task = 1;            /* FORK records, for attach_fixup */
	}
	if (o->enable_on_exec) {
		a->disabled = 1;
		a->enable_on_exec = 1;
	}
	ps->fmt.sample_type = a->sample_type;
	ps->fmt.regs_mask = a->sample_regs_user;
}

static int fail(struct perf_sampler *ps, int r)
{
	perf_close(&ps->base);
	return r;
}

int sampler_perf_open(const struct sampler_opts *o, struct sampler **out,
		      char *err, size_t errlen)
{
	const char *force = getenv("CTOP_FORCE_PERF_EPERM");
	int r;
	*out = NULL;
	if (errlen)
		err[0] = 0;
	if (force && *force && strcmp(force, "0") != 0) {
		refused_msg(EACCES, err, errlen);
		return -EACCES;
	}
	if (o->pid <= 0 || o->freq == 0 || o->freq > 100000) {
		snprintf(err, errlen, "perf sampler: invalid pid or frequency");
		return -EINVAL;
	}
	if (kill(o->pid, 0) < 0 && errno == ESRCH) {
		snprintf(err, errlen, "no such process %d", (int)o->pid);
		return -ESRCH;
	}

	struct perf_sampler *ps = xcalloc(1, sizeof *ps);
	ps->base.ops = &perf_ops;
	ps->pid = o->pid;
	struct proc_stat pst;
	if (target_thread_stat(o->pid, o->pid, &pst) == 0)
		ps->starttime = pst.starttime;
	ps->freq = o->freq;
	ps->follow = o->tids == NULL || o->ntids <= 0;
	ps->scratch = xmalloc(MAX_RECORD);
	setup_attr(ps, o);
	raise_nofile();

	pid_t *tids = NULL;
	int ntids = 0;
	if (!ps->follow) {
		/* -t: fixed threads, checked before any event exists */
		ntids = o->ntids;
		tids = xmalloc((size_t)ntids * sizeof *tids);
		memcpy(tids, o->tids, (size_t)ntids * sizeof *tids);
		for (int i = 0; i < ntids; i++)
			if (!task_exists(o->pid, tids[i])) {
				snprintf(err, errlen, "no thread %d in process %d",
					 (int)tids[i], (int)o->pid);
				free(tids);
				return fail(ps, -ESRCH);
			}
		ps->fixed = xmalloc((size_t)ntids * sizeof *tids);
		memcpy(ps->fixed, tids, (size_t)ntids * sizeof *tids);
		ps->nfixed = ntids;
	}

	/* rings: ~0.5 s of samples per cpu at the full rate (a cpu runs one
	 * thread at a time, so freq per cpu is the ceiling): the collector
	 * drains every 50 ms, but a loaded machine can keep it off the cpu
	 * for a while. Non-root budgets shrink this in ring_open. */
	ps->ncpu = online_cpus(&ps->cpus);
	ps->rings = xcalloc((size_t)ps->ncpu, sizeof *ps->rings);
	ps->pfds = xcalloc((size_t)ps->ncpu, sizeof *ps->pfds);
	for (int i = 0; i < ps->ncpu; i++)
		ps->rings[i].fd = -1;
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t rec = o->unwind == UNWIND_FP ? 64 + 8 * 64 : 256 + STACK_USER_BYTES;
	uint64_t want = (uint64_t)ps->freq * rec / 2 / (uint64_t)pg + 1;
	unsigned min_pages = o->unwind == UNWIND_FP ? 8 : 4;
	unsigned max_pages = o->unwind == UNWIND_FP ? 256 : 2048;
	unsigned pages = (unsigned)pow2_floor(want * 2 - 1);  /* round up */
	if (pages < min_pages * 2)
		pages = min_pages * 2;
	/* and at most 64 MiB of pinned ring memory in all: many cpus get
	 * smaller rings, each of which sees fewer threads */
	uint64_t share = (UINT64_C(64) << 20) / (uint64_t)ps->ncpu / (uint64_t)pg;
	if (share < max_pages)
		max_pages = (unsigned)pow2_floor(share > min_pages ? share : min_pages);
	if (pages > max_pages)
		pages = max_pages;
	for (int i = 0; i < ps->ncpu; i++) {
		r = ring_open(ps, &ps->rings[i], ps->cpus[i], &pages, min_pages);
		if (r < 0) {
			free(tids);
			if (r == -EACCES || r == -EPERM)
				refused_msg(-r, err, errlen);
			else
				snprintf(err, errlen, "perf ring buffer for cpu %d: %s",
					 ps->cpus[i], strerror(-r));
			return fail(ps, r);
		}
		ps->pfds[i].fd = ps->rings[i].fd;
		ps->pfds[i].events = POLLIN;
	}
	dbg("perf: %d cpus, %u-page rings, period %llu ns", ps->ncpu, pages,
	    (unsigned long long)ps->attr.sample_period);

	if (ps->follow) {
		/* listed only now, right before the attach loop: threads born
		 * before their creator is attached need attach_fixup */
		ntids = target_tasks(o->pid, &tids);
		if (ntids <= 0) {
			free(tids);
			snprintf(err, errlen, "no such process %d", (int)o->pid);
			return fail(ps, -ESRCH);
		}
		/* the main thread first: it usually creates the others, and
		 * what it creates from now on inherits the event */
		for (int i = 0; i < ntids; i++)
			if (tids[i] == o->pid) {
				tids[i] = tids[0];
				tids[0] = o->pid;
				break;
			}
	}

	r = 0;
	for (int i = 0; i < ntids; i++) {
		r = attach_tid(ps, tids[i]);
		if (r == -ESRCH) {      /* thread exited meanwhile */
			r = 0;
			continue;
		}
		if (r < 0)
			break;
	}
	free(tids);
	if (r == 0 && ps->follow && ps->attached.n)
		r = attach_fixup(ps);
	if (r == 0 && ps->attached.n == 0)
		r = -ESRCH;
	if (r < 0) {
		if (r == -EACCES || r == -EPERM)
			refused_msg(-r, err, errlen);
		else if (r == -ESRCH)
			snprintf(err, errlen, "no such process %d", (int)o->pid);
		else if (r == -EMFILE || r == -ENFILE)
			snprintf(err, errlen, "perf_event_open: out of file descriptors "
				 "(%zu open for %zu threads x %d cpus): raise `ulimit -n`, "
				 "or use -t or --sampler ptrace",
				 ps->nefd, ps->attached.n, ps->ncpu);
		else
			snprintf(err, errlen, "perf_event_open: %s", strerror(-r));
		return fail(ps, r);
	}
	snprintf(ps->desc, sizeof ps->desc, "perf cpu-clock %u Hz", ps->freq);
	ps->threads = (unsigned)ps->attached.n;
	ps->threads_at = now_ns();
	*out = &ps->base;
	return 0;
}
