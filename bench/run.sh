#!/bin/bash
# bench/run.sh: ctop-prof side by side with perf on the same targets in the
# same run (`make bench`). Prints one table per row and writes them, with a
# summary and the machine's description, to bench/RESULTS.md.
#
# Absolute times on shared VMs are noisy, so every number that is compared
# is a ratio measured in the same run: the profiled target against the same
# target alone (alternating rounds, medians), ctop-prof against perf on the
# same samples.
#
# Environment:
#   BENCH_LONG=1      memory row for the full 10 minutes (default: 2 minutes);
#                     its result is also kept in bench/results-memory-long.md
#                     and shown by later default runs
#   BENCH_ROWS="..."  run only these rows (slowdown cpu live throughput memory
#                     startup scan); the report then goes to $WORK, not to
#                     bench/RESULTS.md
#   BENCH_ROUNDS=N    rounds per slowdown configuration (default 5)
#   BENCH_SECS=S      counting window of one slowdown run (default 1.5)
#   BENCH_KEEP=1      keep the work directory
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
CTOP=${CTOP:-$ROOT/ctop-prof}
WLBIN=$ROOT/tests/workloads/bin
BB=$WLBIN/bench
LONG=${BENCH_LONG:-0}
ALL_ROWS="slowdown cpu live throughput memory startup scan"
ROWS=${BENCH_ROWS:-$ALL_ROWS}
ROUNDS=${BENCH_ROUNDS:-5}
SECS=${BENCH_SECS:-1.5}
WARM=1.0                       # profiler attach and start-up happen in the warm-up
WORK=$(mktemp -d /tmp/ctop-bench.XXXXXX)
MD=$WORK/md
mkdir -p "$MD"
if [ "$ROWS" = "$ALL_ROWS" ]; then
	OUT=${BENCH_OUT:-$ROOT/bench/RESULTS.md}
else
	OUT=${BENCH_OUT:-$WORK/RESULTS.md}
fi
LONGFILE=$ROOT/bench/results-memory-long.md
TMUX_SOCK=ctop-bench-$$
T_START=$(date +%s)

_pids=()
track() { _pids+=("$1"); }
# Only what is still our child is killed: a remembered PID that exited
# long ago may name someone else's process by now.
MAINPID=$$
cleanup() {
	local p
	for p in "${_pids[@]}"; do
		[ "$(ps -o ppid= -p "$p" 2>/dev/null | tr -d ' ')" = "$MAINPID" ] && kill -9 "$p" 2>/dev/null
	done
	tmux -L "$TMUX_SOCK" kill-server 2>/dev/null
	wait 2>/dev/null
	if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "bench: $*" >&2; exit 1; }
log() { printf '[%4ds] %s\n' $(( $(date +%s) - T_START )) "$*" >&2; }

# ---- helpers ---------------------------------------------------------------

now() { date +%s.%N; }
# calc EXPR: awk arithmetic, printed with %.6g unless a format is given
calc() { awk "BEGIN{printf \"${2:-%.6g}\", $1}"; }
median() {
	printf '%s\n' "$@" | grep -v '^$' | sort -g |
		awk '{a[NR]=$1} END{if(!NR){print "nan";exit} if(NR%2)print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}
minmax() { printf '%s\n' "$@" | grep -v '^$' | sort -g | awk 'NR==1{lo=$1} {hi=$1} END{printf "%s..%s", lo, hi}'; }
# CPU seconds (user+sys) of a live process, from /proc/PID/stat
proc_cpu() {
	local tck
	tck=$(getconf CLK_TCK)
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk -v t="$tck" '{printf "%.3f", ($12+$13)/t}'
}
# on-CPU seconds of all live threads of a process, ns precision (schedstat)
proc_cpu_fine() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s+=$1} END{if(NR) printf "%.4f", s/1e9; else exit 1}'
}
proc_rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null; }
# timed FILE CMD...: run CMD with the caller's redirections and write
# "wall user sys" in seconds (bash's time: getrusage of the child, ms
# precision; /usr/bin/time prints only hundredths) to FILE.
timed() {
	local f=$1 TIMEFORMAT='%3R %3U %3S'
	shift
	{ time "$@" 2>&3 ; } 3>&2 2> "$f"
}
# fields of a timed file: wall, cpu (user+sys)
time_wall() { awk 'END{print $1}' "$1"; }
time_cpu() { awk 'END{printf "%.3f", $2+$3}' "$1"; }
# samples in ctop-prof's last batch header
ctop_samples() { awk '/^ctop-prof: PID/{for(i=1;i<=NF;i++) if($i=="samples") s=$(i+1)} END{print s+0}' "$1"; }
ctop_lost() { awk '/^ctop-prof: PID/{for(i=1;i<=NF;i++) if($i=="lost") s=$(i+1)} END{print s+0}' "$1"; }
# samples in a perf.data file (exact; perf report's header rounds to K)
perf_samples() { perf report -i "$1" --stats 2>/dev/null | awk '/SAMPLE events:/{print $3; exit}'; }
perf_cg() { [ "$1" = fp ] && echo fp || echo dwarf; }
pct() { calc "100*($1)" "%.1f"; }
mib() { calc "($1)/1024" "%.1f"; }

md() { cat >> "$MD/$1.md"; }
# summary ROW|WHAT|CTOP|PERF|TARGET|VERDICT
summary() { printf '%s\n' "$*" >> "$WORK/summary"; }
show() { echo; cat "$MD/$1.md"; echo; }

# ---- preflight -------------------------------------------------------------

[ -x "$CTOP" ] || die "$CTOP not built (run make bench)"
command -v perf >/dev/null || die "perf not installed: the baseline of every row (apt-get install linux-perf)"
for b in spin libchain scanbench; do
	[ -x "$BB/$b" ] || die "$BB/$b missing (make workloads)"
done
perf record -q -o "$WORK/probe.data" -F 99 -- true >/dev/null 2>&1 ||
	die "perf record cannot run here (perf_event_paranoid=$(cat /proc/sys/kernel/perf_event_paranoid))"
NCPU=$(nproc)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- row 1: target slowdown --------------------------------------------------

# spin_run VARIANT UNWIND FREQ: one counting window of the spin target,
# alone or under a profiler attached in its warm-up; echoes "rate cpurate"
# (iterations per wall second, per CPU-second of the target).
spin_run() {
	local v=$1 uw=$2 f=$3 prof=""
	"$BB/spin" -s "$SECS" -w "$WARM" -d 8 > "$WORK/spin.out" 2>/dev/null &
	local tp=$!
	track $tp
	case $v in
	ctop) "$CTOP" -p $tp -F "$f" --unwind "$uw" -b --interval 3600 \
		> "$WORK/sd-ctop.out" 2> "$WORK/sd-ctop.err" & prof=$! ;;
	perf) perf record -q -F "$f" --call-graph "$(perf_cg "$uw")" -p $tp \
		-o "$WORK/sd.data" > /dev/null 2> "$WORK/sd-perf.err" & prof=$! ;;
	esac
	[ -n "$prof" ] && track $prof
	wait $tp
	[ -n "$prof" ] && wait $prof
	awk '/^iterations/{print $6, $10}' "$WORK/spin.out"
}

# slowdowns ALONE_RATES PROFILED_RATES (space-separated, one per round):
# per-round 1 - profiled/alone, space-separated
slowdowns() {
	paste <(tr ' ' '\n' <<< "$1") <(tr ' ' '\n' <<< "$2") | awk '$1>0 {printf "%s%.5f", (NR>1 ? " " : ""), 1-$2/$1}'
}
pcts() { tr ' ' '\n' <<< "$1" | awk '{printf "%s%.1f", (NR>1 ? " " : ""), 100*$1}'; }
spread_of() {
	local m
	m=$(median $1)
	tr ' ' '\n' <<< "$1" | awk -v m="$m" '{d=$1/m-1; if(d<0)d=-d; if(d>x)x=d} END{printf "±%.1f%%", 100*x}'
}

row_slowdown() {
	log "row 1: target slowdown ($ROUNDS rounds x 3 runs x ${SECS}s per configuration)"
	md slowdown <<EOF
### 1. Target slowdown

Single-thread \`spin\` target (call chain 8 deep, ~25 us per iteration),
counting its own iterations over ${SECS} s; the profiler attaches in the
${WARM} s warm-up before the window. Per configuration $ROUNDS rounds of
alone / ctop-prof / \`perf record\` (order rotated each round); slowdown =
1 - median over rounds of (profiled rate / alone rate of the same round).
ctop-prof: \`-b -F HZ --unwind MODE\` (default \`--scan-interval 2\`);
perf: \`perf record -F HZ --call-graph MODE\` (\`auto\` compared with dwarf).
**wall**: iterations per second, what the issue asks for; on a loaded
machine it mostly measures how much CPU the scheduler gave the target.
**per CPU-s**: iterations per CPU-second of the target, which keeps what
sampling costs the target itself (interrupts, stack copies, ptrace stops
are charged to its time) and drops the competition for CPU. Per-round
values in the last columns (ctop-prof / perf record, per CPU-s).

| unwind | Hz | ctop-prof wall | perf record wall | ctop-prof per CPU-s | perf record per CPU-s | alone spread (wall / CPU) | rounds ctop-prof | rounds perf |
|---|---:|---:|---:|---:|---:|---:|---|---|
EOF
	local cfg
	for cfg in ${BENCH_SLOWDOWN_CFGS:-fp:99 fp:499 fp:999 dwarf:99 dwarf:499 dwarf:999 auto:199}; do
		local uw=${cfg%%:*} f=${cfg##*:} r a c p aw="" cw="" pw="" ac="" cc="" pc=""
		for r in $(seq 0 $((ROUNDS - 1))); do
			local order=(alone ctop perf) i v
			for i in 0 1 2; do
				v=${order[$(( (i + r) % 3 ))]}
				case $v in
				alone) a=$(spin_run alone "$uw" "$f") ;;
				ctop) c=$(spin_run ctop "$uw" "$f") ;;
				perf) p=$(spin_run perf "$uw" "$f") ;;
				esac
			done
			aw+=" ${a% *}"; cw+=" ${c% *}"; pw+=" ${p% *}"
			ac+=" ${a#* }"; cc+=" ${c#* }"; pc+=" ${p#* }"
		done
		local rcw rpw rcc rpc
		rcw=$(slowdowns "${aw# }" "${cw# }"); rpw=$(slowdowns "${aw# }" "${pw# }")
		rcc=$(slowdowns "${ac# }" "${cc# }"); rpc=$(slowdowns "${ac# }" "${pc# }")
		local scw spw scc spc
		scw=$(median $rcw); spw=$(median $rpw); scc=$(median $rcc); spc=$(median $rpc)
		local spread
		spread="$(spread_of "${aw# }") / $(spread_of "${ac# }")"
		printf '| %s | %s | %s%% | %s%% | %s%% | %s%% | %s | %s | %s |\n' "$uw" "$f" \
			"$(pct "$scw")" "$(pct "$spw")" "$(pct "$scc")" "$(pct "$spc")" "$spread" \
			"$(pcts "$rcc")" "$(pcts "$rpc")" | md slowdown
		log "  $uw $f Hz: ctop-prof $(pct "$scw")% (per CPU-s $(pct "$scc")%), perf record $(pct "$spw")% ($(pct "$spc")%)"
		# Verdicts on the CPU-normalized slowdown (precise to a few tenths
		# of a point); the wall one is reported with its run-to-run noise.
		if [ "$cfg" = dwarf:999 ]; then
			summary "Target slowdown, dwarf 999 Hz: per CPU-s (wall)|$(pct "$scc")% ($(pct "$scw")%)|$(pct "$spc")% ($(pct "$spw")%) perf record|no worse than perf record|$(awk -v c="$scc" -v p="$spc" -v s="$spread" 'BEGIN{e=100*(c-p); if(e<=0) printf "met"; else printf "missed by %.1f points", e; printf " (wall noise: alone spread %s)", s}')"
		fi
		if [ "$cfg" = auto:199 ]; then
			summary "Target slowdown, default 199 Hz: per CPU-s (wall)|$(pct "$scc")% ($(pct "$scw")%)|$(pct "$spc")% ($(pct "$spw")%) perf record dwarf|< 1%|$(awk -v c="$scc" -v s="$spread" 'BEGIN{if(100*c<1) printf "met"; else printf "missed by %.1f points", 100*c-1; printf " (wall noise: alone spread %s)", s}')"
		fi
	done
	show slowdown
}

# ---- row 2: profiler CPU ---------------------------------------------------------

row_cpu() {
	local T=10
	log "row 2: profiler CPU (${T}s at 999 Hz per unwind mode, side by side)"
	md cpu <<EOF
### 2. Profiler CPU, ctop-prof against perf record + perf report

Single-thread \`spin\` target for ${T} s; ctop-prof (\`-b -F 999 --unwind
MODE\`, one table at the end) and \`perf record -F 999 --call-graph MODE\`
attached to it at the same time, then \`perf report --stdio\` on perf's
samples. CPU = user + system time of the whole process (getrusage), ms per
1000 samples.

| unwind | ctop-prof samples | ctop-prof CPU | perf samples | perf record CPU | perf report CPU | ctop-prof ms/1k samples | perf rec+rep ms/1k samples | ratio |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
EOF
	local uw
	for uw in dwarf fp; do
		"$BB/spin" -s "$T" -w 0.3 -d 8 > /dev/null 2>&1 &
		local tp=$!
		track $tp
		timed "$WORK/cpu-ctop.time" "$CTOP" -p $tp -F 999 --unwind $uw -b \
			--interval 3600 > "$WORK/cpu-ctop.out" 2> "$WORK/cpu-ctop.err" &
		local cp=$!
		timed "$WORK/cpu-rec.time" perf record -q -F 999 --call-graph $uw \
			-p $tp -o "$WORK/cpu.data" > /dev/null 2> "$WORK/cpu-rec.err" &
		local pp=$!
		track $cp; track $pp
		wait $tp; wait $cp; wait $pp
		timed "$WORK/cpu-rep.time" perf report -i "$WORK/cpu.data" --stdio \
			> "$WORK/cpu-rep.out" 2> "$WORK/cpu-rep.err"
		local cs cc ps rc pc
		cs=$(ctop_samples "$WORK/cpu-ctop.out")
		cc=$(time_cpu "$WORK/cpu-ctop.time")
		ps=$(perf_samples "$WORK/cpu.data")
		rc=$(time_cpu "$WORK/cpu-rec.time")
		pc=$(time_cpu "$WORK/cpu-rep.time")
		local cper pper ratio
		cper=$(calc "1000*1000*$cc/($cs+0.001)" "%.1f")
		pper=$(calc "1000*1000*($rc+$pc)/($ps+0.001)" "%.1f")
		ratio=$(calc "$cper/($pper+0.0001)" "%.2f")
		printf '| %s | %s | %s s | %s | %s s | %s s | %s | %s | %s |\n' $uw "$cs" "$cc" "$ps" "$rc" "$pc" \
			"$cper" "$pper" "$ratio" | md cpu
		log "  $uw: ctop-prof $cper ms/1k samples, perf record+report $pper ms/1k (ratio $ratio)"
		summary "Profiler CPU vs perf record + report, $uw 999 Hz|$cper ms/1k samples|$pper ms/1k samples|<= perf (aim 1/2)|$(awk -v r="$ratio" 'BEGIN{if(r<=0.5) print "met (ratio " r ", aim of 1/2 met)"; else if(r<=1) print "met (ratio " r ")"; else printf "missed: %.2fx perf", r}')"
	done
	show cpu
}

# ---- row 2b: live, against perf top ---------------------------------------------

# live_run VARIANT SECS: spin alone, under ctop-prof's TUI (in a detached
# tmux), under perf top (--stdio, fed a silent stdin), or under perf record.
# Echoes "rate cpurate window_cpu session_cpu" (rates as spin_run's): the
# profiler's CPU seconds inside the counting window, and since its launch.
# The window's is the
# counting window (steady state; start-up costs are row 5's subject).
LIVE_WARM=2
live_run() {
	local v=$1 T=$2 prof="" cpu=0 t0
	t0=$(now)
	"$BB/spin" -s "$T" -w "$LIVE_WARM" -d 8 > "$WORK/live.out" 2>/dev/null &
	local tp=$!
	track $tp
	case $v in
	ctop)
		tmux -L "$TMUX_SOCK" new-session -d -s live -x 132 -y 43 \
			"exec '$CTOP' -p $tp -F 999 2> '$WORK/live-ctop.err'"
		prof=$(tmux -L "$TMUX_SOCK" list-panes -t live -F '#{pane_pid}' 2>/dev/null | head -1)
		;;
	top)
		perf top --stdio -F 999 -g -p $tp -d 1 < <(sleep $((${T%.*} + 30))) \
			> /dev/null 2> "$WORK/live-top.err" &
		prof=$!
		track $prof
		;;
	rec)
		perf record -q -F 999 --call-graph dwarf -p $tp -o "$WORK/live.data" \
			> /dev/null 2>&1 &
		prof=$!
		track $prof
		;;
	esac
	# CPU from the start of the window to the moment the target ends
	# (ctop-prof's TUI and perf top stay up after it)
	local c=0 c0=""
	while kill -0 $tp 2>/dev/null; do
		if [ -n "$prof" ]; then
			c=$(proc_cpu_fine "$prof" || echo "$c")
			[ -z "$c0" ] && awk -v t0="$t0" -v t="$(now)" -v w="$LIVE_WARM" 'BEGIN{exit !(t-t0>=w)}' && c0=$c
		fi
		sleep 0.1
	done
	wait $tp
	[ -n "$prof" ] && cpu="$(calc "$c-${c0:-0}") $c"
	case $v in
	ctop) tmux -L "$TMUX_SOCK" kill-session -t live 2>/dev/null ;;
	top) kill $prof 2>/dev/null; wait $prof 2>/dev/null ;;
	rec) wait $prof 2>/dev/null ;;
	esac
	echo "$(awk '/^iterations/{print $6, $10}' "$WORK/live.out") ${cpu:-0 0}"
}

row_live() {
	local T=6 R=3
	command -v tmux >/dev/null || die "tmux missing: the live row runs ctop-prof's TUI in a detached tmux"
	log "row 2b: live ctop-prof against perf top ($R rounds x 4 runs x ${T}s)"
	local r i v rate crate pcpu scpu
	local -A w c cpu ses
	for r in $(seq 0 $((R - 1))); do
		local order=(alone ctop top rec)
		for i in 0 1 2 3; do
			v=${order[$(( (i + r) % 4 ))]}
			read -r rate crate pcpu scpu < <(live_run $v $T)
			w[$v,$r]=$rate; c[$v,$r]=$crate; cpu[$v,$r]=$pcpu; ses[$v,$r]=$scpu
		done
	done
	# per profiler: median CPU share, median wall and per-CPU-s slowdowns
	local k mcpu=() mses=() msw=() msc=()
	for k in ctop top rec; do
		local cs="" ss="" sw="" sc=""
		for r in $(seq 0 $((R - 1))); do
			cs+=" $(calc "${cpu[$k,$r]}/$T")"
			ss+=" $(calc "${ses[$k,$r]}/($T+$LIVE_WARM)")"
			sw+=" $(calc "1-${w[$k,$r]}/${w[alone,$r]}")"
			sc+=" $(calc "1-${c[$k,$r]}/${c[alone,$r]}")"
		done
		mcpu+=("$(median $cs)"); mses+=("$(median $ss)"); msw+=("$(median $sw)"); msc+=("$(median $sc)")
	done
	md live <<EOF
### 2b. Live: ctop-prof's TUI against perf top

Single-thread \`spin\` target, 999 Hz, ${T} s window after ${LIVE_WARM} s of warm-up;
$R rounds of alone / ctop-prof TUI (\`ctop-prof -p PID -F 999\`, default
\`--unwind auto\`, 1 s refresh, in a detached 132x43 tmux) / \`perf top
--stdio -F 999 -g -d 1\` / \`perf record -F 999 --call-graph dwarf\`.
CPU in the window: the profiler's on-CPU time (all its threads, from
/proc schedstat) from the window's start to the target's end, over the
window: the steady state. Over the session: its CPU time from its launch
to the target's end, over that time (${LIVE_WARM} s + ${T} s): what a
short look costs, start-up included. Slowdowns as in row 1, medians over rounds.
The issue's anchor for perf top (~65% of a core on a busy thread) is not
what perf top costs on this machine; the verdict compares with perf top
as measured here, in the same run.

| profiler | CPU in the window (share of a core) | CPU over the session, start-up included | target slowdown per CPU-s | target slowdown, wall |
|---|---:|---:|---:|---:|
| ctop-prof TUI | $(pct "${mcpu[0]}")% | $(pct "${mses[0]}")% | $(pct "${msc[0]}")% | $(pct "${msw[0]}")% |
| perf top -g | $(pct "${mcpu[1]}")% | $(pct "${mses[1]}")% | $(pct "${msc[1]}")% | $(pct "${msw[1]}")% |
| perf record --call-graph dwarf | $(pct "${mcpu[2]}")% | $(pct "${mses[2]}")% | $(pct "${msc[2]}")% | $(pct "${msw[2]}")% |

EOF
	log "  CPU: ctop-prof TUI $(pct "${mcpu[0]}")%, perf top $(pct "${mcpu[1]}")%, perf record $(pct "${mcpu[2]}")%; slowdown per CPU-s: $(pct "${msc[0]}")% / $(pct "${msc[1]}")% / $(pct "${msc[2]}")%"
	summary "Live CPU, ctop-prof TUI, 999 Hz: steady (session)|$(pct "${mcpu[0]}")% ($(pct "${mses[0]}")%) of a core|perf top -g here: $(pct "${mcpu[1]}")% ($(pct "${mses[1]}")%); the issue's anchor: ~65%|<= a tenth of perf top's (6.5% of a core)|$(awk -v c="${mcpu[0]}" -v t="${mcpu[1]}" -v cs="${mses[0]}" -v ts="${mses[1]}" 'BEGIN{r=c/(t>0?t:1e-9); rs=cs/(ts>0?ts:1e-9); if(c<=0.065) printf "met against the anchor"; else printf "missed: %.1f%% of a core", 100*c; printf "; against perf top as measured here %.2f of it steady, %.2f over the session%s", r, rs, (r<=0.1 ? "" : " (a tenth of it not reached)")}')"
	summary "Live slowdown, ctop-prof TUI vs perf record: per CPU-s (wall)|$(pct "${msc[0]}")% ($(pct "${msw[0]}")%)|$(pct "${msc[2]}")% ($(pct "${msw[2]}")%) perf record dwarf|<= perf record|$(awk -v c="${msc[0]}" -v p="${msc[2]}" 'BEGIN{d=100*(c-p); if(d<=0) print "met"; else printf "missed by %.1f points", d}')"
	show live
}

# ---- row 3: processing throughput --------------------------------------------------

row_throughput() {
	local T=12
	log "row 3: processing throughput (DWARF samples, ${T}s per workload)"
	md throughput <<EOF
### 3. Processing throughput, DWARF samples

ctop-prof (\`-b -F 999 --unwind dwarf\`) and \`perf record -F 999
--call-graph dwarf\` on the same target at the same time for ${T} s, then
\`perf report --stdio\` on perf's samples. Throughput = samples unwound,
symbolized and aggregated per CPU-second: ctop-prof's samples / its whole
CPU time (including start-up and the final table), perf's samples / perf
report's CPU time. Targets: \`spin -d 100 -v 40\` (stacks 100-140 frames
deep), \`libchain\` (64 shared libraries without frame pointers, chains 24
calls deep through them).

| workload | ctop-prof samples | ctop-prof CPU | ctop-prof samples/CPU-s | perf samples | perf report CPU | perf report samples/CPU-s | ratio |
|---|---:|---:|---:|---:|---:|---:|---:|
EOF
	local wl
	for wl in deep libs; do
		if [ $wl = deep ]; then
			"$BB/spin" -s "$T" -w 0.3 -d 100 -v 40 > /dev/null 2>&1 &
		else
			"$BB/libchain" "$BB/libs" 64 "$T" 24 > /dev/null 2>&1 &
		fi
		local tp=$!
		track $tp
		sleep 0.2   # libchain: dlopen everything first
		timed "$WORK/tp-ctop.time" "$CTOP" -p $tp -F 999 --unwind dwarf -b \
			--interval 3600 > "$WORK/tp-ctop.out" 2> "$WORK/tp-ctop.err" &
		local cp=$!
		perf record -q -F 999 --call-graph dwarf -p $tp -o "$WORK/tp.data" > /dev/null 2>&1 &
		local pp=$!
		track $cp; track $pp
		wait $tp; wait $cp; wait $pp
		timed "$WORK/tp-rep.time" perf report -i "$WORK/tp.data" --stdio \
			> "$WORK/tp-rep.out" 2> "$WORK/tp-rep.err"
		local cs cc ps pc ct pt ratio
		cs=$(ctop_samples "$WORK/tp-ctop.out"); cc=$(time_cpu "$WORK/tp-ctop.time")
		ps=$(perf_samples "$WORK/tp.data"); pc=$(time_cpu "$WORK/tp-rep.time")
		ct=$(calc "$cs/($cc+0.001)" "%.0f"); pt=$(calc "$ps/($pc+0.001)" "%.0f")
		ratio=$(calc "$ct/($pt+0.001)" "%.2f")
		local name
		name=$([ $wl = deep ] && echo "deep stack (spin)" || echo "64 shared libraries (libchain)")
		printf '| %s | %s | %s s | %s | %s | %s s | %s | %s |\n' "$name" "$cs" "$cc" "$ct" "$ps" "$pc" "$pt" "$ratio" | md throughput
		log "  $wl: ctop-prof $ct samples/CPU-s, perf report $pt (ratio $ratio)"
		summary "Throughput, DWARF, $name|$ct samples/CPU-s|$pt samples/CPU-s (perf report)|>= 3x perf report|$(awk -v r="$ratio" 'BEGIN{if(r>=3) print "met (" r "x)"; else printf "missed: %.2fx of 3x", r}')"
	done
	show throughput
}

# ---- row 4: memory -------------------------------------------------------------------

row_memory() {
	local MIN=2
	[ "$LONG" = 1 ] && MIN=10
	log "row 4: memory (${MIN} min at 999 Hz on 8 threads)"
	"$BB/spin" -s 0 -t 8 -d 12 -v 24 -n > /dev/null 2>&1 &
	local tp=$!
	track $tp
	sleep 0.3
	local dur=$((MIN * 60))
	"$CTOP" -p $tp -F 999 -b --interval 30 -d $dur > "$WORK/mem-ctop.out" 2> "$WORK/mem-ctop.err" &
	local cp=$!
	perf record -q -F 999 -g -p $tp -o "$WORK/mem.data" > /dev/null 2>&1 &
	local pp=$!
	track $cp; track $pp
	local t0 t s=0 rc rp
	t0=$(date +%s)
	: > "$WORK/mem.tsv"
	while kill -0 $cp 2>/dev/null; do
		t=$(( $(date +%s) - t0 ))
		rc=$(proc_rss_kb $cp); rp=$(proc_rss_kb $pp)
		[ -n "$rc" ] && printf '%s %s %s %s\n' "$t" "$rc" "${rp:-0}" \
			"$(stat -c %s "$WORK/mem.data" 2>/dev/null || echo 0)" >> "$WORK/mem.tsv"
		sleep 5
	done
	wait $cp
	kill -INT $pp 2>/dev/null; wait $pp 2>/dev/null
	kill $tp 2>/dev/null; wait $tp 2>/dev/null
	local samples lost
	samples=$(ctop_samples "$WORK/mem-ctop.out"); lost=$(ctop_lost "$WORK/mem-ctop.out")
	# RSS at 1 minute, at the end, the peak; growth per minute after the
	# first minute (least-squares slope over t >= 60 s)
	read -r r1 rend rpeak slope prend pslope fslope < <(awk '
		{ t=$1; r=$2; if (r>peak) peak=r; if (t<=60) r1=r; last=r; plast=$3
		  if (t>=60) { n++; sx+=t; sy+=r; sxx+=t*t; sxy+=t*r; spy+=$3; spxy+=t*$3; sfy+=$4; sfxy+=t*$4 } }
		END { d=n*sxx-sx*sx; k=(n>1&&d)?60/d:0
		      printf "%d %d %d %.1f %d %.1f %.1f\n", r1, last, peak, k*(n*sxy-sx*sy), plast, k*(n*spxy-sx*spy), k*(n*sfxy-sx*sfy)/1024 }' "$WORK/mem.tsv")
	local mode="default run, ${MIN} min"
	[ "$LONG" = 1 ] && mode="BENCH_LONG=1, ${MIN} min"
	local grow_ok
	grow_ok=$(awk -v s="$slope" 'BEGIN{print (s<=512)?"flat":"growing"}')
	{
		printf '| %s (%s) | %s | %s MiB | %s MiB | %s MiB | %s KiB/min | %s | %s MiB, %s KiB/min; data file %s MiB/min |\n' \
			"$mode" "$(date -u +%Y-%m-%d)" "$samples ($lost lost)" "$(mib "$r1")" "$(mib "$rend")" "$(mib "$rpeak")" \
			"$(calc "$slope" "%.0f")" "$grow_ok" "$(mib "$prend")" "$(calc "$pslope" "%.0f")" "$(mib "$fslope")"
	} > "$WORK/mem.row"
	if [ "$LONG" = 1 ]; then
		cp "$WORK/mem.row" "$LONGFILE"
	fi
	md memory <<EOF
### 4. Memory

\`spin -t 8 -d 12 -v 24\` (8 busy threads, 48 distinct stacks per thread);
ctop-prof \`-F 999 -b --interval 30\` (default unwind, auto = DWARF) and
\`perf record -F 999 -g\` side by side; RSS from /proc every 5 s; growth =
least-squares slope of RSS after the first minute. The 10-minute number
comes from a \`BENCH_LONG=1\` run (kept in bench/results-memory-long.md);
a default run measures ${MIN} minutes.

| run | ctop-prof samples | RSS at 1 min | RSS at end | peak RSS | growth after 1 min | | perf record: RSS at end, growth; its data file |
|---|---:|---:|---:|---:|---:|---|---|
EOF
	cat "$WORK/mem.row" | md memory
	if [ "$LONG" != 1 ] && [ -f "$LONGFILE" ]; then
		cat "$LONGFILE" | md memory
	fi
	echo | md memory
	log "  ctop-prof RSS $(mib "$r1") MiB at 1 min, $(mib "$rend") MiB at end, growth $(calc "$slope" "%.0f") KiB/min"
	# the summary uses the 10-minute run when there is one
	local src=$WORK/mem.row
	[ -f "$LONGFILE" ] && src=$LONGFILE
	local lrend lslope lmode
	lrend=$(awk -F'|' '{gsub(/ MiB| /,"",$5); print $5}' "$src")
	lslope=$(awk -F'|' '{gsub(/ KiB\/min| /,"",$7); print $7}' "$src")
	lmode=$(awk -F'|' '{sub(/^ /,"",$2); sub(/ \(.*/,"",$2); print $2}' "$src")
	local lprss
	lprss=$(awk -F'|' '{print $9}' "$src" | sed 's/^ *//; s/,.*//')
	summary "Memory, 999 Hz, 8 threads ($lmode)|$lrend MiB RSS, $lslope KiB/min after the first minute|perf record $lprss RSS (its data file grows)|< 64 MiB, flat after 1 min|$(awk -v r="$lrend" -v s="$lslope" 'BEGIN{ok=r<64; fl=s<=512; if(ok&&fl) print "met"; else if(!ok) printf "missed: %.1f MiB over", r-64; else printf "missed: grows %d KiB/min", s}')"
	show memory
}

# ---- row 5: start-up -----------------------------------------------------------------

row_startup() {
	log "row 5: start-up on a binary with 100 MB+ of debug info (building it)"
	make -C "$ROOT" --no-print-directory -j"$NCPU" BUILD="$BUILD" "tests/workloads/bin/bench/big" \
		> "$WORK/big-build.log" 2>&1 || { tail -20 "$WORK/big-build.log"; die "building the large binary failed"; }
	local big=$BB/big
	local dbg
	dbg=$(size -A "$big" | awk '$1 ~ /^\.debug_/ {s+=$2} END{printf "%.0f", s/1048576}')
	"$big" > /dev/null 2>&1 &
	local tp=$!
	track $tp
	sleep 0.5
	local r ct=() pt=() cc=() pc=()
	for r in 1 2 3; do
		# ctop-prof: a table every 0.1 s; the first complete one names
		# big_hot and a link of the chain with their source lines
		local t0 t1
		t0=$(now)
		"$CTOP" -p $tp -F 499 -b --interval 0.1 -d 2.5 2> "$WORK/su-ctop.err" |
			perl -MTime::HiRes=time -ne 'printf "%.6f %s", time, $_' > "$WORK/su-ctop.out"
		t1=$(awk -v t0="$t0" '
			/ctop-prof: PID/ { hdr=$1; hot=0; chain=0 }
			/ big_hot .*big_main\.c:[0-9]/ { hot=1 }
			/ big_chain_[0-9]+ .*big_[0-9]+\.c:[0-9]/ { chain=1 }
			hot && chain { printf "%.3f", hdr - t0; exit }' "$WORK/su-ctop.out")
		ct+=("${t1:-nan}")
		# perf: record 0.2 s (enough samples for a table), then report
		t0=$(now)
		perf record -q -F 499 -g -p $tp -o "$WORK/su.data" -- sleep 0.2 > /dev/null 2>&1
		perf report -i "$WORK/su.data" --stdio --no-children 2>/dev/null |
			perl -MTime::HiRes=time -ne 'printf "%.6f %s", time, $_' > "$WORK/su-rep.out"
		t1=$(awk -v t0="$t0" '/ big_hot/ {printf "%.3f", $1 - t0; exit}' "$WORK/su-rep.out")
		pt+=("${t1:-nan}")
		# CPU to the first full table: a run that prints exactly one,
		# after 0.3 s of samples; perf: record 0.2 s + report
		timed "$WORK/su-ctop.time" "$CTOP" -p $tp -F 499 -b -d 0.3 \
			--interval 100 > /dev/null 2>&1
		cc+=("$(time_cpu "$WORK/su-ctop.time")")
		timed "$WORK/su-rec.time" perf record -q -F 499 -g -p $tp \
			-o "$WORK/su.data" -- sleep 0.2 > /dev/null 2>&1
		timed "$WORK/su-rep.time" perf report -i "$WORK/su.data" \
			--stdio --no-children > /dev/null 2>&1
		pc+=("$(calc "$(time_cpu "$WORK/su-rec.time")+$(time_cpu "$WORK/su-rep.time")" "%.3f")")
	done
	kill $tp 2>/dev/null; wait $tp 2>/dev/null
	local mc mp mcc mpc
	mc=$(median "${ct[@]}"); mp=$(median "${pt[@]}")
	mcc=$(median "${cc[@]}"); mpc=$(median "${pc[@]}")
	md startup <<EOF
### 5. Start-up

Target: \`big\`, generated and built by the benchmark (\`make bench-big\`):
$(size -A "$big" | awk '$1 ~ /^\.debug_/ {s+=$2} END{printf "%.0f", s/1048576}') MiB of DWARF in 21 units, CPU in
\`big_hot\` under a call chain through every unit. ctop-prof: time from
starting \`ctop-prof -p PID -F 499 -b --interval 0.1\` to the first table
that shows \`big_hot\` and a \`big_chain_N\` frame with their source lines.
perf: \`perf record -F 499 -g -- sleep 0.2\` then \`perf report --stdio\`,
time to the line with \`big_hot\` (perf shows no source lines by default).
CPU: user + system time of \`ctop-prof -b -d 0.3\` (start-up, 0.3 s of
samples, one full table), of perf record 0.2 s + perf report. On a loaded
machine the wall time is roughly the CPU time times the run queue's
length. Medians of 3.

| | ctop-prof first full table | perf record 0.2 s + perf report | runs (ctop-prof) | runs (perf) |
|---|---:|---:|---|---|
| big (${dbg} MiB debug info), wall | ${mc} s | ${mp} s | ${ct[*]} | ${pt[*]} |
| big, CPU | ${mcc} s | ${mpc} s | ${cc[*]} | ${pc[*]} |

EOF
	log "  ctop-prof ${mc} s (CPU ${mcc} s), perf ${mp} s (CPU ${mpc} s)"
	summary "Start-up, ${dbg} MiB of debug info: wall (CPU)|${mc} s (${mcc} s) to first full table|${mp} s (${mpc} s) perf record 0.2 s + report|<= 1 s|$(awk -v c="$mc" -v cc="$mcc" 'BEGIN{if(c<=1) print "met"; else if (cc<=1) printf "missed by %.2f s wall on this loaded machine; CPU %.2f s", c-1, cc; else printf "missed by %.2f s", c-1}')"
	show startup
}

# ---- row 6: scan cost -------------------------------------------------------------------

row_scan() {
	log "row 6: stack scans (1000 threads, 10,000 goroutines)"
	"$WLBIN/many_threads" 1000 > "$WORK/mt.out" 2>&1 &
	local mp=$!
	track $mp
	local i
	for i in $(seq 100); do grep -q ready "$WORK/mt.out" && break; sleep 0.1; done
	"$BB/scanbench" $mp threads 6 0.5 > "$WORK/scan-thr.out" 2> "$WORK/scan-thr.err"
	timed "$WORK/eu-thr.time" eu-stack -p $mp > /dev/null 2>&1
	kill $mp 2>/dev/null; wait $mp 2>/dev/null
	"$WLBIN/goleak" 0 0 10000 > /dev/null 2>&1 &
	local gp=$!
	track $gp
	sleep 1.5
	"$BB/scanbench" $gp goroutines 6 0.5 > "$WORK/scan-go.out" 2> "$WORK/scan-go.err"
	"$BB/scanbench" $gp threads 6 0.5 > "$WORK/scan-gothr.out" 2> "$WORK/scan-gothr.err"
	timed "$WORK/eu-go.time" eu-stack -p $gp > /dev/null 2>&1
	kill $gp 2>/dev/null; wait $gp 2>/dev/null
	md scan <<EOF
### 6. Stack scans (threads and leaks views)

\`bench/scanbench\` runs the library's scan as one \`--scan-interval\` tick
of ctop-prof does (6 rounds, 0.5 s apart; medians over rounds 2-6, the
first one opens symbol tables): thread states + stacks of every thread
(ptrace stop, copy, detach, unwind) + grouping with symbols; goroutines are
read with process_vm_readv and stop nothing. Baseline: \`eu-stack -p PID\`,
which stops every thread for its whole run.

| target | members | scan wall | grouping | CPU per scan | longest stop (median / worst) | eu-stack wall / CPU |
|---|---:|---:|---:|---:|---:|---:|
EOF
	local f name eu
	for f in thr go gothr; do
		case $f in
		thr) name="many_threads: 1000 sleeping threads"; eu=$WORK/eu-thr.time ;;
		go) name="goleak: 10,000 goroutines (goroutine scan)"; eu=$WORK/eu-go.time ;;
		gothr) name="goleak: its OS threads (thread scan)"; eu=$WORK/eu-go.time ;;
		esac
		awk -v n="$name" -v eu="$(time_wall "$eu") s / $(time_cpu "$eu") s" '/^median/ {
			printf "| %s | %s | %s ms | %s ms | %s ms | %s us / %s us | %s |\n", n, $3, $5, $7, $9, $11, $13, eu }' \
			"$WORK/scan-$f.out" | md scan
	done
	local tl gl stop
	tl=$(awk '/^median/{print $5}' "$WORK/scan-thr.out")
	stop=$(awk '/^median/{print $13}' "$WORK/scan-thr.out")
	gl=$(awk '/^median/{print $5}' "$WORK/scan-go.out")
	log "  1000 threads: $tl ms (worst stop $stop us); 10,000 goroutines: $gl ms"
	summary "Scan, 1000 threads|$tl ms, longest stop $stop us|eu-stack $(time_wall "$WORK/eu-thr.time") s (all threads stopped)|(no target)|-"
	summary "Scan, 10,000 goroutines|$gl ms, no thread stopped|eu-stack $(time_wall "$WORK/eu-go.time") s (threads only)|(no target)|-"
	show scan
}

# ---- run ------------------------------------------------------------------------------

for row in $ROWS; do
	case $row in
	slowdown|cpu|live|throughput|memory|startup|scan) "row_$row" ;;
	*) die "unknown row '$row' (rows: $ALL_ROWS)" ;;
	esac
done

# ---- report -----------------------------------------------------------------------------

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(( $(date +%s) - T_START ))
{
	echo "# ctop-prof benchmarks"
	echo
	echo "Written by \`make bench\` (bench/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'), $ELAPSED s,"
	echo "ctop-prof $("$CTOP" -V 2>/dev/null | head -1 | awk '{print $NF}') at commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')."
	echo
	echo "## Machine"
	echo
	echo "| | |"
	echo "|---|---|"
	echo "| CPU | $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo), $NCPU cpus ($(systemd-detect-virt 2>/dev/null || echo unknown virtualization)) |"
	echo "| memory | $(awk '/^MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo) |"
	echo "| kernel | $(uname -sr), perf_event_paranoid $(cat /proc/sys/kernel/perf_event_paranoid), events: software cpu-clock (no PMU) |"
	echo "| OS | $(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-?}") |"
	echo "| perf | $(perf --version 2>/dev/null) |"
	echo "| compiler | $(${CC:-cc} --version | head -1) |"
	echo "| load average | $LOAD_START at start, $LOAD_END at end |"
	echo
	echo "## Summary"
	echo
	echo "| row | ctop-prof | perf baseline | target | verdict |"
	echo "|---|---|---|---|---|"
	[ -f "$WORK/summary" ] && sed 's/^/| /; s/$/ |/; s/|/ | /g; s/  */ /g; s/^ //; s/ $//' "$WORK/summary"
	echo
	echo "## Closing note"
	echo
	if [ -f "$WORK/summary" ] && awk -F'|' '$5 ~ /^missed/ {f=1} END{exit !f}' "$WORK/summary"; then
		echo "Targets missed in this run:"
		echo
		awk -F'|' '$5 ~ /^missed/ {printf "- %s: %s\n", $1, $5}' "$WORK/summary"
	else
		echo "Every target is met in this run."
	fi
	if [ -f "$WORK/summary" ] && grep -q "not reached" "$WORK/summary"; then
		echo
		echo "Met only under one reading of the target:"
		echo
		grep "not reached" "$WORK/summary" | awk -F'|' '{printf "- %s: %s\n", $1, $5}'
	fi
	echo
	if [ -f "$ROOT/bench/NOTES.md" ]; then
		cat "$ROOT/bench/NOTES.md"
		echo
	fi
	echo "## Rows"
	echo
	for row in $ROWS; do
		[ -f "$MD/$row.md" ] && { cat "$MD/$row.md"; echo; }
	done
} > "$OUT.tmp" && mv "$OUT.tmp" "$OUT"
echo
echo "== summary =="
sed -n '/^## Summary/,/^## Rows/p' "$OUT" | grep '^|'
echo
echo "bench: wrote $OUT (${ELAPSED} s)"
