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

struct pm_entry {
	uint64_t start, end;
	uint32_t seq;           /* line number: later lines win */
	const char *name;
};

struct perfmap {
	int fd;
	off_t consumed;         /* bytes parsed (up to the last complete line) */
	uint32_t seq;
	struct pm_entry *e;
	size_t n, cap;
	char **names;           /* name blocks, freed at close */
	size_t nnames, capnames;
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
	free(pm);
}

size_t perfmap_count(const struct perfmap *pm)
{
	return pm ? pm->n : 0;
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

int perfmap_update(struct perfmap *pm)
{
	struct stat sb;
	if (fstat(pm->fd, &sb) < 0)
		return -errno;
	if (sb.st_size <= pm->consumed)
		return 0;
	size_t len = (size_t)(sb.st_size - pm->consumed);
	char *buf = xmalloc(len + 1);
	size_t got = 0;
	while (got < len) {
		ssize_t r = pread(pm->fd, buf + got, len - got, pm->consumed + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	/* Only complete lines: the writer may be in the middle of one. */
	size_t use = got;
	while (use > 0 && buf[use - 1] != '\n')
		use--;
	if (use == 0) {
		free(buf);
		return 0;
	}
	buf[use] = 0;
	size_t old = pm->n;
	for (char *line = buf; line < buf + use;) {
		char *nl = memchr(line, '\n', (size_t)(buf + use - line));
		*nl = 0;
		uint64_t start, size;
		const char *name;
		size_t namelen;
		pm->seq++;
		if (perfmap_parse_line(line, &start, &size, &name, &namelen) == 0) {
			if (pm->n == pm->cap) {
				pm->cap = pm->cap ? pm->cap * 2 : 1024;
				pm->e = xrealloc(pm->e, pm->cap * sizeof *pm->e);
			}
			/* names point into buf, which we keep; terminate in place */
			((char *)name)[namelen] = 0;
			pm->e[pm->n++] = (struct pm_entry){ start, start + size, pm->seq, name };
		}
		line = nl + 1;
	}
	pm->consumed += (off_t)use;
	if (pm->n == old) {
		free(buf);
		return 0;
	}
	if (pm->nnames == pm->capnames) {
		pm->capnames = pm->capnames ? pm->capnames * 2 : 16;
		pm->names = xrealloc(pm->names, pm->capnames * sizeof *pm->names);
	}
	pm->names[pm->nnames++] = buf;
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
