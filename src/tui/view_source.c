/* Source: the selected function's source file with samples per line (pprof
 * list). The file is read outside the lock: first the path as recorded in
 * the debug info, then inside the target's root (/proc/PID/root/...), so
 * containers work, or its working directory for a relative path. An unreadable file gives a message naming it, and the
 * per-line counts are still listed. */
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "tui/tui_impl.h"

#define SRC_MAX_BYTES (32u << 20)

struct source_state {
	char *func, *file;
	uint64_t fflat, fcum;
	int start_line;
	struct rline *lines; int nlines;
	int missing;                /* the function has no samples now */
	/* the file, loaded lazily by draw */
	char *loaded;               /* path as recorded, of what is loaded */
	char *shown;                /* path actually read */
	char **text; int ntext;
	char err[600];
	struct scroll sc;
	int positioned;
};

static struct source_state *st(struct tui *t)
{
	if (!t->src)
		t->src = xcalloc(1, sizeof *t->src);
	return t->src;
}

static void src_collect(struct tui *t)
{
	struct source_state *s = st(t);
	const char *name = t->sel, *file = NULL;
	struct rline *lines = NULL;
	int id, n;

	if (!name && t->r && t->nfuncs) {
		uint32_t *o = report_sorted(t->r, SORT_FLAT);
		if (o)
			name = t->funcs[o[0]].name;
		free(o);
	}
	if (!name)
		return;
	if (!s->func || strcmp(s->func, name)) {
		tui_set_str(&s->func, name);
		s->positioned = 0;
	}
	free(s->lines);
	s->lines = NULL;
	s->nlines = 0;
	id = tui_func_id(t, name);
	s->missing = id < 0;
	if (id < 0)
		return;
	s->fflat = t->funcs[id].flat;
	s->fcum = t->funcs[id].cum;
	s->start_line = t->funcs[id].start_line;
	n = report_lines(t->r, (uint32_t)id, &file, &lines);
	if (n > 0) {
		s->lines = lines;
		s->nlines = n;
	} else {
		free(lines);
	}
	if (!file)
		file = t->funcs[id].file;
	if ((file == NULL) != (s->file == NULL) || (file && strcmp(file, s->file))) {
		tui_set_str(&s->file, file);
		s->positioned = 0;
	}
}

static void free_text(struct source_state *s)
{
	for (int i = 0; i < s->ntext; i++)
		free(s->text[i]);
	free(s->text);
	s->text = NULL;
	s->ntext = 0;
}

/* Split into lines, tabs expanded to 8 columns. */
static void split_text(struct source_state *s, const char *buf, size_t len)
{
	size_t cap = 256;
	const char *p = buf, *end = buf + len;

	s->text = xmalloc(cap * sizeof *s->text);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p), o = 0;
		char *line = xmalloc(l * 8 + 1);
		for (size_t i = 0; i < l; i++) {
			if (p[i] == '\t') {
				do
					line[o++] = ' ';
				while (o % 8);
			} else if (p[i] != '\r') {
				line[o++] = p[i];
			}
		}
		line[o] = 0;
		if ((size_t)s->ntext == cap) {
			cap *= 2;
			s->text = xrealloc(s->text, cap * sizeof *s->text);
		}
		s->text[s->ntext++] = line;
		p = nl ? nl + 1 : end;
	}
}

/* read_file, for regular files only: a FIFO or device named by debug info
 * must not hang the UI. The type is checked on the opened file (O_NONBLOCK:
 * opening a FIFO does not wait), so it cannot change in between. */
static ssize_t read_regular(const char *path, char **buf)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0)
		r = -errno;
	else if (!S_ISREG(sb.st_mode))
		r = S_ISDIR(sb.st_mode) ? -EISDIR : -EINVAL;
	else if ((uint64_t)sb.st_size > SRC_MAX_BYTES)
		r = -EFBIG;
	else
		r = read_fd(fd, buf);
	close(fd);
	return r;
}

/* Where the file may be: as recorded; inside the target's root for an
 * absolute path (containers); under the target's working directory for a
 * relative one (line tables name files relative to the build directory,
 * which often is where the program runs from). */
static void load_file(struct tui *t, struct source_state *s)
{
	char alt[4200], *buf = NULL;
	ssize_t n;
	int e1, e2;

	if (!s->file || (s->loaded && !strcmp(s->loaded, s->file)))
		return;
	free_text(s);
	s->err[0] = 0;
	tui_set_str(&s->loaded, s->file);
	tui_set_str(&s->shown, s->file);
	n = read_regular(s->file, &buf);
	if (n >= 0)
		goto ok;
	e1 = (int)-n;
	snprintf(alt, sizeof alt, "/proc/%d/%s%s%s", (int)t->a->pid,
		 s->file[0] == '/' ? "root" : "cwd", s->file[0] == '/' ? "" : "/", s->file);
	n = read_regular(alt, &buf);
	if (n >= 0) {
		tui_set_str(&s->shown, alt);
		goto ok;
	}
	e2 = (int)-n;
	snprintf(s->err, sizeof s->err, "cannot read source file %.200s: %s (also tried %.240s: %s)",
		 s->file, strerror(e1), alt, strerror(e2));
	return;
ok:
	split_text(s, buf, (size_t)n);
	free(buf);
}

static const struct rline *line_counts(const struct source_state *s, int line)
{
	int lo = 0, hi = s->nlines - 1;
	while (lo <= hi) {
		int m = (lo + hi) / 2;
		if (s->lines[m].line == line)
			return &s->lines[m];
		if (s->lines[m].line < line)
			lo = m + 1;
		else
			hi = m - 1;
	}
	return NULL;
}

static int hottest_line(const struct source_state *s)
{
	int best = -1;
	for (int i = 0; i < s->nlines; i++) {
		if (best < 0 || s->lines[i].flat > s->lines[best].flat ||
		    (s->lines[i].flat == s->lines[best].flat && s->lines[i].cum > s->lines[best].cum))
			best = i;
	}
	return best < 0 ? (s->start_line > 0 ? s->start_line : 1) : s->lines[best].line;
}

/* Rows: the file's lines, or only the lines with counts when the file
 * cannot be read. */
static int nrows(const struct source_state *s)
{
	return s->ntext ? s->ntext : s->nlines;
}

static void src_draw(struct tui *t, int y, int h)
{
	struct source_state *s = st(t);
	char title[1024], a[16], b[16];
	int hdr = screen_attr(R_COLHDR), top = y + 2, rows, n;

	load_file(t, s);
	if (!s->func) {
		screen_put(y, 0, t->cols, screen_attr(R_TITLE), " Source", 1);
		screen_put(y + 2, 2, t->cols - 2, screen_attr(R_DIM),
			   "no function selected: pick one in Top, Tree or Flame, then press 6", 0);
		return;
	}
	snprintf(title, sizeof title, " Source: %s  %s  (flat %s, cum %s)", s->func,
		 s->shown ? s->shown : "(no file in the debug info)",
		 layout_fmt_count(s->fflat, a, sizeof a), layout_fmt_count(s->fcum, b, sizeof b));
	screen_put(y, 0, t->cols, screen_attr(R_TITLE), title, 1);
	rows = h - 2;
	if (s->missing) {
		screen_put(top, 2, t->cols - 2, screen_attr(R_DIM),
			   "this function has no samples in the current window and filters", 0);
		return;
	}
	if (!s->file) {
		screen_put(top, 2, t->cols - 2, screen_attr(R_DIM),
			   "no source file known for this function (no line information in its module)", 0);
		return;
	}
	if (s->err[0]) {
		screen_put(y + 1, 1, t->cols - 1, screen_attr(R_ERROR), s->err, 0);
		top++;
		rows--;
	} else {
		screen_fill(y + 1, 0, t->cols, hdr, ' ');
		screen_printf(y + 1, 0, t->cols, hdr, "%7s %7s %7s  %s", "line", "flat", "cum", "source");
	}
	n = nrows(s);
	if (!s->positioned && n) {
		/* open on the hottest line, a third down the screen */
		int hl = hottest_line(s), idx = hl - 1;
		if (!s->ntext) {
			idx = 0;
			for (int i = 0; i < s->nlines; i++)
				if (s->lines[i].line == hl)
					idx = i;
		}
		s->sc.cursor = idx;
		s->sc.offset = idx - rows / 3;
		s->positioned = 1;
	}
	layout_scroll_fix(&s->sc, n, rows);
	for (int i = s->sc.offset; i < n && i < s->sc.offset + rows; i++) {
		int line = s->ntext ? i + 1 : s->lines[i].line, yy = top + i - s->sc.offset;
		const struct rline *c = s->ntext ? line_counts(s, line) : &s->lines[i];
		int sel = i == s->sc.cursor;
		int attr = sel ? screen_attr(R_SELECTED) : c && c->flat ? screen_attr(R_HOT) :
			   c && c->cum ? (int)A_BOLD : (int)A_NORMAL;
		if (sel)
			screen_fill(yy, 0, t->cols, attr, ' ');
		screen_printf(yy, 0, 24, attr, "%7d %7s %7s", line,
			      c && c->flat ? layout_fmt_count(c->flat, a, sizeof a) : ".",
			      c && c->cum ? layout_fmt_count(c->cum, b, sizeof b) : ".");
		if (s->ntext)
			screen_put(yy, 25, t->cols - 25, !sel && tui_match(t, s->text[i]) ?
				   screen_attr(R_MATCH) : attr, s->text[i], 0);
	}
}

static int src_key(struct tui *t, int ch)
{
	struct source_state *s = st(t);
	return keys_list_move(&s->sc, ch, nrows(s), t->vh - 3);
}

static const char *src_selected(struct tui *t)
{
	return st(t)->func;
}

static int src_search(struct tui *t, int dir)
{
	struct source_state *s = st(t);
	int n = s->ntext;

	if (n <= 0)
		return -1;
	for (int k = 1; k <= n; k++) {
		int i = ((s->sc.cursor + dir * k) % n + n) % n;
		if (tui_match(t, s->text[i])) {
			s->sc.cursor = i;
			return ACT_DRAW;
		}
	}
	return -1;
}

static void src_free(struct tui *t)
{
	struct source_state *s = t->src;

	if (!s)
		return;
	free(s->func);
	free(s->file);
	free(s->lines);
	free(s->loaded);
	free(s->shown);
	free_text(s);
	free(s);
	t->src = NULL;
}

const struct view_ops view_source = {
	.name = "Source", .collect = src_collect, .draw = src_draw, .key = src_key,
	.selected = src_selected, .search = src_search, .free = src_free,
};
