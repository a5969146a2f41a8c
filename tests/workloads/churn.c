/* churn RATE SECONDS: thread churn. Creates RATE threads per second, in
 * batches of 3 that are joined before the next batch, for SECONDS (0 =
 * until killed). Every thread burns ~2.5 ms of CPU in churn_work and exits,
 * so the profile's truth is: nearly all CPU in churn_work, on threads that
 * lived a few ms each. Prints "churn: N threads" at the end (its own
 * counter, the oracle for "short-lived threads still get sampled"). */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include "wl_common.h"

#define BATCH 3
volatile unsigned long sink;

__attribute__((noinline)) void churn_work(void)
{
	unsigned long x = sink;
	WL_BURN(x, 2500000UL);     /* ~2.5 ms */
	sink = x;
}

static void *churn_thread(void *arg)
{
	(void)arg;
	churn_work();
	return NULL;
}

int main(int argc, char **argv)
{
	double rate = argc > 1 ? atof(argv[1]) : 300;
	double secs = wl_seconds(argc, argv, 2);
	if (rate <= 0)
		rate = 300;
	double start = wl_now(), next = start;
	unsigned long made = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (secs <= 0 || wl_now() - start < secs) {
		pthread_t t[BATCH];
		int n = 0;
		for (int i = 0; i < BATCH; i++)
			if (pthread_create(&t[n], NULL, churn_thread, NULL) == 0)
				n++;
		for (int i = 0; i < n; i++)
			pthread_join(t[i], NULL);
		made += (unsigned long)n;
		/* pace to RATE threads per second */
		next += BATCH / rate;
		double now = wl_now();
		if (next > now) {
			double d = next - now;
			struct timespec ts = { (time_t)d, (long)((d - (time_t)d) * 1e9) };
			nanosleep(&ts, NULL);
		} else if (now - next > 1) {
			next = now;   /* fell behind (loaded machine): do not burst */
		}
	}
	printf("churn: %lu threads\n", made);
	return 0;
}
