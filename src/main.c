/* ctop-prof: options, wiring and exit codes (0 ok, 1 runtime, 2 usage). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "common.h"
#include "options.h"
#include "tui.h"

static volatile sig_atomic_t quit_signal;

static void on_quit(int sig) { quit_signal = sig; }

/* Batch mode: print the table every --interval until -d, target exit or a
 * signal, then once more at the end. */
static void run_batch(struct app *a)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_quit;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	uint64_t interval = (uint64_t)(a->opt->interval * 1e9);
	uint64_t next = now_ns() + interval;
	while (!quit_signal && !atomic_load(&a->sampling_done)) {
		struct timespec ts = { 0, 20000000 };
		nanosleep(&ts, NULL);
		if (now_ns() >= next) {
			app_print_table(a, a->opt->profile, stdout);
			next += interval;
		}
	}
}

int main(int argc, char **argv)
{
	struct options opt;
	int r = options_parse(&opt, argc, argv);
	if (r) {
		options_free(&opt);
		return r == 1 ? 0 : 2;
	}
	signal(SIGPIPE, SIG_IGN);

	opt.tui = !opt.batch && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
	struct app a;
	if (app_start(&a, &opt)) {
		app_finish(&a);
		app_free(&a);
		options_free(&opt);
		return 1;
	}
	int status = 0;
	if (opt.tui)
		status = tui_run(&a);
	else
		run_batch(&a);
	app_finish(&a);
	if (!opt.tui)
		app_print_table(&a, opt.profile, stdout);
	if (opt.output && app_write(&a, opt.output, opt.profile, WINDOW_ALL, NULL, 1, 0) < 0)
		status = 1;
	else if (opt.output && !opt.tui)
		fprintf(stderr, "ctop-prof: wrote %s\n", opt.output);
	app_free(&a);
	options_free(&opt);
	return status;
}
