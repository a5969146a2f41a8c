#!/usr/bin/env bash
# The pprof files we write, judged by `go tool pprof` (the oracle): a fake
# program's profiles with known truth are written through the real export
# code by tests/tools/gen_pprof.c ($WLBIN/gen_pprof, `make workloads`), then
# read with -top, -raw and -traces. Truth (see gen_pprof.c):
#   cpu:       100 samples of 10 ms; hot75 75% flat (60 on worker-a/1001,
#              15 on worker-b/1002), cold25 25% under caller with the inlined
#              mix_helper; work and main 100% cum
#   threads:   3 threads in futex_wait (state S, wait futex_wait_queue), 1 R
#   goroutine: 7 in futex_wait (chan receive), 2 runnable in cold25
source "$(dirname "$0")/../lib.sh"

GEN=$WLBIN/gen_pprof
OUT=$TMPD/gen

need_tools() {
	[ -x "$GEN" ] || { fail "missing $GEN: run 'make workloads'"; return 1; }
	[ -x "$GO" ] || { fail "missing go (golang-go) at '$GO': go tool pprof is the oracle"; return 1; }
	if [ ! -f "$OUT/cpu.pb.gz" ]; then
		mkdir -p "$OUT"
		"$GEN" "$OUT" || { fail "gen_pprof failed"; return 1; }
	fi
}

# pp FILE ARGS...: go tool pprof -symbolize=none ARGS FILE, failing on a non-zero exit.
pp() {
	local f=$1; shift
	local out
	out=$("$GO" tool pprof -symbolize=none "$@" "$f" 2>&1) || {
		echo "$out" >&2
		fail "go tool pprof $* $(basename "$f") exited non-zero"
		return 1
	}
	printf '%s\n' "$out"
}

test_files_written() {
	need_tools || return 1
	local f m
	for f in cpu.pb.gz cpu.folded cpu.txt threads.pb.gz goroutine.pb.gz; do
		[ -s "$OUT/$f" ] || { fail "$f not written"; return 1; }
		m=$(stat -c %a "$OUT/$f")
		[ "$m" = 644 ] || { fail "$f has mode $m, want 644"; return 1; }
	done
	# No temporary files left behind.
	[ -z "$(ls -A "$OUT" | grep '^\.')" ] || { fail "temp files left: $(ls -A "$OUT")"; return 1; }
	# gzip, as pprof requires.
	gzip -t "$OUT/cpu.pb.gz" || { fail "cpu.pb.gz is not valid gzip"; return 1; }
}

test_cpu_top() {
	need_tools || return 1
	local out p
	out=$(pp "$OUT/cpu.pb.gz" -top -nodecount=100) || return 1
	grep -q '^Type: cpu$' <<<"$out" || { fail "no 'Type: cpu'"; return 1; }
	grep -q 'ctop-prof .*gen_pprof (test)' <<<"$out" || { fail "comment not shown"; return 1; }
	p=$(flat_pct_of hot75 <<<"$out")
	[ "$p" = "75.00" ] || { echo "$out" >&2; fail "hot75 flat% '$p', want 75.00"; return 1; }
	p=$(flat_pct_of cold25 <<<"$out")
	[ "$p" = "25.00" ] || { fail "cold25 flat% '$p', want 25.00"; return 1; }
	p=$(cum_pct_of main <<<"$out")
	[ "$p" = "100" ] || { fail "main cum% '$p', want 100"; return 1; }
	grep -q 'mix_helper (inline)' <<<"$out" || { fail "inline frame not shown as inline"; return 1; }
	# cpu/nanoseconds is the default (last) value: 75 x 10 ms.
	[ "$(flat_of hot75 <<<"$out")" = "750ms" ] || { fail "hot75 flat not 750ms"; return 1; }
	# and samples/count is selectable.
	out=$(pp "$OUT/cpu.pb.gz" -top -sample_index=samples) || return 1
	[ "$(flat_of hot75 <<<"$out")" = "75" ] || { fail "hot75 not 75 samples"; return 1; }
}

test_cpu_raw() {
	need_tools || return 1
	local out
	out=$(pp "$OUT/cpu.pb.gz" -raw) || return 1
	grep -q '^samples/count cpu/nanoseconds$' <<<"$out" || { fail "sample types"; return 1; }
	grep -q '^PeriodType: cpu nanoseconds$' <<<"$out" || { fail "period type"; return 1; }
	grep -q '^Period: 10000000$' <<<"$out" || { fail "period"; return 1; }
	grep -q '^Duration: 1s$' <<<"$out" || { fail "duration"; return 1; }
	grep -q 'thread:\[worker-a\]' <<<"$out" || { fail "thread label worker-a missing"; return 1; }
	grep -q 'thread:\[worker-b\]' <<<"$out" || { fail "thread label worker-b missing"; return 1; }
	grep -q 'tid:\[1001\]' <<<"$out" || { fail "tid label 1001 missing"; return 1; }
	# Every sample: count and count x period.
	grep -Eq '^ +60 +600000000:' <<<"$out" || { fail "sample 60/600000000 missing"; return 1; }
	grep -Eq '^ +25 +250000000:' <<<"$out" || { fail "sample 25/250000000 missing"; return 1; }
	# Inline chain: callee first, then the function it is inlined into.
	grep -A1 ' mix_helper /src/mix.h:5 s=3$' <<<"$out" | grep -q 'caller /src/fake.c:31 s=29' ||
		{ fail "inline lines not callee-first"; return 1; }
	grep -q '/opt/fake/bin/fakeprog 0123456789abcdef0123456789abcdef01234567 \[FN\]\[FL\]\[LN\]\[IN\]' <<<"$out" ||
		{ fail "mapping without file, build id or has_* flags"; return 1; }
}

test_cpu_traces() {
	need_tools || return 1
	local out
	out=$(pp "$OUT/cpu.pb.gz" -traces) || return 1
	grep -Eq 'thread: +worker-a' <<<"$out" || { fail "thread label not in -traces"; return 1; }
	grep -Eq 'tid: +1002' <<<"$out" || { fail "tid label not in -traces"; return 1; }
	# Leaf first, inline frame between leaf and its caller.
	tr -s ' ' <<<"$out" | grep -A4 ' 250ms cold25' | tr '\n' '|' |
		grep -q 'cold25| mix_helper (inline)| caller| work| main|' ||
		{ echo "$out" >&2; fail "trace order of the cold25 stack"; return 1; }
}

test_cpu_labels_usable() {
	need_tools || return 1
	local out
	# pprof can select by our labels: worker-a only ran hot75, 60 samples.
	out=$(pp "$OUT/cpu.pb.gz" -top -sample_index=samples -tagfocus=thread=worker-a) || return 1
	[ "$(flat_of hot75 <<<"$out")" = "60" ] || { echo "$out" >&2; fail "tagfocus thread=worker-a: hot75 not 60"; return 1; }
	grep -q cold25 <<<"$out" && { fail "tagfocus kept cold25 of worker-b"; return 1; }
	return 0
}

test_threads_profile() {
	need_tools || return 1
	local out
	out=$(pp "$OUT/threads.pb.gz" -top) || return 1
	grep -q '^Type: threads$' <<<"$out" || { fail "no 'Type: threads'"; return 1; }
	[ "$(flat_of futex_wait <<<"$out")" = 3 ] || { echo "$out" >&2; fail "futex_wait not 3 threads"; return 1; }
	[ "$(flat_pct_of futex_wait <<<"$out")" = "75.00" ] || { fail "futex_wait not 75%"; return 1; }
	out=$(pp "$OUT/threads.pb.gz" -raw) || return 1
	grep -q '^threads/count$' <<<"$out" || { fail "sample type threads/count"; return 1; }
	grep -q '^PeriodType: threads count$' <<<"$out" || { fail "period type threads count"; return 1; }
	grep -q 'state:\[S\] wait:\[futex_wait_queue\]' <<<"$out" || { fail "state/wait labels"; return 1; }
	out=$(pp "$OUT/threads.pb.gz" -traces) || return 1
	grep -Eq 'state: +R' <<<"$out" || { fail "state label not in -traces"; return 1; }
}

test_goroutine_profile() {
	need_tools || return 1
	local out
	out=$(pp "$OUT/goroutine.pb.gz" -top) || return 1
	grep -q '^Type: goroutine$' <<<"$out" || { fail "no 'Type: goroutine'"; return 1; }
	[ "$(flat_of futex_wait <<<"$out")" = 7 ] || { echo "$out" >&2; fail "futex_wait not 7 goroutines"; return 1; }
	[ "$(cum_pct_of main <<<"$out")" = 100 ] || { fail "main cum not 100%"; return 1; }
	out=$(pp "$OUT/goroutine.pb.gz" -raw) || return 1
	grep -q '^goroutine/count$' <<<"$out" || { fail "sample type goroutine/count"; return 1; }
	grep -q 'state:\[chan receive\] wait:\[chan receive\]' <<<"$out" || { fail "labels"; return 1; }
	out=$(pp "$OUT/goroutine.pb.gz" -traces) || return 1
	grep -Eq 'state: +runnable' <<<"$out" || { fail "state label not in -traces"; return 1; }
}

test_default_symbolize_reads() {
	# SPEC: `go tool pprof -top FILE` (default options) reads every file.
	need_tools || return 1
	local f
	for f in cpu threads goroutine; do
		"$GO" tool pprof -top "$OUT/$f.pb.gz" >/dev/null 2>"$TMPD/err.$f" ||
			{ cat "$TMPD/err.$f" >&2; fail "go tool pprof -top $f.pb.gz failed"; return 1; }
	done
}

test_folded_and_text() {
	need_tools || return 1
	local want
	want=$'main;work;caller;mix_helper;cold25 25\nmain;work;hot75 75'
	[ "$(cat "$OUT/cpu.folded")" = "$want" ] || { cat "$OUT/cpu.folded" >&2; fail "folded content"; return 1; }
	grep -Eq '^ +75 +75\.00% .* hot75 ' "$OUT/cpu.txt" || { cat "$OUT/cpu.txt" >&2; fail "text table"; return 1; }
}

run_tests
