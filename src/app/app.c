/* A profiling session: attach or launch, the collector thread (drain,
 * unwind, aggregate), the scanner thread (thread states, thread and
 * goroutine stack groups), and writing outputs. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/perf_event.h>

#include "app.h"
#include "common.h"
#include "target.h"

void app_lock(struct app *a) { pthread_mutex_lock(&a->lock); }
void app_unlock(struct app *a) { pthread_mutex_unlock(&a->lock); }
static void lock_cb(void *a) { app_lock(a); }
static void unlock_cb(void *a) { app_unlock(a); }

const struct sym_loc *app_resolve(void *app, uint64_t pc)
{
	return symtab_lookup(((struct app *)app)->symtab, pc);
}

const char *app_thread_name(void *app, pid_t tid)
{
	return threads_name(((struct app *)app)->threads, tid);
}

uint64_t app_elapsed_ns(struct app *a)
{
	uint64_t end = atomic_load(&a->sampling_done) && a->end_ns ? a->end_ns : now_ns();
	return end - a->start_ns;
}

/* "now" for windows: frozen when sampling has ended. */
static uint64_t app_now(struct app *a)
{
	return atomic_load(&a->sampling_done) && a->end_ns ? a->end_ns : now_ns();
}

/* ---- collector ---------------------------------------------------------- */

static void on_sample(const struct raw_sample *s, void *arg)
{
	struct app *a = arg;
	uint64_t pcs[CTOP_MAX_FRAMES];
	int n = unwind_sample(a->unwinder, s, pcs, CTOP_MAX_FRAMES);
	if (n <= 0) {
		/* Keep the sample's weight even when unwinding found nothing:
		 * the sampled pc, else the first user entry of the callchain
		 * (ips[0] is usually the PERF_CONTEXT_USER marker, not a pc). */
		int user = 1;
		pcs[0] = s->has_regs ? s->regs[CTOP_REG_IP] : 0;
		for (uint32_t i = 0; !pcs[0] && i < s->nr_ips; i++) {
			if (s->ips[i] >= (uint64_t)PERF_CONTEXT_MAX)
				user = s->ips[i] == (uint64_t)PERF_CONTEXT_USER;
			else if (user)
				pcs[0] = s->ips[i];
		}
		n = 1;
	}
	profile_add(a->prof, s->tid, pcs, (uint32_t)n, s->time_ns, 1, s->period_ns);
}

static void mark_done(struct app *a, int exited)
{
	if (exited)
		atomic_store(&a->target_exited, 1);
	if (!atomic_load(&a->sampling_done)) {
		a->end_ns = now_ns();
		atomic_store(&a->sampling_done, 1);
	}
}

/* Reap the launched command once it has exited. For a traced child the
 * kernel reports ptrace stops to any thread of the tracer's process and to
 * every wait flavour, waitid(WEXITED) included (checked: it returns
 * CLD_TRAPPED and the stop is gone). Consuming one here would leave that
 * thread of the target stopped, its tracer thread (scanner, ptrace sampler)
 * waiting forever, and a->child cleared although the command still runs.
 * So look with WNOWAIT, and reap only an exit. */
static void reap_child(struct app *a)
{
	siginfo_t si;
	if (a->child <= 0)
		return;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)a->child, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
	    si.si_pid != a->child ||
	    (si.si_code != CLD_EXITED && si.si_code != CLD_KILLED && si.si_code != CLD_DUMPED))
		return;
	/* exited: nothing else can be pending for it now */
	if (waitid(P_PID, (id_t)a->child, &si, WEXITED | WNOHANG) == 0 && si.si_pid == a->child) {
		app_lock(a);        /* the TUI reads it under the lock */
		a->child = -1;
		app_unlock(a);
	}
}

static void *collector_main(void *arg)
{
	struct app *a = arg;
	uint64_t limit = a->opt->duration > 0 ? (uint64_t)(a->opt->duration * 1e9) : 0;
	while (!atomic_load(&a->stop)) {
		int r = sampler_wait(a->sampler, 50);
		app_lock(a);
		if (r >= 0)
			sampler_drain(a->sampler, on_sample, a);
		app_unlock(a);
		reap_child(a);
		if (limit && now_ns() - a->start_ns >= limit) {
			mark_done(a, 0);
			break;
		}
		if (sampler_target_gone(a->sampler)) {
			app_lock(a);
			sampler_drain(a->sampler, on_sample, a);
			app_unlock(a);
			mark_done(a, 1);
			/* the TUI copies the status line under the lock */
			app_lock(a);
			snprintf(a->status, sizeof a->status,
				 "target exited — data kept; s to save, q to quit");
			app_unlock(a);
			break;
		}
	}
	return NULL;
}

/* ---- scanner ------------------------------------------------------------ */

static void scan_threads(struct app *a)
{
	struct scanned_thread *st = NULL;
	struct scan_stats stats;
	int n = threads_scan(a->pid, a->unwinder, lock_cb, unlock_cb, a, &st, &stats);
	if (n < 0)
		return;
	struct group_member *m = xcalloc((size_t)n + 1, sizeof *m);
	for (int i = 0; i < n; i++) {
		m[i].pcs = st[i].pcs;
		m[i].n = st[i].n;
		m[i].state = st[i].state;
		m[i].wait = st[i].wait;
	}
	app_lock(a);
	groups_update(a->thread_groups, now_ns(), m, (size_t)n, app_resolve, a);
	a->last_scan = stats;
	app_unlock(a);
	free(m);
	free(st);
}

static void scan_goroutines(struct app *a)
{
	struct goroutine *gs = NULL;
	struct gort_stats stats;
	int n = gort_scan(a->gort, &gs, &stats);
	if (n < 0)
		return;
	struct group_member *m = xcalloc((size_t)n + 1, sizeof *m);
	for (int i = 0; i < n; i++) {
		m[i].pcs = gs[i].pcs;
		m[i].n = gs[i].n;
		m[i].state = gort_state_char(gs[i].status);
		m[i].state_name = gs[i].status_name;
		m[i].wait = gs[i].wait_reason;
		m[i].created_pc = gs[i].gopc;
	}
	app_lock(a);
	groups_update(a->go_groups, now_ns(), m, (size_t)n, app_resolve, a);
	a->goroutines = n;
	app_unlock(a);
	free(m);
	free(gs);
}

static void open_go(struct app *a)
{
	struct gort *g = gort_open(a->pid);
	struct groups *gg = g ? groups_new() : NULL;
	app_lock(a);
	a->gort = g;
	a->go_groups = gg;
	a->go_checked = 1;
	app_unlock(a);
}

static int go_readable(struct app *a)
{
	return a->gort && !gort_error(a->gort);
}

/* 1 while a->pid still names the process we attached to: after the target
 * exits its number can be reused before the collector notices, and a scan
 * must never stop a stranger's threads. */
static int target_same(struct app *a)
{
	struct proc_stat st;
	return target_thread_stat(a->pid, a->pid, &st) == 0 && st.starttime == a->starttime;
}

/* One full scan: thread states, thread stacks, goroutines. */
static void scan_all(struct app *a)
{
	if (!target_same(a))
		return;
	struct threads_snap *ts = threads_refresh_collect(a->threads, now_ns());
	app_lock(a);
	threads_refresh_commit(a->threads, ts);
	app_unlock(a);
	scan_threads(a);
	if (go_readable(a))
		scan_goroutines(a);
}

static void *scanner_main(void *arg)
{
	struct app *a = arg;
	const uint64_t tick = 100000000u;     /* 100 ms: responsive stop */
	uint64_t refresh = (uint64_t)(a->opt->interval * 1e9);
	uint64_t scan = (uint64_t)(a->opt->scan_interval * 1e9);
	uint64_t last_refresh = 0, last_scan = 0;
	if (!a->go_checked)
		open_go(a);
	while (!atomic_load(&a->stop) && !atomic_load(&a->sampling_done)) {
		uint64_t t = now_ns();
		if (scan && t - last_scan >= scan) {
			scan_all(a);
			last_scan = last_refresh = now_ns();
		} else if (t - last_refresh >= refresh) {
			/* /proc read unlocked: only the merge holds the lock */
			struct threads_snap *ts = threads_refresh_collect(a->threads, t);
			app_lock(a);
			threads_refresh_commit(a->threads, ts);
			app_unlock(a);
			last_refresh = t;
		}
		/* a thread the last scan could not wait for must not stay
		 * stopped until the next scan or refresh (up to --interval) */
		threads_scan_reap();
		sleep_ns(tick);
	}
	return NULL;
}

/* ---- start / stop ------------------------------------------------------- */

/* 0 when argv0 names an executable file (directly, or found in PATH). */
static int find_command(const char *argv0)
{
	if (strchr(argv0, '/'))
		return access(argv0, X_OK) < 0 ? -errno : 0;
	const char *path = getenv("PATH");
	char *dirs = xstrdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	int r = -ENOENT;
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char full[4096];
		snprintf(full, sizeof full, "%s/%s", *d ? d : ".", argv0);
		if (access(full, X_OK) == 0) {
			r = 0;
			break;
		}
	}
	free(dirs);
	return r;
}

/* Launch mode: the child waits on a pipe until the events are open, so the
 * profile starts at its first instruction after exec. */
static pid_t launch(char **argv, int *go_fd, int quiet)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char c;
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(127);
		if (quiet) {
			/* The TUI owns the terminal: the command's output would
			 * garble it. Documented: redirect it yourself to keep it. */
			int null = open("/dev/null", O_RDWR);
			if (null >= 0) {
				dup2(null, 0);
				dup2(null, 1);
				dup2(null, 2);
				if (null > 2)
					close(null);
			}
		}
		execvp(argv[0], argv);
		fprintf(stderr, "ctop-prof: cannot run '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[0]);
	*go_fd = p[1];
	return pid;
}

static int open_sampler(struct app *a, struct options *o)
{
	struct sampler_opts so = {
		.pid = a->pid, .tids = o->tids, .ntids = o->ntids,
		.freq = o->freq, .unwind = o->unwind, .enable_on_exec = o->command != NULL,
	};
	char err[512] = "";
	int r;
	if (o->sampler != SAMPLER_PTRACE) {
		r = sampler_perf_open(&so, &a->sampler, err, sizeof err);
		if (r == 0)
			return 0;
		if (o->sampler == SAMPLER_PERF || (r != -EACCES && r != -EPERM)) {
			errmsg("%s", err);
			return -1;
		}
		errmsg("%s; falling back to ptrace sampling", err);
		err[0] = 0;
	}
	so.enable_on_exec = 0;
	r = sampler_ptrace_open(&so, &a->sampler, err, sizeof err);
	if (r < 0) {
		errmsg("%s", err);
		return -1;
	}
	return 0;
}

static int check_target(pid_t pid)
{
	if (!target_exists(pid)) {
		errmsg("no process with PID %d (is it still running?)", (int)pid);
		return -1;
	}
	if (target_is_kernel_thread(pid) == 1) {
		errmsg("PID %d is a kernel thread; ctop-prof profiles user-space processes "
		       "(use 'perf top' for the kernel)", (int)pid);
		return -1;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		errmsg("cannot read %s: %s (profile your own processes, or run as root)",
		       path, strerror(e));
		return -1;
	}
	close(fd);
	return 0;
}

int app_start(struct app *a, struct options *o)
{
	memset(a, 0, sizeof *a);
	a->opt = o;
	a->goroutines = -1;
	a->child = -1;
	pthread_mutex_init(&a->lock, NULL);
	int go_fd = -1;

	if (o->command) {
		int e = find_command(o->command[0]);
		if (e < 0) {
			errmsg("cannot run '%s': %s", o->command[0], strerror(-e));
			return 1;
		}
		a->child = launch(o->command, &go_fd, o->tui);
		if (a->child < 0) {
			errmsg("cannot start '%s': %s", o->command[0], strerror(errno));
			return 1;
		}
		a->pid = a->child;
	} else {
		a->pid = o->pid;
		if (check_target(a->pid) < 0)
			return 1;
	}
	if (open_sampler(a, o) < 0) {
		if (a->child > 0) {
			kill(a->child, SIGKILL);
			waitpid(a->child, NULL, 0);
		}
		return 1;
	}
	if (go_fd >= 0) {
		/* Let the child exec; wait until the exec happened (the pipe's
		 * close-on-exec end reads EOF) so /proc shows the new image. */
		if (write(go_fd, "x", 1) != 1) { /* child gone: the sampler sees it */ }
		close(go_fd);
		for (int i = 0; i < 200; i++) {
			char exe[64], buf[4096];
			snprintf(exe, sizeof exe, "/proc/%d/exe", (int)a->pid);
			ssize_t l = readlink(exe, buf, sizeof buf - 1);
			char self[4096];
			ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
			if (l < 0 || sl < 0 || l != sl || memcmp(buf, self, (size_t)l))
				break;
			sleep_ns(5000000);
		}
	}
	target_comm(a->pid, a->comm, sizeof a->comm);
	struct proc_stat pst;
	if (target_thread_stat(a->pid, a->pid, &pst) == 0)
		a->starttime = pst.starttime;
	a->symtab = symtab_open(a->pid);
	if (!a->symtab)
		return 1;
	a->unwinder = unwinder_new(a->symtab, o->unwind);
	a->prof = profile_new();
	a->threads = threads_new(a->pid);
	a->thread_groups = groups_new();
	/* Reading a Go binary's DWARF can take ~0.5 s (compressed sections):
	 * do it in the scanner, off the path to the first table, unless the
	 * goroutine profile was asked for. */
	if (o->profile == PROFILE_GOROUTINES)
		open_go(a);
	if (o->profile == PROFILE_GOROUTINES && !go_readable(a)) {
		errmsg("%s", a->gort ? gort_error(a->gort)
		       : "--profile goroutines needs a Go program; this target is not one");
		return 1;
	}
	threads_refresh(a->threads, now_ns());
	a->start_ns = now_ns();
	a->start_wall_ns = realtime_ns();
	profile_reset(a->prof, a->start_ns);

	if (pthread_create(&a->collector, NULL, collector_main, a) == 0)
		a->have_collector = 1;
	if (pthread_create(&a->scanner, NULL, scanner_main, a) == 0)
		a->have_scanner = 1;
	if (!a->have_collector) {
		errmsg("cannot start the collector thread");
		return 1;
	}
	return 0;
}

void app_finish(struct app *a)
{
	atomic_store(&a->stop, 1);
	if (a->have_collector)
		pthread_join(a->collector, NULL);
	if (a->have_scanner)
		pthread_join(a->scanner, NULL);
	a->have_collector = a->have_scanner = 0;
	mark_done(a, atomic_load(&a->target_exited));
	if (!a->prof)
		return;		/* app_start failed before anything was set up */
	/* The threads and goroutines profiles describe the end of the run
	 * (not after a failed start: nothing is wanted from the target then). */
	if (a->start_ns && !atomic_load(&a->target_exited) &&
	    (a->opt->profile == PROFILE_THREADS || a->opt->profile == PROFILE_GOROUTINES))
		scan_all(a);
	if (a->sampler) {
		app_lock(a);
		sampler_close(a->sampler);
		a->sampler = NULL;
		app_unlock(a);
	}
	if (a->child > 0) {
		/* Launch mode: the command is ours; do not leave it running. */
		kill(a->child, SIGTERM);
		for (int i = 0; i < 50 && waitpid(a->child, NULL, WNOHANG) == 0; i++)
			sleep_ns(20000000);
		kill(a->child, SIGKILL);
		waitpid(a->child, NULL, 0);
		a->child = -1;
	}
}

void app_free(struct app *a)
{
	if (a->child > 0) {
		kill(a->child, SIGKILL);
		waitpid(a->child, NULL, 0);
	}
	if (a->sampler)
		sampler_close(a->sampler);
	if (!a->prof) {
		symtab_close(a->symtab);
		pthread_mutex_destroy(&a->lock);
		return;
	}
	gort_close(a->gort);
	groups_free(a->go_groups);
	groups_free(a->thread_groups);
	threads_free(a->threads);
	profile_free(a->prof);
	unwinder_free(a->unwinder);
	symtab_close(a->symtab);
	pthread_mutex_destroy(&a->lock);
}

/* ---- outputs ------------------------------------------------------------ */

void app_export_ctx(struct app *a, struct export_ctx *x, enum window w,
		    const struct report_filter *f, uint64_t at_ns)
{
	memset(x, 0, sizeof *x);
	x->prof = a->prof;
	x->window = w;
	x->now_ns = at_ns ? at_ns : app_now(a);
	x->filter = f;
	x->resolve = app_resolve;
	x->rctx = a;
	/* x->mods stays empty: the writers take each location's module from
	 * its sym_loc, and listing them here opened every module's ELF. */
	x->thread_name = app_thread_name;
	x->tctx = a;
	/* The file's time span is what the window holds: since the start of
	 * the session or the last reset (key r), or the seconds a "last N s"
	 * window sums, as the profile counts them. */
	uint64_t end = x->now_ns;
	uint64_t start = profile_window_start(a->prof, w, end);
	if (start < a->start_ns)
		start = a->start_ns;
	x->time_nanos = a->start_wall_ns + (start - a->start_ns);
	x->duration_nanos = end > start ? end - start : 0;
	x->comment = a->opt->cmdline;
}

static struct groups *groups_for(struct app *a, enum profile_kind kind)
{
	return kind == PROFILE_GOROUTINES ? a->go_groups : a->thread_groups;
}

int app_write(struct app *a, const char *path, enum profile_kind kind,
	      enum window w, const struct report_filter *f, int overwrite,
	      uint64_t at_ns)
{
	struct export_ctx x;
	int r;
	app_lock(a);
	app_export_ctx(a, &x, w, f, at_ns);
	x.overwrite = overwrite;
	if (kind == PROFILE_CPU) {
		r = export_cpu(path, &x);
	} else {
		struct groups *g = groups_for(a, kind);
		const struct group_view *v = NULL;
		int n = g ? groups_view(g, &v) : 0;
		struct group_sample *gs = xcalloc((size_t)n + 1, sizeof *gs);
		int k = 0;
		for (int i = 0; i < n; i++) {
			if (v[i].count <= 0)
				continue;   /* groups kept only for their history */
			struct group_sample *g1 = &gs[k++];
			g1->pcs = v[i].pcs;
			g1->n = v[i].n;
			g1->count = v[i].count;
			g1->state = v[i].states;
			g1->wait = v[i].wait && *v[i].wait ? v[i].wait : NULL;
		}
		r = export_groups(path, kind == PROFILE_GOROUTINES ? "goroutine" : "threads",
				  gs, (size_t)k, &x);
		free(gs);
	}
	app_unlock(a);
	return r;
}

void app_print_table(struct app *a, enum profile_kind kind, FILE *out)
{
	struct sampler_stats ss = {0};
	app_lock(a);
	if (a->sampler)
		sampler_get_stats(a->sampler, &ss);
	struct profile_totals pt;
	profile_totals(a->prof, &pt);
	/* the target names itself (prctl): no raw control characters */
	fprintf(out, "ctop-prof: PID %d (", (int)a->pid);
	report_put_clean(out, a->comm);
	fprintf(out, ")  %.1fs  samples %llu  lost %llu", app_elapsed_ns(a) / 1e9,
		(unsigned long long)pt.samples, (unsigned long long)ss.lost);
	/* past PROFILE_MAX_STACKS unique stacks, samples are counted only */
	if (pt.dropped)
		fprintf(out, "  dropped %llu (unique stack limit)", (unsigned long long)pt.dropped);
	fputc('\n', out);
	if (kind == PROFILE_CPU) {
		const char *err = NULL;
		struct report *r = report_build(a->prof, WINDOW_ALL, app_now(a), NULL,
						app_resolve, a, &err);
		if (r) {
			report_print_top(r, out, 40);
			report_free(r);
		}
	} else {
		struct groups *g = groups_for(a, kind);
		const struct scan_stats *sc = &a->last_scan;
		if (kind == PROFILE_THREADS && sc->threads)
			/* What the last scan cost the target: the price of this table. */
			fprintf(out, "scan: %u threads in %.1f ms, stopped %.0f us each on average, "
				"%.0f us at most\n", sc->threads, sc->total_ns / 1e6,
				sc->sum_stop_ns / 1e3 / sc->threads, sc->max_stop_ns / 1e3);
		if (g)
			groups_print_table(g, out, kind == PROFILE_GOROUTINES ? "goroutines" : "threads");
	}
	app_unlock(a);
	fputc('\n', out);
	fflush(out);
}
