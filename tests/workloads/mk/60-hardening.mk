# Workloads of the hardening suites (tests/integration/lifecycle.sh,
# tests/integration/hostile.sh). Known truth, checked by the tests:
#   churn             RATE threads/s, each ~1 ms in churn_work, joined
#   lifecycle         spin / exec (into lifecycle-b: image_b_spin) / fork
#                     (child_spin in the child, parent_spin) / reuse
#   hostile           recurse DEPTH (deep_recurse ... deep_bottom), spin
#   hostile-names     symbols renamed to non-UTF-8 and 10 KB shell-syntax names,
#                     no DWARF (the names come from .symtab)
#   hostile-bigsym    60,000 functions in .symtab, CPU in bigsym_hot
#   cpusplit-nodebug  cpusplit stripped of everything, no debug file anywhere
#   corrupt-dwarf/    uselib + libwork.so whose DWARF sections are garbage
#   corrupt-shdr/     uselib + libwork.so whose section header table points
#                     past the end of the file (loads and runs: the loader
#                     only needs program headers)
HARD_CFLAGS := $(WL_CFLAGS) -O1 -fno-omit-frame-pointer

WORKLOADS += $(WLBIN)/churn $(WLBIN)/lifecycle $(WLBIN)/lifecycle-b \
	$(WLBIN)/hostile $(WLBIN)/hostile-names $(WLBIN)/hostile-bigsym \
	$(WLBIN)/cpusplit-nodebug $(WLBIN)/corrupt-dwarf/uselib $(WLBIN)/corrupt-shdr/uselib

$(WLBIN)/churn: $(WL)/churn.c $(WL)/wl_common.h
	@mkdir -p $(@D)
	$(CC) $(HARD_CFLAGS) -o $@ $<

$(WLBIN)/lifecycle: $(WL)/lifecycle.c $(WL)/wl_common.h
	@mkdir -p $(@D)
	$(CC) $(HARD_CFLAGS) -o $@ $<

$(WLBIN)/lifecycle-b: $(WL)/lifecycle_b.c $(WL)/wl_common.h
	@mkdir -p $(@D)
	$(CC) $(HARD_CFLAGS) -o $@ $<

$(WLBIN)/hostile: $(WL)/hostile.c $(WL)/wl_common.h
	@mkdir -p $(@D)
	$(CC) $(HARD_CFLAGS) -fno-optimize-sibling-calls -o $@ $<

# objcopy takes any bytes but NUL and '=' in a symbol name.
HOSTILE_LONG = $(shell printf 'L%.0s' $$(seq 10240))
$(WLBIN)/hostile-names: $(WL)/hostile.c $(WL)/wl_common.h
	@mkdir -p $(@D)
	$(CC) $(WL_CFLAGS) -g0 -O1 -fno-omit-frame-pointer -o $@.tmp $<
	@echo "objcopy: rename name_bad_utf8, name_hostile in $@"
	@objcopy --redefine-sym "name_bad_utf8=bad_$$(printf '\377\376')_name" \
		--redefine-sym 'name_hostile=sh_$$(touch /tmp/ctop-pwned)`touch /tmp/ctop-pwned`;x$(HOSTILE_LONG)' \
		$@.tmp $@
	@rm -f $@.tmp

$(WLBIN)/hostile-bigsym.c:
	@mkdir -p $(@D)
	{ echo "#include \"wl_common.h\""; echo 'volatile unsigned long sink;'; \
	  for i in $$(seq 0 59999); do echo "__attribute__((noinline)) void bigsym_$$i(void) { sink += $$i; }"; done; \
	  echo '__attribute__((noinline)) void bigsym_hot(void) { unsigned long x = sink; WL_BURN(x, 500000UL); sink = x; }'; \
	  echo 'int main(void) { for (;;) { bigsym_hot(); bigsym_7(); } }'; } > $@.tmp && mv $@.tmp $@

$(WLBIN)/hostile-bigsym: $(WLBIN)/hostile-bigsym.c
	$(CC) -O0 -g0 -fno-omit-frame-pointer -I$(WL) -o $@ $<

$(WLBIN)/cpusplit-nodebug: $(WL)/cpusplit.c $(WL)/wl_common.h
	@mkdir -p $(@D)
	$(CC) $(SPINE_CFLAGS) -fno-omit-frame-pointer -o $@.tmp $<
	strip --strip-all -o $@ $@.tmp
	@rm -f $@.tmp

# Garbage over .debug_info/.debug_abbrev/.debug_line/.debug_str (offsets
# from readelf), headers intact.
$(WLBIN)/corrupt-dwarf/uselib: $(WLBIN)/uselib $(WLBIN)/libwork.so
	@mkdir -p $(@D)
	cp $(WLBIN)/uselib $(WLBIN)/libwork.so $(@D)/
	for s in .debug_info .debug_abbrev .debug_line .debug_str; do \
	  set -- $$(readelf -SW $(@D)/libwork.so | sed 's/^ *\[ *[0-9]*\] *//' | awk -v s=$$s '$$1 == s {print $$4, $$5}'); \
	  [ -n "$${1:-}" ] || { echo "no $$s in libwork.so"; exit 1; }; \
	  yes "$$(printf '\377\007\201\000garbage')" | head -c $$((0x$$2)) | \
	    dd of=$(@D)/libwork.so bs=1 seek=$$((0x$$1)) conv=notrunc status=none; \
	done

# e_shoff (offset 40, 8 bytes) far past the end, e_shnum (60) 0xffff.
$(WLBIN)/corrupt-shdr/uselib: $(WLBIN)/uselib $(WLBIN)/libwork.so
	@mkdir -p $(@D)
	cp $(WLBIN)/uselib $(WLBIN)/libwork.so $(@D)/
	printf '\377\377\377\177\000\000\000\000' | dd of=$(@D)/libwork.so bs=1 seek=40 conv=notrunc status=none
	printf '\377\377' | dd of=$(@D)/libwork.so bs=1 seek=60 conv=notrunc status=none
