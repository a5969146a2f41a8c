#!/usr/bin/env bash
# Runs every test suite: cmocka unit tests, integration and TUI suites.
# Ends with one line "N passed, N failed" counting every test of every suite.
# A suite that exits non-zero, or ends without its summary line, counts as a
# failed test on top of what it reported.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
pass=0 failn=0 failed=()
log=$(mktemp /tmp/ctop-suite.XXXXXX)
trap 'rm -f "$log"' EXIT

# add NAME STATUS: fold one suite's counts (from its output in $log) into the totals.
add() {
	local name=$1 rc=$2 p f
	# cmocka: "[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s), listed below:"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	if [ -z "$p" ]; then # shell suites: "suite: N passed, N failed"
		p=$(sed -n 's/^[A-Za-z0-9_-]*: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$log" | tail -1)
		f=$(sed -n 's/^[A-Za-z0-9_-]*: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$log" | tail -1)
	fi
	p=${p:-0} f=${f:-0}
	if [ $((p + f)) -eq 0 ] && [ "$rc" -eq 0 ]; then
		echo "!! $name ran no test"
		f=1
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "!! $name exited with status $rc without reporting a failed test"
		f=1
	fi
	pass=$((pass + p)); failn=$((failn + f))
	[ "$f" -eq 0 ] || failed+=("$name")
}

echo "== unit tests (cmocka)"
# Every tests/unit/test_*.c must have run: a test that was not built (make
# unit failed, or was not run) is a failure, not a silent skip.
for src in tests/unit/test_*.c; do
	name=$(basename "$src" .c)
	t=$BUILD/tests/$name
	if [ ! -x "$t" ]; then
		echo "!! $name: no binary at $t (run make unit)"
		failn=$((failn + 1)); failed+=("$name")
		continue
	fi
	"$t" 2>&1 | tee "$log"; add "$name" "${PIPESTATUS[0]}"
done
for dir in integration tui; do
	echo "== $dir tests"
	for s in tests/$dir/*.sh; do
		[ -f "$s" ] || continue
		bash "$s" 2>&1 | tee "$log"; add "$dir/$(basename "$s" .sh)" "${PIPESTATUS[0]}"
	done
done
echo
[ ${#failed[@]} -gt 0 ] && echo "suites with failures: ${failed[*]}"
echo "all: $pass passed, $failn failed"
[ "$failn" -eq 0 ]
