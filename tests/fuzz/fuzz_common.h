/* Helpers shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c).
 * Each harness feeds outside data (what a target, its files or the kernel
 * hand us) to one parser of ctop-prof, built with ASan + UBSan, and checks
 * the parser's own promises where it can (bounds, round trips). */
#ifndef CTOP_FUZZ_COMMON_H
#define CTOP_FUZZ_COMMON_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a NUL-terminated string (embedded NULs end it early, as they
 * would for a file read with read_file()). Caller frees. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = 0;
	return s;
}

/* Little reader over the input for harnesses that take structured input. */
struct fuzz_in { const uint8_t *p; size_t n; };

static inline uint64_t fuzz_take(struct fuzz_in *in, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++) {
		v <<= 8;
		if (in->n) {
			v |= *in->p++;
			in->n--;
		}
	}
	return v;
}

/* Writes data to a fresh private temp file; returns its path (static
 * buffer) or NULL. */
static inline const char *fuzz_tmpfile(const void *data, size_t size, int *fdout)
{
	static char path[64];
	snprintf(path, sizeof path, "/tmp/ctop-fuzz.%d.XXXXXX", (int)getpid());
	int fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	const uint8_t *p = data;
	size_t done = 0;
	while (done < size) {
		ssize_t w = write(fd, p + done, size - done);
		if (w <= 0) {
			close(fd);
			unlink(path);
			return NULL;
		}
		done += (size_t)w;
	}
	if (fdout)
		*fdout = fd;
	else
		close(fd);
	return path;
}

#define FUZZ_CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "fuzz check failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
	abort(); } } while (0)

#endif
