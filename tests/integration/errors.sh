#!/usr/bin/env bash
# Bad input: one clear error line on stderr, the documented exit status
# (1 runtime failure, 2 usage error), no file left behind, never a crash,
# and the target untouched.
source "$(dirname "$0")/../lib.sh"

# expect_err STATUS REGEX CMD...: run CMD (stdin closed, so never a TUI),
# require exit STATUS, exactly one stderr line matching REGEX (extended,
# case-insensitive) and starting with "ctop-prof:", and nothing on stdout
# (unless STDOUT_OK=1: a batch run may print its table before failing).
expect_err() {
	local want=$1 re=$2 rc lines; shift 2
	timeout 30 "$@" </dev/null >"$TMPD/out" 2>"$TMPD/err"
	rc=$?
	lines=$(wc -l <"$TMPD/err")
	[ "$rc" -eq "$want" ] ||
		{ fail "'$*': exit $rc, want $want (stderr: $(head -c 300 "$TMPD/err"))"; return 1; }
	[ "$lines" -eq 1 ] ||
		{ fail "'$*': $lines lines on stderr, want exactly 1: $(head -c 400 "$TMPD/err")"; return 1; }
	grep -q '^ctop-prof: ' "$TMPD/err" ||
		{ fail "'$*': error line does not start with 'ctop-prof: ': $(cat "$TMPD/err")"; return 1; }
	grep -Eiq -- "$re" "$TMPD/err" ||
		{ fail "'$*': error line does not match /$re/: $(cat "$TMPD/err")"; return 1; }
	[ "${STDOUT_OK:-0}" = 1 ] || [ ! -s "$TMPD/out" ] ||
		{ fail "'$*': printed on stdout: $(head -c 200 "$TMPD/out")"; return 1; }
	return 0
}

# target_ok PID: still alive and not stopped (the target is sacred).
target_ok() {
	kill -0 "$1" 2>/dev/null || { fail "the target $1 died"; return 1; }
	case $(thread_states "$1") in
	*[tT]*) fail "the target $1 was left stopped ($(thread_states "$1"))"; return 1 ;;
	esac
	return 0
}

# A PID that certainly names no process: one that just exited.
gone_pid() {
	local p
	true & p=$!
	wait "$p"
	[ -e "/proc/$p" ] && p=2147483646
	echo "$p"
}

test_missing_pid() {
	local p; p=$(gone_pid)
	expect_err 1 "$p" "$CTOP" -p "$p" -b -d 1
}

test_kernel_thread() {
	# PID 2 is kthreadd: a kernel thread has no user space to profile.
	grep -q '^Name:.*kthreadd' /proc/2/status 2>/dev/null ||
		{ fail "PID 2 is not kthreadd on this machine: test premise missing"; return 1; }
	expect_err 1 'kernel' "$CTOP" -p 2 -b -d 1
}

test_unknown_option() {
	expect_err 2 'bogus' "$CTOP" --bogus -p 1 &&
	expect_err 2 'unknown|invalid' "$CTOP" -Z -p 1
}

test_usage_errors() {
	local bad=0
	expect_err 2 'pid|nothing' "$CTOP" || bad=1
	expect_err 2 'PID|abc' "$CTOP" -p abc || bad=1
	expect_err 2 'needs|value|argument|missing' "$CTOP" -p || bad=1
	expect_err 2 'either|both' "$CTOP" -p 1 -- /bin/true || bad=1
	expect_err 2 'duration' "$CTOP" -p 1 -d 0 || bad=1
	expect_err 2 'duration' "$CTOP" -p 1 -d x || bad=1
	expect_err 2 'profile|kind' "$CTOP" -p 1 --profile heap || bad=1
	expect_err 2 'unwind' "$CTOP" -p 1 --unwind magic || bad=1
	expect_err 2 'sampler' "$CTOP" -p 1 --sampler magic || bad=1
	expect_err 2 'format|suffix|\.pb\.gz' "$CTOP" -p 1 -o "$TMPD/x.png" || bad=1
	[ ! -e "$TMPD/x.png" ] || { fail "a file was created for a usage error"; bad=1; }
	return "$bad"
}

test_bad_freq() {
	local v bad=0
	for v in 0 -5 abc 10x ""; do
		expect_err 2 'freq|HZ' "$CTOP" -p 1 -F "$v" || bad=1
	done
	return "$bad"
}

test_help_version() {
	local bad=0
	"$CTOP" --help </dev/null >"$TMPD/h" 2>&1 || { fail "--help exit $?"; bad=1; }
	grep -q -- '--pid' "$TMPD/h" || { fail "--help does not list --pid"; bad=1; }
	"$CTOP" -V </dev/null >"$TMPD/v" 2>&1 || { fail "-V exit $?"; bad=1; }
	grep -Eq '^ctop-prof [0-9]+\.[0-9]+' "$TMPD/v" || { fail "-V prints '$(cat "$TMPD/v")'"; bad=1; }
	return "$bad"
}

test_launch_missing_command() {
	expect_err 1 'no-such-program' "$CTOP" -b -d 1 -- "$TMPD/no-such-program"
}

# Output errors are runtime failures (1): a directory that does not exist,
# and a path that is a directory. No file (nor temporary file) is left.
test_unwritable_output() {
	local pid bad=0 before after
	start_bg "$WLBIN/cpusplit-fp"; pid=$BGPID
	sleep 0.2
	STDOUT_OK=1 expect_err 1 'nodir|directory|No such' "$CTOP" -p "$pid" -b -d 1 -o "$TMPD/nodir/x.pb.gz" || bad=1
	[ ! -e "$TMPD/nodir" ] || { fail "ctop-prof created $TMPD/nodir"; bad=1; }
	mkdir -p "$TMPD/w/isdir.pb.gz"
	before=$(ls -A "$TMPD/w")
	# stdout is allowed here (the batch table may print before the write fails).
	timeout 30 "$CTOP" -p "$pid" -b -d 1 -o "$TMPD/w/isdir.pb.gz" </dev/null >/dev/null 2>"$TMPD/err"
	local rc=$?
	[ "$rc" -eq 1 ] || { fail "output path is a directory: exit $rc, want 1"; bad=1; }
	[ "$(wc -l <"$TMPD/err")" -eq 1 ] || { fail "output path is a directory: stderr not one line: $(head -c 300 "$TMPD/err")"; bad=1; }
	after=$(ls -A "$TMPD/w")
	[ "$before" = "$after" ] || { fail "files left behind in the output directory: $after"; bad=1; }
	[ -z "$(ls -A "$TMPD/w/isdir.pb.gz")" ] || { fail "wrote into the directory named by -o"; bad=1; }
	target_ok "$pid" || bad=1
	kill_bg "$pid"
	return "$bad"
}

# -o through a symlink is refused (a classic /tmp attack); the link and its
# target stay as they were.
test_symlink_output() {
	local pid bad=0 rc
	start_bg "$WLBIN/cpusplit-fp"; pid=$BGPID
	sleep 0.2
	echo precious >"$TMPD/victim"
	ln -s "$TMPD/victim" "$TMPD/link.pb.gz"
	timeout 30 "$CTOP" -p "$pid" -b -d 1 -o "$TMPD/link.pb.gz" </dev/null >/dev/null 2>"$TMPD/err"
	rc=$?
	[ "$rc" -eq 1 ] || { fail "symlinked output: exit $rc, want 1 ($(head -c 300 "$TMPD/err"))"; bad=1; }
	[ "$(wc -l <"$TMPD/err")" -eq 1 ] || { fail "symlinked output: stderr not one line: $(head -c 300 "$TMPD/err")"; bad=1; }
	grep -Eiq 'symlink|symbolic link|link' "$TMPD/err" || { fail "symlinked output: message does not name the link: $(cat "$TMPD/err")"; bad=1; }
	[ "$(cat "$TMPD/victim")" = precious ] || { fail "the symlink's target was overwritten"; bad=1; }
	[ -L "$TMPD/link.pb.gz" ] || { fail "the symlink was replaced"; bad=1; }
	# A dangling link must not create its target either.
	ln -s "$TMPD/created-through-link" "$TMPD/dangling.pb.gz"
	timeout 30 "$CTOP" -p "$pid" -b -d 1 -o "$TMPD/dangling.pb.gz" </dev/null >/dev/null 2>"$TMPD/err"
	rc=$?
	[ "$rc" -eq 1 ] || { fail "dangling symlinked output: exit $rc, want 1"; bad=1; }
	[ ! -e "$TMPD/created-through-link" ] || { fail "wrote through a dangling symlink"; bad=1; }
	target_ok "$pid" || bad=1
	kill_bg "$pid"
	return "$bad"
}

run_tests
