/* Pure layout helpers of the TUI: column widths, number formatting, label
 * truncation, sparklines, scrolling. No curses here, so every boundary is
 * unit-tested without a terminal (tests/unit/test_layout.c). */
#ifndef CTOP_TUI_LAYOUT_H
#define CTOP_TUI_LAYOUT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* Width of one numeric column of the Top table, leading blank included. */
#define LAYOUT_NUM_W 7
/* Below these the Top table degrades (the screen asks for 80x24 anyway). */
#define LAYOUT_NAME_MIN 24
#define LAYOUT_MODULE_MIN 8
#define LAYOUT_FILE_MIN 14

/* Top table: flat flat% cum cum% function module file:line. The numbers
 * always keep their width; when the terminal is narrow the function column
 * gives way first (down to LAYOUT_NAME_MIN), then file:line, then module,
 * then file:line and module disappear, and only then the name shrinks more.
 * A width of 0 means the column is not shown. Columns are separated by one
 * blank, which the widths do not include. */
struct top_cols {
	int num;            /* each of the 4 numeric columns */
	int name, module, file;
};
void layout_top_columns(int width, struct top_cols *c);

/* 1234 -> "1234", 12345 -> "12.3k", 123456 -> "123k", 1.5e6 -> "1.5M":
 * at most 5 characters up to 999G. Returns buf. */
char *layout_fmt_count(uint64_t v, char *buf, size_t len);
/* part/whole as "12.3%" ("100.0%" at most 6 characters); whole 0 -> "-". */
char *layout_fmt_pct(uint64_t part, uint64_t whole, char *buf, size_t len);
/* Seconds as "12s", "5m02s", "1h05m", "3d04h". */
char *layout_fmt_duration(uint64_t secs, char *buf, size_t len);

/* Display columns of a UTF-8 string (one per code point: names and paths
 * are what we show, no wide characters expected). */
int layout_width(const char *s);
/* Copy s into out fitted to w columns: as is when it fits, else cut and
 * ended with ".." (w >= 3) or just cut (w < 3). Never splits a UTF-8
 * sequence. Returns the columns used. */
int layout_fit(const char *s, int w, char *out, size_t outlen);
/* Label of a flame graph box w columns wide (the last column is the gap to
 * the next box, so the text gets w-1): the name, or its prefix + "..", or
 * "" when not even 3 columns are left and the name does not fit. */
int layout_flame_label(const char *name, int w, char *out, size_t outlen);

/* Sparkline of the last `cells` values of hist (oldest first) into out:
 * one glyph per cell, scaled between the nonzero minimum and maximum, so a
 * growth from 100 to 110 is as visible as one from 0 to 10. Flat nonzero
 * history draws mid-height; zeros and missing history (fewer values than
 * cells: padded on the left) draw blank. unicode: ▁▂▃▄▅▆▇█, else " .:-=+*#"
 * (the lowest non-blank level is "." so nonzero never looks empty). */
void layout_sparkline(const int64_t *hist, int n, int cells, int unicode,
		      char *out, size_t outlen);

/* A list of n rows seen through a window of h lines. */
struct scroll { int cursor, offset; };
/* Clamp the cursor into [0, n) (0 when empty) and move the offset the
 * least so that the cursor is visible and no blank lines trail when the
 * list is longer than the window. */
void layout_scroll_fix(struct scroll *s, int n, int h);
/* Move by delta rows (PgUp/PgDn: +-h), clamped. */
void layout_scroll_move(struct scroll *s, int delta, int n, int h);
/* Jump to row idx (g: 0, G: n-1), clamped. */
void layout_scroll_to(struct scroll *s, int idx, int n, int h);

/* Key of a call-tree node from its parent's key and its function name: a
 * node (tree row, flame box, zoom) is found again across refreshes by its
 * path of names. Never 0 (free slots are 0). */
uint64_t layout_path_key(uint64_t parent, const char *name);

/* "^name$" with every POSIX ERE metacharacter of name escaped, for the
 * f/i/h filters on one function. Returns -ENOSPC when it does not fit. */
int layout_regex_quote(const char *name, char *out, size_t outlen);

/* Snapshot file name in the cwd: "ctop-prof-PID-YYYYmmdd-HHMMSS[-SEQ]KIND.pb.gz"
 * with kind "" (cpu), "-threads" or "-goroutines"; seq 0 = no suffix. */
int layout_snapshot_name(char *buf, size_t len, pid_t pid, const struct tm *tm,
			 int seq, const char *kind);

#endif
