#!/usr/bin/env bash
# Runs every test suite: cmocka unit tests, integration and TUI suites.
# Ends with one line "N passed, N failed" over all suites.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
pass=0 failn=0 failed=()

count() { # suite-name exit-status
	if [ "$2" -eq 0 ]; then pass=$((pass+1)); else failn=$((failn+1)); failed+=("$1"); fi
}

echo "== unit tests (cmocka)"
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	"$t"; count "$(basename "$t")" $?
done
for dir in integration tui; do
	echo "== $dir tests"
	for s in tests/$dir/*.sh; do
		[ -f "$s" ] || continue
		bash "$s"; count "$dir/$(basename "$s" .sh)" $?
	done
done
echo
[ ${#failed[@]} -gt 0 ] && echo "failed suites: ${failed[*]}"
echo "suites: $pass passed, $failn failed"
[ "$failn" -eq 0 ]
