/* spin: the benchmark target. Counts its own iterations over a fixed time.
 *
 *   spin [-s SECONDS] [-w WARMUP] [-t THREADS] [-d DEPTH] [-v SPREAD] [-n]
 *
 * Every thread repeats: call down DEPTH (+ 0..SPREAD-1, varying per
 * iteration) levels through three noinline functions, burn a fixed chunk of
 * arithmetic in one of two leaves, come back, count one iteration. Only
 * iterations finished inside the window [WARMUP, WARMUP + SECONDS] after
 * start are counted, so a profiler attached right after the start (and its
 * own start-up) stays out of the count. At the end it prints
 *   iterations N seconds S rate R
 * and exits; with SECONDS = 0 it runs until killed (-n: and prints nothing).
 * It also prints the CPU time its threads got inside the window and the
 * iterations per CPU-second: on a loaded machine the wall-clock rate
 * mostly says how much CPU the scheduler gave the target, the CPU rate
 * what the profiler cost it per CPU-second it ran (interrupts, stack
 * copies and stops are charged to the target's own time).
 *
 * Built with frame pointers (fp unwinding works) and .eh_frame (dwarf
 * unwinding works), so one binary serves both unwind modes. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ~25 us per chunk here: the clock read per iteration is noise next to it,
 * and a 999 Hz sampler interrupts a chunk, not the bookkeeping. */
#define CHUNK 20000UL

#define BURN(x, n) do {                                                    \
	for (unsigned long i_ = 0; i_ < (n); i_++) {                       \
		(x) = (x) * 6364136223846793005UL + 1442695040888963407UL; \
		__asm__ volatile("" : "+r"(x));                             \
	}                                                                  \
} while (0)

static double seconds = 5, warmup = 0.5;
static int depth = 8, spread = 1;
static double t_begin, t_end;
static atomic_ulong total;
static atomic_ulong cpu_ns;     /* threads' CPU time inside the window */
static volatile unsigned long sink;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned long thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (unsigned long)ts.tv_sec * 1000000000UL + (unsigned long)ts.tv_nsec;
}

__attribute__((noinline)) unsigned long spin_leaf_a(unsigned long x)
{
	BURN(x, CHUNK);
	return x;
}

__attribute__((noinline)) unsigned long spin_leaf_b(unsigned long x)
{
	BURN(x, CHUNK);
	return x;
}

unsigned long spin_down_a(int d, unsigned long x);
unsigned long spin_down_b(int d, unsigned long x);
unsigned long spin_down_c(int d, unsigned long x);

/* Three functions in turn, so every level has a caller/callee edge of its
 * own; the asm after each call keeps them from becoming tail calls (which
 * would flatten the stack). */
#define DOWN(self, next)                                                   \
__attribute__((noinline)) unsigned long self(int d, unsigned long x)       \
{                                                                          \
	if (d <= 0)                                                        \
		return (x & 1) ? spin_leaf_a(x) : spin_leaf_b(x);          \
	x = next(d - 1, x + 1);                                            \
	__asm__ volatile("" : "+r"(x));                                    \
	return x;                                                          \
}
DOWN(spin_down_a, spin_down_b)
DOWN(spin_down_b, spin_down_c)
DOWN(spin_down_c, spin_down_a)

__attribute__((noinline)) static void *spin_worker(void *arg)
{
	unsigned long x = (unsigned long)(uintptr_t)arg * 2654435761UL + 1;
	unsigned long n = 0, it = 0, c0 = 0, c1 = 0;
	for (;;) {
		int d = depth + (spread > 1 ? (int)(it++ % (unsigned)spread) : 0);
		x = spin_down_a(d, x);
		double t = now();
		if (t >= t_begin && t < t_end) {
			if (!n)
				c0 = thread_cpu_ns();
			n++;
		}
		if (seconds > 0 && t >= t_end)
			break;
	}
	if (n)
		c1 = thread_cpu_ns();
	sink = x;
	atomic_fetch_add(&total, n);
	atomic_fetch_add(&cpu_ns, c1 - c0);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: spin [-s SECONDS] [-w WARMUP] [-t THREADS] "
		"[-d DEPTH] [-v SPREAD] [-n]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int threads = 1, c, quiet = 0;
	while ((c = getopt(argc, argv, "s:w:t:d:v:n")) != -1) {
		switch (c) {
		case 's': seconds = atof(optarg); break;
		case 'w': warmup = atof(optarg); break;
		case 't': threads = atoi(optarg); break;
		case 'd': depth = atoi(optarg); break;
		case 'v': spread = atoi(optarg); break;
		case 'n': quiet = 1; break;
		default: usage();
		}
	}
	if (threads < 1 || threads > 1024 || depth < 0 || depth > 2000 || spread < 1 ||
	    seconds < 0 || warmup < 0)
		usage();
	t_begin = now() + warmup;
	t_end = seconds > 0 ? t_begin + seconds : 1e300;
	pthread_t *tid = calloc((size_t)threads, sizeof *tid);
	for (int i = 1; i < threads; i++)
		if (pthread_create(&tid[i], NULL, spin_worker, (void *)(uintptr_t)i) != 0) {
			perror("pthread_create");
			return 1;
		}
	spin_worker(NULL);
	for (int i = 1; i < threads; i++)
		pthread_join(tid[i], NULL);
	if (!quiet)
		printf("iterations %lu seconds %.3f rate %.1f cpu %.3f cpurate %.1f\n",
		       (unsigned long)total, seconds, total / seconds, cpu_ns / 1e9,
		       cpu_ns ? total / (cpu_ns / 1e9) : 0.0);
	return 0;
}
