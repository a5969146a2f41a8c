/* .gopclntab of Go binaries built with -ldflags='-s -w': the only symbol
 * table such a binary has, read from a file we do not control.
 * gopclntab_open on the mutated section, then lookups (name, file, line,
 * entry, SP delta) at pcs spread over the text and at the entries found. */
#include "fuzz_common.h"
#include "gort.h"
#include "../../src/gort/gort_impl.h"

#define TEXT 0x401000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gopclntab *t = gopclntab_open(data, size, TEXT);
	if (!t)
		return 0;
	uint64_t ts = gopclntab_text_start(t);
	uint64_t step = size / 64 + 1;
	for (uint64_t i = 0; i < 96; i++) {
		/* the text is usually a bit larger than the table */
		uint64_t pc = ts + i * step * 2;
		const char *file = NULL;
		int line = -1;
		uint64_t entry = 0;
		const char *name = gopclntab_lookup(t, pc, &file, &line, &entry);
		FUZZ_CHECK(line >= 0);
		if (name) {
			FUZZ_CHECK(entry <= pc);
			(void)strlen(name);
			if (file)
				(void)strlen(file);
			/* (a mutated functab need not be sorted, so the
			 * entry may resolve elsewhere: only must not crash) */
			(void)gopclntab_lookup(t, entry, NULL, NULL, NULL);
		}
		int32_t d;
		(void)gopclntab_spdelta(t, pc, &d);
	}
	gopclntab_close(t);
	return 0;
}
