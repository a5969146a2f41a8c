#!/usr/bin/env bash
# The target's life changes under the profiler: it exits, execs a new image,
# forks, is stopped and resumed, its PID is reused, and it churns threads.
# ctop-prof keeps its data, follows the new image, does not follow children,
# never resumes or stops the target itself, never profiles a stranger that
# got the PID, and keeps its fds and memory bounded.
# (Batch -o errors, kernel threads and symlinks: tests/integration/errors.sh.)
source "$(dirname "$0")/../lib.sh"

need() {
	[ -x "$CTOP" ] || { fail "no ctop-prof binary at $CTOP (run make)"; return 1; }
	local w
	for w in lifecycle lifecycle-b churn; do
		[ -x "$WLBIN/$w" ] || { fail "workload $WLBIN/$w missing (run make workloads)"; return 1; }
	done
	[ -x "$GO" ] || { fail "go is not installed (the pprof oracle): contrib/install-deps.sh"; return 1; }
}

# ctop_bg ARGS...: ctop-prof in batch mode in the background; CPID, its
# output in $TMPD/ctop.out / ctop.err.
ctop_bg() {
	timeout 120 "$CTOP" "$@" </dev/null >"$TMPD/ctop.out" 2>"$TMPD/ctop.err" &
	CPID=$!
	_pids+=("$CPID")
}
# ctop_wait: exit status of the ctop_bg run.
ctop_wait() { wait "$CPID"; }

# functions FILE: the function names of a pprof file, one per line.
functions() { "$GO" tool pprof -symbolize=none -raw "$1" 2>/dev/null |
	awk '/^Locations/{l=1;next} /^Mappings/{l=0} l' | grep -oE ' [^ ]+ [^ ]*:[0-9]+ s=|M=[0-9]+ [^ ]+' | awk '{print $2}' | sort -u; }
has_func() { functions "$1" | grep -qx -- "$2"; }

stopped() { [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" = T ]; }

# ---- exit -----------------------------------------------------------------

# The target exits during a batch run: the data is kept, the file written,
# exit status 0, long before -d ends.
test_target_exits_batch() {
	need || return 1
	start_bg "$WLBIN/lifecycle" spin 2; local t=$BGPID
	wait_for grep -q . "/proc/$t/comm" || { fail "target did not start"; return 1; }
	ctop_bg -p "$t" -b -d 100 -F 499 -o "$TMPD/exit.pb.gz"
	ctop_wait; local rc=$?
	[ "$rc" -eq 0 ] || { fail "exit status $rc after the target exited, want 0 ($(head -c 300 "$TMPD/ctop.err"))"; return 1; }
	[ -s "$TMPD/exit.pb.gz" ] || { fail "no profile written after the target exited"; return 1; }
	pprof_top "$TMPD/exit.pb.gz" >/dev/null || { fail "go tool pprof cannot read the profile"; return 1; }
	has_func "$TMPD/exit.pb.gz" lifecycle_spin || { fail "lifecycle_spin missing: $(functions "$TMPD/exit.pb.gz" | head)"; return 1; }
	grep -q 'lifecycle_spin' "$TMPD/ctop.out" || { fail "the final batch table lacks lifecycle_spin"; return 1; }
}

# ---- exec -----------------------------------------------------------------

# exec of a different binary: the maps and symbols are reloaded, the new
# image's functions appear by name (and the old ones stay for the time before).
exec_case() {
	local sampler=$1
	need || return 1
	start_bg "$WLBIN/lifecycle" exec 1.5 "$WLBIN/lifecycle-b"; local t=$BGPID
	wait_for grep -q . "/proc/$t/comm" || { fail "target did not start"; return 1; }
	ctop_bg -p "$t" -b -d 4 -F 499 --sampler "$sampler" -o "$TMPD/exec.pb.gz"
	ctop_wait || { fail "exit status $? ($(head -c 300 "$TMPD/ctop.err"))"; return 1; }
	[ "$(cat /proc/$t/comm)" = lifecycle-b ] || { fail "the target did not exec (comm $(cat /proc/$t/comm))"; return 1; }
	local f
	f=$(functions "$TMPD/exec.pb.gz")
	echo "$f" | grep -qx before_exec_spin || { fail "$sampler: the pre-exec function is missing: $(echo $f)"; return 1; }
	echo "$f" | grep -qx image_b_spin || { fail "$sampler: the new image's function image_b_spin is missing: $(echo $f)"; return 1; }
	# every sample has a name: no module+0x... or [unknown] leaf from a
	# stale symbol table (old image's modules over the new addresses)
	echo "$f" | grep -E '^\[unknown\]$|^lifecycle(-b)?\+0x' &&
		{ fail "$sampler: unnamed frames after exec: $(echo $f)"; return 1; }
	kill_bg "$t"
}
test_exec_new_image_perf()   { exec_case perf; }
test_exec_new_image_ptrace() { exec_case ptrace; }

# ---- fork -----------------------------------------------------------------

# Children are not followed: the child's function never shows up, the
# child is never stopped or traced by us.
fork_case() {
	local sampler=$1
	need || return 1
	start_bg "$WLBIN/lifecycle" fork 4; local t=$BGPID
	wait_for grep -q . "/proc/$t/comm" || { fail "target did not start"; return 1; }
	ctop_bg -p "$t" -b -d 3 -F 499 --sampler "$sampler" -o "$TMPD/fork.pb.gz"
	local c tracer
	wait_for pgrep -P "$t" >/dev/null || { fail "the target did not fork"; return 1; }
	c=$(pgrep -P "$t" | head -1)
	sleep 1
	tracer=$(awk '/^TracerPid:/{print $2}' "/proc/$c/status")
	[ "$tracer" = 0 ] || { fail "$sampler: the child $c is traced by $tracer"; return 1; }
	ctop_wait || { fail "exit status $? ($(head -c 300 "$TMPD/ctop.err"))"; return 1; }
	local f
	f=$(functions "$TMPD/fork.pb.gz")
	echo "$f" | grep -qx parent_spin || { fail "$sampler: parent_spin missing: $(echo $f)"; return 1; }
	echo "$f" | grep -qx child_spin && { fail "$sampler: the child was followed (child_spin in the profile)"; return 1; }
	"$GO" tool pprof -raw "$TMPD/fork.pb.gz" 2>/dev/null | grep -q "tid:\[$c\]" &&
		{ fail "$sampler: samples of the child's tid $c"; return 1; }
	kill_bg "$t"
	return 0
}
test_fork_not_followed_perf()   { fork_case perf; }
test_fork_not_followed_ptrace() { fork_case ptrace; }

# ---- SIGSTOP / SIGCONT --------------------------------------------------------

# Stopped by someone else: stays stopped while we sample (we never resume
# it), then, once resumed, is sampled again; ctop-prof never leaves it stopped.
stop_case() {
	local sampler=$1
	need || return 1
	start_bg "$WLBIN/lifecycle" spin 0; local t=$BGPID
	wait_for grep -q . "/proc/$t/comm" || { fail "target did not start"; return 1; }
	ctop_bg -p "$t" -b -d 8 -F 499 --interval 0.5 --sampler "$sampler" -o "$TMPD/stop.pb.gz"
	sleep 1.5
	kill -STOP "$t"
	wait_for stopped "$t" || { fail "the target did not stop"; return 1; }
	local i
	for i in $(seq 15); do
		stopped "$t" || { fail "$sampler: the target was resumed by someone while stopped by SIGSTOP"; kill -CONT "$t"; return 1; }
		sleep 0.1
	done
	# samples counted so far (the last batch table while stopped)
	local at_cont final
	at_cont=$(table_samples | tail -1)
	kill -CONT "$t"
	ctop_wait || { fail "exit status $? ($(head -c 300 "$TMPD/ctop.err"))"; return 1; }
	stopped "$t" && { fail "$sampler: the target was left stopped"; return 1; }
	kill -0 "$t" || { fail "the target died"; return 1; }
	has_func "$TMPD/stop.pb.gz" lifecycle_spin || { fail "$sampler: no lifecycle_spin samples"; return 1; }
	final=$(table_samples | tail -1)
	[ -n "$at_cont" ] && [ -n "$final" ] && [ "$final" -gt "$at_cont" ] ||
		{ fail "$sampler: no samples after SIGCONT ($at_cont at SIGCONT, $final at the end)"; return 1; }
	kill_bg "$t"
}
# the samples count of each batch table header, in order
table_samples() { grep -oE '^ctop-prof: PID .* samples [0-9]+' "$TMPD/ctop.out" | grep -oE '[0-9]+$'; }
test_sigstop_resume_perf()   { stop_case perf; }
test_sigstop_resume_ptrace() { stop_case ptrace; }

# ---- PID reuse ------------------------------------------------------------

# start_with_pid PID CMD...: start CMD as a process with exactly PID (as root,
# through /proc/sys/kernel/ns_last_pid). Sets BGPID. Retries while other
# processes take the number first.
start_with_pid() {
	local want=$1 i; shift
	[ -w /proc/sys/kernel/ns_last_pid ] || { fail "needs root: /proc/sys/kernel/ns_last_pid not writable"; return 1; }
	for i in $(seq 50); do
		echo $((want - 1)) >/proc/sys/kernel/ns_last_pid 2>/dev/null
		"$@" >/dev/null 2>&1 &
		if [ $! -eq "$want" ]; then _pids+=("$!"); BGPID=$!; return 0; fi
		kill -9 $! 2>/dev/null; wait $! 2>/dev/null
	done
	fail "could not get PID $want back after 50 tries"
	return 1
}

# The target dies and a stranger gets its PID at once: ctop-prof reports the
# exit, writes what it had, exits 0, and never samples, scans or traces the
# stranger.
reuse_case() {
	local sampler=$1
	need || return 1
	local t
	start_bg "$WLBIN/lifecycle" spin 0; t=$BGPID
	wait_for grep -q . "/proc/$t/comm" || { fail "target did not start"; return 1; }
	ctop_bg -p "$t" -b -d 6 -F 499 --scan-interval 0.5 --sampler "$sampler" -o "$TMPD/reuse.pb.gz"
	sleep 1.5
	kill -9 "$t"; wait "$t" 2>/dev/null
	start_with_pid "$t" "$WLBIN/lifecycle" reuse 0 || return 1
	local s=$BGPID i tracer
	for i in $(seq 30); do
		tracer=$(awk '/^TracerPid:/{print $2}' "/proc/$s/status" 2>/dev/null)
		[ "${tracer:-0}" = 0 ] || { fail "$sampler: the stranger with the reused PID is traced by $tracer"; return 1; }
		stopped "$s" && { fail "$sampler: the stranger was stopped"; return 1; }
		sleep 0.1
	done
	ctop_wait; local rc=$?
	[ "$rc" -eq 0 ] || { fail "$sampler: exit status $rc, want 0 ($(head -c 300 "$TMPD/ctop.err"))"; return 1; }
	local f
	f=$(functions "$TMPD/reuse.pb.gz")
	echo "$f" | grep -qx lifecycle_spin || { fail "$sampler: the real target's lifecycle_spin missing: $(echo $f)"; return 1; }
	echo "$f" | grep -qx reuse_spin && { fail "$sampler: the stranger that got the PID was profiled (reuse_spin)"; return 1; }
	kill -0 "$s" 2>/dev/null || { fail "the stranger died"; return 1; }
	kill_bg "$s"
	return 0
}
test_pid_reuse_perf()   { reuse_case perf; }
test_pid_reuse_ptrace() { reuse_case ptrace; }

# ---- thread churn -----------------------------------------------------------

# 300 threads/s for 10 s, each thread alive for ~2.5 ms of CPU: fds stay
# below 256 and memory bounded, the short-lived threads are sampled
# (distinct tids in the profile), nothing crashes.
test_thread_churn() {
	need || return 1
	start_bg bash -c "exec '$WLBIN/churn' 300 12 >'$TMPD/churn.out'"; local t=$BGPID
	wait_for grep -q . "/proc/$t/comm" || { fail "churn did not start"; return 1; }
	ctop_bg -p "$t" -b -d 10 -F 999 -o "$TMPD/churn.pb.gz"
	local maxfd=0 fds rss rss_early="" rss_last=0 n=0
	while kill -0 "$CPID" 2>/dev/null; do
		local cp
		cp=$(pgrep -P "$CPID" ctop-prof | head -1)   # timeout's child
		[ -n "$cp" ] || cp=$CPID
		fds=$(ls "/proc/$cp/fd" 2>/dev/null | wc -l)
		rss=$(awk '/^VmRSS:/{print $2}' "/proc/$cp/status" 2>/dev/null)
		[ "$fds" -gt "$maxfd" ] && maxfd=$fds
		if [ -n "$rss" ]; then
			n=$((n + 1))
			[ "$n" -eq 6 ] && rss_early=$rss
			rss_last=$rss
		fi
		sleep 0.5
	done
	ctop_wait || { fail "exit status $? ($(head -c 300 "$TMPD/ctop.err"))"; return 1; }
	wait "$t"
	local made sampled share
	made=$(awk '/^churn:/{print $2}' "$TMPD/churn.out")
	sampled=$("$GO" tool pprof -raw "$TMPD/churn.pb.gz" 2>/dev/null | grep -oE 'tid:\[[0-9]+\]' | sort -u | wc -l)
	share=$(pprof_top "$TMPD/churn.pb.gz" | flat_pct_of churn_work)
	note "churn: $made threads made, $sampled tids sampled, churn_work ${share:-0}%, max fds $maxfd, RSS ${rss_early:-?} -> $rss_last kB"
	[ "$maxfd" -lt 256 ] || { fail "ctop-prof had $maxfd fds open (limit 256)"; return 1; }
	[ -n "$rss_early" ] || { fail "could not read ctop-prof's RSS"; return 1; }
	[ "$rss_last" -le $((rss_early * 2 + 16384)) ] ||
		{ fail "RSS grew from $rss_early kB to $rss_last kB under churn"; return 1; }
	[ -n "$made" ] && [ "$made" -ge 300 ] || { fail "the churn workload made only ${made:-0} threads"; return 1; }
	# each thread runs ~2.5 periods at 999 Hz: most must show up
	[ "$sampled" -ge $((made / 4)) ] || { fail "only $sampled of $made short-lived threads sampled"; return 1; }
	awk -v s="${share:-0}" 'BEGIN{exit !(s >= 50)}' || { fail "churn_work holds only ${share:-0}% of the samples"; return 1; }
}

run_tests
