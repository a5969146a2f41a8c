/* The target process as /proc shows it. The parse_* functions are pure and
 * must survive any input (they are fuzzed): every read is bounded by the
 * NUL terminator, every number is range-checked, and anything that does not
 * look like the kernel's format is -EINVAL rather than a guess. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "target.h"

#define PF_KTHREAD 0x00200000UL

/* Unsigned decimal (or hex with base 16) token starting at *p and ending at a
 * space, NUL or newline. No sign, no overflow. Advances *p past the digits. */
static int parse_u64(const char **p, int base, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int n = 0;
	for (;; s++, n++) {
		unsigned d;
		char c = *s;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / (uint64_t)base)
			return -EINVAL;
		v = v * (uint64_t)base + d;
	}
	if (n == 0)
		return -EINVAL;
	*p = s;
	*out = v;
	return 0;
}

/* Signed decimal token (stat has negative fields such as nice, tty_nr). */
static int parse_i64(const char **p, int64_t *out)
{
	const char *s = *p;
	int neg = 0;
	uint64_t v;
	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (parse_u64(&s, 10, &v) < 0)
		return -EINVAL;
	if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
		return -EINVAL;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	*p = s;
	return 0;
}

/* Token must end at one of the separators stat uses. */
static int at_sep(const char *s)
{
	return *s == ' ' || *s == '\0' || *s == '\n';
}

int parse_proc_stat(const char *buf, struct proc_stat *st)
{
	if (!buf || !st)
		return -EINVAL;
	memset(st, 0, sizeof *st);
	st->processor = -1;

	/* "PID (" */
	const char *p = buf;
	uint64_t pid;
	if (parse_u64(&p, 10, &pid) < 0 || p[0] != ' ' || p[1] != '(')
		return -EINVAL;
	const char *open = p + 1;
	/* The name may contain ')' and spaces: the real end is the LAST ')'. */
	const char *close = strrchr(open, ')');
	if (!close)
		return -EINVAL;
	size_t clen = (size_t)(close - open - 1);
	if (clen >= sizeof st->comm)
		clen = sizeof st->comm - 1;
	memcpy(st->comm, open + 1, clen);
	st->comm[clen] = 0;

	p = close + 1;
	if (*p != ' ' || !p[1] || isspace((unsigned char)p[1]) || !at_sep(p + 2))
		return -EINVAL;
	st->state = p[1];
	p += 2;

	/* Fields 4..N, numbered as in proc(5). Need at least starttime (22);
	 * processor (39) is optional (truncated or very old formats). */
	for (int field = 4; field <= 39; field++) {
		if (*p != ' ') {
			if (field > 22)
				break;
			return -EINVAL;
		}
		p++;
		int64_t sv;
		uint64_t uv;
		switch (field) {
		case 4:
			if (parse_i64(&p, &sv) < 0 || sv < 0 || sv > INT_MAX)
				return -EINVAL;
			st->ppid = (pid_t)sv;
			break;
		case 9:
			if (parse_u64(&p, 10, &uv) < 0)
				return -EINVAL;
			st->flags = (unsigned long)uv;
			break;
		case 14:
			if (parse_u64(&p, 10, &st->utime) < 0)
				return -EINVAL;
			break;
		case 15:
			if (parse_u64(&p, 10, &st->stime) < 0)
				return -EINVAL;
			break;
		case 22:
			if (parse_u64(&p, 10, &st->starttime) < 0)
				return -EINVAL;
			break;
		case 39:
			if (parse_i64(&p, &sv) == 0 && sv >= 0 && sv <= INT_MAX)
				st->processor = (int)sv;
			break;
		default:
			/* Skipped field: any signed number. */
			if (parse_i64(&p, &sv) < 0) {
				/* Some fields are unsigned and may exceed INT64_MAX. */
				if (parse_u64(&p, 10, &uv) < 0) {
					if (field > 22)
						goto done;
					return -EINVAL;
				}
			}
			break;
		}
		if (!at_sep(p)) {
			if (field > 22)
				break;
			return -EINVAL;
		}
	}
done:
	return 0;
}

int parse_maps_line(const char *line, struct map_entry *m)
{
	if (!line || !m)
		return -EINVAL;
	memset(m, 0, sizeof *m);
	const char *p = line;
	uint64_t dev;

	if (parse_u64(&p, 16, &m->start) < 0 || *p++ != '-')
		return -EINVAL;
	if (parse_u64(&p, 16, &m->end) < 0 || *p++ != ' ')
		return -EINVAL;
	if (m->end < m->start)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		if (!*p || *p == ' ' || *p == '\n')
			return -EINVAL;
		m->perms[i] = *p++;
	}
	m->perms[4] = 0;
	if (*p++ != ' ')
		return -EINVAL;
	if (parse_u64(&p, 16, &m->offset) < 0 || *p++ != ' ')
		return -EINVAL;
	/* dev major:minor, hex */
	if (parse_u64(&p, 16, &dev) < 0 || *p++ != ':')
		return -EINVAL;
	if (parse_u64(&p, 16, &dev) < 0 || *p++ != ' ')
		return -EINVAL;
	if (parse_u64(&p, 10, &m->inode) < 0)
		return -EINVAL;
	if (*p != ' ' && *p != '\0' && *p != '\n')
		return -EINVAL;
	/* The kernel pads with spaces before the path; the path itself may
	 * contain spaces and ends at the newline (or NUL). */
	while (*p == ' ')
		p++;
	const char *end = strchr(p, '\n');
	size_t len = end ? (size_t)(end - p) : strlen(p);
	if (len >= sizeof m->path)
		len = sizeof m->path - 1;
	memcpy(m->path, p, len);
	m->path[len] = 0;
	return 0;
}

long parse_status_field(const char *buf, const char *key)
{
	if (!buf || !key || !*key)
		return -1;
	size_t klen = strlen(key);
	const char *line = buf;
	while (line && *line) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			const char *p = line + klen + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			uint64_t v;
			if (parse_u64(&p, 10, &v) < 0 || v > LONG_MAX)
				return -1;
			return (long)v;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -1;
}

long parse_status_field_n(const char *buf, const char *key, int n)
{
	if (!buf || !key || !*key)
		return -1;
	size_t klen = strlen(key);
	for (const char *line = buf; line && *line;) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			const char *p = line + klen + 1;
			long last = -1;
			for (int i = 0;; i++) {
				while (*p == ' ' || *p == '\t')
					p++;
				if (*p == '\n' || !*p)
					break;
				uint64_t v;
				if (parse_u64(&p, 10, &v) < 0 || v > LONG_MAX)
					return -1;
				if (i == n)
					return (long)v;
				last = (long)v;
			}
			return n < 0 ? last : -1;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -1;
}

int target_exists(pid_t pid)
{
	char path[64];
	if (pid <= 0)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	return access(path, F_OK) == 0;
}

static int read_stat_path(const char *path, struct proc_stat *st)
{
	char *buf;
	ssize_t n = read_file(path, &buf);
	if (n < 0)
		return (int)n;
	int r = parse_proc_stat(buf, st);
	free(buf);
	return r;
}

int target_is_kernel_thread(pid_t pid)
{
	char path[64];
	struct proc_stat st;
	if (pid <= 0)
		return -EINVAL;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int r = read_stat_path(path, &st);
	if (r < 0)
		return r;
	return (st.flags & PF_KTHREAD) != 0;
}

int target_comm(pid_t pid, char *buf, size_t len)
{
	char path[64], *s;
	if (pid <= 0 || !buf || len == 0)
		return -EINVAL;
	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	ssize_t n = read_file(path, &s);
	if (n < 0)
		return (int)n;
	s[strcspn(s, "\n")] = 0;
	snprintf(buf, len, "%s", s);
	free(s);
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

int target_tasks(pid_t pid, pid_t **tids)
{
	char path[64];
	if (pid <= 0 || !tids)
		return -EINVAL;
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	size_t n = 0, cap = 64;
	pid_t *v = xmalloc(cap * sizeof *v);
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *s = de->d_name;
		uint64_t t;
		if (parse_u64(&s, 10, &t) < 0 || *s || t == 0 || t > INT_MAX)
			continue;
		if (n == cap)
			v = xrealloc(v, (cap *= 2) * sizeof *v);
		v[n++] = (pid_t)t;
	}
	closedir(d);
	qsort(v, n, sizeof *v, cmp_pid);
	*tids = v;
	return (int)n;
}

int target_thread_stat(pid_t pid, pid_t tid, struct proc_stat *st)
{
	char path[96];
	if (pid <= 0 || tid <= 0 || !st)
		return -EINVAL;
	snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	return read_stat_path(path, st);
}

uid_t target_uid(pid_t pid)
{
	char path[64], *buf;
	if (pid <= 0)
		return (uid_t)-1;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (read_file(path, &buf) < 0)
		return (uid_t)-1;
	long u = parse_status_field(buf, "Uid");
	free(buf);
	return u < 0 ? (uid_t)-1 : (uid_t)u;
}

ssize_t target_read_maps(pid_t pid, char **out)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	ssize_t len = read_file(path, out);
	if (len != 0)
		return len;
	free(*out);
	*out = NULL;
	pid_t *tids = NULL;
	int n = target_tasks(pid, &tids);
	for (int i = 0; i < n && len <= 0; i++) {
		if (tids[i] == pid)
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%d/maps", (int)pid, (int)tids[i]);
		free(*out);
		*out = NULL;
		len = read_file(path, out);
	}
	free(tids);
	if (len < 0)
		return len;
	if (!*out)
		*out = xstrdup("");
	return len;
}
