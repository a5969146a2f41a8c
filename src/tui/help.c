/* The help screen: every key, grouped as the SPEC lists them. */
#include <curses.h>
#include <stdio.h>

#include "tui/tui_impl.h"

static const char *const help_lines[][2] = {
	{ "Views", NULL },
	{ "1 .. 6, Tab", "Top, Tree, Flame, Threads, Leaks, Source (Shift-Tab: back)" },
	{ "Moving", NULL },
	{ "Up Down j k", "move the cursor (Flame: Up = callee above, Down = caller below)" },
	{ "PgUp PgDn g G", "page up / down, first / last row" },
	{ "Left Right", "Tree: collapse / expand; Flame: previous / next frame in the row" },
	{ "Enter", "drill down: Top: callers+callees; Tree: expand/collapse; Flame: zoom;" },
	{ "", "Threads: restrict all views to the thread; Leaks: the group's stack" },
	{ "Esc Backspace", "back: close the peek / stack, zoom out, clear the thread restriction" },
	{ "Search and filters", NULL },
	{ "/  n  N", "search functions (regex), next / previous match" },
	{ "f", "focus on the selected function (keep stacks through it)" },
	{ "i", "ignore the selected function (drop stacks through it)" },
	{ "h", "hide the selected function (elide the frame)" },
	{ "F", "clear all filters and the thread restriction" },
	{ "Display", NULL },
	{ "w", "time window: since start, last 10 s, last 60 s" },
	{ "<  >", "sort column: flat, flat%, cum, cum%, name" },
	{ "I", "invert the call tree (leaf functions at the root)" },
	{ "t", "Leaks: switch between goroutine and thread groups (Go targets)" },
	{ "p  space", "pause / resume the display (sampling continues)" },
	{ "r", "reset all counts" },
	{ "s", "save a snapshot: ctop-prof-PID-DATE-TIME.pb.gz (+ threads/goroutines)" },
	{ "Ctrl-L", "redraw the screen" },
	{ "?", "this help (any key closes it)" },
	{ "q", "quit" },
};

void help_draw(struct tui *t, int y, int h)
{
	int n = (int)(sizeof help_lines / sizeof help_lines[0]), row = y;
	int cols = t->cols > 2 ? t->cols - 2 : t->cols;

	screen_put(row++, 0, t->cols, screen_attr(R_TITLE),
		   " ctop-prof help: keys (any key returns, q quits)", 1);
	/* section titles only when there is room for them and every key */
	int titles = n + 1 <= h;
	for (int i = 0; i < n && row < y + h; i++) {
		if (!help_lines[i][1]) {
			if (!titles)
				continue;
			screen_put(row++, 1, cols, screen_attr(R_HEADER), help_lines[i][0], 0);
			continue;
		}
		screen_put(row, 3, 16, A_BOLD, help_lines[i][0], 0);
		screen_put(row++, 20, t->cols - 20, A_NORMAL, help_lines[i][1], 0);
	}
}
