// cxx [SECONDS]: C++ names and inline frames.
// The hot loop is Worker<int>::crunch (a noinline template member); nearly
// all of its time is spent in mix_helper, which is always inlined into it,
// so a symbolizer that reads DW_TAG_inlined_subroutine shows mix_helper as
// an inline frame under Worker<int>::crunch(int). Built -O2 -g.
#include <cstdlib>
#include <ctime>

static double now()
{
	timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

volatile unsigned long sink;

inline __attribute__((always_inline)) unsigned long mix_helper(unsigned long x, int n)
{
	for (int i = 0; i < n; i++) {
		x = x * 6364136223846793005UL + 1442695040888963407UL;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

template <typename T> struct Worker {
	T state;
	__attribute__((noinline)) T crunch(int n)
	{
		unsigned long x = sink;
		for (int round = 0; round < 1000; round++)
			x = mix_helper(x, n);
		state = static_cast<T>(x);
		return state;
	}
};

template struct Worker<int>;

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 0.0;
	double end = now() + seconds;
	Worker<int> w{0};
	for (;;) {
		sink = sink + static_cast<unsigned long>(w.crunch(1000));
		if (seconds > 0 && now() >= end)
			break;
	}
	return 0;
}
