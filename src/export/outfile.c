/* Atomic output files: write to a temporary file next to the destination,
 * fsync, then rename over it. A reader never sees a partial profile, a crash
 * leaves at most a hidden temp file, and a failed write leaves nothing.
 *
 * Safety rules (a profiler often runs as root via sudo, writing into a
 * user's directory): never follow a symlink at the destination (a planted
 * link must not make root clobber another file), never replace an existing
 * file unless asked to, and give the file to the invoking user under sudo. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "export.h"
#include "export_impl.h"

/* outfile_commit needs the overwrite flag given to outfile_open; the
 * interface passes only the fd, so open remembers it here. Few files are
 * open at once; an fd missing from the table counts as "do not replace",
 * the safe side. */
#define PENDING_MAX 32
static struct { int fd; int overwrite; } pending[PENDING_MAX];
static int npending;
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;

static void pending_put(int fd, int overwrite)
{
	pthread_mutex_lock(&pending_lock);
	for (int i = 0; i < npending; i++)
		if (pending[i].fd == fd) {
			pending[i].overwrite = overwrite;
			goto out;
		}
	if (npending < PENDING_MAX) {
		pending[npending].fd = fd;
		pending[npending].overwrite = overwrite;
		npending++;
	}
out:
	pthread_mutex_unlock(&pending_lock);
}

static int pending_take(int fd)
{
	int ov = 0;
	pthread_mutex_lock(&pending_lock);
	for (int i = 0; i < npending; i++)
		if (pending[i].fd == fd) {
			ov = pending[i].overwrite;
			pending[i] = pending[--npending];
			break;
		}
	pthread_mutex_unlock(&pending_lock);
	return ov;
}

/* Checks the destination as it is now: 0 if we may write it. */
static int check_dest(const char *path, int overwrite)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		int e = errno;
		errmsg("cannot write %s: %s", path, strerror(e));
		return -e;
	}
	if (S_ISLNK(st.st_mode)) {
		errmsg("refusing to write through symlink %s (remove it or choose another name)", path);
		return -ELOOP;
	}
	if (S_ISDIR(st.st_mode)) {
		errmsg("cannot write %s: %s", path, strerror(EISDIR));
		return -EISDIR;
	}
	if (!S_ISREG(st.st_mode)) {
		errmsg("cannot write %s: not a regular file", path);
		return -EINVAL;
	}
	if (!overwrite) {
		errmsg("cannot write %s: file exists (not replacing it)", path);
		return -EEXIST;
	}
	return 0;
}

/* Under sudo the invoking user should own what we write in their
 * directories; root-owned profiles they cannot delete are a nuisance. */
static void give_to_sudo_user(int fd)
{
	if (geteuid() != 0)
		return;
	const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID");
	if (!su || !sg || !*su || !*sg)
		return;
	char *e1, *e2;
	errno = 0;
	unsigned long uid = strtoul(su, &e1, 10), gid = strtoul(sg, &e2, 10);
	if (errno || *e1 || *e2 || uid > UINT_MAX - 1 || gid > UINT_MAX - 1)
		return;
	if (fchown(fd, (uid_t)uid, (gid_t)gid) < 0)
		dbg("fchown to sudo user %lu:%lu: %s", uid, gid, strerror(errno));
}

int outfile_open(const char *path, int overwrite, char *tmp, size_t tmplen)
{
	if (!path || !*path) {
		errmsg("empty output file name");
		return -EINVAL;
	}
	int r = check_dest(path, overwrite);
	if (r < 0)
		return r;
	/* Temp file in the destination directory: rename is only atomic within
	 * one file system. Hidden name, so tools globbing *.pb.gz skip it. */
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	int dirlen = slash ? (int)(slash - path) + 1 : 0;
	if (!*base) {
		errmsg("cannot write %s: %s", path, strerror(EISDIR));
		return -EISDIR;
	}
	int n = snprintf(tmp, tmplen, "%.*s.%s.XXXXXX", dirlen, path, base);
	if (n < 0 || (size_t)n >= tmplen || n >= PATH_MAX) {
		errmsg("cannot write %s: %s", path, strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	int fd = mkostemp(tmp, O_CLOEXEC);   /* O_CREAT|O_EXCL: never an existing file */
	if (fd < 0) {
		int e = errno;
		errmsg("cannot write %s: %s", path, strerror(e));
		return -e;
	}
	/* mkostemp creates 0600; profiles are meant to be shared like any
	 * file the user writes, regardless of umask. */
	if (fchmod(fd, 0644) < 0) {
		int e = errno;
		errmsg("cannot write %s: chmod: %s", path, strerror(e));
		close(fd);
		unlink(tmp);
		return -e;
	}
	give_to_sudo_user(fd);
	pending_put(fd, overwrite);
	return fd;
}

static void sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == path)
		snprintf(dir, sizeof dir, "/");
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
	int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d >= 0) {
		fsync(d);   /* durability of the rename; failure changes nothing we can fix */
		close(d);
	}
}

/* Moves tmp to path without ever replacing an existing file. */
static int rename_noreplace(const char *tmp, const char *path)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
		return -errno;
	/* File systems without RENAME_NOREPLACE: link() fails on an existing
	 * name, which gives the same guarantee. */
	if (link(tmp, path) < 0)
		return -errno;
	unlink(tmp);
	return 0;
}

int outfile_commit(int fd, const char *tmp, const char *path, int ok)
{
	int overwrite = pending_take(fd);
	if (!ok) {
		close(fd);
		unlink(tmp);
		return 0;
	}
	int r = 0;
	if (fsync(fd) < 0 && errno != EINVAL)
		r = -errno;
	if (close(fd) < 0 && !r && errno != EINTR)
		r = -errno;
	if (r < 0) {
		errmsg("cannot write %s: %s", path, strerror(-r));
		unlink(tmp);
		return r;
	}
	if (overwrite) {
		/* The destination may have changed since open. rename() would not
		 * write through a symlink, but replacing one is still not ours to do. */
		r = check_dest(path, 1);
		if (r < 0) {
			unlink(tmp);
			return r;
		}
		if (rename(tmp, path) < 0)
			r = -errno;
	} else {
		r = rename_noreplace(tmp, path);
	}
	if (r < 0) {
		if (r == -EEXIST)
			errmsg("cannot write %s: file exists (not replacing it)", path);
		else
			errmsg("cannot write %s: %s", path, strerror(-r));
		unlink(tmp);
		return r;
	}
	sync_dir(path);
	return 0;
}

int outfile_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}
