/* JIT symbol maps: /tmp/perf-PID.map, one "START SIZE name" line per
 * function (hex without 0x), written by Node (--perf-basic-prof), the JVM
 * agents, LuaJIT, ... The file is only ever appended to, so it is read
 * incrementally; a later entry for the same address wins (code moved or was
 * recompiled). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "symbol.h"
#include "symbol_impl.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* Parses hex digits at *p (an optional 0x prefix is tolerated: some JITs
 * write it), at most 16 of them. */
static int parse_hex(const char **p, uint64_t *out)
{
	const char *s = *p;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && hexval(s[2]) >= 0)
		s += 2;
	uint64_t v = 0;
	int n = 0, d;
	while ((d = hexval(*s)) >= 0) {
		if (++n > 16)
			return -EINVAL;
		v = v << 4 | (uint64_t)d;
		s++;
	}
	if (n == 0)
		return -EINVAL;
	*p = s;
	*out = v;
	return 0;
}

static int skip_blanks(const char **p)
{
	const char *s = *p;
	while (*s == ' ' || *s == '\t')
		s++;
	if (s == *p)
		return -EINVAL;
	*p = s;
	return 0;
}

int perfmap_parse_line(const char *line, uint64_t *start, uint64_t *size,
		       const char **name, size_t *namelen)
{
	uint64_t st, sz;
	if (!line)
		return -EINVAL;
	const char *p = line;
	if (parse_hex(&p, &st) < 0 || skip_blanks(&p) < 0 ||
	    parse_hex(&p, &sz) < 0 || skip_blanks(&p) < 0)
		return -EINVAL;
	/* an empty range names nothing; a wrapping one is garbage */
	if (sz == 0 || st + sz < st)
		return -EINVAL;
	const char *e = p;
	while (*e && *e != '\n')
		e++;
	while (e > p && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (e == p)
		return -EINVAL;
	if (start) *start = st;
	if (size) *size = sz;
	if (name) *name = p;
	if (namelen) *namelen = (size_t)(e - p);
	return 0;
}

/* Bounds on what a map may cost us: the file is written by the target and
 * may be anything (a 200 GB sparse file, one endless line, millions of
 * lines), so an update reads at most PM_CHUNK bytes, a line longer than
 * PM_LINE_MAX is skipped, and past PM_MAX_ENTRIES entries or PM_MAX_NAMES
 * bytes of names new lines are ignored. */
#define PM_CHUNK        (4u << 20)
#define PM_LINE_MAX     (64u << 10)
#define PM_MAX_ENTRIES  1000000u
#define PM_MAX_NAMES    (128u << 20)
/* names are copied into blocks of this size (a longer one gets its own) */
#define PM_NAMEBLK      (64u << 10)

struct pm_entry {
	uint64_t start, end;
	uint64_t seq;           /* line number: later lines win */
	const char *name;
};

struct perfmap {
	int fd;
	off_t consumed;         /* bytes parsed (up to the last complete line) */
	int skipping;           /* inside an over-long line: drop up to its end */
	int full;               /* a limit was hit (said once) */
	uint64_t seq;
	struct pm_entry *e;
	size_t n, cap;
	char **names;           /* name blocks, freed at close */
	size_t nnames, capnames;
	size_t nameused, namecap;  /* in the last block */
	size_t namebytes;       /* all blocks */
	char *buf;              /* read buffer, PM_CHUNK + 1 */
};

struct perfmap *perfmap_open(const char *path, uid_t uid0, uid_t uid1)
{
	/* O_NOFOLLOW: a symlink planted in /tmp must not make us read another
	 * file; O_NONBLOCK: a FIFO must not hang us. */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			dbg("perf map %s: %s", path, strerror(errno));
		return NULL;
	}
	struct stat sb;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		dbg("perf map %s: not a regular file, ignored", path);
		close(fd);
		return NULL;
	}
	/* Someone else's file in a shared /tmp could lie about the target's
	 * code: trust only the target's own user (or root). */
	if (sb.st_uid != uid0 && sb.st_uid != uid1 && sb.st_uid != 0) {
		dbg("perf map %s: owned by uid %u, not the target's, ignored",
		    path, (unsigned)sb.st_uid);
		close(fd);
		return NULL;
	}
	struct perfmap *pm = xcalloc(1, sizeof *pm);
	pm->fd = fd;
	return pm;
}

void perfmap_close(struct perfmap *pm)
{
	if (!pm)
		return;
	if (pm->fd >= 0)
		close(pm->fd);
	for (size_t i = 0; i < pm->nnames; i++)
		free(pm->names[i]);
	free(pm->names);
	free(pm->e);
	free(pm->buf);
	free(pm);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct pm_entry *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorts the new tail e[old..n) and merges it with the sorted head, so a
 * growing map costs O(n) per update instead of a full sort. */
static void merge_new(struct perfmap *pm, size_t old)
{
	size_t nn = pm->n - old;
	if (!nn)
		return;
	qsort(pm->e + old, nn, sizeof *pm->e, entry_cmp);
	if (!old || entry_cmp(&pm->e[old - 1], &pm->e[old]) <= 0)
		return;
	struct pm_entry *tmp = xmalloc(nn * sizeof *tmp);
	memcpy(tmp, pm->e + old, nn * sizeof *tmp);
	size_t i = old, j = nn, k = pm->n;
	while (j > 0) {
		if (i > 0 && entry_cmp(&pm->e[i - 1], &tmp[j - 1]) > 0)
			pm->e[--k] = pm->e[--i];
		else
			pm->e[--k] = tmp[--j];
	}
	free(tmp);
}

/* A copy of name in the name blocks, NUL-terminated. */
static const char *store_name(struct perfmap *pm, const char *name, size_t len)
{
	if (pm->namecap - pm->nameused < len + 1) {
		size_t cap = len + 1 > PM_NAMEBLK ? len + 1 : PM_NAMEBLK;
		if (pm->nnames == pm->capnames) {
			pm->capnames = pm->capnames ? pm->capnames * 2 : 16;
			pm->names = xrealloc(pm->names, pm->capnames * sizeof *pm->names);
		}
		pm->names[pm->nnames++] = xmalloc(cap);
		pm->namebytes += cap;
		pm->nameused = 0;
		pm->namecap = cap;
	}
	char *c = pm->names[pm->nnames - 1] + pm->nameused;
	memcpy(c, name, len);
	c[len] = 0;
	pm->nameused += len + 1;
	return c;
}

/* Parses one complete line (NUL-terminated in place). */
static void add_line(struct perfmap *pm, const char *line, size_t len)
{
	uint64_t start, size;
	const char *name;
	size_t namelen;
	pm->seq++;
	if (len > PM_LINE_MAX || perfmap_parse_line(line, &start, &size, &name, &namelen) < 0)
		return;
	if (pm->n >= PM_MAX_ENTRIES || pm->namebytes + namelen + 1 > PM_MAX_NAMES) {
		if (!pm->full)
			dbg("perf map: over %zu entries or %u MiB of names, later lines ignored",
			    pm->n, PM_MAX_NAMES >> 20);
		pm->full = 1;
		return;
	}
	if (pm->n == pm->cap) {
		pm->cap = pm->cap ? pm->cap * 2 : 1024;
		if (pm->cap > PM_MAX_ENTRIES)
			pm->cap = PM_MAX_ENTRIES;
		pm->e = xrealloc(pm->e, pm->cap * sizeof *pm->e);
	}
	pm->e[pm->n++] = (struct pm_entry){ start, start + size, pm->seq,
					    store_name(pm, name, namelen) };
}

int perfmap_update(struct perfmap *pm)
{
	struct stat sb;
	if (fstat(pm->fd, &sb) < 0)
		return -errno;
	if (sb.st_size <= pm->consumed)
		return 0;
	/* One chunk per call: the rest is read by the next calls. */
	size_t len = (size_t)(sb.st_size - pm->consumed);
	if (len > PM_CHUNK)
		len = PM_CHUNK;
	if (!pm->buf)
		pm->buf = xmalloc(PM_CHUNK + 1);
	char *buf = pm->buf;
	size_t got = 0;
	while (got < len) {
		ssize_t r = pread(pm->fd, buf + got, len - got, pm->consumed + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	char *p = buf, *end = buf + got;
	if (pm->skipping) {
		char *nl = memchr(p, '\n', got);
		if (!nl) {
			pm->consumed += (off_t)got;
			return 0;
		}
		pm->skipping = 0;
		p = nl + 1;
	}
	size_t old = pm->n;
	for (;;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;
		*nl = 0;
		add_line(pm, p, (size_t)(nl - p));
		p = nl + 1;
	}
	/* Only complete lines: the writer may be in the middle of one. The
	 * partial last line is read again next time, unless it is already
	 * too long to keep: then its end is skipped. */
	if ((size_t)(end - p) > PM_LINE_MAX) {
		pm->seq++;
		pm->skipping = 1;
		p = end;
	}
	pm->consumed += (off_t)(p - buf);
	if (pm->n == old)
		return 0;
	merge_new(pm, old);
	return 1;
}

/* How far back from the last entry starting at or below pc we look for an
 * enclosing one: overlapping entries only come from moved code, and a
 * handful of candidates is plenty. */
#define PM_BACKSCAN 64

const char *perfmap_lookup(const struct perfmap *pm, uint64_t pc, uint64_t *start)
{
	if (!pm || !pm->n)
		return NULL;
	size_t lo = 0, hi = pm->n;      /* first entry with start > pc */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (pm->e[mid].start <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	const struct pm_entry *best = NULL;
	for (size_t i = lo, k = 0; i > 0 && k < PM_BACKSCAN; i--, k++) {
		const struct pm_entry *x = &pm->e[i - 1];
		if (pc < x->end && (!best || x->seq > best->seq))
			best = x;
	}
	if (!best)
		return NULL;
	if (start)
		*start = best->start;
	return best->name;
}
