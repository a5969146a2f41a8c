/* Atomic output files (outfile_open/outfile_commit): never a partial file,
 * never through a symlink, never over an existing file unless asked, 0644,
 * owned by the sudo user, clear errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "testdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "export.h"


static void P(char *buf, const char *name)
{
	snprintf(buf, 256, "%s/%s", dir, name);
}

static int nfiles(void)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void put(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

static char *get(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void wr(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* Runs with stderr captured; returns what was printed. */
static char errbuf[1024];
static int saved_err = -1;
static void capture_start(void)
{
	char p[256];
	P(p, ".stderr");
	fflush(stderr);
	saved_err = dup(2);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	dup2(fd, 2);
	close(fd);
}
static const char *capture_end(void)
{
	char p[256];
	P(p, ".stderr");
	fflush(stderr);
	dup2(saved_err, 2);
	close(saved_err);
	FILE *f = fopen(p, "r");
	size_t n = fread(errbuf, 1, sizeof errbuf - 1, f);
	errbuf[n] = 0;
	fclose(f);
	unlink(p);
	return errbuf;
}

static void test_atomic_write(void **state)
{
	(void)state;
	char path[256], tmp[512];
	P(path, "a.pb.gz");
	mode_t old = umask(077);   /* the file must still be 0644 */
	int fd = outfile_open(path, 0, tmp, sizeof tmp);
	umask(old);
	assert_true(fd >= 0);
	/* Temp file in the same directory, hidden, destination not there yet. */
	assert_int_equal(strncmp(tmp, dir, strlen(dir)), 0);
	assert_non_null(strstr(tmp, "/.a.pb.gz."));
	wr(fd, "hello");
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(outfile_commit(fd, tmp, path, 1), 0);
	assert_string_equal(get(path), "hello");
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(nfiles(), 1);
	unlink(path);
}

static void test_failure_leaves_nothing(void **state)
{
	(void)state;
	char path[256], tmp[512];
	P(path, "b.folded");
	int fd = outfile_open(path, 0, tmp, sizeof tmp);
	assert_true(fd >= 0);
	wr(fd, "partial");
	assert_int_equal(outfile_commit(fd, tmp, path, 0), 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(nfiles(), 0);

	/* A failed overwrite keeps the old file intact. */
	put(path, "old");
	fd = outfile_open(path, 1, tmp, sizeof tmp);
	assert_true(fd >= 0);
	wr(fd, "half a new");
	assert_int_equal(outfile_commit(fd, tmp, path, 0), 0);
	assert_string_equal(get(path), "old");
	assert_int_equal(nfiles(), 1);
	unlink(path);
}

static void test_symlink_refused(void **state)
{
	(void)state;
	char path[256], target[256], tmp[512];
	P(path, "link.pb.gz");
	P(target, "victim");
	put(target, "precious");
	assert_int_equal(symlink(target, path), 0);
	for (int ov = 0; ov <= 1; ov++) {
		capture_start();
		int fd = outfile_open(path, ov, tmp, sizeof tmp);
		const char *e = capture_end();
		assert_int_equal(fd, -ELOOP);
		assert_non_null(strstr(e, "refusing to write through symlink"));
		assert_non_null(strstr(e, path));
	}
	assert_string_equal(get(target), "precious");
	/* A dangling link too: it could point where we must not create. */
	unlink(target);
	assert_int_equal(outfile_open(path, 1, tmp, sizeof tmp), -ELOOP);
	assert_int_equal(access(target, F_OK), -1);

	/* A link planted between open and commit is not replaced either. */
	unlink(path);
	int fd = outfile_open(path, 1, tmp, sizeof tmp);
	assert_true(fd >= 0);
	assert_int_equal(symlink(target, path), 0);
	wr(fd, "x");
	assert_int_equal(outfile_commit(fd, tmp, path, 1), -ELOOP);
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(nfiles(), 1);
	unlink(path);
}

static void test_existing_not_replaced(void **state)
{
	(void)state;
	char path[256], tmp[512];
	P(path, "e.txt");
	put(path, "mine");
	capture_start();
	int fd = outfile_open(path, 0, tmp, sizeof tmp);
	const char *e = capture_end();
	assert_int_equal(fd, -EEXIST);
	assert_non_null(strstr(e, path));
	assert_string_equal(get(path), "mine");

	/* overwrite: atomically replaced (a new inode, never truncated in place). */
	struct stat a, b;
	assert_int_equal(stat(path, &a), 0);
	fd = outfile_open(path, 1, tmp, sizeof tmp);
	assert_true(fd >= 0);
	assert_string_equal(get(path), "mine");
	wr(fd, "new");
	assert_int_equal(outfile_commit(fd, tmp, path, 1), 0);
	assert_string_equal(get(path), "new");
	assert_int_equal(stat(path, &b), 0);
	assert_true(a.st_ino != b.st_ino);
	assert_int_equal(b.st_mode & 07777, 0644);
	unlink(path);

	/* Someone creates the file between open and commit: it wins. */
	fd = outfile_open(path, 0, tmp, sizeof tmp);
	assert_true(fd >= 0);
	put(path, "raced");
	wr(fd, "ours");
	capture_start();
	int r = outfile_commit(fd, tmp, path, 1);
	capture_end();
	assert_int_equal(r, -EEXIST);
	assert_string_equal(get(path), "raced");
	assert_int_equal(nfiles(), 1);
	unlink(path);
}

static void test_errors_name_path(void **state)
{
	(void)state;
	char path[256], tmp[512];
	P(path, "no/such/dir/x.pb.gz");
	capture_start();
	int fd = outfile_open(path, 0, tmp, sizeof tmp);
	const char *e = capture_end();
	assert_int_equal(fd, -ENOENT);
	assert_non_null(strstr(e, path));
	assert_non_null(strstr(e, strerror(ENOENT)));

	/* A directory at the destination. */
	P(path, "sub");
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(outfile_open(path, 1, tmp, sizeof tmp), -EISDIR);

	/* An unwritable directory (root bypasses modes: use a read-only
	 * place that refuses even root, /proc). */
	const char *ro = getuid() == 0 ? "/proc/ctop-test.pb.gz" : NULL;
	char p2[256];
	if (!ro) {
		P(p2, "sub/x.pb.gz");
		chmod(path, 0555);
		ro = p2;
	}
	capture_start();
	fd = outfile_open(ro, 0, tmp, sizeof tmp);
	e = capture_end();
	assert_true(fd < 0);
	assert_non_null(strstr(e, ro));
	assert_non_null(strstr(e, strerror(-fd)));
	chmod(path, 0755);
	rmdir(path);

	/* Too long for the temp name buffer. */
	char small[8];
	P(path, "fine.txt");
	assert_int_equal(outfile_open(path, 0, small, sizeof small), -ENAMETOOLONG);
	assert_int_equal(outfile_open("", 0, tmp, sizeof tmp), -EINVAL);
	assert_int_equal(nfiles(), 0);
}

static void test_sudo_owner(void **state)
{
	(void)state;
	char path[256], tmp[512];
	P(path, "sudo.txt");
	setenv("SUDO_UID", "65534", 1);
	setenv("SUDO_GID", "65533", 1);
	int fd = outfile_open(path, 0, tmp, sizeof tmp);
	unsetenv("SUDO_UID");
	unsetenv("SUDO_GID");
	assert_true(fd >= 0);
	assert_int_equal(outfile_commit(fd, tmp, path, 1), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	if (geteuid() == 0) {
		assert_int_equal(st.st_uid, 65534);
		assert_int_equal(st.st_gid, 65533);
	} else {
		/* Only root may give files away: then they stay ours. */
		assert_int_equal(st.st_uid, geteuid());
	}
	unlink(path);

	/* Garbage in SUDO_UID is ignored, not trusted. */
	setenv("SUDO_UID", "12x", 1);
	setenv("SUDO_GID", "0", 1);
	fd = outfile_open(path, 0, tmp, sizeof tmp);
	unsetenv("SUDO_UID");
	unsetenv("SUDO_GID");
	assert_true(fd >= 0);
	assert_int_equal(outfile_commit(fd, tmp, path, 1), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, geteuid());
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_atomic_write),
		cmocka_unit_test(test_failure_leaves_nothing),
		cmocka_unit_test(test_symlink_refused),
		cmocka_unit_test(test_existing_not_replaced),
		cmocka_unit_test(test_errors_name_path),
		cmocka_unit_test(test_sudo_owner),
	};
	return cmocka_run_group_tests(tests, testdir_setup, testdir_teardown);
}
