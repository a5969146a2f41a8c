# Test-only tools (not workloads to profile, but built with them so the shell
# suites find them under $(WLBIN)):
#   gen_pprof  writes pprof/folded/text files of a fake program through the
#              real export code (tests/integration/pprof_oracle.sh)
WORKLOADS += $(WLBIN)/gen_pprof

$(WLBIN)/gen_pprof: tests/tools/gen_pprof.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)
