#!/usr/bin/env bash
# `make demo`: start the bundled demo workload (a toy server with named
# worker threads, a gc thread, idle pools and a slowly growing set of blocked
# connection threads) and profile it. On a terminal this opens the TUI; when
# stdout is not a terminal it runs in batch mode for 10 s. The workload is
# stopped on every exit path.
set -u
cd "$(dirname "$0")/.."
CTOP=${CTOP:-./ctop-prof}
DEMO=tests/workloads/bin/demo

for f in "$CTOP" "$DEMO"; do
	if [ ! -x "$f" ]; then
		echo "demo: $f is missing: run 'make all workloads' first" >&2
		exit 1
	fi
done

"$DEMO" &
pid=$!
cleanup() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# Let the threads start and name themselves.
sleep 0.3
if [ -t 1 ] && [ -t 0 ]; then
	echo "demo: profiling the demo workload (PID $pid); press ? for help, q to quit"
	sleep 1
	"$CTOP" -p "$pid" "$@"
else
	"$CTOP" -p "$pid" -b -d 10 "$@"
fi
