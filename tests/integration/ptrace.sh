#!/usr/bin/env bash
# The ptrace fallback sampler: right numbers, every running thread, exits,
# kill -9 safety, and the forced fallback path with its explanation line.
source "$(dirname "$0")/../lib.sh"

cpu_ticks() { # utime+stime of a process, clock ticks
	awk '{sub(/.*\) /,""); print $12+$13}' /proc/"$1"/stat
}

test_split_75_25_under_ptrace() {
	start_bg "$WLBIN/cpusplit-nofp"; local pid=$BGPID
	# 199 Hz x 6 s on one busy thread: n ~ 1200, sigma(75%) ~ 1.3 points,
	# so the issue's +-6 is more than 4 sigma.
	"$CTOP" -p "$pid" --sampler ptrace -F 199 -d 6 -b -o "$TMPD/p.pb.gz" >"$TMPD/out" 2>"$TMPD/err" ||
		{ cat "$TMPD/err" >&2; fail "ctop-prof --sampler ptrace failed"; return 1; }
	local top hot cold
	top=$(pprof_top "$TMPD/p.pb.gz") || { echo "$top" >&2; fail "pprof rejected the file"; return 1; }
	hot=$(echo "$top" | flat_pct_of hot75); cold=$(echo "$top" | flat_pct_of cold25)
	note "ptrace: hot75 ${hot}% cold25 ${cold}%"
	[ -n "$hot" ] && [ -n "$cold" ] || { echo "$top" >&2; fail "hot75/cold25 missing"; return 1; }
	within "$hot" 75 6 || fail "hot75 $hot% not within 75+-6" || return 1
	within "$cold" 25 6 || fail "cold25 $cold% not within 25+-6"
}

test_all_running_threads_sampled() {
	start_bg "$WLBIN/threads" 0.5; local pid=$BGPID
	"$CTOP" -p "$pid" --sampler ptrace -F 99 -d 4 -b -o "$TMPD/t.pb.gz" >/dev/null 2>"$TMPD/err" ||
		{ cat "$TMPD/err" >&2; fail "ctop-prof failed"; return 1; }
	local top f
	top=$(pprof_top "$TMPD/t.pb.gz") || { fail "pprof rejected the file"; return 1; }
	for f in spin_alpha spin_beta spin_late; do
		echo "$top" | grep -qw "$f" || { echo "$top" >&2; fail "$f not sampled"; return 1; }
	done
}

test_target_exits_mid_run() {
	start_bg "$WLBIN/cpusplit-fp" 1.5; local pid=$BGPID
	"$CTOP" -p "$pid" --sampler ptrace -F 99 -d 20 -b -o "$TMPD/e.pb.gz" >/dev/null 2>"$TMPD/err"
	local rc=$?
	[ $rc -eq 0 ] || { cat "$TMPD/err" >&2; fail "exit status $rc after the target exited, want 0"; return 1; }
	pprof_top "$TMPD/e.pb.gz" | grep -qw hot75 || fail "no profile written after target exit"
}

test_kill9_never_leaves_target_stopped() {
	start_bg "$WLBIN/threads" 0.2; local pid=$BGPID i states before after
	for i in 1 2 3 4 5; do
		"$CTOP" -p "$pid" --sampler ptrace -F 999 -b >/dev/null 2>&1 &
		local c=$!
		sleep 0.$((3 + i))
		kill -9 "$c"; wait "$c" 2>/dev/null
		sleep 0.2
		states=$(thread_states "$pid")
		case "$states" in
			*[tT]*) fail "round $i: target thread stopped after kill -9 (states $states)"; return 1;;
		esac
	done
	# Progress: the spinning threads keep accumulating CPU time (any amount:
	# on a loaded machine the share is small, but a stopped thread gets none).
	before=$(cpu_ticks "$pid"); sleep 2; after=$(cpu_ticks "$pid")
	note "after 5 kills: states $(thread_states "$pid"), cpu ticks +$((after - before)) in 2 s"
	[ $((after - before)) -gt 0 ] || fail "target made no progress after the kills"
}

test_forced_fallback_explains_itself() {
	start_bg "$WLBIN/cpusplit-fp"; local pid=$BGPID
	CTOP_FORCE_PERF_EPERM=1 "$CTOP" -p "$pid" -F 99 -d 2 -b -o "$TMPD/f.pb.gz" >"$TMPD/out" 2>"$TMPD/err" ||
		{ cat "$TMPD/err" >&2; fail "auto sampler did not fall back"; return 1; }
	grep -q 'perf_event_paranoid' "$TMPD/err" || { cat "$TMPD/err" >&2; fail "no paranoid value in the explanation"; return 1; }
	grep -q 'falling back to ptrace' "$TMPD/err" || { cat "$TMPD/err" >&2; fail "no fallback line"; return 1; }
	[ "$(grep -c 'perf_event' "$TMPD/err")" -eq 1 ] || { cat "$TMPD/err" >&2; fail "explanation is not one line"; return 1; }
	pprof_top "$TMPD/f.pb.gz" | grep -qw hot75 || fail "fallback profile lacks hot75"
	# With --sampler perf there is no fallback: exit 1, one line.
	CTOP_FORCE_PERF_EPERM=1 "$CTOP" -p "$pid" --sampler perf -d 1 -b >/dev/null 2>"$TMPD/err2"
	local rc=$?
	[ $rc -eq 1 ] || fail "--sampler perf refused: exit $rc, want 1" || return 1
	[ "$(wc -l <"$TMPD/err2")" -eq 1 ] || { cat "$TMPD/err2" >&2; fail "refusal is not one line"; }
}

test_refuses_when_debugger_attached() {
	start_bg sleep 60; local pid=$BGPID
	# A tracer that holds the target: gdb-like, via strace which stays attached.
	command -v strace >/dev/null || { fail "strace is needed for this test (apt-get install strace)"; return 1; }
	strace -p "$pid" -o /dev/null & local s=$!
	_pids+=("$s")
	wait_for grep -q "TracerPid:[[:space:]]*$s" /proc/"$pid"/status || { fail "strace did not attach"; return 1; }
	"$CTOP" -p "$pid" --sampler ptrace -d 1 -b >/dev/null 2>"$TMPD/err"
	local rc=$?
	kill "$s"
	[ $rc -eq 1 ] || fail "exit $rc with a debugger attached, want 1" || return 1
	grep -q "already traced" "$TMPD/err" || { cat "$TMPD/err" >&2; fail "no clear message"; }
}

test_launch_mode_never_hangs_or_stops() {
	# Launch mode with ptrace once hung on quit with the command stopped
	# (a wait for the child consumed its ptrace stop). The guard timeout is
	# generous: the check is that it ends by itself with status 0.
	timeout -k 5 60 "$CTOP" --sampler ptrace -F 99 -b -d 3 -o "$TMPD/l.pb.gz" -- "$WLBIN/cpusplit-fp" 20 \
		>/dev/null 2>"$TMPD/err"
	local rc=$?
	[ $rc -eq 0 ] || { cat "$TMPD/err" >&2; fail "exit $rc (124: hung)"; return 1; }
	pgrep -f "$WLBIN/cpusplit-fp 20" >/dev/null && { fail "the launched command outlived ctop-prof"; return 1; }
	pprof_top "$TMPD/l.pb.gz" | grep -qw hot75 || fail "launch-mode profile lacks hot75"
}

test_main_thread_exited() {
	# A target whose main thread called pthread_exit (a zombie leader) while
	# its other threads run: still profiled, not taken for gone.
	cat > "$TMPD/zl.c" <<'C'
#include <pthread.h>
__attribute__((noinline)) void spin_zl(void) { volatile unsigned long x = 0; for (;;) x++; }
static void *run(void *a) { (void)a; spin_zl(); return 0; }
int main(void) { pthread_t t; pthread_create(&t, 0, run, 0); pthread_exit(0); }
C
	cc -g -O1 -pthread -o "$TMPD/zl" "$TMPD/zl.c" || { fail "cannot build the test program"; return 1; }
	start_bg "$TMPD/zl"; local pid=$BGPID
	wait_for grep -q '^State:.*Z' /proc/"$pid"/status || { fail "main thread did not exit"; return 1; }
	"$CTOP" -p "$pid" --sampler ptrace -F 99 -d 2 -b -o "$TMPD/z.pb.gz" >/dev/null 2>"$TMPD/err" ||
		{ cat "$TMPD/err" >&2; fail "ctop-prof refused a target with an exited main thread"; return 1; }
	pprof_top "$TMPD/z.pb.gz" | grep -qw spin_zl || fail "spin_zl not sampled"
}

run_tests
