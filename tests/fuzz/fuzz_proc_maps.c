/* /proc/PID/maps lines and /proc/PID/status fields: parse_maps_line and
 * parse_status_field on arbitrary text. Mapped file names are chosen by
 * whoever created the file (spaces, newlines, " (deleted)", 4 KB paths). */
#include <limits.h>
#include "fuzz_common.h"
#include "target.h"

static const char *const keys[] = { "Uid", "Tgid", "NSpid", "Threads",
	"voluntary_ctxt_switches", "nonvoluntary_ctxt_switches", "State", "x" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	/* every line of the input, as symtab and threads read them */
	struct map_entry *m = malloc(sizeof *m);
	for (char *line = s; line && *line;) {
		char *nl = strchr(line, '\n');
		if (parse_maps_line(line, m) == 0) {
			FUZZ_CHECK(m->start <= m->end);
			FUZZ_CHECK(strlen(m->perms) == 4);
			FUZZ_CHECK(memchr(m->path, 0, sizeof m->path) != NULL);
			FUZZ_CHECK(!strchr(m->path, '\n'));
		}
		line = nl ? nl + 1 : NULL;
	}
	free(m);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		long v = parse_status_field(s, keys[i]);
		FUZZ_CHECK(v >= -1 && v <= LONG_MAX);
	}
	free(s);
	return 0;
}
