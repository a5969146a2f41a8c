#!/usr/bin/env bash
# Hostile or odd binaries: stripped with no debug info, corrupt DWARF and
# section headers in a loaded library, a huge symbol table, non-UTF-8 and
# 10 KB symbol names full of shell syntax, recursion 10,000 frames deep,
# binaries replaced or deleted on disk while running, a JIT map owned by
# someone else. ctop-prof never crashes, exits 0, writes files go tool
# pprof reads, and shows something useful for every frame.
source "$(dirname "$0")/../lib.sh"

need() {
	[ -x "$CTOP" ] || { fail "no ctop-prof binary at $CTOP (run make)"; return 1; }
	local w
	for w in hostile hostile-names hostile-bigsym cpusplit-nodebug corrupt-dwarf/uselib corrupt-shdr/uselib; do
		[ -x "$WLBIN/$w" ] || { fail "workload $WLBIN/$w missing (run make workloads)"; return 1; }
	done
	[ -x "$GO" ] || { fail "go is not installed (the pprof oracle): contrib/install-deps.sh"; return 1; }
}

# profile OUT ARGS...: ctop-prof -b ARGS -o OUT; must exit 0 with a file.
profile() {
	local out=$1 rc; shift
	timeout 60 "$CTOP" "$@" -b -o "$out" </dev/null >"$TMPD/table" 2>"$TMPD/err"
	rc=$?
	[ "$rc" -eq 0 ] || { fail "ctop-prof $* exited $rc: $(head -c 300 "$TMPD/err")"; return 1; }
	[ -s "$out" ] || { fail "ctop-prof $* wrote no $out"; return 1; }
	case $out in
	*.pb.gz) pprof_top "$out" >/dev/null || { fail "go tool pprof cannot read $out: $(pprof_top "$out" | head -3)"; return 1; } ;;
	esac
	return 0
}

# leaf_share FOLDED REGEX: % of samples whose leaf frame matches REGEX.
leaf_share() {
	awk -v re="$2" '{ n = $NF; sub(/ [0-9]+$/, ""); k = split($0, f, ";"); t += n; if (f[k] ~ re) h += n }
		END { printf "%.1f\n", t ? 100 * h / t : 0 }' "$1"
}
atleast() { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a >= b)}'; }

start_target() { start_bg "$@"; T=$BGPID; sleep 0.3; kill -0 "$T" || { fail "$1 did not start"; return 1; }; }

# ---- stripped ---------------------------------------------------------------

# No symbols, no DWARF, no debug file anywhere: frames are module+0xOFFSET
# (what addr2line takes), never blank.
test_stripped_no_debug_info() {
	need || return 1
	start_target "$WLBIN/cpusplit-nodebug" || return 1
	profile "$TMPD/s.folded" -p "$T" -d 3 -F 499 || return 1
	grep -Eq '(^|;);|; [0-9]+$|^ [0-9]+$' "$TMPD/s.folded" && { fail "blank frame names: $(head -3 "$TMPD/s.folded")"; return 1; }
	local share
	share=$(leaf_share "$TMPD/s.folded" '^cpusplit-nodebug\+0x[0-9a-f]+$')
	atleast "$share" 90 || { fail "only $share% of leaves are cpusplit-nodebug+0xOFF: $(head -3 "$TMPD/s.folded")"; return 1; }
	# the offsets are ELF addresses addr2line understands: they fall in .text
	local off text_lo text_sz
	off=$(awk '{sub(/ [0-9]+$/,""); k=split($0,f,";"); print f[k]}' "$TMPD/s.folded" | grep -m1 -oE '0x[0-9a-f]+$')
	read -r text_lo text_sz < <(readelf -SW "$WLBIN/cpusplit-nodebug" | sed 's/^ *\[ *[0-9]*\] *//' | awk '$1==".text"{print $3, $5}')
	[ $((off)) -ge $((0x$text_lo)) ] && [ $((off)) -lt $((0x$text_lo + 0x$text_sz)) ] ||
		{ fail "offset $off is not inside .text (0x$text_lo + 0x$text_sz)"; return 1; }
	profile "$TMPD/s.pb.gz" -p "$T" -d 1 -F 499 || return 1
	kill_bg "$T"
}

# ---- corrupt ELF/DWARF in the mappings -------------------------------------

# A library whose DWARF sections are garbage, and one whose section header
# table points past the end of the file: both load and run (the loader reads
# program headers), and ctop-prof must name their code from what is left
# (.dynsym) or module+offset, in every unwind mode.
corrupt_case() {
	local kind=$1 mode
	need || return 1
	start_target "$WLBIN/corrupt-$kind/uselib" || return 1
	grep -q "corrupt-$kind/libwork.so" "/proc/$T/maps" || { fail "the corrupt library is not mapped"; return 1; }
	for mode in auto fp dwarf; do
		profile "$TMPD/c-$mode.folded" -p "$T" -d 2 -F 499 --unwind "$mode" || return 1
		local share
		share=$(leaf_share "$TMPD/c-$mode.folded" '^(lib_hot|libwork\.so\+0x[0-9a-f]+)$')
		atleast "$share" 50 || { fail "$kind/$mode: only $share% of leaves in libwork.so: $(sort -k2 -n -r "$TMPD/c-$mode.folded" | head -3)"; return 1; }
	done
	profile "$TMPD/c.pb.gz" -p "$T" -d 1 -F 499 || return 1
	kill -0 "$T" || { fail "the target died"; return 1; }
	kill_bg "$T"
}
test_corrupt_dwarf_in_mappings() { corrupt_case dwarf; }
test_corrupt_section_headers_in_mappings() { corrupt_case shdr; }

# ---- huge symbol table -------------------------------------------------------

test_huge_symbol_table() {
	need || return 1
	local n
	n=$(nm "$WLBIN/hostile-bigsym" | grep -c ' bigsym_')
	[ "$n" -ge 60000 ] || { fail "hostile-bigsym has only $n symbols"; return 1; }
	start_target "$WLBIN/hostile-bigsym" || return 1
	profile "$TMPD/b.folded" -p "$T" -d 3 -F 499 || return 1
	local share
	share=$(leaf_share "$TMPD/b.folded" '^bigsym_hot$')
	atleast "$share" 80 || { fail "bigsym_hot holds $share% of leaves: $(sort -k2 -n -r "$TMPD/b.folded" | head -3)"; return 1; }
	kill_bg "$T"
}

# ---- names --------------------------------------------------------------------

# Symbol names that are not UTF-8, 10 KB long and full of shell syntax come
# out byte for byte in folded output, are readable by pprof, and nothing in
# them is ever run.
test_hostile_symbol_names() {
	need || return 1
	rm -f /tmp/ctop-pwned
	start_target "$WLBIN/hostile-names" names || return 1
	profile "$TMPD/n.folded" -p "$T" -d 3 -F 499 || return 1
	profile "$TMPD/n.pb.gz" -p "$T" -d 1 -F 499 || return 1
	profile "$TMPD/n.txt" -p "$T" -d 1 -F 499 || return 1
	LC_ALL=C grep -aq "bad_$(printf '\377\376')_name" "$TMPD/n.folded" ||
		{ fail "the non-UTF-8 name is not in the folded output byte for byte"; return 1; }
	local longest
	longest=$(LC_ALL=C awk '{sub(/ [0-9]+$/,""); k=split($0,f,";"); for(i=1;i<=k;i++) if (length(f[i])>m) m=length(f[i])} END{print m+0}' "$TMPD/n.folded")
	[ "$longest" -ge 10240 ] || { fail "the 10 KB name came out $longest bytes long"; return 1; }
	LC_ALL=C grep -aq 'sh_$(touch /tmp/ctop-pwned)`touch /tmp/ctop-pwned`' "$TMPD/n.folded" ||
		{ fail "the shell-syntax name was altered"; return 1; }
	[ ! -e /tmp/ctop-pwned ] || { fail "a symbol name was executed: /tmp/ctop-pwned exists"; return 1; }
	kill -0 "$T" || { fail "the target died"; return 1; }
	kill_bg "$T"
}

# Nothing from a target is ever handed to a shell: ctop-prof's own sources
# call no system()/popen(), and exec only the user's own -- COMMAND.
test_no_shell_in_sources() {
	local hits
	hits=$(grep -rnE '\b(system|popen|execl|execle|execlp|execv|execve|execvpe)[[:space:]]*\(' "$ROOT/src" | grep -v '^\s*/\?\*')
	[ -z "$hits" ] || { fail "sources run commands: $hits"; return 1; }
	[ "$(grep -rn 'execvp(' "$ROOT/src" | wc -l)" -eq 1 ] ||
		{ fail "execvp used beyond launch mode: $(grep -rn 'execvp(' "$ROOT/src")"; return 1; }
}

# ---- recursion -------------------------------------------------------------------

# 10,000 frames deep: stacks are cut at the root side and marked
# "[truncated]" as their outermost frame, never deeper than 512 frames
# (CTOP_MAX_FRAMES, documented in ctop-prof(1)), in every unwind mode.
test_recursion_10000_deep() {
	need || return 1
	start_target "$WLBIN/hostile" recurse 10000 || return 1
	local mode
	for mode in fp dwarf auto; do
		profile "$TMPD/r-$mode.folded" -p "$T" -d 2 -F 499 --unwind "$mode" || return 1
		local lines bad deepest
		lines=$(grep -c 'deep_bottom [0-9]*$' "$TMPD/r-$mode.folded")
		[ "$lines" -ge 1 ] || { fail "$mode: no stack ends in deep_bottom: $(head -c 300 "$TMPD/r-$mode.folded")"; return 1; }
		bad=$(grep 'deep_bottom [0-9]*$' "$TMPD/r-$mode.folded" | grep -vc '^\[truncated\];')
		[ "$bad" -eq 0 ] || { fail "$mode: $bad of $lines deep stacks lack the [truncated] root marker"; return 1; }
		deepest=$(awk '{sub(/ [0-9]+$/,""); k=split($0,f,";"); if (k>m) m=k} END{print m}' "$TMPD/r-$mode.folded")
		[ "$deepest" -le 512 ] || { fail "$mode: a stack of $deepest frames (limit 512)"; return 1; }
		grep -q 'deep_recurse;deep_recurse;deep_recurse;deep_bottom' "$TMPD/r-$mode.folded" ||
			{ fail "$mode: the recursion is not visible under the marker"; return 1; }
	done
	profile "$TMPD/r.pb.gz" -p "$T" -d 1 -F 499 || return 1
	pprof_top "$TMPD/r.pb.gz" | grep -q '\[truncated\]' || { fail "[truncated] missing from the pprof file"; return 1; }
	kill_bg "$T"
}

# ---- binaries replaced on disk ----------------------------------------------------

# The running binary's path now names garbage (renamed over it), a
# truncated copy, or nothing (deleted): symbols still come from the mapped
# file (/proc/PID/map_files), never from what the path names now.
replaced_case() {
	local how=$1
	need || return 1
	mkdir -p "$TMPD/r-$how"
	local bin=$TMPD/r-$how/victim
	cp "$WLBIN/hostile" "$bin"
	start_target "$bin" spin || return 1
	case $how in
	garbage)   head -c 20000 /dev/urandom >"$bin.new"; printf '\177ELF' | dd of="$bin.new" conv=notrunc status=none; mv "$bin.new" "$bin" ;;
	truncated) head -c 3000 "$WLBIN/hostile" >"$bin.new"; mv "$bin.new" "$bin" ;;
	other)     cp "$WLBIN/cpusplit-fp" "$bin.new"; mv "$bin.new" "$bin" ;;
	deleted)   rm -f "$bin" ;;
	esac
	profile "$TMPD/rep-$how.folded" -p "$T" -d 2 -F 499 || return 1
	local share
	share=$(leaf_share "$TMPD/rep-$how.folded" '^hostile_spin$')
	atleast "$share" 80 || { fail "$how: hostile_spin holds $share% of leaves: $(sort -k2 -n -r "$TMPD/rep-$how.folded" | head -3)"; return 1; }
	kill -0 "$T" || { fail "the target died"; return 1; }
	kill_bg "$T"
}
test_binary_replaced_by_garbage()   { replaced_case garbage; }
test_binary_replaced_by_truncated() { replaced_case truncated; }
test_binary_replaced_by_other_elf() { replaced_case other; }
test_binary_deleted()               { replaced_case deleted; }

# ---- files and privileges (end to end; unit tests: test_outfile) -----------

# Outputs are 0644 or stricter whatever the umask; run through sudo (as
# root with SUDO_UID/SUDO_GID), they belong to the invoking user; an
# explicit -o replaces an existing file atomically (new inode, no partial).
test_output_mode_and_sudo_owner() {
	need || return 1
	[ "$(id -u)" -eq 0 ] || { fail "needs root to check sudo ownership"; return 1; }
	start_target "$WLBIN/cpusplit-fp" || return 1
	mkdir -p "$TMPD/own" && chmod 0777 "$TMPD/own"
	( umask 000; profile "$TMPD/own/a.pb.gz" -p "$T" -d 1 -F 199 ) || return 1
	local mode
	mode=$(stat -c %a "$TMPD/own/a.pb.gz")
	[ $((0$mode & 0133)) -eq 0 ] || { fail "output mode $mode with umask 000 (want 0644 or stricter)"; return 1; }
	SUDO_UID=65534 SUDO_GID=65534 profile "$TMPD/own/b.folded" -p "$T" -d 1 -F 199 || return 1
	[ "$(stat -c %u:%g "$TMPD/own/b.folded")" = 65534:65534 ] ||
		{ fail "under sudo the output belongs to $(stat -c %u:%g "$TMPD/own/b.folded"), want the invoking user 65534:65534"; return 1; }
	local ino
	ino=$(stat -c %i "$TMPD/own/a.pb.gz")
	profile "$TMPD/own/a.pb.gz" -p "$T" -d 1 -F 199 || return 1
	[ "$(stat -c %i "$TMPD/own/a.pb.gz")" != "$ino" ] || { fail "-o rewrote the file in place (no temp + rename)"; return 1; }
	[ -z "$(ls -A "$TMPD/own" | grep -vxE 'a.pb.gz|b.folded')" ] || { fail "temporary files left: $(ls -A "$TMPD/own")"; return 1; }
	kill_bg "$T"
}

run_tests
