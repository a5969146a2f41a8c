/* demo [SECONDS]: the workload `make demo` profiles. A toy server:
 *   http-worker x3  take "requests" from a queue: parse_request, then
 *                   compress and hash the body (different costs), then idle
 *   acceptor        produces requests at a steady rate
 *   gc              every 500 ms: gc_mark then gc_sweep bursts
 *   idle-pool x4    blocked on a condition variable that never fires
 *   conn-N          one new connection thread every 3 s, blocked forever in
 *                   read() on a pipe nobody writes: a slowly growing stack
 *                   group, which the Leaks view flags (capped at 40)
 * Uses about one core in total, so the machine stays responsive.
 * Runs until killed, or SECONDS. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "wl_common.h"

volatile unsigned long sink;

static pthread_mutex_t qmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcv = PTHREAD_COND_INITIALIZER;
static int queued;

static pthread_mutex_t idle_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_cv = PTHREAD_COND_INITIALIZER;

static int leak_pipe[2];

__attribute__((noinline)) unsigned long tokenize(unsigned long x)
{
	WL_BURN(x, 60000UL);
	return x;
}

__attribute__((noinline)) unsigned long parse_headers(unsigned long x)
{
	WL_BURN(x, 40000UL);
	return tokenize(x);
}

__attribute__((noinline)) unsigned long parse_request(unsigned long x)
{
	WL_BURN(x, 20000UL);
	return parse_headers(x);
}

__attribute__((noinline)) unsigned long deflate_block(unsigned long x)
{
	WL_BURN(x, 150000UL);
	return x;
}

__attribute__((noinline)) unsigned long compress(unsigned long x)
{
	for (int i = 0; i < 2; i++)
		x = deflate_block(x);
	return x;
}

__attribute__((noinline)) unsigned long hash(unsigned long x)
{
	WL_BURN(x, 90000UL);
	return x;
}

__attribute__((noinline)) void handle_request(void)
{
	unsigned long x = sink;
	x = parse_request(x);
	x = compress(x);
	x = hash(x);
	sink = x;
}

__attribute__((noinline)) void worker_loop(void)
{
	for (;;) {
		pthread_mutex_lock(&qmu);
		while (queued == 0)
			pthread_cond_wait(&qcv, &qmu);
		queued--;
		pthread_mutex_unlock(&qmu);
		handle_request();
	}
}

__attribute__((noinline)) void accept_loop(void)
{
	for (;;) {
		usleep(1200);   /* ~700 requests/s over three workers */
		pthread_mutex_lock(&qmu);
		if (queued < 64)
			queued++;
		pthread_cond_signal(&qcv);
		pthread_mutex_unlock(&qmu);
	}
}

__attribute__((noinline)) void gc_mark(void)
{
	unsigned long x = sink;
	WL_BURN(x, 20000000UL);
	sink = x;
}

__attribute__((noinline)) void gc_sweep(void)
{
	unsigned long x = sink;
	WL_BURN(x, 10000000UL);
	sink = x;
}

__attribute__((noinline)) void gc_loop(void)
{
	for (;;) {
		usleep(500000);
		gc_mark();
		gc_sweep();
	}
}

__attribute__((noinline)) void idle_wait(void)
{
	pthread_mutex_lock(&idle_mu);
	for (;;)
		pthread_cond_wait(&idle_cv, &idle_mu);
}

__attribute__((noinline)) void conn_read(void)
{
	char c;
	for (;;)
		if (read(leak_pipe[0], &c, 1) <= 0)
			pause();
}

static void *thread_main(void *arg)
{
	char name[16];
	snprintf(name, sizeof(name), "%s", (const char *)arg);
	pthread_setname_np(pthread_self(), name);
	if (!strcmp(name, "http-worker"))
		worker_loop();
	else if (!strcmp(name, "acceptor"))
		accept_loop();
	else if (!strcmp(name, "gc"))
		gc_loop();
	else if (!strcmp(name, "idle-pool"))
		idle_wait();
	else
		conn_read();
	return NULL;
}

static void spawn(const char *name)
{
	pthread_t t;
	if (pthread_create(&t, NULL, thread_main, (void *)name) == 0)
		pthread_detach(t);
}

int main(int argc, char **argv)
{
	double seconds = wl_seconds(argc, argv, 1);
	double t0 = wl_now(), next_conn = t0;
	static char conn_names[40][16];
	int nconn = 0;

	if (pipe(leak_pipe) < 0)
		return 1;
	for (int i = 0; i < 3; i++)
		spawn("http-worker");
	spawn("acceptor");
	spawn("gc");
	for (int i = 0; i < 4; i++)
		spawn("idle-pool");
	for (;;) {
		usleep(100000);
		double now = wl_now();
		if (nconn < 40 && now >= next_conn) {
			snprintf(conn_names[nconn], sizeof(conn_names[0]), "conn-%d", nconn);
			spawn(conn_names[nconn]);
			nconn++;
			next_conn = now + 3.0;
		}
		if (seconds > 0 && now - t0 >= seconds)
			break;
	}
	return 0;
}
