/* uselib [SECONDS]: main loop calling lib_hot() from libwork.so (rpath
 * $ORIGIN), so the hot function lives in a shared object, not the exe. */
#include "wl_common.h"

void lib_hot(void);

int main(int argc, char **argv)
{
	double seconds = wl_seconds(argc, argv, 1);
	double end = wl_now() + seconds;
	for (;;) {
		lib_hot();
		if (seconds > 0 && wl_now() >= end)
			break;
	}
	return 0;
}
