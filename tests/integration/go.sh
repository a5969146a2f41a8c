#!/usr/bin/env bash
# Go targets: goroutines read from outside (gort), checked against the
# workload's own truth. goleak (tests/workloads/goleak) leaks N goroutines
# into main.leakyReceiver, keeps K in main.fixedWaiter, one in main.burn
# (running), one in main.syscallWaiter (read(2)), plus main itself; it writes
# runtime.NumGoroutine() to OUT, the leaked count to OUT.leaked and burn's
# iteration counter to OUT.progress.
#
# Statistics: the CPU check takes -F 199 for 5 s (n ~ 1000 samples); burn's
# true share of the process's CPU is ~99%, so 90% is > 10 sigma away.
source "$(dirname "$0")/../lib.sh"

N=400
K=5
FIXED=3          # main, burn, syscallWaiter

need_go_workloads() {
	local b
	for b in goleak goleak-stripped; do
		[ -x "$WLBIN/$b" ] || { fail "workload $b not built (needs go: make workloads)"; return 1; }
	done
	[ -x "$CTOP" ] || { fail "ctop-prof not built: $CTOP"; return 1; }
	[ -x "$GO" ] || { fail "missing capability: go (for go tool pprof) not found"; return 1; }
	return 0
}

# start_goleak BIN N INTERVAL_MS OUT: start, wait until it reported once.
start_goleak() {
	start_bg "$1" "$2" "$3" "$K" "$4"
	GLPID=$BGPID
	wait_for test -s "$4.leaked" || { fail "goleak did not start (no $4.leaked)"; return 1; }
}

# wait_leaked OUT N: until the workload has leaked N (up to ~60 s).
wait_leaked() {
	local i v
	for i in $(seq 600); do
		v=$(cat "$1.leaked" 2>/dev/null)
		[ "$v" = "$2" ] && return 0
		sleep 0.1
	done
	fail "goleak leaked only ${v:-0} of $2 goroutines in 60 s"
}

# cum_of FUNC < pprof -top: the cum value of FUNC (4th column).
cum_of() { awk -v f="$1" '$1 != "flat" && ($6 == f || $NF == f) {print $4; exit}'; }
# total_of < pprof -top: Z of "... accounting for X, Y% of Z total".
total_of() { awk '/ total$/ {print $(NF-1); exit}'; }

test_goroutine_profile_counts_exact() {
	need_go_workloads || return 1
	local out=$TMPD/exact f=$TMPD/g.pb.gz bad=0 rc top leak fixed total ng
	start_goleak "$WLBIN/goleak" "$N" 2 "$out" || return 1
	wait_leaked "$out" "$N" || { kill_bg "$GLPID"; return 1; }
	timeout 60 "$CTOP" -p "$GLPID" --profile goroutines -b -d 3 --scan-interval 1 -o "$f" \
		>"$f.stdout" 2>"$f.stderr"
	rc=$?
	ng=$(cat "$out")
	kill_bg "$GLPID"
	[ "$rc" -eq 0 ] || { fail "ctop-prof exited $rc: $(head -c 400 "$f.stderr")"; return 1; }
	[ -s "$f" ] || { fail "no goroutine profile written"; return 1; }
	top=$(pprof_top "$f" -sample_index=0) || { fail "go tool pprof rejects $f: $top"; return 1; }
	leak=$(cum_of main.leakyReceiver <<<"$top")
	fixed=$(cum_of main.fixedWaiter <<<"$top")
	total=$(total_of <<<"$top")
	note "leakyReceiver $leak, fixedWaiter $fixed, total $total, NumGoroutine $ng"
	[ "$leak" = "$N" ] || { fail "main.leakyReceiver has ${leak:-nothing} goroutines, want $N"; bad=1; }
	[ "$fixed" = "$K" ] || { fail "main.fixedWaiter has ${fixed:-nothing} goroutines, want $K"; bad=1; }
	[ "$ng" = $((N + K + FIXED)) ] || { fail "goleak's own NumGoroutine is $ng, want $((N + K + FIXED))"; bad=1; }
	[ "$total" = "$ng" ] || { fail "profile total $total != runtime.NumGoroutine() $ng"; bad=1; }
	"$GO" tool pprof -symbolize=none -traces "$f" >"$f.traces" 2>&1 ||
		{ fail "go tool pprof -traces rejects $f"; bad=1; }
	grep -q 'main.syscallWaiter' "$f.traces" || { fail "no goroutine in main.syscallWaiter"; bad=1; }
	grep -q 'main.burn' "$f.traces" || { fail "no goroutine in main.burn"; bad=1; }
	return "$bad"
}

# During the leak the batch tables show the leakyReceiver group growing, and
# burn's progress counter keeps moving: the target is never stopped.
test_growth_while_running() {
	need_go_workloads || return 1
	local out=$TMPD/grow f=$TMPD/grow.txt bad=0 rc counts prog=() p i
	start_goleak "$WLBIN/goleak" "$N" 20 "$out" || return 1   # 400 x 20 ms = 8 s
	timeout 60 "$CTOP" -p "$GLPID" --profile goroutines -b -d 6 --interval 1 \
		--scan-interval 0.5 >"$f" 2>"$f.stderr" &
	local cp=$!
	for i in $(seq 12); do
		sleep 0.5
		prog+=("$(cat "$out.progress" 2>/dev/null)")
	done
	wait "$cp"; rc=$?
	kill_bg "$GLPID"
	[ "$rc" -eq 0 ] || { fail "ctop-prof exited $rc: $(head -c 400 "$f.stderr")"; return 1; }
	counts=$(awk '/^ctop-prof: PID/ { t++ } / main\.leakyReceiver( |$)/ { c[t] = $1 }
		END { for (i = 1; i <= t; i++) if (i in c) printf "%s ", c[i] }' "$f")
	note "leakyReceiver per batch table: $counts"
	note "burn progress every 0.5 s: ${prog[*]}"
	# never shrinking, growing at least 3 times (the final table may repeat
	# the last scan)
	awk -v s="$counts" 'BEGIN { n = split(s, c, " "); up = 0
		for (i = 2; i <= n; i++) { if (c[i] + 0 < c[i-1] + 0) exit 1; up += c[i] + 0 > c[i-1] + 0 }
		exit !(up >= 3) }' ||
		{ fail "leakyReceiver counts do not grow table after table: $counts"; bad=1; }
	# every 1.5 s window shows progress (the counter file is rewritten every
	# 100 ms by the target itself)
	for i in $(seq 4 ${#prog[@]}); do
		p=${prog[$((i - 1))]}
		[ -n "$p" ] && [ -n "${prog[$((i - 4))]}" ] && [ "$p" -gt "${prog[$((i - 4))]}" ] ||
			{ fail "burn progress stalled (${prog[*]}): target stopped?"; bad=1; break; }
	done
	return "$bad"
}

# CPU profile of the same workload, after the leak: burn owns the CPU.
cpu_burn_check() {
	local bin=$1 out=$TMPD/cpu-$1 f=$TMPD/cpu-$1.pb.gz rc top b
	start_goleak "$WLBIN/$bin" 50 0 "$out" || return 1
	wait_leaked "$out" 50 || { kill_bg "$GLPID"; return 1; }
	timeout 60 "$CTOP" -p "$GLPID" -b -d 5 -F 199 -o "$f" >"$f.stdout" 2>"$f.stderr"
	rc=$?
	kill_bg "$GLPID"
	[ "$rc" -eq 0 ] || { fail "ctop-prof exited $rc: $(head -c 400 "$f.stderr")"; return 1; }
	top=$(pprof_top "$f") || { fail "go tool pprof rejects $f: $top"; return 1; }
	b=$(flat_pct_of main.burn <<<"$top")
	note "$bin: main.burn flat ${b:-0}%"
	awk -v b="${b:-0}" 'BEGIN { exit !(b >= 90) }' ||
		{ fail "$bin: main.burn flat ${b:-0}%, want >= 90%: $(head -15 <<<"$top")"; return 1; }
}

test_cpu_profile_burn() { need_go_workloads && cpu_burn_check goleak; }
# No .symtab, no DWARF: names come from .gopclntab alone.
test_cpu_profile_burn_stripped() { need_go_workloads && cpu_burn_check goleak-stripped; }

# Without DWARF, --profile goroutines refuses with one clear line.
test_stripped_goroutines_error() {
	need_go_workloads || return 1
	local out=$TMPD/strip rc err
	start_goleak "$WLBIN/goleak-stripped" 5 0 "$out" || return 1
	timeout 30 "$CTOP" -p "$GLPID" --profile goroutines -b -d 1 >"$out.stdout" 2>"$out.stderr"
	rc=$?
	kill -0 "$GLPID" 2>/dev/null || { fail "the target died"; return 1; }
	kill_bg "$GLPID"
	err=$(cat "$out.stderr")
	note "exit $rc: $err"
	[ "$rc" -eq 1 ] || { fail "exit status $rc, want 1"; return 1; }
	[ "$(wc -l <"$out.stderr")" -eq 1 ] || { fail "want one error line, got: $err"; return 1; }
	grep -q "goroutines need the binary's DWARF (built with -ldflags=-w?)" "$out.stderr" ||
		{ fail "error does not name the missing DWARF: $err"; return 1; }
}

run_tests
