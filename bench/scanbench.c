/* scanbench: the cost of ctop-prof's periodic stack scans, measured on the
 * library code the collector uses (a bench tool, linked with libctop.a).
 *
 *   scanbench PID threads|goroutines ROUNDS [INTERVAL_SEC]
 *
 * Each round does what one --scan-interval tick of ctop-prof does for that
 * kind: threads: re-read the thread states (threads_refresh), collect every
 * thread's stack (threads_scan: ptrace stop, copy, detach, then unwind) and
 * group the stacks (groups_update, symbolizing them); goroutines: read all
 * goroutines (gort_scan: process_vm_readv, no stop) and group them. Prints
 * one line per round and a last line with medians:
 *   round I members N scan_ms S group_ms G cpu_ms C max_stop_us M
 *   median members N scan_ms S group_ms G cpu_ms C max_stop_us M worst_stop_us W
 * The first round pays for opening symbol tables; the medians are over the
 * rounds after it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "common.h"
#include "gort.h"
#include "groups.h"
#include "symbol.h"
#include "threads.h"
#include "unwind.h"

static const struct sym_loc *resolve(void *st, uint64_t pc)
{
	return symtab_lookup(st, pc);
}

static double cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 +
	       ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	if (n <= 0)
		return 0;
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: scanbench PID threads|goroutines ROUNDS [INTERVAL_SEC]\n");
		return 2;
	}
	pid_t pid = (pid_t)atoi(argv[1]);
	int go = strcmp(argv[2], "goroutines") == 0;
	int rounds = atoi(argv[3]);
	double interval = argc > 4 ? atof(argv[4]) : 1.0;
	if (pid <= 0 || rounds < 2 || (!go && strcmp(argv[2], "threads") != 0)) {
		fprintf(stderr, "scanbench: bad arguments\n");
		return 2;
	}
	struct symtab *st = symtab_open(pid);
	if (!st)
		return 1;
	struct unwinder *u = unwinder_new(st, UNWIND_AUTO);
	struct threads *th = threads_new(pid);
	struct groups *gr = groups_new();
	struct gort *g = NULL;
	if (go) {
		g = gort_open(pid);
		if (!g || gort_error(g)) {
			fprintf(stderr, "scanbench: cannot read goroutines of %d: %s\n", (int)pid,
				g ? gort_error(g) : "not a Go program");
			return 1;
		}
	}
	double *scan = xcalloc((size_t)rounds, sizeof *scan);
	double *grp = xcalloc((size_t)rounds, sizeof *grp);
	double *cpu = xcalloc((size_t)rounds, sizeof *cpu);
	double *stop = xcalloc((size_t)rounds, sizeof *stop);
	double *mem = xcalloc((size_t)rounds, sizeof *mem);
	double worst = 0;
	for (int r = 0; r < rounds; r++) {
		double c0 = cpu_ms();
		uint64_t t0 = now_ns();
		struct group_member *m = NULL;
		int n;
		uint64_t max_stop = 0;
		struct scanned_thread *sth = NULL;
		struct goroutine *gs = NULL;
		if (!go) {
			threads_refresh(th, t0);
			struct scan_stats ss;
			n = threads_scan(pid, u, NULL, NULL, NULL, &sth, &ss);
			if (n < 0) {
				fprintf(stderr, "scanbench: thread scan failed: %d\n", n);
				return 1;
			}
			max_stop = ss.max_stop_ns;
			m = xcalloc((size_t)n + 1, sizeof *m);
			for (int i = 0; i < n; i++)
				m[i] = (struct group_member){ .pcs = sth[i].pcs, .n = sth[i].n,
							      .state = sth[i].state,
							      .wait = sth[i].wait };
		} else {
			struct gort_stats gst;
			n = gort_scan(g, &gs, &gst);
			if (n < 0) {
				fprintf(stderr, "scanbench: goroutine scan failed: %d\n", n);
				return 1;
			}
			m = xcalloc((size_t)n + 1, sizeof *m);
			for (int i = 0; i < n; i++)
				m[i] = (struct group_member){ .pcs = gs[i].pcs, .n = gs[i].n,
							      .state = gort_state_char(gs[i].status),
							      .state_name = gs[i].status_name,
							      .wait = gs[i].wait_reason,
							      .created_pc = gs[i].gopc };
		}
		uint64_t t1 = now_ns();
		groups_update(gr, t1, m, (size_t)n, resolve, st);
		uint64_t t2 = now_ns();
		double c1 = cpu_ms();
		free(m);
		free(sth);
		free(gs);
		scan[r] = (t1 - t0) / 1e6;
		grp[r] = (t2 - t1) / 1e6;
		cpu[r] = c1 - c0;
		stop[r] = max_stop / 1e3;
		mem[r] = n;
		if (r > 0 && stop[r] > worst)
			worst = stop[r];
		printf("round %d members %d scan_ms %.2f group_ms %.2f cpu_ms %.2f max_stop_us %.1f\n",
		       r, n, scan[r], grp[r], cpu[r], stop[r]);
		fflush(stdout);
		if (r + 1 < rounds) {
			struct timespec ts = { (time_t)interval,
					       (long)((interval - (time_t)interval) * 1e9) };
			nanosleep(&ts, NULL);
		}
	}
	int k = rounds - 1;
	printf("median members %.0f scan_ms %.2f group_ms %.2f cpu_ms %.2f max_stop_us %.1f "
	       "worst_stop_us %.1f\n", median(mem + 1, k), median(scan + 1, k),
	       median(grp + 1, k), median(cpu + 1, k), median(stop + 1, k), worst);
	groups_free(gr);
	threads_free(th);
	gort_close(g);
	unwinder_free(u);
	symtab_close(st);
	free(scan); free(grp); free(cpu); free(stop); free(mem);
	return 0;
}
