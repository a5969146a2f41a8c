/* lifecycle-b: the image lifecycle execs into (a different binary with
 * different functions). Burns CPU in image_b_spin until killed. */
#include "wl_common.h"

volatile unsigned long sink;

__attribute__((noinline)) void image_b_spin(void)
{
	unsigned long x = sink;
	for (;;)
		WL_BURN(x, 200000UL);
}

int main(void)
{
	image_b_spin();
	return 0;
}
