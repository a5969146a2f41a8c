# Targets of the side-by-side benchmarks (bench/run.sh, `make bench`):
#   bench/spin        iterations per second of a call chain (depth, spread,
#                     threads set on its command line); frame pointers and
#                     .eh_frame, so fp and dwarf unwinding both work
#   bench/libchain    stacks spread over BENCH_NLIBS shared libraries
#                     (bench/libs/libchain_N.so, no frame pointers)
#   bench/scanbench   runs the library's thread and goroutine stack scans on
#                     a PID and prints their cost (a bench tool, not a target)
#   bench/big         a binary with 100 MB+ of debug info (start-up row); not
#                     in WORKLOADS: bench/run.sh builds it on demand, because
#                     generating and compiling it takes a while
BENCH_BIN   := $(WLBIN)/bench
BENCH_NLIBS := 64
BENCH_LIBS  := $(foreach i,$(shell seq 0 $$(($(BENCH_NLIBS) - 1))),$(BENCH_BIN)/libs/libchain_$(i).so)
BENCH_CFLAGS := -O2 -g -Wall -Wextra -pthread

WORKLOADS += $(BENCH_BIN)/spin $(BENCH_BIN)/libchain $(BENCH_LIBS) $(BENCH_BIN)/scanbench

$(BENCH_BIN)/spin: bench/spin.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -fno-omit-frame-pointer -o $@ $<

$(BENCH_BIN)/libchain: bench/libchain.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -fomit-frame-pointer -o $@ $< -ldl

$(BENCH_BIN)/libs/libchain_%.so: bench/chainlib.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -fomit-frame-pointer -fPIC -shared -DLIBID=$* -o $@ $<

$(BENCH_BIN)/scanbench: bench/scanbench.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# The large binary: BENCH_BIG_UNITS generated units of ~5.8 MB of DWARF
# each (types with long member names, small functions), -O0 so it compiles
# fast. Sources and objects live in $(BUILD)/bench-big.
BENCH_BIG_UNITS := 20
BENCH_BIG_DIR   := $(BUILD)/bench-big
BENCH_BIG_NAMES := $(foreach i,$(shell seq 0 $$(($(BENCH_BIG_UNITS) - 1))),big_$(i)) big_main
BENCH_BIG_OBJS  := $(BENCH_BIG_NAMES:%=$(BENCH_BIG_DIR)/%.o)

$(BENCH_BIG_DIR)/.generated: bench/gen_big.pl
	@mkdir -p $(@D)
	perl bench/gen_big.pl $(@D) $(BENCH_BIG_UNITS)
	@touch $@

$(BENCH_BIG_OBJS): $(BENCH_BIG_DIR)/%.o: $(BENCH_BIG_DIR)/.generated
	$(CC) -O0 -g -fno-eliminate-unused-debug-types -c -o $@ $(BENCH_BIG_DIR)/$*.c

$(BENCH_BIN)/big: $(BENCH_BIG_OBJS)
	@mkdir -p $(@D)
	$(CC) -o $@ $^

.PHONY: bench-big
bench-big: $(BENCH_BIN)/big
