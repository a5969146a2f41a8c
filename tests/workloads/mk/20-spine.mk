# Workloads of the "spine" integration suite (tests/integration/spine.sh)
# and the demo (contrib/demo.sh). Known truth, checked by the tests:
#   cpusplit-*  75/25 split between hot75 and cold25, under main -> work
#   threads     named threads alpha / beta / sleeper / late
#   cxx         Worker<int>::crunch with the inlined mix_helper
#   uselib      lib_hot in libwork.so
#   goburn      Go, CPU in goBurn
#   demo        the `make demo` toy server
SPINE_CFLAGS := $(WL_CFLAGS) -O2
GO_BUILD_CACHE := $(abspath $(BUILD))/gocache
SPINE_GO ?= $(shell command -v go || echo /usr/lib/go/bin/go)

WORKLOADS += $(WLBIN)/cpusplit-fp $(WLBIN)/cpusplit-nofp $(WLBIN)/cpusplit-stripped \
	$(WLBIN)/threads $(WLBIN)/cxx $(WLBIN)/libwork.so $(WLBIN)/uselib \
	$(WLBIN)/goburn $(WLBIN)/jit.js $(WLBIN)/demo

$(WLBIN)/cpusplit-fp: $(WL)/cpusplit.c $(WL)/wl_common.h
	@mkdir -p $(@D)
	$(CC) $(SPINE_CFLAGS) -fno-omit-frame-pointer -o $@ $<

$(WLBIN)/cpusplit-nofp: $(WL)/cpusplit.c $(WL)/wl_common.h
	@mkdir -p $(@D)
	$(CC) $(SPINE_CFLAGS) -fomit-frame-pointer -o $@ $<

# Stripped binary; its symbols and DWARF live in .debug/cpusplit-stripped.debug,
# found through .gnu_debuglink (libdw's standard search looks in the binary's
# directory, its .debug/ subdirectory and /usr/lib/debug). The build ID lets
# a tool match the pair; we do not write to /usr/lib/debug/.build-id from a
# test build.
$(WLBIN)/cpusplit-stripped: $(WL)/cpusplit.c $(WL)/wl_common.h
	@mkdir -p $(@D)/.debug
	$(CC) $(SPINE_CFLAGS) -fomit-frame-pointer -Wl,--build-id -o $@.tmp $<
	objcopy --only-keep-debug $@.tmp $(@D)/.debug/cpusplit-stripped.debug
	strip --strip-all $@.tmp
	cd $(@D) && objcopy --add-gnu-debuglink=.debug/cpusplit-stripped.debug $(@F).tmp
	mv $@.tmp $@

$(WLBIN)/threads: $(WL)/threads.c $(WL)/wl_common.h
	@mkdir -p $(@D)
	$(CC) $(SPINE_CFLAGS) -fno-omit-frame-pointer -o $@ $<

$(WLBIN)/cxx: $(WL)/cxx.cc
	@mkdir -p $(@D)
	$(CXX) -g -O2 -Wall -Wextra -o $@ $<

$(WLBIN)/libwork.so: $(WL)/libwork.c $(WL)/wl_common.h
	@mkdir -p $(@D)
	$(CC) $(SPINE_CFLAGS) -fPIC -shared -o $@ $<

$(WLBIN)/uselib: $(WL)/uselib.c $(WLBIN)/libwork.so
	@mkdir -p $(@D)
	$(CC) $(SPINE_CFLAGS) -o $@ $< -L$(WLBIN) -lwork '-Wl,-rpath,$$ORIGIN'

$(WLBIN)/goburn: $(WL)/goburn/main.go
	@mkdir -p $(@D) $(GO_BUILD_CACHE)
	GOCACHE=$(GO_BUILD_CACHE) GO111MODULE=off $(SPINE_GO) build -o $@ $<

$(WLBIN)/jit.js: $(WL)/jit.js
	@mkdir -p $(@D)
	cp $< $@

$(WLBIN)/demo: $(WL)/demo.c $(WL)/wl_common.h
	@mkdir -p $(@D)
	$(CC) $(SPINE_CFLAGS) -fno-omit-frame-pointer -o $@ $<
