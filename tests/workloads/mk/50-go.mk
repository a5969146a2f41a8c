# Go workloads: goleak (goroutine leak + CPU burner), normal, stripped
# (-ldflags='-s -w': no .symtab, no DWARF, only .gopclntab) and PIE, plus an oracle
# file for the pclntab unit test made by Go's own tools:
#   goleak.addr2line, goleak-stripped.addr2line: "0xADDR<TAB>function<TAB>
#   file:line" per line, for every text symbol's entry and middle (from
#   `go tool nm` of goleak), as `go tool addr2line` resolves them in each.
# GOCACHE/GOPATH live under the build dir so this works as root in CI with
# HOME unset, and needs no network (no modules).
GO ?= go
GO_ENV := GOCACHE=$(CURDIR)/$(BUILD)/gocache GOPATH=$(CURDIR)/$(BUILD)/gopath \
          GO111MODULE=off GOFLAGS= CGO_ENABLED=0

WORKLOADS += $(WLBIN)/goleak $(WLBIN)/goleak-stripped $(WLBIN)/goleak-pie $(WLBIN)/goleak-merged \
             $(WLBIN)/goleak.addr2line \
             $(WLBIN)/goleak-stripped.addr2line

$(WLBIN)/goleak: $(WL)/goleak/main.go
	@mkdir -p $(dir $@)
	$(GO_ENV) $(GO) build -o $@ $<

$(WLBIN)/goleak-stripped: $(WL)/goleak/main.go
	@mkdir -p $(dir $@)
	$(GO_ENV) $(GO) build -ldflags='-s -w' -o $@ $<

# Position-independent: loaded at a random base; its pclntab section is
# .data.rel.ro.gopclntab.
$(WLBIN)/goleak-pie: $(WL)/goleak/main.go
	@mkdir -p $(dir $@)
	$(GO_ENV) $(GO) build -buildmode=pie -o $@ $<

# As an external linker may leave it: no .gopclntab section, the table
# somewhere inside read-only data (found by its header).
$(WLBIN)/goleak-merged: $(WLBIN)/goleak-stripped
	objcopy --rename-section .gopclntab=.data.rel.ro $< $@

$(WLBIN)/goleak.addrs: $(WLBIN)/goleak
	$(GO_ENV) $(GO) tool nm -size -n -type $< | \
	  perl -ane 'next unless $$F[2] =~ /^[Tt]$$/; $$a = hex($$F[0]); printf "0x%x\n", $$a; printf "0x%x\n", $$a + int($$F[1] / 2) if $$F[1] > 2' > $@.tmp
	@mv $@.tmp $@

# The same addresses through each binary (addr2line reads the stripped one's
# .gopclntab, as we do).
$(WLBIN)/%.addr2line: $(WLBIN)/% $(WLBIN)/goleak.addrs
	$(GO_ENV) $(GO) tool addr2line $< < $(WLBIN)/goleak.addrs | paste - - | \
	  paste $(WLBIN)/goleak.addrs - > $@.tmp
	@mv $@.tmp $@

# test_gort finds the binaries here (CTOP_WLBIN in the environment overrides).
$(BUILD)/tests/test_gort: CFLAGS += -DCTOP_WLBIN='"$(CURDIR)/$(WLBIN)"'
