/* Internals of the TUI shared by the files of src/tui. One struct tui holds the
 * whole UI state; the views draw from copies made under app_lock, so
 * drawing never holds the lock and never touches the profile. */
#ifndef CTOP_TUI_IMPL_H
#define CTOP_TUI_IMPL_H

#include <regex.h>
#include <stdint.h>
#include <sys/types.h>

#include "app.h"
#include "report.h"
#include "tui/layout.h"

/* What a key handler asks the loop to do (htop's Htop_Reaction). */
enum {
	ACT_NONE = 0,
	ACT_DRAW = 1,        /* redraw the screen */
	ACT_COLLECT = 2,     /* recompute the view's copy from the current report */
	ACT_BUILD = 4,       /* rebuild the report (window, filters, reset) */
	ACT_QUIT = 8,
};

enum view_id { VIEW_TOP, VIEW_TREE, VIEW_FLAME, VIEW_THREADS, VIEW_LEAKS,
	       VIEW_SOURCE, VIEW_COUNT };

/* Screen roles; screen.c maps them to colour pairs or monochrome attrs. */
enum role {
	R_NORMAL, R_HEADER, R_TITLE, R_TAB, R_TAB_ACTIVE, R_COLHDR, R_SORTED,
	R_SELECTED, R_MATCH, R_LEAK, R_DIM, R_STATUS, R_ERROR, R_HOT, R_PAUSED,
	R_FLAME0,                       /* R_FLAME0 .. R_FLAME0+FLAME_PALETTE-1 */
	R_COUNT = R_FLAME0 + 6,
};
#define FLAME_PALETTE 6

/* Interned strings of one report copy, freed all at once. */
struct strpool;
struct strpool *strpool_new(void);
void strpool_free(struct strpool *p);
const char *strpool_intern(struct strpool *p, const char *s);   /* NULL -> NULL */

/* A function of the report, with strings owned by the copy. */
struct sfunc {
	const char *name, *module, *file;
	int line, start_line;
	uint64_t flat, cum;
};

struct hdr {
	pid_t pid;
	char comm[64];
	int nthreads;
	int64_t goroutines;          /* -1: not a Go target / unknown */
	char gover[32];
	char sampler[96];
	uint64_t samples, lost, dropped;
	uint64_t elapsed_s;
	char status[256];
	int exited, done;
	int launched;                /* we started the target: it shares the tty */
};

struct thread_row {
	pid_t tid;
	char name[64];
	char state;
	double cpu;
	uint64_t samples;
	char hot[160];
	char wchan[64];
};

struct group_row {
	uint32_t id;
	int64_t count, delta;
	int64_t *hist; int nhist;
	char *states, *wait, *top, *created;
	int suspect;
	uint64_t *pcs; uint32_t n;
};

struct tui {
	struct app *a;
	int view;
	int unicode, color;
	int help;
	int paused, frozen;          /* frozen: sampling is over (-d, exit) */
	uint64_t pause_ns;
	int exit_noted, done_noted;
	enum window window;
	enum sort_key sort;
	int inverted;
	/* filters: the function name as shown, and the anchored regex */
	char *fname[3], *fre[3];     /* 0 focus, 1 ignore, 2 hide */
	pid_t tid;
	char tid_name[64];
	uint64_t lost_base;          /* sampler's lost count at the last reset */

	/* search prompt and pattern */
	int prompt;
	char pbuf[256];
	size_t plen;
	char search[256];
	regex_t re;
	int have_re;

	/* the report and its copy */
	struct report *r;
	uint64_t total;
	uint32_t nfuncs;
	struct sfunc *funcs;
	struct strpool *pool;
	uint32_t *fhash; uint32_t fhcap;   /* name -> func id + 1 */
	char *sel;                   /* function the views agree on (f/i/h, Source) */
	struct hdr hdr;

	/* per view state, see each view_*.c */
	struct top_state *top;
	struct tree_state *tree;
	struct flame_state *flame;
	struct threads_state *thr;
	struct leaks_state *leaks;
	struct source_state *src;

	int rows, cols;              /* terminal size */
	int vy, vh;                  /* the view's area */
};

struct view_ops {
	const char *name;
	/* Lock held: copy what draw needs from t->r and the app. */
	void (*collect)(struct tui *t);
	/* No lock: draw rows [y, y+h) of the screen. */
	void (*draw)(struct tui *t, int y, int h);
	/* View keys (movement, Enter, Esc, ...): ACT_* flags, or -1 when the
	 * key means nothing here. */
	int (*key)(struct tui *t, int ch);
	/* Function under the cursor (for f/i/h and Source), or NULL. */
	const char *(*selected)(struct tui *t);
	/* Move to the next (dir 1) / previous (-1) row matching t->re. */
	int (*search)(struct tui *t, int dir);
	void (*free)(struct tui *t);
};

extern const struct view_ops view_top, view_tree, view_flame, view_threads,
	view_leaks, view_source;
extern const struct view_ops *const tui_views[VIEW_COUNT];

/* tui.c */
int tui_func_id(const struct tui *t, const char *name);   /* -1 if absent */
int tui_match(const struct tui *t, const char *s);        /* search hit */
void tui_status(struct tui *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tui_set_sel(struct tui *t, const char *name);
void tui_set_str(char **dst, const char *s);             /* copy of s, or NULL */
void tui_draw_all(struct tui *t);
uint64_t tui_now(const struct tui *t);   /* the time the report is built for */
void tui_filter_set(struct tui *t, int which, const char *name);
void tui_filters_clear(struct tui *t);
void tui_restrict_thread(struct tui *t, pid_t tid, const char *name);
int tui_snapshot(struct tui *t);
void tui_reset(struct tui *t);

/* keys.c */
int keys_handle(struct tui *t, int ch);
/* Movement keys shared by the list views: ACT_DRAW if handled, else -1. */
int keys_list_move(struct scroll *s, int ch, int n, int h);
int key_is_enter(int ch);
int key_is_back(int ch);

/* help.c */
void help_draw(struct tui *t, int y, int h);

/* screen.c: the only owner of curses state */
int screen_init(struct tui *t);
void screen_end(void);
/* Wait for input, a signal or timeout_ms. Returns SCR_* bits. */
enum { SCR_INPUT = 1, SCR_QUIT = 2, SCR_HUP = 4, SCR_ERRLINE = 8 };
int screen_wait(int timeout_ms);
int screen_getch(void);            /* ERR when nothing is pending */
int screen_input_eof(void);        /* input readable but no bytes: terminal gone */
/* A line the program wrote to stderr while the screen is up, or NULL. */
const char *screen_errline(void);
int screen_attr(int role);
int screen_module_role(const char *module);
/* Put s at (y, x) fitted to w columns (".." when cut), padded with blanks
 * to w when pad. Control characters are shown as '?', and non-ASCII bytes
 * too when the terminal is not UTF-8. Returns the columns written. */
int screen_put(int y, int x, int w, int attr, const char *s, int pad);
int screen_printf(int y, int x, int w, int attr, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void screen_fill(int y, int x, int w, int attr, char c);
void screen_size(int *rows, int *cols);
/* Next refresh rewrites every cell (something else wrote to the terminal). */
void screen_repaint_all(void);

#endif
