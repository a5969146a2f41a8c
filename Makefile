# ctop-prof — plain GNU Makefile.
#   make            build ./ctop-prof
#   make check      install missing dependencies, build, run every test
#   make demo       install missing dependencies, build, open the TUI on a demo workload
#   make SANITIZE=1 build with ASan + UBSan (also for check)
#   make install PREFIX=/usr/local DESTDIR=...

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man/man1
BCDIR   ?= $(PREFIX)/share/bash-completion/completions
DESTDIR ?=

CC      ?= cc
PKGS    := libdw libelf ncursesw zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Wshadow -Wformat=2 -Wpointer-arith -Wstrict-prototypes \
           -Wmissing-prototypes -Wno-unused-parameter
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -pthread $(WARN) -Iinclude -Isrc $(PKG_CFLAGS) -D_GNU_SOURCE
LDLIBS  += $(PKG_LIBS) -lstdc++ -lpthread
ifeq ($(WERROR),1)
CFLAGS  += -Werror
endif
ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
BUILD   ?= build-san
endif
BUILD   ?= build

SRCS    := $(sort $(wildcard src/*/*.c))
OBJS    := $(SRCS:%.c=$(BUILD)/%.o)
MAIN    := $(BUILD)/src/main.o
LIB     := $(BUILD)/libctop.a

.PHONY: all clean check demo deps install uninstall unit workloads bench fuzz
# ./ctop-prof is a link to the binary of the last build flavour (build/ or
# build-san/), so switching SANITIZE on and off never leaves a stale binary.
all: $(BUILD)/ctop-prof
	@ln -sfn $(BUILD)/ctop-prof ctop-prof

$(BUILD)/ctop-prof: $(MAIN) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(LIB): $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(OBJS:.o=.d) $(MAIN:.o=.d)

# ---- dependencies -------------------------------------------------------
deps:
	@sh contrib/install-deps.sh

# ---- tests --------------------------------------------------------------
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(LIB) $(CMOCKA_LIBS) $(LDLIBS)

unit: $(UNIT_BINS)

WORKLOADS :=
include $(sort $(wildcard tests/workloads/mk/*.mk))
workloads: $(WORKLOADS)

check: deps
	@$(MAKE) --no-print-directory all unit workloads
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) bash tests/run-all.sh

demo: deps
	@$(MAKE) --no-print-directory all workloads
	@bash contrib/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all workloads
	@bash bench/run.sh

fuzz: deps
	@FUZZ=1 sh contrib/install-deps.sh
	@$(MAKE) --no-print-directory -f tests/fuzz/fuzz.mk run

# ---- install ------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR) $(DESTDIR)$(BCDIR)
	install -m 0755 $(BUILD)/ctop-prof $(DESTDIR)$(BINDIR)/ctop-prof
	install -m 0644 man/ctop-prof.1 $(DESTDIR)$(MANDIR)/ctop-prof.1
	install -m 0644 contrib/ctop-prof.bash-completion $(DESTDIR)$(BCDIR)/ctop-prof

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ctop-prof $(DESTDIR)$(MANDIR)/ctop-prof.1 $(DESTDIR)$(BCDIR)/ctop-prof

clean:
	rm -rf build build-san ctop-prof tests/workloads/bin
