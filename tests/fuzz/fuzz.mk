# libFuzzer harnesses for every parser of outside data (tests/fuzz/*.c).
#   make fuzz                      build and run each harness FUZZ_SECONDS (60)
#   make fuzz FUZZ_SECONDS=10      shorter
#   make -f tests/fuzz/fuzz.mk build   only build
#   make -f tests/fuzz/fuzz.mk run FUZZ_ONLY="proc_stat perfrec"
# The project's sources are compiled once more with clang and
# -fsanitize=fuzzer-no-link,address,undefined into $(FUZZ_BUILD) (never
# mixed with build/ or build-san/). Corpora grow in $(FUZZ_BUILD)/corpus/NAME;
# crashes land in $(FUZZ_BUILD)/crashes/ and fail the run. A crash found
# becomes a cmocka regression test tests/unit/test_regress_*.c (make check).

FUZZ_CC      ?= clang-14
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_HARNESSES := proc_stat proc_maps perfmap perfrec pprof gopclntab elf
FUZZ_ONLY    ?= $(FUZZ_HARNESSES)
GO           ?= $(shell command -v go || echo /usr/lib/go/bin/go)

FZ_PKGS   := libdw libelf ncursesw zlib
FZ_PKGCF  := $(shell pkg-config --cflags $(FZ_PKGS) 2>/dev/null)
FZ_PKGLD  := $(shell pkg-config --libs $(FZ_PKGS) 2>/dev/null)
FZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FZ_CFLAGS := -O1 -g -fno-omit-frame-pointer -std=gnu11 -pthread -Iinclude -Isrc \
             $(FZ_PKGCF) -D_GNU_SOURCE -Wall -Wno-unused-parameter
FZ_SRCS   := $(sort $(wildcard src/*/*.c))
FZ_SRCS   := $(filter-out src/main.c,$(FZ_SRCS))
FZ_OBJS   := $(FZ_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o)
FZ_LIB    := $(FUZZ_BUILD)/libctop-fuzz.a
FZ_BINS   := $(FUZZ_HARNESSES:%=$(FUZZ_BUILD)/fuzz_%)

.PHONY: build run seeds clean
build: $(FZ_BINS) seeds

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FZ_CFLAGS) -fsanitize=fuzzer-no-link $(FZ_SAN) -MMD -MP -c -o $@ $<

-include $(FZ_OBJS:.o=.d)

$(FZ_LIB): $(FZ_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(FZ_LIB)
	$(FUZZ_CC) $(FZ_CFLAGS) -fsanitize=fuzzer $(FZ_SAN) -o $@ $< $(FZ_LIB) \
		$(FZ_PKGLD) -lstdc++ -lpthread

# ---- seeds made at build time (binary or machine-specific) ----------------
SEEDS := $(FUZZ_BUILD)/seeds
seeds: $(SEEDS)/.perfrec $(SEEDS)/.elf $(SEEDS)/.gopclntab

$(FUZZ_BUILD)/gen_seeds: tests/fuzz/gen_seeds.c
	@mkdir -p $(@D)
	$(FUZZ_CC) -O1 -g -Wall -o $@ $<

$(SEEDS)/.perfrec: $(FUZZ_BUILD)/gen_seeds
	@mkdir -p $(SEEDS)/perfrec $(SEEDS)/pprof
	$(FUZZ_BUILD)/gen_seeds $(SEEDS)
	@touch $@

# A small shared object in several shapes: DWARF 5, DWARF 4 with compressed
# sections, no debug info, fully stripped.
$(SEEDS)/.elf: tests/fuzz/seed_elf.c
	@mkdir -p $(SEEDS)/elf
	gcc -shared -fPIC -g -O2 -o $(SEEDS)/elf/dwarf5.so $<
	gcc -shared -fPIC -gdwarf-4 -O1 -Wl,--compress-debug-sections=zlib -o $(SEEDS)/elf/dwarf4z.so $<
	gcc -shared -fPIC -O2 -o $(SEEDS)/elf/nodebug.so $<
	strip --strip-all -o $(SEEDS)/elf/stripped.so $(SEEDS)/elf/nodebug.so
	@touch $@

$(SEEDS)/.gopclntab: tests/fuzz/seed_go.go
	@mkdir -p $(SEEDS)/gopclntab $(FUZZ_BUILD)/go
	cd $(FUZZ_BUILD)/go && cp ../../tests/fuzz/seed_go.go main.go && \
	  GOCACHE=$(CURDIR)/$(FUZZ_BUILD)/gocache GOPATH=$(CURDIR)/$(FUZZ_BUILD)/gopath \
	  GO111MODULE=off GOFLAGS= CGO_ENABLED=0 $(GO) build -ldflags='-s -w' -o seed main.go
	objcopy -O binary --only-section=.gopclntab $(FUZZ_BUILD)/go/seed $(SEEDS)/gopclntab/go.pclntab
	@touch $@

# ---- run --------------------------------------------------------------------
run: build
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh $(FUZZ_ONLY)

clean:
	rm -rf $(FUZZ_BUILD)
