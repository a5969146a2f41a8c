# Workloads of the threads / leak-groups suite (tests/integration/threads.sh):
#   leak_threads  3 x stable_waiter, 1 x busy_loop, leaks leaked_worker threads
#   many_threads  1000 x many_sleeper, for the cost of a full scan
THREADS_WL_CFLAGS := $(WL_CFLAGS) -O2 -fno-omit-frame-pointer

WORKLOADS += $(WLBIN)/leak_threads $(WLBIN)/many_threads

$(WLBIN)/leak_threads: $(WL)/leak_threads.c $(WL)/wl_common.h
	@mkdir -p $(@D)
	$(CC) $(THREADS_WL_CFLAGS) -o $@ $<

$(WLBIN)/many_threads: $(WL)/many_threads.c
	@mkdir -p $(@D)
	$(CC) $(THREADS_WL_CFLAGS) -o $@ $<
