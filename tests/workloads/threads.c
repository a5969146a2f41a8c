/* threads [LATE_DELAY [SECONDS]]: named threads with known behaviour.
 *   alpha   spins in spin_alpha
 *   beta    spins in spin_beta
 *   sleeper blocks forever in pthread_cond_wait
 *   late    starts after LATE_DELAY seconds (default 2) and spins in spin_late
 * The main thread sleeps. Runs until killed, or SECONDS. */
#define _GNU_SOURCE
#include <pthread.h>
#include <unistd.h>
#include "wl_common.h"

volatile unsigned long sink;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

__attribute__((noinline)) void spin_alpha(void)
{
	unsigned long x = sink;
	for (;;)
		WL_BURN(x, 1000000UL);
}

__attribute__((noinline)) void spin_beta(void)
{
	unsigned long x = sink;
	for (;;)
		WL_BURN(x, 1000000UL);
}

__attribute__((noinline)) void spin_late(void)
{
	unsigned long x = sink;
	for (;;)
		WL_BURN(x, 1000000UL);
}

__attribute__((noinline)) void sleep_forever(void)
{
	pthread_mutex_lock(&mu);
	for (;;)
		pthread_cond_wait(&never, &mu);
}

static void *run(void *arg)
{
	const char *name = arg;
	pthread_setname_np(pthread_self(), name);
	switch (name[0]) {
	case 'a': spin_alpha(); break;
	case 'b': spin_beta(); break;
	case 'l': spin_late(); break;
	default: sleep_forever(); break;
	}
	return NULL;
}

static void start(const char *name)
{
	pthread_t t;
	if (pthread_create(&t, NULL, run, (void *)name) == 0)
		pthread_detach(t);
}

int main(int argc, char **argv)
{
	double delay = argc > 1 ? atof(argv[1]) : 2.0;
	double seconds = wl_seconds(argc, argv, 2);
	double t0 = wl_now();

	start("alpha");
	start("beta");
	start("sleeper");
	usleep((useconds_t)(delay * 1e6));
	start("late");
	for (;;) {
		usleep(100000);
		if (seconds > 0 && wl_now() - t0 >= seconds)
			break;
	}
	return 0;
}
