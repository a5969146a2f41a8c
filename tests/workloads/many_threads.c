/* many_threads [N [CHURN]]: N (default 1000) threads sleeping in
 * many_sleeper, for the cost of a full thread scan. With CHURN > 0, CHURN
 * more threads each start short-lived threads (churn_child) in a loop, so
 * threads keep exiting while a scan runs. Prints "ready N" when the
 * sleepers have started. The main thread sleeps in pause(). Runs until
 * killed. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

volatile unsigned long sink;

__attribute__((noinline)) void *many_sleeper(void *arg)
{
	(void)arg;
	for (;;)
		sleep(1000);
	return NULL;
}

__attribute__((noinline)) void *churn_child(void *arg)
{
	(void)arg;
	/* a little work, a short sleep, then exit */
	for (int i = 0; i < 10000; i++)
		sink += (unsigned long)i;
	struct timespec ts = { 0, 2000000 };
	nanosleep(&ts, NULL);
	return NULL;
}

__attribute__((noinline)) void *churner(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_t t;
		if (pthread_create(&t, NULL, churn_child, NULL) == 0)
			pthread_join(t, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	int churn = argc > 2 ? atoi(argv[2]) : 0;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 * 1024);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < n + churn; i++) {
		pthread_t t;
		if (pthread_create(&t, &a, i < n ? many_sleeper : churner, NULL) != 0) {
			perror("pthread_create");
			return 1;
		}
	}
	printf("ready %d\n", n);
	fflush(stdout);
	for (;;)
		pause();
}
