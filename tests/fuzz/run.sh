#!/usr/bin/env bash
# Runs each named libFuzzer harness for FUZZ_SECONDS and prints, per
# harness, executions, corpus size and findings. Exit 1 if any harness
# found a crash, leak, timeout or out-of-memory (artifacts kept in
# $FUZZ_BUILD/crashes/). Called by tests/fuzz/fuzz.mk (make fuzz).
set -u
cd "$(dirname "$0")/../.."
B=${FUZZ_BUILD:-build-fuzz}
SECS=${FUZZ_SECONDS:-60}
mkdir -p "$B/crashes" "$B/logs"
declare -A maxlen=( [elf]=65536 [gopclntab]=1048576 [pprof]=8192 [perfrec]=16384 )
declare -A seeds=( [perfrec]="$B/seeds/perfrec" [pprof]="$B/seeds/pprof"
		   [elf]="$B/seeds/elf" [gopclntab]="$B/seeds/gopclntab" )
bad=0
summary=()
for h in "$@"; do
	bin=$B/fuzz_$h
	[ -x "$bin" ] || { echo "fuzz: $bin missing (build failed?)"; bad=1; continue; }
	corpus=$B/corpus/$h
	mkdir -p "$corpus"
	dirs=("$corpus")
	[ -d tests/fuzz/seeds/$h ] && dirs+=(tests/fuzz/seeds/$h)
	[ -n "${seeds[$h]:-}" ] && [ -d "${seeds[$h]}" ] && dirs+=("${seeds[$h]}")
	args=(-max_total_time="$SECS" -print_final_stats=1 -timeout=25 -rss_limit_mb=4096
	      -artifact_prefix="$B/crashes/$h-")
	[ -n "${maxlen[$h]:-}" ] && args+=(-max_len="${maxlen[$h]}")
	echo "== fuzz_$h: ${SECS}s"
	before=$(ls "$B/crashes" | grep -c "^$h-")
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$bin" "${args[@]}" "${dirs[@]}" >"$B/logs/$h.log" 2>&1
	rc=$?
	after=$(ls "$B/crashes" | grep -c "^$h-")
	execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$B/logs/$h.log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$B/logs/$h.log" | tail -1 | awk '{print $2}')
	units=$(ls "$corpus" | wc -l)
	found=$((after - before))
	line=$(printf '%-10s execs=%-9s cov=%-6s corpus=%-5s findings=%s' "$h" "${execs:-?}" "${cov:-?}" "$units" "$found")
	if [ "$rc" -ne 0 ] || [ "$found" -gt 0 ]; then
		bad=1
		line+="  FAILED (rc=$rc, see $B/logs/$h.log)"
		grep -m3 -E 'ERROR|SUMMARY|fuzz check failed' "$B/logs/$h.log" | sed 's/^/    /'
	fi
	echo "$line"
	summary+=("$line")
done
echo
echo "== fuzz summary (${SECS}s each)"
printf '%s\n' "${summary[@]}"
exit $bad
