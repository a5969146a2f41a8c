#!/usr/bin/env bash
# Thread stack scan and leak groups (--profile threads), against workloads
# whose truth they write themselves:
#   leak_threads  3 x stable_waiter, 1 x busy_loop, N x leaked_worker
#                 (its leaked count in a file after each leak)
#   many_threads  1000 x many_sleeper
# Oracles: go tool pprof on the written profile, /proc states of the target.
source "$(dirname "$0")/../lib.sh"

# Each test runs in a subshell: lib.sh's cleanup (in the parent) does not
# see the workloads a test starts, so every test kills its own on exit.
guard() { trap 'for p in "${_pids[@]}"; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null' EXIT; }
trap 'exit 143' TERM INT HUP

need() {
	guard
	[ -x "$CTOP" ] || { fail "ctop-prof not built ($CTOP): run make"; return 1; }
	[ -x "$WLBIN/leak_threads" ] && [ -x "$WLBIN/many_threads" ] ||
		{ fail "workloads not built: run make workloads"; return 1; }
	"$GO" version >/dev/null 2>&1 || { fail "go (go tool pprof) missing: $GO"; return 1; }
}

# cum_of FUNC < pprof -top output: the cum column (a plain count here).
cum_of() { awk -v f="$1" '$6==f || $NF==f {print $4; exit}'; }

# count_is FILE N: the workload's own leak counter reached N.
count_is() { [ "$(cat "$1" 2>/dev/null)" = "$2" ]; }

# states_fast PID: one state letter per thread (one process, not one per
# thread as lib.sh's thread_states: fast enough to poll 1000 threads).
states_fast() { cat /proc/"$1"/task/*/stat 2>/dev/null | sed 's/.*) //' | cut -c1 | tr -d '\n'; }
# any_traced PID: some thread of PID is in a ptrace stop right now.
any_traced() { [[ "$(states_fast "$1")" == *t* ]]; }
# no_stopped PID: no thread of PID is stopped (t: ptrace stop, T: group stop).
no_stopped() {
	local s
	s=$(states_fast "$1")
	[ -n "$s" ] && [[ "$s" != *[tT]* ]]
}

# ntasks_ge PID N: PID has at least N threads.
ntasks_ge() { [ "$(ls /proc/"$1"/task 2>/dev/null | wc -l)" -ge "$2" ]; }
# all_T PID: every thread of PID is in group stop.
all_T() { local s; s=$(thread_states "$1"); [ -n "$s" ] && [ -z "${s//T/}" ]; }

# leak_rows OUT: the leaked_worker group's count from every batch table.
leak_rows() { awk '$1 ~ /^[0-9]+$/ && / leaked_worker/ {print $1}' "$1"; }

test_pprof_counts_after_growth() {
	need || return 1
	local cf=$TMPD/count1
	start_bg "$WLBIN/leak_threads" 30 "$cf" 20
	local wl=$BGPID
	wait_for count_is "$cf" 30 || { fail "leak_threads did not reach 30 leaks"; return 1; }
	"$CTOP" -p "$wl" --profile threads -b -d 2 --scan-interval 0.5 -o "$TMPD/t.pb.gz" \
		>"$TMPD/out1" 2>"$TMPD/err1" || { cat "$TMPD/err1" >&2; fail "ctop-prof failed"; return 1; }
	local top
	top=$(pprof_top "$TMPD/t.pb.gz" -sample_index=0) || { echo "$top" >&2; fail "pprof cannot read it"; return 1; }
	local leaked stable
	leaked=$(echo "$top" | cum_of leaked_worker)
	stable=$(echo "$top" | cum_of stable_waiter)
	[ "$leaked" = 30 ] || { echo "$top" >&2; fail "leaked_worker cum = '$leaked', want 30"; return 1; }
	[ "$stable" = 3 ] || { echo "$top" >&2; fail "stable_waiter cum = '$stable', want 3"; return 1; }
	# the batch table agrees: COUNT first, the group named by its top frame
	local last
	last=$(leak_rows "$TMPD/out1" | tail -1)
	[ "$last" = 30 ] || { cat "$TMPD/out1" >&2; fail "batch table leaked_worker count '$last', want 30"; return 1; }
	no_stopped "$wl" || fail "target threads left stopped: $(thread_states "$wl")"
}

test_batch_counts_grow_during_leak() {
	need || return 1
	local cf=$TMPD/count2
	# one leak every 250 ms (30 leaks = 7.5 s); a table every 2 s, a scan
	# every 0.5 s: each table sees about 8 more leaked threads (equal
	# counts would need a scan or the workload starved for 2 s)
	start_bg "$WLBIN/leak_threads" 30 "$cf" 250
	local wl=$BGPID
	wait_for count_is "$cf" 1 || { fail "leak_threads did not start leaking"; return 1; }
	"$CTOP" -p "$wl" --profile threads -b -d 7 --interval 2 --scan-interval 0.5 \
		>"$TMPD/out2" 2>"$TMPD/err2" || { cat "$TMPD/err2" >&2; fail "ctop-prof failed"; return 1; }
	local counts n prev=-1 c grew=0
	counts=$(leak_rows "$TMPD/out2")
	n=$(echo "$counts" | grep -c .)
	note "leaked_worker counts per table: $(echo $counts)"
	[ "$n" -ge 3 ] || { cat "$TMPD/out2" >&2; fail "only $n tables with leaked_worker"; return 1; }
	# tables printed while the leak went on grow strictly; the final table
	# may repeat the last periodic one (no scan in between)
	for c in $(echo "$counts" | head -n $((n - 1))); do
		if [ "$c" -lt 30 ] && [ "$prev" -ge 0 ] && [ "$c" -le "$prev" ]; then
			fail "count did not grow between tables: $prev -> $c"; return 1
		fi
		[ "$c" -gt "$prev" ] && grew=$((grew + 1))
		prev=$c
	done
	[ "$grew" -ge 3 ] || { fail "counts grew in only $grew tables"; return 1; }
	# the workload's own counter bounds what we saw
	local truth
	truth=$(cat "$cf")
	[ "$prev" -le "$truth" ] || { fail "saw $prev leaked threads, workload says $truth"; return 1; }
	grep -q 'leaked_worker.*LEAK?' "$TMPD/out2" ||
		{ cat "$TMPD/out2" >&2; fail "leaking group never flagged LEAK?"; return 1; }
	if grep -E 'stable_waiter|busy_loop' "$TMPD/out2" | grep -q 'LEAK?'; then
		fail "a stable group was flagged as a leak"; return 1
	fi
	no_stopped "$wl" || fail "target threads left stopped: $(thread_states "$wl")"
}

# ctop-prof killed with SIGKILL in the middle of scans, at a moment when
# one of the target's threads sits in our ptrace stop: the kernel detaches
# its tracees and they run on (no thread left in t or T).
test_kill9_mid_scan_leaves_no_stopped_thread() {
	need || return 1
	start_bg "$WLBIN/many_threads" 1000
	local wl=$BGPID round cp i hits=0
	wait_for ntasks_ge "$wl" 1001 ||
		{ fail "many_threads did not start 1000 threads"; return 1; }
	for round in 1 2 3 4 5 6; do
		"$CTOP" -p "$wl" --profile threads -b -d 30 --scan-interval 0.05 \
			>/dev/null 2>&1 &
		cp=$!
		# kill as soon as a thread is seen in a ptrace stop (ours), or
		# after ~3 s anyway
		for ((i = 0; i < 300; i++)); do
			any_traced "$wl" && { hits=$((hits + 1)); break; }
			sleep 0.01
		done
		kill -9 "$cp" 2>/dev/null
		wait "$cp" 2>/dev/null
		# exit of the tracer detaches synchronously; allow the tracees a
		# moment to be scheduled out of their stop
		wait_for no_stopped "$wl" ||
			{ fail "round $round: threads left stopped: $(states_fast "$wl" | tr -d 'SR' | head -c 80)"; return 1; }
		kill -0 "$wl" 2>/dev/null || { fail "round $round: target died"; return 1; }
	done
	note "rounds killed while a target thread was in our ptrace stop: $hits of 6"
	local n
	n=$(ls /proc/"$wl"/task | wc -l)
	[ "$n" -eq 1001 ] || fail "target has $n threads after the rounds, want 1001"
}

# A process stopped by SIGSTOP (group stop) stays stopped exactly as it was:
# the scan reads it without ptrace and never resumes it.
test_group_stopped_target_stays_stopped() {
	need || return 1
	local cf=$TMPD/count4
	start_bg "$WLBIN/leak_threads" 5 "$cf" 10
	local wl=$BGPID
	wait_for count_is "$cf" 5 || { fail "leak_threads did not reach 5 leaks"; return 1; }
	kill -STOP "$wl"
	wait_for all_T "$wl" || { kill -CONT "$wl"; fail "SIGSTOP did not stop all threads"; return 1; }
	"$CTOP" -p "$wl" --profile threads -b -d 1.5 --scan-interval 0.3 -o "$TMPD/s.pb.gz" \
		>"$TMPD/out4" 2>"$TMPD/err4"
	local rc=$? s
	s=$(thread_states "$wl")
	kill -CONT "$wl"
	[ "$rc" -eq 0 ] || { cat "$TMPD/err4" >&2; fail "ctop-prof failed on a stopped target"; return 1; }
	[ -n "$s" ] && [ -z "${s//T/}" ] || { fail "group stop changed: states $s"; return 1; }
	local top total
	top=$(pprof_top "$TMPD/s.pb.gz" -sample_index=0) || { echo "$top" >&2; fail "pprof cannot read it"; return 1; }
	total=$(echo "$top" | awk '/^Showing nodes/ {print $(NF-1)}')
	[ "$total" = 10 ] || { echo "$top" >&2; fail "threads total '$total', want 10"; return 1; }
	# and it runs again after SIGCONT
	wait_for no_stopped "$wl" || fail "target did not resume after SIGCONT: $(thread_states "$wl")"
}

# Signals sent to the target while scans run every 10 ms are all delivered,
# none swallowed, and no thread is left stopped: the workload counts the
# queued real-time signals it handled. What this does not prove: that
# seize_read hands back the signal of a signal-delivery-stop at detach
# ("passing it on" in the CTOP_DEBUG log). That path needs a signal to be
# dequeued in the microseconds between PTRACE_SEIZE and PTRACE_INTERRUPT
# (a pending signal otherwise waits behind our interrupt's stop and is
# delivered after the detach), so it is hit by chance, mostly 0 times in
# this test: the count is logged for the record, never asserted.
test_signals_during_scans_all_delivered() {
	need || return 1
	local cf=$TMPD/count9 n=3000
	start_bg "$WLBIN/leak_threads" 30 "$cf" 5
	local wl=$BGPID
	wait_for count_is "$cf" 30 || { fail "leak_threads did not reach 30 leaks"; return 1; }
	CTOP_DEBUG=1 "$CTOP" -p "$wl" --profile threads -b -d 4 --scan-interval 0.01 \
		>/dev/null 2>"$TMPD/err9" &
	local cp=$! i
	sleep 1
	for ((i = 0; i < n; i++)); do kill -RTMIN "$wl" || break; done
	wait "$cp" || { tail -5 "$TMPD/err9" >&2; fail "ctop-prof failed"; return 1; }
	note "signals passed on at detach (by chance, not asserted): $(grep -c 'passing it on' "$TMPD/err9")," \
		"scans: $(grep -c 'scan: pid' "$TMPD/err9")"
	wait_for count_is "$cf.sig" "$n" ||
		{ fail "target handled $(cat "$cf.sig" 2>/dev/null) of $n signals"; return 1; }
	no_stopped "$wl" || fail "threads left stopped: $(thread_states "$wl")"
}

# all_t PID: every thread of PID is in a ptrace stop (a debugger holds it).
all_t() { local s; s=$(thread_states "$1"); [ -n "$s" ] && [ -z "${s//t/}" ]; }
# tracers PID: the TracerPid of every thread, sorted unique.
tracers() { awk '/^TracerPid:/ {print $2}' /proc/"$1"/task/*/status 2>/dev/null | sort -u | tr '\n' ' '; }

# Threads held by a debugger (gdb: all in ptrace stop, EPERM for us): the
# scan reads them without ptrace and leaves them exactly as gdb holds them.
test_target_held_by_debugger() {
	need || return 1
	command -v gdb >/dev/null || { fail "gdb missing (apt-get install gdb)"; return 1; }
	local cf=$TMPD/count6
	start_bg "$WLBIN/leak_threads" 3 "$cf" 10
	local wl=$BGPID
	wait_for count_is "$cf" 3 || { fail "leak_threads did not reach 3 leaks"; return 1; }
	gdb -p "$wl" -batch -ex 'shell sleep 6' >"$TMPD/gdb.log" 2>&1 &
	local gp=$!
	_pids+=("$gp")
	wait_for all_t "$wl" || { cat "$TMPD/gdb.log" >&2; fail "gdb did not stop the target: $(thread_states "$wl")"; return 1; }
	local before after
	before=$(tracers "$wl")
	"$CTOP" -p "$wl" --profile threads -b -d 1 --scan-interval 0.3 -o "$TMPD/g.pb.gz" \
		>"$TMPD/out6" 2>"$TMPD/err6"
	local rc=$?
	after=$(tracers "$wl")
	all_t "$wl" || { fail "debugger's stop changed under the scan: $(thread_states "$wl")"; return 1; }
	[ "$before" = "$after" ] || { fail "tracer changed: '$before' -> '$after'"; return 1; }
	[ "$rc" -eq 0 ] || { cat "$TMPD/err6" >&2; fail "ctop-prof failed on a debugged target"; return 1; }
	pprof_top "$TMPD/g.pb.gz" -sample_index=0 >/dev/null || fail "pprof cannot read the profile"
	wait "$gp"
	wait_for no_stopped "$wl" || fail "target stopped after gdb detached: $(thread_states "$wl")"
}

# Threads traced by strace (running, but PTRACE_SEIZE gives EPERM): blocked
# ones are still read (sp/pc from /proc), the running one is counted as
# without stack, strace keeps its tracees.
test_target_traced_by_strace() {
	need || return 1
	command -v strace >/dev/null || { fail "strace missing (apt-get install strace)"; return 1; }
	local cf=$TMPD/count7
	start_bg "$WLBIN/leak_threads" 3 "$cf" 10
	local wl=$BGPID
	wait_for count_is "$cf" 3 || { fail "leak_threads did not reach 3 leaks"; return 1; }
	strace -f -p "$wl" -o /dev/null 2>"$TMPD/strace.log" &
	local sp=$!
	_pids+=("$sp")
	traced_by() { [ "$(tracers "$1")" = "$2 " ]; }
	wait_for traced_by "$wl" "$sp" || { fail "strace did not attach: $(tracers "$wl")"; return 1; }
	"$CTOP" -p "$wl" --profile threads -b -d 1 --scan-interval 0.3 -o "$TMPD/st.pb.gz" \
		>"$TMPD/out7" 2>"$TMPD/err7" || { cat "$TMPD/err7" >&2; fail "ctop-prof failed on a traced target"; return 1; }
	traced_by "$wl" "$sp" || { fail "strace lost its tracees: $(tracers "$wl")"; return 1; }
	local top leaked
	top=$(pprof_top "$TMPD/st.pb.gz" -sample_index=0) || { echo "$top" >&2; fail "pprof cannot read it"; return 1; }
	leaked=$(echo "$top" | cum_of leaked_worker)
	[ "$leaked" = 3 ] || { echo "$top" >&2; fail "leaked_worker cum = '$leaked', want 3 (read without ptrace)"; return 1; }
	kill "$sp"; wait "$sp" 2>/dev/null
	wait_for no_stopped "$wl" || fail "target stopped after strace left: $(thread_states "$wl")"
}

# Threads that exit while a scan runs (ESRCH at any step, exit instead of a
# stop): the scan goes on, counts the stable threads exactly, and leaves
# nothing stopped.
test_thread_churn_during_scans() {
	need || return 1
	start_bg "$WLBIN/many_threads" 100 8
	local wl=$BGPID
	wait_for ntasks_ge "$wl" 109 || { fail "many_threads did not start"; return 1; }
	"$CTOP" -p "$wl" --profile threads -b -d 3 --scan-interval 0.1 -o "$TMPD/c.pb.gz" \
		>"$TMPD/out8" 2>"$TMPD/err8" || { cat "$TMPD/err8" >&2; fail "ctop-prof failed under thread churn"; return 1; }
	local top n
	top=$(pprof_top "$TMPD/c.pb.gz" -sample_index=0) || { echo "$top" >&2; fail "pprof cannot read it"; return 1; }
	n=$(echo "$top" | cum_of many_sleeper)
	[ "$n" = 100 ] || { echo "$top" | head -20 >&2; fail "many_sleeper cum = '$n', want 100"; return 1; }
	kill -0 "$wl" || { fail "target died"; return 1; }
	wait_for no_stopped "$wl" || fail "threads left stopped: $(thread_states "$wl")"
}

test_many_threads_scan() {
	need || return 1
	start_bg "$WLBIN/many_threads" 1000
	local wl=$BGPID
	wait_for ntasks_ge "$wl" 1001 ||
		{ fail "many_threads did not start 1000 threads"; return 1; }
	CTOP_DEBUG=1 "$CTOP" -p "$wl" --profile threads -b -d 4 --scan-interval 1 \
		-o "$TMPD/m.pb.gz" >"$TMPD/out5" 2>"$TMPD/err5" ||
		{ tail -5 "$TMPD/err5" >&2; fail "ctop-prof failed"; return 1; }
	# cost, for the record (timing on this VM is noisy: no assertion)
	grep 'scan: pid' "$TMPD/err5" | sed 's/.*scan: pid [0-9]*: /scan: /' | while read -r l; do note "$l"; done
	local top n
	top=$(pprof_top "$TMPD/m.pb.gz" -sample_index=0) || { echo "$top" >&2; fail "pprof cannot read it"; return 1; }
	n=$(echo "$top" | cum_of many_sleeper)
	[ "$n" = 1000 ] || { echo "$top" | head -20 >&2; fail "many_sleeper cum = '$n', want 1000"; return 1; }
	no_stopped "$wl" || fail "target threads left stopped"
}

run_tests
