#!/usr/bin/env bash
# The spine: attach to workloads with known behaviour, write profiles, and
# check them with oracles that are not our code: `go tool pprof` reads every
# file, `perf record` sampling the same process at the same time agrees, and
# the workloads' truth (75/25 split, thread names, inline frames) holds.
#
# Statistics (see DESIGN.md): ratio checks take -F 999 for 7 s, n ~ 7000
# samples on an idle machine. The 75% share then has sigma 0.52 points
# against the truth and sqrt(2)*0.52 = 0.73 points against perf: the
# tolerance of 3 points is over 4 sigma for both. Samples count CPU time of
# the target, so on a loaded machine n is smaller: the tolerance is then
# widened to 4 sigma of the n actually sampled (tol_for), never below 3.
source "$(dirname "$0")/../lib.sh"

SPLIT_SECS=7
SPLIT_HZ=999
TOL=3

# need CMD: fail loudly when a tool the suite relies on is missing.
need() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ] || fail "missing capability: $1 not found"; }

# flat_re REGEX < pprof -top: sum of flat% over functions whose name matches.
flat_re() {
	awk -v re="$1" '$2 ~ /%$/ && $1 != "flat" {
		name = $6; for (i = 7; i <= NF; i++) name = name " " $i
		if (name ~ re) s += $2
	} END { printf "%.2f\n", s + 0 }'
}

# tol_for P N [N2]: max(TOL, 4 sigma) in points for a share P (percent)
# measured from N samples, or for the difference of two independent
# measurements from N and N2 samples.
tol_for() {
	awk -v p="$1" -v n="$2" -v m="${3:-0}" -v t="$TOL" 'BEGIN {
		q = p / 100; v = q * (1 - q) / n; if (m > 0) v += q * (1 - q) / m
		s = 400 * sqrt(v); printf "%.2f\n", (s > t ? s : t) }'
}

# pprof_nsamples FILE: total samples/count of a CPU profile (needs FILE.-raw).
pprof_nsamples() {
	awk '/^Samples:/ { S = 1; next } /^Locations/ { S = 0 }
		S && /^ +[0-9]+ +[0-9]+:/ { n += $1 } END { print n + 0 }' "$1.-raw"
}

# ctop_profile OUT SECS HZ PID [more options]: one batch run; keeps stdout,
# stderr and the exit status next to OUT.
ctop_profile() {
	local out=$1 secs=$2 hz=$3 pid=$4; shift 4
	timeout 120 "$CTOP" -p "$pid" -F "$hz" -d "$secs" -b -o "$out" "$@" \
		>"$out.stdout" 2>"$out.stderr"
	local rc=$?
	echo "$rc" >"$out.rc"
	[ "$rc" -eq 0 ] || { fail "ctop-prof exited $rc: $(head -c 400 "$out.stderr")"; return 1; }
	[ -s "$out" ] || { fail "ctop-prof exited 0 but wrote no $out"; return 1; }
	return 0
}

# profile_workload FILE SECS HZ BIN [ARGS...]: start BIN, profile it for
# SECS at HZ into FILE, stop it, and check that pprof reads FILE.
profile_workload() {
	local f=$1 secs=$2 hz=$3 pid; shift 3
	start_bg "$@"; pid=$BGPID
	sleep 0.3
	ctop_profile "$f" "$secs" "$hz" "$pid" || { kill_bg "$pid"; return 1; }
	kill_bg "$pid"
	pprof_ok "$f"
}

# pprof_ok FILE: every pprof view we use reads the file (exit 0).
pprof_ok() {
	local f=$1 m
	for m in -top -raw -traces; do
		"$GO" tool pprof -symbolize=none "$m" "$f" >"$f.$m" 2>&1 ||
			{ fail "go tool pprof $m rejects $f: $(head -c 300 "$f.$m")"; return 1; }
	done
	return 0
}

# perf_leaf_share DATA SYM: percentage of perf samples whose leaf is SYM.
perf_leaf_share() {
	perf script -i "$1" -F ip,sym 2>/dev/null |
		awk -v s="$2" 'NF { n++; if ($NF == s) h++ } END { if (n) printf "%.2f %d\n", 100 * h / n, n; else print "0 0" }'
}

# split_check VARIANT: the 75/25 split of cpusplit-VARIANT, measured by
# ctop-prof and by perf at the same time; stacks reach main through work.
split_check() {
	local v=$1 bad=0 pid pp
	local f=$TMPD/split-$v.pb.gz
	need perf || return 1
	need "$GO" || return 1
	[ -x "$WLBIN/cpusplit-$v" ] || { fail "workload $WLBIN/cpusplit-$v not built (make workloads)"; return 1; }
	start_bg "$WLBIN/cpusplit-$v"; pid=$BGPID
	sleep 0.3
	# perf samples only the leaf (no call graph): it is the oracle of the
	# split, and the lighter it is the less it disturbs the target.
	perf record -q -e cpu-clock:u -F "$SPLIT_HZ" -p "$pid" -o "$TMPD/split-$v.perf" \
		-- sleep "$SPLIT_SECS" >"$TMPD/split-$v.perf.log" 2>&1 &
	pp=$!
	ctop_profile "$f" "$SPLIT_SECS" "$SPLIT_HZ" "$pid" || bad=1
	wait "$pp" || { fail "perf record failed: $(head -c 300 "$TMPD/split-$v.perf.log")"; bad=1; }
	kill -0 "$pid" 2>/dev/null || { fail "the target died while profiled"; bad=1; }
	kill_bg "$pid"
	[ "$bad" -eq 0 ] || return 1
	pprof_ok "$f" || return 1

	local top hot cold mainc workc ph pc n
	top=$(pprof_top "$f")
	hot=$(flat_pct_of hot75 <<<"$top"); cold=$(flat_pct_of cold25 <<<"$top")
	mainc=$(cum_pct_of main <<<"$top"); workc=$(cum_pct_of work <<<"$top")
	read -r ph n < <(perf_leaf_share "$TMPD/split-$v.perf" hot75)
	read -r pc _ < <(perf_leaf_share "$TMPD/split-$v.perf" cold25)
	local nc t1 t2
	nc=$(pprof_nsamples "$f")
	note "cpusplit-$v: ctop-prof hot75=${hot:-none}% cold25=${cold:-none}% cum(main)=${mainc:-none}% cum(work)=${workc:-none}% (n=$nc); perf hot75=$ph% cold25=$pc% (n=$n)"
	# Fewer than 300 samples says nothing at a useful tolerance: that is
	# a failure to sample (or a machine so loaded the target hardly ran).
	[ "$nc" -ge 300 ] || { fail "ctop-prof took only $nc samples in ${SPLIT_SECS}s at ${SPLIT_HZ} Hz"; return 1; }
	[ "${n:-0}" -ge 300 ] || { fail "perf recorded only ${n:-0} samples"; return 1; }
	t1=$(tol_for 75 "$nc"); t2=$(tol_for 75 "$nc" "$n")
	[ -n "$hot" ] && within "$hot" 75 "$t1" || { fail "hot75 flat ${hot:-missing}%, want 75±$t1"; bad=1; }
	[ -n "$cold" ] && within "$cold" 25 "$t1" || { fail "cold25 flat ${cold:-missing}%, want 25±$t1"; bad=1; }
	[ -n "$hot" ] && within "$hot" "$ph" "$t2" || { fail "hot75: ctop-prof ${hot:-missing}% vs perf $ph%, want within $t2"; bad=1; }
	[ -n "$cold" ] && within "$cold" "$pc" "$t2" || { fail "cold25: ctop-prof ${cold:-missing}% vs perf $pc%, want within $t2"; bad=1; }
	awk -v m="${mainc:-0}" 'BEGIN { exit !(m >= 97) }' || { fail "stacks reach main in ${mainc:-0}% of samples, want >= 97%"; bad=1; }
	awk -v m="${workc:-0}" 'BEGIN { exit !(m >= 97) }' || { fail "stacks pass through work (the leaf's caller) in ${workc:-0}% of samples, want >= 97%"; bad=1; }
	return "$bad"
}

test_split_fp()       { split_check fp; }
test_split_nofp()     { split_check nofp; }
# Stripped binary: names must come from the debug file (.gnu_debuglink).
test_split_stripped() {
	if nm "$WLBIN/cpusplit-stripped" 2>/dev/null | grep -q hot75; then
		fail "cpusplit-stripped is not stripped"; return 1
	fi
	split_check stripped
}

test_threads() {
	local f=$TMPD/threads.pb.gz bad=0 top
	# late starts 2 s after the workload, i.e. after ctop-prof attached.
	profile_workload "$f" 5 499 "$WLBIN/threads" 2 || return 1
	local tags; tags=$("$GO" tool pprof -symbolize=none -tags "$f" 2>&1)
	local t
	for t in alpha beta late; do
		grep -Eq "^ +[0-9.]+[a-z]* +\([0-9.]+%\): $t\$" <<<"$tags" ||
			{ fail "no samples with label thread=$t"; bad=1; }
	done
	grep -q 'tid:\[' "$f.-raw" || { fail "samples lack the tid label"; bad=1; }
	top=$(pprof_top "$f")
	for t in spin_alpha spin_beta spin_late; do
		grep -Eq " $t\$" <<<"$top" || { fail "$t missing from the profile"; bad=1; }
	done
	# Labels belong to the right thread: alpha's samples are spin_alpha.
	local a; a=$(pprof_top "$f" -tagfocus='thread=^alpha$')
	local sa; sa=$(flat_pct_of spin_alpha <<<"$a")
	grep -Eq ' spin_(beta|late)$' <<<"$a" && { fail "thread=alpha samples contain spin_beta/spin_late"; bad=1; }
	[ -n "$sa" ] || { fail "thread=alpha samples lack spin_alpha"; bad=1; }
	# The sleeper is blocked: it has no CPU samples.
	grep -Eq ': sleeper$' <<<"$tags" && { fail "the blocked sleeper thread has CPU samples"; bad=1; }
	return "$bad"
}

test_cxx_demangled_inline() {
	local f=$TMPD/cxx.pb.gz bad=0 top
	profile_workload "$f" 4 499 "$WLBIN/cxx" || return 1
	top=$(pprof_top "$f")
	grep -q 'Worker<int>::crunch' <<<"$top" || { fail "no demangled Worker<int>::crunch in the profile"; bad=1; }
	grep -q '_ZN6Worker' <<<"$top" && { fail "mangled C++ names in the profile"; bad=1; }
	grep -Eq ' mix_helper' <<<"$top" || { fail "the inlined mix_helper is missing"; bad=1; }
	# In -raw, an inline frame is an extra line of the same location: a
	# location whose first line is mix_helper continues with Worker<int>::crunch.
	awk '/^Locations/ { in_loc = 1; next } /^Mappings/ { in_loc = 0 }
		in_loc && /^ +[0-9]+: 0x/ { first = ($4 ~ /^mix_helper(\(|$)/); next }
		in_loc && first && /Worker<int>::crunch/ { ok = 1 }
		END { exit !ok }' "$f.-raw" ||
		{ fail "mix_helper is not an inline frame under Worker<int>::crunch (pprof -raw locations)"; bad=1; }
	local h; h=$(flat_re 'mix_helper' <<<"$top")
	awk -v h="$h" 'BEGIN { exit !(h >= 90) }' || { fail "mix_helper flat $h%, want >= 90% (all the work is in it)"; bad=1; }
	return "$bad"
}

test_shared_lib() {
	local f=$TMPD/uselib.pb.gz bad=0 top
	profile_workload "$f" 4 499 "$WLBIN/uselib" || return 1
	top=$(pprof_top "$f")
	local h; h=$(flat_pct_of lib_hot <<<"$top")
	[ -n "$h" ] && awk -v h="$h" 'BEGIN { exit !(h >= 90) }' || { fail "lib_hot flat ${h:-missing}%, want >= 90%"; bad=1; }
	# The location of lib_hot must sit in the libwork.so mapping.
	awk '/^Locations/ { L = 1; next } /^Mappings/ { L = 0; M = 1; next }
		L && / lib_hot / { for (i = 1; i <= NF; i++) if ($i ~ /^M=/) { m = substr($i, 3); want[m] = 1 } }
		M && /^[0-9]+:/ { id = $1; sub(":", "", id); if ((id in want) && $0 ~ /libwork\.so/) ok = 1 }
		END { exit !ok }' "$f.-raw" || { fail "lib_hot is not mapped to libwork.so (pprof -raw)"; bad=1; }
	return "$bad"
}

test_go() {
	local f=$TMPD/goburn.pb.gz bad=0 top
	[ -x "$WLBIN/goburn" ] || { fail "workload goburn not built (needs go: make workloads)"; return 1; }
	profile_workload "$f" 4 499 "$WLBIN/goburn" || return 1
	top=$(pprof_top "$f")
	local g; g=$(flat_re '(^|\.)goBurn$' <<<"$top")
	note "goBurn flat $g%"
	awk -v g="$g" 'BEGIN { exit !(g >= 90) }' || { fail "goBurn flat $g%, want >= 90%"; bad=1; }
	return "$bad"
}

test_node_jit() {
	local f=$TMPD/jit.pb.gz bad=0 pid top map
	need node || return 1
	start_bg node --perf-basic-prof "$WLBIN/jit.js"; pid=$BGPID
	map=/tmp/perf-$pid.map
	if ! wait_for grep -qs '\*hotJsFunction' "$map"; then
		kill_bg "$pid"; rm -f "$map"
		fail "node did not write an optimized hotJsFunction into $map"; return 1
	fi
	ctop_profile "$f" 4 499 "$pid" || bad=1
	kill_bg "$pid"; rm -f "$map"
	[ "$bad" -eq 0 ] || return 1
	pprof_ok "$f" || return 1
	top=$(pprof_top "$f")
	local h; h=$(flat_re 'hotJsFunction' <<<"$top")
	note "hotJsFunction flat $h%"
	awk -v h="$h" 'BEGIN { exit !(h >= 50) }' || { fail "hotJsFunction flat $h%, want >= 50% (from $map)"; bad=1; }
	return "$bad"
}

test_folded_output() {
	local f=$TMPD/split.folded bad=0 pid
	start_bg "$WLBIN/cpusplit-fp"; pid=$BGPID
	sleep 0.3
	ctop_profile "$f" 5 999 "$pid" || { kill_bg "$pid"; return 1; }
	kill_bg "$pid"
	grep -Evq '^[^ ].* [0-9]+$' "$f" && { fail "folded lines not 'a;b;c COUNT': $(grep -Ev '^[^ ].* [0-9]+$' "$f" | head -2)"; bad=1; }
	grep -Eq '(^|;)main;work;hot75 [0-9]+$' "$f" || { fail "no 'main;work;hot75 N' stack: $(head -3 "$f")"; bad=1; }
	grep -Eq '(^|;)main;work;cold25 [0-9]+$' "$f" || { fail "no 'main;work;cold25 N' stack"; bad=1; }
	local share n t
	read -r share n < <(awk '{ n += $NF; if ($0 ~ /;hot75 [0-9]+$/) h += $NF } END { if (n) printf "%.2f %d\n", 100 * h / n, n; else print "0 0" }' "$f")
	[ "$n" -ge 300 ] || { fail "folded output holds only $n samples"; return 1; }
	t=$(tol_for 75 "$n")
	note "folded: hot75 $share% of $n samples"
	within "$share" 75 "$t" || { fail "folded hot75 share $share%, want 75±$t"; bad=1; }
	return "$bad"
}

test_text_output() {
	local f=$TMPD/split.txt bad=0 pid
	start_bg "$WLBIN/cpusplit-fp"; pid=$BGPID
	sleep 0.3
	ctop_profile "$f" 3 499 "$pid" || { kill_bg "$pid"; return 1; }
	kill_bg "$pid"
	grep -Eiq 'flat.*flat%.*cum.*cum%' "$f" || { fail "text output has no 'flat flat% cum cum%' table header: $(head -3 "$f")"; bad=1; }
	grep -Eq '[0-9.]+%.* hot75( |$)' "$f" || { fail "text output has no hot75 row"; bad=1; }
	grep -Eq '[0-9.]+%.* cold25( |$)' "$f" || { fail "text output has no cold25 row"; bad=1; }
	# Batch mode prints the same table on stdout.
	grep -q 'hot75' "$f.stdout" || { fail "batch stdout has no table with hot75"; bad=1; }
	return "$bad"
}

# The target exits while profiled: no -d, so only the target's exit ends the
# run (the timeout is a safety net, far above the 2 s the workload lives).
test_target_exits() {
	local f=$TMPD/exits.pb.gz pid rc
	start_bg "$WLBIN/cpusplit-fp" 2; pid=$BGPID
	sleep 0.2
	timeout 60 "$CTOP" -p "$pid" -F 499 -b -o "$f" >"$f.stdout" 2>"$f.stderr"
	rc=$?
	[ "$rc" -eq 124 ] && { fail "ctop-prof did not stop when the target exited"; return 1; }
	[ "$rc" -eq 0 ] || { fail "ctop-prof exited $rc when the target exited: $(head -c 300 "$f.stderr")"; return 1; }
	[ -s "$f" ] || { fail "no profile written after the target exited"; return 1; }
	pprof_ok "$f" || return 1
	grep -Eq ' hot75$' "$f.-top" || { fail "profile of the exited target lacks hot75"; return 1; }
	return 0
}

test_launch_mode() {
	local f=$TMPD/launch.pb.gz rc bad=0
	# The workload ends by itself after 4 s; sampling stops after 2.
	timeout 60 "$CTOP" -F 499 -d 2 -b -o "$f" -- "$WLBIN/cpusplit-fp" 4 >"$f.stdout" 2>"$f.stderr"
	rc=$?
	[ "$rc" -eq 0 ] || { fail "launch mode exited $rc: $(head -c 300 "$f.stderr")"; return 1; }
	[ -s "$f" ] || { fail "launch mode wrote no profile"; return 1; }
	pprof_ok "$f" || return 1
	local top; top=$(pprof_top "$f")
	local hot; hot=$(flat_pct_of hot75 <<<"$top")
	[ -n "$hot" ] || { fail "launch-mode profile lacks hot75"; bad=1; }
	local m; m=$(cum_pct_of main <<<"$top")
	awk -v m="${m:-0}" 'BEGIN { exit !(m >= 97) }' || { fail "launch mode: stacks reach main in ${m:-0}% of samples"; bad=1; }
	return "$bad"
}

# The pprof file carries what SPEC.md promises: sample types, period, labels,
# mappings with the build ID.
test_pprof_fields() {
	local f=$TMPD/fields.pb.gz bad=0 raw bid
	profile_workload "$f" 2 499 "$WLBIN/cpusplit-fp" || return 1
	raw=$(cat "$f.-raw")
	grep -q '^PeriodType: cpu nanoseconds' <<<"$raw" || { fail "period_type is not cpu/nanoseconds"; bad=1; }
	grep -q '^Period: [1-9]' <<<"$raw" || { fail "no period"; bad=1; }
	grep -Eq '^samples/count cpu/nanoseconds' <<<"$raw" || { fail "sample types are not samples/count cpu/nanoseconds"; bad=1; }
	grep -q 'thread:\[' <<<"$raw" || { fail "samples lack the thread label"; bad=1; }
	grep -q 'tid:\[' <<<"$raw" || { fail "samples lack the tid label"; bad=1; }
	bid=$(readelf -n "$WLBIN/cpusplit-fp" 2>/dev/null | awk '/Build ID/ { print $3 }')
	[ -n "$bid" ] || { fail "readelf found no build ID in cpusplit-fp"; bad=1; }
	grep -Eq "cpusplit-fp +$bid" <<<"$raw" || { fail "mapping of cpusplit-fp lacks its build ID $bid"; bad=1; }
	grep -Eq 'cpusplit-fp.*\[FN\]' <<<"$raw" || { fail "mapping not marked has_functions"; bad=1; }
	return "$bad"
}

run_tests
