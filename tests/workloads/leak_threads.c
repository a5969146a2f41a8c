/* leak_threads [N [COUNTFILE [INTERVAL_MS]]]: a thread leak with known truth.
 *   3 threads block forever in stable_waiter (pthread_cond_wait)
 *   1 thread spins in busy_loop
 *   every INTERVAL_MS (default 100) one more thread is leaked: it blocks
 *   forever in leaked_worker (read on a pipe nobody writes), up to N
 *   (default 30); after each leak the count so far is written to COUNTFILE
 *   (via a temporary file and rename, so readers never see a partial value).
 * The main thread then waits for SIGRTMIN in sigsuspend(): every SIGRTMIN
 * (blocked in all other threads) is counted, and the count written to
 * COUNTFILE.sig after each one: with real-time signals queued, not merged,
 * the count shows whether every signal sent was delivered (it is written
 * when no SIGRTMIN is pending any more). Runs until
 * killed. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "wl_common.h"

#define NSTABLE 3

volatile unsigned long sink;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int leak_pipe[2];
static volatile sig_atomic_t nsig;

static void on_rtmin(int sig)
{
	(void)sig;
	nsig++;
}

__attribute__((noinline)) void *stable_waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	for (;;)
		pthread_cond_wait(&never, &mu);
	return NULL;
}

__attribute__((noinline)) void *busy_loop(void *arg)
{
	(void)arg;
	unsigned long x = sink;
	for (;;) {
		WL_BURN(x, 1000000UL);
		sink = x;
	}
	return NULL;
}

__attribute__((noinline)) void *leaked_worker(void *arg)
{
	char c;
	(void)arg;
	/* Nobody ever writes to the pipe: this read never returns data. */
	for (;;)
		if (read(leak_pipe[0], &c, 1) <= 0)
			pause();
	return NULL;
}

static void start(void *(*fn)(void *), const char *name)
{
	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 256 * 1024);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, fn, NULL) != 0) {
		perror("pthread_create");
		exit(1);
	}
	pthread_setname_np(t, name);
	pthread_attr_destroy(&a);
}

static void write_count(const char *path, int n)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		perror(tmp);
		exit(1);
	}
	fprintf(f, "%d\n", n);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		perror(path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 30;
	const char *countfile = argc > 2 && *argv[2] ? argv[2] : NULL;
	int interval_ms = argc > 3 ? atoi(argv[3]) : 100;
	if (n < 0 || interval_ms < 0) {
		fprintf(stderr, "usage: leak_threads [N [COUNTFILE [INTERVAL_MS]]]\n");
		return 2;
	}
	if (pipe(leak_pipe) != 0) {
		perror("pipe");
		return 1;
	}
	/* SIGRTMIN: blocked everywhere (threads inherit the mask) except in
	 * main's sigsuspend below. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_rtmin;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGRTMIN, &sa, NULL);
	sigset_t rt, waitmask;
	sigemptyset(&rt);
	sigaddset(&rt, SIGRTMIN);
	pthread_sigmask(SIG_BLOCK, &rt, &waitmask);
	sigdelset(&waitmask, SIGRTMIN);
	char sigfile[4096] = "";
	if (countfile)
		snprintf(sigfile, sizeof sigfile, "%s.sig", countfile);
	for (int i = 0; i < NSTABLE; i++)
		start(stable_waiter, "stable");
	start(busy_loop, "busy");
	if (countfile)
		write_count(countfile, 0);
	for (int i = 1; i <= n; i++) {
		struct timespec ts = { interval_ms / 1000, (interval_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		start(leaked_worker, "leaked");
		if (countfile)
			write_count(countfile, i);
	}
	for (;;) {
		sigsuspend(&waitmask);     /* runs on_rtmin for one signal */
		sigset_t pend;
		sigpending(&pend);
		if (countfile && !sigismember(&pend, SIGRTMIN))
			write_count(sigfile, nsig);
	}
}
