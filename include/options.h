/* Command-line options (see man/ctop-prof.1). */
#ifndef CTOP_OPTIONS_H
#define CTOP_OPTIONS_H

#include <sys/types.h>

enum unwind_mode { UNWIND_AUTO, UNWIND_FP, UNWIND_DWARF };
enum sampler_kind { SAMPLER_AUTO, SAMPLER_PERF, SAMPLER_PTRACE };
enum profile_kind { PROFILE_CPU, PROFILE_THREADS, PROFILE_GOROUTINES };

struct options {
	pid_t pid;
	pid_t *tids;            /* -t; NULL = all */
	int ntids;
	unsigned freq;          /* -F, default 199 */
	double duration;        /* -d, 0 = until quit / target exit */
	const char *output;     /* -o */
	enum profile_kind profile;
	int batch;              /* -b */
	int tui;                /* set by main: no -b, and stdin/stdout are a terminal */
	double interval;        /* --interval, default 1 */
	enum unwind_mode unwind;
	enum sampler_kind sampler;
	double scan_interval;   /* --scan-interval, default 2, 0 = off */
	int no_color;
	char **command;         /* -- COMMAND ARGS (NULL-terminated), or NULL */
	char *cmdline;          /* the whole ctop-prof command line, for pprof comments */
};

/* Parses argv. Returns 0 to go on, 1 when --help/--version printed and we
 * should exit 0, or 2 on a usage error (message already printed). */
int options_parse(struct options *o, int argc, char **argv);
void options_free(struct options *o);

#endif
