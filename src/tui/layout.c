/* Pure layout helpers of the TUI (see layout.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "tui/layout.h"

/* Desired widths at a comfortable terminal size; the name takes any extra. */
#define NAME_WANT 40
#define MODULE_WANT 16
#define FILE_WANT 28

static int sep_total(const struct top_cols *c)
{
	/* one blank before each of module and file:line when shown */
	return (c->module > 0) + (c->file > 0);
}

void layout_top_columns(int width, struct top_cols *c)
{
	int rest, over;

	c->num = LAYOUT_NUM_W;
	rest = width - 4 * LAYOUT_NUM_W - 1;   /* 1: blank before the name */
	if (rest < 1)
		rest = 1;
	c->name = NAME_WANT;
	c->module = MODULE_WANT;
	c->file = FILE_WANT;
	over = c->name + c->module + c->file + sep_total(c) - rest;
	if (over <= 0) {
		c->name -= over;        /* spare room goes to the name */
		return;
	}
	/* The order things give way: name to its minimum, file:line to its
	 * minimum, module to its minimum, then whole columns, then the name. */
	int *shrink[] = { &c->name, &c->file, &c->module };
	int mins[] = { LAYOUT_NAME_MIN, LAYOUT_FILE_MIN, LAYOUT_MODULE_MIN };
	for (int i = 0; i < 3 && over > 0; i++) {
		int can = *shrink[i] - mins[i];
		int d = can < over ? can : over;
		*shrink[i] -= d;
		over -= d;
	}
	if (over > 0) {
		over -= c->file + 1;
		c->file = 0;
	}
	if (over > 0) {
		over -= c->module + 1;
		c->module = 0;
	}
	if (over > 0)
		c->name -= over;
	if (c->name < 1)
		c->name = 1;
	/* Whatever dropping a column freed goes back to the name. */
	if (over < 0)
		c->name -= over;
}

char *layout_fmt_count(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "kMGTPE";
	double d = (double)v;
	int u = -1;

	if (v < 10000) {
		snprintf(buf, len, "%" PRIu64, v);
		return buf;
	}
	while (u < 5 && d >= 999.5) {
		d /= 1000;
		u++;
	}
	/* Choose the precision after rounding: 99.96k must print "100k", not
	 * the 6-character "100.0k". */
	if (d < 99.95)
		snprintf(buf, len, "%.1f%c", d, units[u]);
	else
		snprintf(buf, len, "%.0f%c", d, units[u]);
	return buf;
}

char *layout_fmt_pct(uint64_t part, uint64_t whole, char *buf, size_t len)
{
	if (!whole) {
		snprintf(buf, len, "-");
		return buf;
	}
	snprintf(buf, len, "%.1f%%", 100.0 * (double)part / (double)whole);
	return buf;
}

char *layout_fmt_duration(uint64_t s, char *buf, size_t len)
{
	if (s < 60)
		snprintf(buf, len, "%" PRIu64 "s", s);
	else if (s < 3600)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s / 60 % 60);
	else
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s / 3600 % 24);
	return buf;
}

static int is_cont(unsigned char c) { return (c & 0xc0) == 0x80; }

int layout_width(const char *s)
{
	int w = 0;
	for (; *s; s++)
		w += !is_cont((unsigned char)*s);
	return w;
}

/* Byte length of the first cols code points of s. */
static size_t prefix_bytes(const char *s, int cols)
{
	size_t i = 0;
	while (s[i] && cols > 0) {
		i++;
		while (s[i] && is_cont((unsigned char)s[i]))
			i++;
		cols--;
	}
	return i;
}

static int copy_prefix(const char *s, int cols, const char *suffix,
		       char *out, size_t outlen)
{
	size_t b = prefix_bytes(s, cols), sl = strlen(suffix);

	if (!outlen)
		return 0;
	/* Cut further if the buffer is smaller than the text. */
	while (b + sl + 1 > outlen && b > 0) {
		b--;
		while (b > 0 && is_cont((unsigned char)s[b]))
			b--;
	}
	if (sl + 1 > outlen)
		sl = 0;
	memcpy(out, s, b);
	memcpy(out + b, suffix, sl);
	out[b + sl] = 0;
	return layout_width(out);
}

int layout_fit(const char *s, int w, char *out, size_t outlen)
{
	if (!s)
		s = "";
	if (w <= 0) {
		if (outlen)
			out[0] = 0;
		return 0;
	}
	if (layout_width(s) <= w)
		return copy_prefix(s, w, "", out, outlen);
	if (w < 3)
		return copy_prefix(s, w, "", out, outlen);
	return copy_prefix(s, w - 2, "..", out, outlen);
}

int layout_flame_label(const char *name, int w, char *out, size_t outlen)
{
	int room = w - 1;

	if (!name)
		name = "";
	if (room >= 1 && layout_width(name) <= room)
		return layout_fit(name, room, out, outlen);
	if (room < 3) {
		if (outlen)
			out[0] = 0;
		return 0;
	}
	return layout_fit(name, room, out, outlen);
}

void layout_sparkline(const int64_t *hist, int n, int cells, int unicode,
		      char *out, size_t outlen)
{
	static const char *const uni[8] = {
		"\xe2\x96\x81", "\xe2\x96\x82", "\xe2\x96\x83", "\xe2\x96\x84",
		"\xe2\x96\x85", "\xe2\x96\x86", "\xe2\x96\x87", "\xe2\x96\x88",
	};
	static const char ascii[] = " .:-=+*#";
	int first = n > cells ? n - cells : 0, shown = n - first;
	int64_t lo = 0, hi = 0;
	size_t o = 0;

	if (!outlen)
		return;
	/* Scale over the nonzero values: zeros draw blank anyway. */
	for (int i = first; i < n; i++) {
		if (hist[i] <= 0)
			continue;
		if (!lo || hist[i] < lo)
			lo = hist[i];
		if (hist[i] > hi)
			hi = hist[i];
	}
	for (int c = 0; c < cells; c++) {
		int i = c - (cells - shown) + first, level;  /* level 0..7 */
		const char *g;
		char a[2];

		if (c < cells - shown || hist[i] <= 0) {
			level = -1;
		} else if (hi == lo) {
			level = 3;
		} else {
			/* levels 0..7 over [lo, hi]; level 0 is still a
			 * visible glyph, so the minimum never looks empty */
			level = (int)((double)(hist[i] - lo) * 7.0 / (double)(hi - lo) + 0.5);
		}
		if (unicode) {
			g = level < 0 ? " " : uni[level];
		} else {
			/* ASCII has one blank and 7 marks: map 0..7 onto 1..7. */
			a[0] = level < 0 ? ' ' : ascii[1 + level * 6 / 7];
			a[1] = 0;
			g = a;
		}
		size_t gl = strlen(g);
		if (o + gl + 1 > outlen)
			break;
		memcpy(out + o, g, gl);
		o += gl;
	}
	out[o] = 0;
}

void layout_scroll_fix(struct scroll *s, int n, int h)
{
	if (h < 1)
		h = 1;
	if (n <= 0) {
		s->cursor = s->offset = 0;
		return;
	}
	if (s->cursor >= n)
		s->cursor = n - 1;
	if (s->cursor < 0)
		s->cursor = 0;
	if (s->offset > n - h)
		s->offset = n - h;       /* no trailing blank lines */
	if (s->offset < 0)
		s->offset = 0;
	if (s->cursor < s->offset)
		s->offset = s->cursor;
	if (s->cursor >= s->offset + h)
		s->offset = s->cursor - h + 1;
}

void layout_scroll_move(struct scroll *s, int delta, int n, int h)
{
	long c = (long)s->cursor + delta;
	if (c < 0)
		c = 0;
	if (c > n - 1)
		c = n - 1;
	s->cursor = (int)c;
	layout_scroll_fix(s, n, h);
}

void layout_scroll_to(struct scroll *s, int idx, int n, int h)
{
	s->cursor = idx;
	layout_scroll_fix(s, n, h);
}

int layout_regex_quote(const char *name, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen < 3)
		return -ENOSPC;
	out[o++] = '^';
	for (; *name; name++) {
		int meta = strchr("\\.[](){}*+?^$|", *name) != NULL;
		if (o + meta + 1 + 2 > outlen)
			return -ENOSPC;
		if (meta)
			out[o++] = '\\';
		out[o++] = *name;
	}
	out[o++] = '$';
	out[o] = 0;
	return 0;
}

int layout_snapshot_name(char *buf, size_t len, pid_t pid, const struct tm *tm,
			 int seq, const char *kind)
{
	char ts[32], sq[16] = "";
	int n;

	strftime(ts, sizeof ts, "%Y%m%d-%H%M%S", tm);
	if (seq > 0)
		snprintf(sq, sizeof sq, "-%d", seq);
	n = snprintf(buf, len, "ctop-prof-%d-%s%s%s.pb.gz", (int)pid, ts, sq,
		     kind ? kind : "");
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

uint64_t layout_path_key(uint64_t parent, const char *name)
{
	uint64_t h = hash_fnv(HASH_INIT, name ? name : "", name ? strlen(name) : 0);
	return ((parent * 0x9e3779b97f4a7c15ull) ^ h) | 1;
}
