/* All curses state of ctop-prof (htop's CRT.c): terminal setup, colours,
 * signals, and the restore of the terminal on every way out — quit, error,
 * SIGINT/SIGTERM/SIGHUP (turned into events through a self-pipe and handled
 * in the loop, tmux style), the terminal going away, crashes (the handler
 * calls endwin(), which is not async-signal-safe but is the lesser evil when
 * the alternative is a terminal left in raw mode, then re-raises), and
 * exit() from anywhere (atexit). */
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common.h"
#include "tui/tui_impl.h"

static volatile sig_atomic_t g_active;      /* curses is up */
static volatile sig_atomic_t g_quit_sig;    /* SIGINT/SIGTERM/SIGHUP seen */
static int g_sigpipe[2] = { -1, -1 };
static SCREEN *g_screen;
static FILE *g_in;                         /* terminal input */
static int g_in_own;                       /* we opened /dev/tty */
static int g_unicode, g_color;
static int g_attrs[R_COUNT];
/* stderr redirected into a pipe while the screen is up, so messages of the
 * collector threads become status lines instead of garbage on the screen */
static int g_err_saved = -1, g_err_pipe = -1;
static char g_errbuf[1024];
static size_t g_errlen;
static char g_errline[256];
/* the last lines, printed again on the real stderr once the screen is gone */
#define ERR_KEEP 20
static char g_errkeep[ERR_KEEP][256];
static unsigned g_nerr;
static int g_atexit;

static const int quit_sigs[] = { SIGINT, SIGTERM, SIGHUP };
static const int crash_sigs[] = { SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL };
static struct sigaction g_old_quit[3], g_old_crash[5];

static void on_quit_signal(int sig)
{
	int e = errno;
	g_quit_sig = sig;
	if (g_sigpipe[1] >= 0)
		(void)!write(g_sigpipe[1], "", 1);
	errno = e;
}

static void restore_stderr(void)
{
	if (g_err_saved >= 0) {
		dup2(g_err_saved, STDERR_FILENO);
		close(g_err_saved);
		g_err_saved = -1;
	}
}

static void on_crash_signal(int sig)
{
	/* SA_RESETHAND: the default action is back; re-raising after the
	 * terminal is restored gives the usual core/exit status. */
	if (g_active) {
		g_active = 0;
		endwin();
	}
	if (g_err_saved >= 0)
		dup2(g_err_saved, STDERR_FILENO);
	raise(sig);
}

static void at_exit(void)
{
	screen_end();
}

static void setup_colors(void)
{
	static const short flame_bg[FLAME_PALETTE] = {
		COLOR_RED, COLOR_YELLOW, COLOR_GREEN, COLOR_CYAN, COLOR_MAGENTA, COLOR_BLUE,
	};
	static const short flame_fg[FLAME_PALETTE] = {
		COLOR_WHITE, COLOR_BLACK, COLOR_BLACK, COLOR_BLACK, COLOR_WHITE, COLOR_WHITE,
	};
	short pair = 1;

	start_color();
	use_default_colors();
#define PAIR(role, fg, bg, extra) do { \
		init_pair(pair, fg, bg); \
		g_attrs[role] = COLOR_PAIR(pair) | (extra); \
		pair++; \
	} while (0)
	PAIR(R_HEADER, COLOR_CYAN, -1, A_BOLD);
	PAIR(R_TITLE, COLOR_WHITE, COLOR_BLUE, A_BOLD);
	PAIR(R_TAB, COLOR_BLACK, COLOR_CYAN, 0);
	PAIR(R_TAB_ACTIVE, COLOR_BLACK, COLOR_GREEN, A_BOLD);
	PAIR(R_COLHDR, COLOR_BLACK, COLOR_GREEN, 0);
	PAIR(R_SORTED, COLOR_BLACK, COLOR_CYAN, A_BOLD);
	PAIR(R_SELECTED, COLOR_BLACK, COLOR_CYAN, 0);
	PAIR(R_MATCH, COLOR_YELLOW, -1, A_BOLD);
	PAIR(R_LEAK, COLOR_RED, -1, A_BOLD);
	PAIR(R_DIM, COLOR_BLUE, -1, A_BOLD);
	PAIR(R_STATUS, COLOR_GREEN, -1, 0);
	PAIR(R_ERROR, COLOR_RED, -1, A_BOLD);
	PAIR(R_HOT, COLOR_RED, -1, 0);
	PAIR(R_PAUSED, COLOR_BLACK, COLOR_YELLOW, A_BOLD);
	for (int i = 0; i < FLAME_PALETTE; i++)
		PAIR(R_FLAME0 + i, flame_fg[i], flame_bg[i], 0);
#undef PAIR
}

static void setup_mono(void)
{
	g_attrs[R_HEADER] = A_BOLD;
	g_attrs[R_TITLE] = A_BOLD | A_REVERSE;
	g_attrs[R_TAB] = A_NORMAL;
	g_attrs[R_TAB_ACTIVE] = A_REVERSE | A_BOLD;
	g_attrs[R_COLHDR] = A_REVERSE;
	g_attrs[R_SORTED] = A_REVERSE | A_BOLD | A_UNDERLINE;
	g_attrs[R_SELECTED] = A_REVERSE;
	g_attrs[R_MATCH] = A_BOLD | A_UNDERLINE;
	g_attrs[R_LEAK] = A_BOLD;
	g_attrs[R_DIM] = A_DIM;
	g_attrs[R_STATUS] = A_NORMAL;
	g_attrs[R_ERROR] = A_BOLD;
	g_attrs[R_HOT] = A_BOLD;
	g_attrs[R_PAUSED] = A_REVERSE | A_BOLD;
	/* flame boxes alternate reverse/normal (see view_flame.c) */
	for (int i = 0; i < FLAME_PALETTE; i++)
		g_attrs[R_FLAME0 + i] = i % 2 ? A_NORMAL : A_REVERSE;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_quit_signal;
	for (int i = 0; i < 3; i++)
		sigaction(quit_sigs[i], &sa, &g_old_quit[i]);
	sa.sa_handler = on_crash_signal;
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	for (int i = 0; i < 5; i++)
		sigaction(crash_sigs[i], &sa, &g_old_crash[i]);
}

static void restore_signals(void)
{
	for (int i = 0; i < 3; i++)
		sigaction(quit_sigs[i], &g_old_quit[i], NULL);
	for (int i = 0; i < 5; i++)
		sigaction(crash_sigs[i], &g_old_crash[i], NULL);
}

static void redirect_stderr(void)
{
	int p[2];

	if (!isatty(STDERR_FILENO) || pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return;
	g_err_saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (g_err_saved < 0 || dup2(p[1], STDERR_FILENO) < 0) {
		close(p[0]);
		close(p[1]);
		if (g_err_saved >= 0)
			close(g_err_saved);
		g_err_saved = -1;
		return;
	}
	close(p[1]);
	g_err_pipe = p[0];
}

int screen_init(struct tui *t)
{
	const char *cs;
	int fd;

	/* The locale decides whether ncursesw may draw UTF-8; numbers in
	 * output files must stay "C" whatever the user's locale. */
	setlocale(LC_ALL, "");
	setlocale(LC_NUMERIC, "C");
	cs = nl_langinfo(CODESET);
	g_unicode = cs && (!strcasecmp(cs, "UTF-8") || !strcasecmp(cs, "utf8"));

	/* Keys come from the terminal even when stdin is redirected. */
	if (isatty(STDIN_FILENO)) {
		g_in = stdin;
	} else {
		fd = open("/dev/tty", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || !(g_in = fdopen(fd, "r"))) {
			errmsg("no terminal to read keys from (/dev/tty: %s); use -b for batch mode",
			       strerror(errno));
			if (fd >= 0)
				close(fd);
			return -ENOTTY;
		}
		g_in_own = 1;
	}
	if (pipe2(g_sigpipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		errmsg("pipe: %s", strerror(errno));
		return -errno;
	}
	g_screen = newterm(NULL, stdout, g_in);
	if (!g_screen) {
		errmsg("cannot initialize the terminal (TERM=%s); use -b for batch mode",
		       getenv("TERM") ? getenv("TERM") : "unset");
		return -ENOTTY;
	}
	set_term(g_screen);
	g_active = 1;
	if (!g_atexit) {
		atexit(at_exit);
		g_atexit = 1;
	}
	install_signals();
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	g_color = has_colors() && !t->a->opt->no_color && !getenv("NO_COLOR");
	if (g_color)
		setup_colors();
	else
		setup_mono();
	redirect_stderr();
	t->unicode = g_unicode;
	t->color = g_color;
	return 0;
}

void screen_end(void)
{
	if (g_active) {
		g_active = 0;
		curs_set(1);
		endwin();
		restore_signals();
	}
	if (g_screen) {
		delscreen(g_screen);
		g_screen = NULL;
	}
	if (g_err_pipe >= 0) {
		while (screen_errline())
			;
		restore_stderr();
		close(g_err_pipe);
		g_err_pipe = -1;
		for (unsigned i = g_nerr > ERR_KEEP ? g_nerr - ERR_KEEP : 0; i < g_nerr; i++)
			fprintf(stderr, "%s\n", g_errkeep[i % ERR_KEEP]);
		g_nerr = 0;
	}
	restore_stderr();
	if (g_in_own && g_in) {
		fclose(g_in);
		g_in = NULL;
		g_in_own = 0;
	}
	for (int i = 0; i < 2; i++) {
		if (g_sigpipe[i] >= 0)
			close(g_sigpipe[i]);
		g_sigpipe[i] = -1;
	}
}

static int g_readable;     /* the last wait saw the input readable */
static int g_empty_reads;  /* ... and curses got nothing, in a row */

int screen_wait(int timeout_ms)
{
	struct pollfd pf[3] = {
		{ .fd = fileno(g_in), .events = POLLIN },
		{ .fd = g_sigpipe[0], .events = POLLIN },
		{ .fd = g_err_pipe, .events = POLLIN },
	};
	int r = 0, n;
	char drain[64];

	n = poll(pf, 3, timeout_ms);
	if (n < 0)
		return errno == EINTR ? (g_quit_sig ? SCR_QUIT : 0) : SCR_HUP;
	if (pf[1].revents) {
		while (read(g_sigpipe[0], drain, sizeof drain) > 0)
			;
	}
	if (g_quit_sig)
		r |= SCR_QUIT;
	if (pf[0].revents & POLLIN)
		r |= SCR_INPUT;
	if (pf[0].revents & (POLLHUP | POLLERR | POLLNVAL))
		r |= SCR_HUP;
	if (pf[2].revents & (POLLIN | POLLHUP))
		r |= SCR_ERRLINE;
	g_readable = !!(r & SCR_INPUT);
	return r;
}

int screen_getch(void)
{
	int ch = getch();

	if (ch != ERR)
		g_empty_reads = 0;
	return ch;
}

int screen_input_eof(void)
{
	int avail = 0;

	/* A hung-up terminal polls readable with no bytes, forever. A split
	 * escape sequence can look the same once, so ask for a few in a row
	 * (a real EOF makes poll return at once, so this costs nothing). */
	if (!g_readable)
		return 0;
	if (ioctl(fileno(g_in), FIONREAD, &avail) < 0)
		return 1;
	if (avail > 0) {
		g_empty_reads = 0;
		return 0;
	}
	return ++g_empty_reads >= 5;
}

const char *screen_errline(void)
{
	ssize_t n;
	char *nl;

	if (g_err_pipe < 0)
		return NULL;
	n = read(g_err_pipe, g_errbuf + g_errlen, sizeof g_errbuf - 1 - g_errlen);
	if (n > 0)
		g_errlen += (size_t)n;
	g_errbuf[g_errlen] = 0;
	nl = strchr(g_errbuf, '\n');
	if (!nl) {
		if (g_errlen < sizeof g_errbuf - 1)
			return NULL;
		nl = g_errbuf + g_errlen - 1;   /* overlong line: cut it */
	}
	*nl = 0;
	snprintf(g_errline, sizeof g_errline, "%.255s", g_errbuf);
	memcpy(g_errkeep[g_nerr++ % ERR_KEEP], g_errline, sizeof g_errline);
	g_errlen -= (size_t)(nl + 1 - g_errbuf);
	memmove(g_errbuf, nl + 1, g_errlen);
	return g_errline;
}

int screen_attr(int role)
{
	if (role < 0 || role >= R_COUNT)
		return A_NORMAL;
	return g_attrs[role];
}

int screen_module_role(const char *module)
{
	uint32_t h = 2166136261u;

	for (const char *p = module ? module : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return R_FLAME0 + (int)(h % FLAME_PALETTE);
}

void screen_repaint_all(void)
{
	clearok(curscr, TRUE);
}

void screen_size(int *rows, int *cols)
{
	getmaxyx(stdscr, *rows, *cols);
}

/* For a terminal that is not UTF-8: one character per code point, so the
 * widths stay right ("—" is "-", anything else non-ASCII "?"). */
static const char *ascii_only(const char *s, char *out, size_t len)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p && o + 1 < len;) {
		if (*p < 0x80) {
			out[o++] = (char)*p++;
			continue;
		}
		int dash = p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0x93 || p[2] == 0x94);
		out[o++] = dash ? '-' : '?';
		p++;
		while ((*p & 0xc0) == 0x80)
			p++;
	}
	out[o] = 0;
	return out;
}

int screen_put(int y, int x, int w, int attr, const char *s, int pad)
{
	char buf[1024], asc[1024];
	int used;

	if (!s)
		s = "";
	if (w <= 0 || y < 0 || y >= LINES || x >= COLS)
		return 0;
	if (x + w > COLS)
		w = COLS - x;
	if (!g_unicode)
		s = ascii_only(s, asc, sizeof asc);
	used = layout_fit(s, w, buf, sizeof buf);
	for (unsigned char *p = (unsigned char *)buf; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	attrset(attr);
	mvaddstr(y, x, buf);
	if (pad) {
		for (int i = used; i < w; i++)
			addch(' ');
	}
	attrset(A_NORMAL);
	return pad ? w : used;
}

int screen_printf(int y, int x, int w, int attr, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return screen_put(y, x, w, attr, buf, 0);
}

void screen_fill(int y, int x, int w, int attr, char c)
{
	if (y < 0 || y >= LINES || w <= 0)
		return;
	if (x + w > COLS)
		w = COLS - x;
	attrset(attr);
	move(y, x);
	for (int i = 0; i < w; i++)
		addch((unsigned char)c);
	attrset(A_NORMAL);
}
