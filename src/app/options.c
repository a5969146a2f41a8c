/* Command-line parsing. Every usage error is one line on stderr, exit 2. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "export.h"
#include "options.h"

static const char usage_text[] =
"Usage: ctop-prof [OPTIONS] -p PID\n"
"       ctop-prof [OPTIONS] -- COMMAND [ARG...]\n"
"Live sampling profiler with a terminal UI.\n"
"\n"
"  -p, --pid PID            profile a running process (all its threads)\n"
"  -t, --tid TID[,TID...]   only these threads\n"
"  -F, --freq HZ            samples per second per running thread (default 199)\n"
"  -d, --duration SEC       stop sampling after SEC seconds\n"
"  -o, --output FILE        write the profile when sampling ends:\n"
"                           .pb.gz/.pprof (pprof), .folded/.collapsed, .txt\n"
"      --profile KIND       cpu (default), threads or goroutines\n"
"  -b, --batch              no TUI: print the table every --interval\n"
"      --interval SEC       refresh / print interval (default 1)\n"
"      --unwind MODE        auto (default), fp or dwarf\n"
"      --sampler KIND       auto (default), perf or ptrace\n"
"      --scan-interval SEC  thread/goroutine stack scans (default 2, 0 = off)\n"
"      --no-color           monochrome (also when NO_COLOR is set)\n"
"  -h, --help               this help\n"
"  -V, --version            version\n"
"\n"
"Exit status: 0 success, 1 runtime failure, 2 usage error.\n"
"See ctop-prof(1) for the keys, views and file formats.\n";

#include <stdarg.h>
static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "ctop-prof: %s (see ctop-prof --help)\n", msg);
	return 2;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		return -1;
	*out = v;
	return 0;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_tids(struct options *o, const char *arg)
{
	char *copy = xstrdup(arg), *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		long v;
		if (parse_long(tok, 1, INT_MAX, &v) < 0) {
			free(copy);
			return -1;
		}
		o->tids = xrealloc(o->tids, sizeof(pid_t) * (size_t)(o->ntids + 1));
		o->tids[o->ntids++] = (pid_t)v;
	}
	free(copy);
	return o->ntids ? 0 : -1;
}

static char *join_args(int argc, char **argv)
{
	size_t len = 1;
	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	char *s = xmalloc(len), *p = s;
	for (int i = 0; i < argc; i++)
		p += sprintf(p, "%s%s", i ? " " : "", argv[i]);
	*p = 0;
	return s;
}

enum { OPT_PROFILE = 256, OPT_INTERVAL, OPT_UNWIND, OPT_SAMPLER, OPT_SCAN, OPT_NOCOLOR };

int options_parse(struct options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"pid", required_argument, 0, 'p'},
		{"tid", required_argument, 0, 't'},
		{"freq", required_argument, 0, 'F'},
		{"duration", required_argument, 0, 'd'},
		{"output", required_argument, 0, 'o'},
		{"profile", required_argument, 0, OPT_PROFILE},
		{"batch", no_argument, 0, 'b'},
		{"interval", required_argument, 0, OPT_INTERVAL},
		{"unwind", required_argument, 0, OPT_UNWIND},
		{"sampler", required_argument, 0, OPT_SAMPLER},
		{"scan-interval", required_argument, 0, OPT_SCAN},
		{"no-color", no_argument, 0, OPT_NOCOLOR},
		{"help", no_argument, 0, 'h'},
		{"version", no_argument, 0, 'V'},
		{0, 0, 0, 0},
	};
	memset(o, 0, sizeof *o);
	o->freq = 199;
	o->interval = 1;
	o->scan_interval = 2;
	o->cmdline = join_args(argc, argv);
	const char *nc = getenv("NO_COLOR");
	o->no_color = nc && *nc;

	opterr = 0;
	optind = 1;
	int c;
	long v;
	while ((c = getopt_long(argc, argv, "+:p:t:F:d:o:bhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_long(optarg, 1, INT_MAX, &v) < 0)
				return bad("invalid PID '%s'", optarg);
			o->pid = (pid_t)v;
			break;
		case 't':
			if (parse_tids(o, optarg) < 0)
				return bad("invalid thread list '%s' (expected TID[,TID...])", optarg);
			break;
		case 'F':
			if (parse_long(optarg, 1, 20000, &v) < 0)
				return bad("invalid frequency '%s' (expected 1..20000 Hz)", optarg);
			o->freq = (unsigned)v;
			break;
		case 'd':
			if (parse_double(optarg, 0.001, 1e7, &o->duration) < 0)
				return bad("invalid duration '%s' (expected seconds > 0)", optarg);
			break;
		case 'o':
			if (!*optarg)
				return bad("empty output file name");
			o->output = optarg;
			break;
		case OPT_PROFILE:
			if (!strcmp(optarg, "cpu")) o->profile = PROFILE_CPU;
			else if (!strcmp(optarg, "threads")) o->profile = PROFILE_THREADS;
			else if (!strcmp(optarg, "goroutines")) o->profile = PROFILE_GOROUTINES;
			else return bad("unknown profile '%s' (expected cpu, threads or goroutines)", optarg);
			break;
		case 'b':
			o->batch = 1;
			break;
		case OPT_INTERVAL:
			if (parse_double(optarg, 0.05, 3600, &o->interval) < 0)
				return bad("invalid interval '%s' (expected 0.05..3600 seconds)", optarg);
			break;
		case OPT_UNWIND:
			if (!strcmp(optarg, "auto")) o->unwind = UNWIND_AUTO;
			else if (!strcmp(optarg, "fp")) o->unwind = UNWIND_FP;
			else if (!strcmp(optarg, "dwarf")) o->unwind = UNWIND_DWARF;
			else return bad("unknown unwind mode '%s' (expected auto, fp or dwarf)", optarg);
			break;
		case OPT_SAMPLER:
			if (!strcmp(optarg, "auto")) o->sampler = SAMPLER_AUTO;
			else if (!strcmp(optarg, "perf")) o->sampler = SAMPLER_PERF;
			else if (!strcmp(optarg, "ptrace")) o->sampler = SAMPLER_PTRACE;
			else return bad("unknown sampler '%s' (expected auto, perf or ptrace)", optarg);
			break;
		case OPT_SCAN:
			if (parse_double(optarg, 0, 3600, &o->scan_interval) < 0)
				return bad("invalid scan interval '%s' (expected 0..3600 seconds)", optarg);
			if (o->scan_interval > 0 && o->scan_interval < 0.1)
				o->scan_interval = 0.1;
			break;
		case OPT_NOCOLOR:
			o->no_color = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 1;
		case 'V':
			printf("ctop-prof %s\n", CTOP_VERSION);
			return 1;
		case ':':
			return bad("option '%s' needs a value", argv[optind - 1]);
		default:
			return bad("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		o->command = &argv[optind];
	if (o->command && o->pid)
		return bad("give either -p PID or -- COMMAND, not both");
	if (!o->command && !o->pid)
		return bad("nothing to profile: give -p PID or -- COMMAND");
	if (o->output && !export_path_known(o->output))
		return bad("unknown output format '%s' (use .pb.gz, .pprof, .folded, .collapsed or .txt)", o->output);
	return 0;
}

void options_free(struct options *o)
{
	free(o->tids);
	free(o->cmdline);
	o->tids = NULL;
	o->cmdline = NULL;
}
