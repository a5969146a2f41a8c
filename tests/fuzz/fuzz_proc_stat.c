/* /proc/PID[/task/TID]/stat: parse_proc_stat on arbitrary text. The comm
 * field is whatever the target called itself (prctl PR_SET_NAME), so
 * parentheses, spaces and newlines in it are attacker-controlled. */
#include "fuzz_common.h"
#include "target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	struct proc_stat st;
	if (parse_proc_stat(s, &st) == 0) {
		/* comm is always terminated inside its array */
		FUZZ_CHECK(memchr(st.comm, 0, sizeof st.comm) != NULL);
		FUZZ_CHECK(st.state != 0 && st.state != ' ');
		FUZZ_CHECK(st.ppid >= 0);
		FUZZ_CHECK(st.processor >= -1);
	}
	free(s);
	return 0;
}
