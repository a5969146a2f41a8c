/* A scratch directory for a cmocka group: created by testdir_setup, removed
 * with its contents by testdir_teardown. Header-only, for the unit tests. */
#ifndef CTOP_TESTDIR_H
#define CTOP_TESTDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

static char dir[64];

static int testdir_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

static int testdir_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/ctop-unit.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int testdir_teardown(void **state)
{
	(void)state;
	return nftw(dir, testdir_rm, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
