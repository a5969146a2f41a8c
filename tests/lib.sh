# Shared helpers for the shell test suites (sourced, bash).
# Each suite: source tests/lib.sh; define test_* functions; call run_tests.
# A test passes by returning 0; it fails with `fail "why"` (returns 1).
# A test that cannot run on this machine must call `fail` with the missing
# capability named loudly: nothing skips silently.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CTOP=${CTOP:-$ROOT/ctop-prof}
WLBIN=$ROOT/tests/workloads/bin
GO=${GO:-$(command -v go || echo /usr/lib/go/bin/go)}
TMPD=$(mktemp -d /tmp/ctop-test.XXXXXX)
_pids=()

kill_started() {
	local p
	for p in "${_pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
}
cleanup() {
	kill_started
	rm -rf "$TMPD"
}
trap cleanup EXIT

fail() { echo "    FAIL: $*" >&2; return 1; }
note() { echo "    $*" >&2; }

# start_bg CMD...: start a background process, remember it for cleanup, echo pid.
start_bg() {
	"$@" >"$TMPD/bg.$$.$RANDOM.log" 2>&1 &
	local p=$!
	_pids+=("$p")
	BGPID=$p
}
# kill_bg PID
kill_bg() { kill -9 "$1" 2>/dev/null; wait "$1" 2>/dev/null; return 0; }

# wait_for CMD... : retry up to ~10 s until CMD succeeds.
wait_for() {
	local i
	for i in $(seq 100); do "$@" && return 0; sleep 0.1; done
	return 1
}

# pprof_top FILE [extra args]: `go tool pprof -top` output, exit status kept.
pprof_top() { local f=$1; shift; "$GO" tool pprof -symbolize=none -top -nodecount=200 "$@" "$f" 2>&1; }

# pct_of FUNC < pprof_top output: the flat% of FUNC (number without %), or empty.
flat_pct_of() { awk -v f="$1" '$6==f || $NF==f {gsub("%","",$2); print $2; exit}'; }
cum_pct_of()  { awk -v f="$1" '$6==f || $NF==f {gsub("%","",$5); print $5; exit}'; }
flat_of()     { awk -v f="$1" '$6==f || $NF==f {print $1; exit}'; }

# within A B TOL: |A-B| <= TOL (floats)
within() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN{d=a-b; if(d<0)d=-d; exit !(d<=t)}'; }

# thread_states PID: states of all threads of PID, one letter each, no spaces.
thread_states() {
	local t s=""
	for t in /proc/"$1"/task/*/stat; do
		s+=$(sed 's/.*) //' "$t" 2>/dev/null | cut -c1)
	done
	echo "$s"
}

run_tests() {
	local suite t pass=0 failn=0 failed=()
	suite=$(basename "$0" .sh)
	for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
		echo "[ RUN  ] $suite.$t"
		# Each test runs in a subshell: its own trap stops what it started.
		if ( trap kill_started EXIT; $t ); then
			echo "[  OK  ] $suite.$t"; pass=$((pass+1))
		else
			echo "[ FAIL ] $suite.$t"; failn=$((failn+1)); failed+=("$t")
		fi
	done
	echo "$suite: $pass passed, $failn failed"
	[ "$failn" -eq 0 ]
}
