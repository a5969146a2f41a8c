/* Per-thread state of the target, as htop's thread view shows it: name,
 * state, CPU%, context switches, wait channel and current syscall.
 *
 * One refresh reads four small files per thread (stat, status, wchan,
 * syscall) into a stack buffer: no allocation per thread once the tables
 * have grown. The reading (~milliseconds per thousand threads, more on a
 * loaded machine) is split from the merge into the table so that callers
 * holding a lock the collector and the TUI need take it for the merge only. Threads are remembered in an open-addressing hash by tid so
 * CPU% has the previous tick count and exited threads keep their names
 * (samples taken before a thread exited still need a label). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "target.h"
#include "threads.h"
#include "threads_int.h"

/* Names of exited threads kept at most; beyond it the longest-dead go. */
#define DEAD_KEEP 32768

struct tent {
	pid_t tid;                /* 0: empty slot */
	char name[64];
	uint64_t ticks;           /* utime+stime at last_ns */
	uint64_t last_ns;
	uint64_t seen_gen;        /* refresh generation it was last seen alive */
};

struct threads {
	pid_t pid;
	long hz;
	uint64_t gen;
	struct tent *tab;         /* hash by tid, power of two size */
	size_t cap, used;
	struct thread_info *list;
	int nlist, listcap;
};

static size_t tid_hash(pid_t tid, size_t cap)
{
	uint32_t h = (uint32_t)tid * 2654435761u;
	return (size_t)h & (cap - 1);
}

/* Dead: not seen in the current or the previous refresh (a refresh in
 * progress has not revisited every live thread yet). */
static int tent_dead(const struct threads *t, const struct tent *e)
{
	return e->seen_gen + 1 < t->gen;
}

static void tab_rebuild(struct threads *t, size_t newcap, int drop_dead)
{
	struct tent *old = t->tab;
	size_t oldcap = t->cap;
	uint64_t cutoff = 0;
	if (drop_dead) {
		/* Forget the older half (by generation) of the dead names. */
		uint64_t lo = UINT64_MAX, hi = 0;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].tid && tent_dead(t, &old[i])) {
				if (old[i].seen_gen < lo) lo = old[i].seen_gen;
				if (old[i].seen_gen > hi) hi = old[i].seen_gen;
			}
		cutoff = lo + (hi - lo) / 2;
	}
	t->tab = xcalloc(newcap, sizeof *t->tab);
	t->cap = newcap;
	t->used = 0;
	for (size_t i = 0; i < oldcap; i++) {
		if (!old[i].tid)
			continue;
		if (drop_dead && tent_dead(t, &old[i]) && old[i].seen_gen <= cutoff)
			continue;
		struct tent *e = &t->tab[tid_hash(old[i].tid, newcap)];
		while (e->tid)
			e = e + 1 == t->tab + newcap ? t->tab : e + 1;
		*e = old[i];
		t->used++;
	}
	free(old);
}

static struct tent *tab_find(struct threads *t, pid_t tid, int create)
{
	size_t i = tid_hash(tid, t->cap);
	for (;;) {
		struct tent *e = &t->tab[i];
		if (e->tid == tid)
			return e;
		if (!e->tid) {
			if (!create)
				return NULL;
			if ((t->used + 1) * 4 > t->cap * 3) {
				size_t dead = 0;
				for (size_t k = 0; k < t->cap; k++)
					dead += t->tab[k].tid && tent_dead(t, &t->tab[k]);
				if (dead > DEAD_KEEP)
					tab_rebuild(t, t->cap, 1);
				if ((t->used + 1) * 4 > t->cap * 3)
					tab_rebuild(t, t->cap * 2, 0);
				return tab_find(t, tid, create);
			}
			memset(e, 0, sizeof *e);
			e->tid = tid;
			t->used++;
			return e;
		}
		i = (i + 1) & (t->cap - 1);
	}
}

struct threads *threads_new(pid_t pid)
{
	struct threads *t = xcalloc(1, sizeof *t);
	t->pid = pid;
	t->hz = sysconf(_SC_CLK_TCK);
	if (t->hz <= 0)
		t->hz = 100;
	t->cap = 256;
	t->tab = xcalloc(t->cap, sizeof *t->tab);
	return t;
}

void threads_free(struct threads *t)
{
	if (!t)
		return;
	free(t->tab);
	free(t->list);
	free(t);
}

int threads_read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t off = 0;
	while (off + 1 < len) {
		ssize_t r = read(fd, buf + off, len - 1 - off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		off += (size_t)r;
	}
	close(fd);
	buf[off] = 0;
	return (int)off;
}

void threads_read_wait(pid_t pid, pid_t tid, char state, char *wchan, size_t wlen,
		       long *nr, uint64_t *sp, uint64_t *pc)
{
	char path[96], buf[256];
	if (wchan && wlen)
		wchan[0] = 0;
	if (nr)
		*nr = -1;
	if (sp)
		*sp = 0;
	if (pc)
		*pc = 0;
	if (wchan && wlen) {
		snprintf(path, sizeof path, "/proc/%d/task/%d/wchan", (int)pid, (int)tid);
		if (threads_read_small(path, buf, sizeof buf) > 0) {
			buf[strcspn(buf, "\n")] = 0;
			/* "0": running, or the kernel hides it */
			if (strcmp(buf, "0") != 0)
				snprintf(wchan, wlen, "%s", buf);
		}
	}
	if (state == 'R')
		return;
	/* "running", or "NR a1..a6 SP PC", or "-1 SP PC" when blocked outside
	 * a system call (e.g. group stop). */
	snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
	if (threads_read_small(path, buf, sizeof buf) <= 0 || buf[0] == 'r')
		return;
	char *tok[10];
	int nt = 0;
	char *save = NULL;
	for (char *s = strtok_r(buf, " \n", &save); s && nt < 10; s = strtok_r(NULL, " \n", &save))
		tok[nt++] = s;
	if (nt != 3 && nt != 9)
		return;
	char *end;
	long n = strtol(tok[0], &end, 10);
	if (*end)
		return;
	if (nr)
		*nr = n;
	if (sp)
		*sp = strtoull(tok[nt - 2], NULL, 16);
	if (pc)
		*pc = strtoull(tok[nt - 1], NULL, 16);
}

static struct thread_info *list_add(struct threads *t)
{
	if (t->nlist == t->listcap) {
		t->listcap = t->listcap ? t->listcap * 2 : 64;
		t->list = xrealloc(t->list, (size_t)t->listcap * sizeof *t->list);
	}
	struct thread_info *ti = &t->list[t->nlist++];
	memset(ti, 0, sizeof *ti);
	return ti;
}

static int cmp_info(const void *a, const void *b)
{
	const struct thread_info *x = a, *y = b;
	if (x->alive != y->alive)
		return y->alive - x->alive;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

/* One refresh's /proc reading, private to the caller until the commit. */
struct threads_snap {
	uint64_t now;
	int err;                  /* target_tasks' -errno, 0 */
	int n;
	struct snap_ent { struct thread_info ti; uint64_t ticks; } *e;
};

struct threads_snap *threads_refresh_collect(const struct threads *t, uint64_t now)
{
	struct threads_snap *s = xcalloc(1, sizeof *s);
	pid_t *tids = NULL;
	s->now = now;
	threads_scan_reap();
	int n = target_tasks(t->pid, &tids);
	if (n < 0)
		s->err = n;
	s->e = xmalloc(((size_t)(n > 0 ? n : 0) + 1) * sizeof *s->e);
	for (int i = 0; i < n; i++) {
		char path[96], buf[4096];
		struct proc_stat ps;
		pid_t tid = tids[i];
		snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)t->pid, (int)tid);
		if (threads_read_small(path, buf, sizeof buf) <= 0 ||
		    parse_proc_stat(buf, &ps) < 0)
			continue;      /* exited between readdir and read */
		struct snap_ent *se = &s->e[s->n++];
		struct thread_info *ti = &se->ti;
		memset(ti, 0, sizeof *ti);
		ti->tid = tid;
		ti->alive = 1;
		ti->state = ps.state;
		snprintf(ti->name, sizeof ti->name, "%s", ps.comm);
		se->ticks = ps.utime + ps.stime;
		snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)t->pid, (int)tid);
		if (threads_read_small(path, buf, sizeof buf) > 0) {
			long v = parse_status_field(buf, "voluntary_ctxt_switches");
			ti->vcsw = v < 0 ? 0 : (uint64_t)v;
			v = parse_status_field(buf, "nonvoluntary_ctxt_switches");
			ti->nvcsw = v < 0 ? 0 : (uint64_t)v;
		}
		threads_read_wait(t->pid, tid, ps.state, ti->wchan, sizeof ti->wchan,
				  &ti->syscall, NULL, NULL);
	}
	free(tids);
	return s;
}

int threads_refresh_commit(struct threads *t, struct threads_snap *s)
{
	uint64_t prev_gen = t->gen, now = s->now;
	t->gen++;
	/* The old list tells which threads were alive at the last refresh. */
	int nold = t->nlist;
	pid_t *was_alive = xmalloc(((size_t)nold + 1) * sizeof *was_alive);
	int nwas = 0;
	for (int i = 0; i < nold; i++)
		if (t->list[i].alive)
			was_alive[nwas++] = t->list[i].tid;
	t->nlist = 0;

	for (int i = 0; i < s->n; i++) {
		const struct snap_ent *se = &s->e[i];
		struct tent *e = tab_find(t, se->ti.tid, 1);
		struct thread_info *ti = list_add(t);
		*ti = se->ti;
		snprintf(e->name, sizeof e->name, "%s", ti->name);
		/* htop: delta(utime+stime) / delta(wall), both in clock ticks. */
		if (e->seen_gen == prev_gen && prev_gen && now > e->last_ns && se->ticks >= e->ticks) {
			double wall_ticks = (double)(now - e->last_ns) * (double)t->hz / 1e9;
			ti->cpu_pct = wall_ticks > 0 ? (double)(se->ticks - e->ticks) / wall_ticks * 100.0 : 0;
		}
		e->ticks = se->ticks;
		e->last_ns = now;
		e->seen_gen = t->gen;
	}
	/* Threads gone since the last refresh are listed once more, alive = 0. */
	for (int i = 0; i < nwas; i++) {
		struct tent *e = tab_find(t, was_alive[i], 0);
		if (!e || e->seen_gen == t->gen)
			continue;
		struct thread_info *ti = list_add(t);
		ti->tid = was_alive[i];
		ti->state = 'X';
		ti->syscall = -1;
		snprintf(ti->name, sizeof ti->name, "%s", e->name);
	}
	free(was_alive);
	if (t->nlist)   /* list is NULL when the target died before the first read */
		qsort(t->list, (size_t)t->nlist, sizeof *t->list, cmp_info);
	int r = s->err < 0 ? s->err : s->n;
	threads_snap_free(s);
	return r;
}

void threads_snap_free(struct threads_snap *s)
{
	if (!s)
		return;
	free(s->e);
	free(s);
}

int threads_refresh(struct threads *t, uint64_t now)
{
	return threads_refresh_commit(t, threads_refresh_collect(t, now));
}

const struct thread_info *threads_list(struct threads *t, int *n)
{
	*n = t->nlist;
	return t->list;
}

const char *threads_name(struct threads *t, pid_t tid)
{
	struct tent *e = t ? tab_find(t, tid, 0) : NULL;
	return e ? e->name : "";
}
