/* lifecycle MODE [ARGS]: a target whose life changes under the profiler.
 *   spin SECONDS        burn CPU in lifecycle_spin, then exit 0
 *   exec SECONDS IMAGE  burn in before_exec_spin for SECONDS, then execv
 *                       IMAGE ("lifecycle-b": a different binary) with
 *                       argv "spin_b" (it burns in image_b_spin)
 *   fork SECONDS        fork a child that burns in child_spin (exec-free);
 *                       the parent burns in parent_spin; both for SECONDS
 *   reuse SECONDS       burn in reuse_spin (the process that gets a PID back)
 * Every mode writes "ready" to stdout once running. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "wl_common.h"

volatile unsigned long sink;

#define SPINNER(name) \
__attribute__((noinline)) void name(double secs) \
{ \
	double end = wl_now() + secs; \
	unsigned long x = sink; \
	do { WL_BURN(x, 200000UL); } while (secs <= 0 || wl_now() < end); \
	sink = x; \
}
SPINNER(lifecycle_spin)
SPINNER(before_exec_spin)
SPINNER(parent_spin)
SPINNER(child_spin)
SPINNER(reuse_spin)

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "spin";
	double secs = wl_seconds(argc, argv, 2);
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("ready\n");
	if (!strcmp(mode, "spin")) {
		lifecycle_spin(secs);
	} else if (!strcmp(mode, "exec")) {
		before_exec_spin(secs);
		if (argc > 3)
			execl(argv[3], argv[3], "spin_b", "0", (char *)NULL);
		perror("exec");
		return 1;
	} else if (!strcmp(mode, "fork")) {
		pid_t c = fork();
		if (c == 0) {
			child_spin(secs);
			_exit(0);
		}
		parent_spin(secs);
		if (c > 0)
			waitpid(c, NULL, 0);
	} else if (!strcmp(mode, "reuse")) {
		reuse_spin(secs);
	} else {
		return 2;
	}
	return 0;
}
