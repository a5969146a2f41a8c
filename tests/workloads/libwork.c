/* libwork.so: a shared library whose lib_hot() burns CPU (used by uselib). */
#include "wl_common.h"

volatile unsigned long lib_sink;

__attribute__((noinline)) void lib_hot(void)
{
	unsigned long x = lib_sink;
	WL_BURN(x, 1000000UL);
	lib_sink = x;
}
