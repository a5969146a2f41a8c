/* JIT perf maps (/tmp/perf-PID.map): any process that can write the file
 * controls it. perfmap_parse_line on every line, then the incremental
 * reader (perfmap_open/update/lookup) on the same bytes as a real file,
 * appended in two steps as a JIT would. */
#include <fcntl.h>
#include "fuzz_common.h"
#include "symbol.h"
#include "../../src/symbol/symbol_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	uint64_t probe[64];
	int nprobe = 0;
	for (char *line = s; line && *line;) {
		char *nl = strchr(line, '\n');
		uint64_t start, len;
		const char *name;
		size_t namelen;
		if (perfmap_parse_line(line, &start, &len, &name, &namelen) == 0) {
			FUZZ_CHECK(len > 0 && start + len > start);
			FUZZ_CHECK(namelen > 0 && name >= line);
			FUZZ_CHECK(name + namelen <= line + strlen(line));
			if (nprobe + 3 <= 64) {
				probe[nprobe++] = start;
				probe[nprobe++] = start + len - 1;
				probe[nprobe++] = start + len;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	free(s);

	/* the file reader: first half, update, second half, update */
	int fd;
	size_t half = size / 2;
	const char *path = fuzz_tmpfile(data, half, &fd);
	if (!path)
		return 0;
	struct perfmap *pm = perfmap_open(path, getuid(), getuid());
	FUZZ_CHECK(pm != NULL);
	FUZZ_CHECK(perfmap_update(pm) >= 0);
	if (size > half && write(fd, data + half, size - half) != (ssize_t)(size - half))
		abort();
	FUZZ_CHECK(perfmap_update(pm) >= 0);
	FUZZ_CHECK(perfmap_update(pm) == 0);   /* nothing new */
	/* look up the edges of the entries the input names, so hits happen */
	for (int i = 0; i < nprobe; i++) {
		uint64_t pc = probe[i];
		uint64_t st = 0;
		const char *n = perfmap_lookup(pm, pc, &st);
		if (n) {
			FUZZ_CHECK(st <= pc);
			FUZZ_CHECK(strlen(n) > 0);
		}
	}
	perfmap_close(pm);
	close(fd);
	unlink(path);
	return 0;
}
