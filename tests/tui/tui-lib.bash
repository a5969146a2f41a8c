# Helpers shared by the TUI suites (sourced after tests/lib.sh): the real
# binary in a detached tmux session on its own socket, keys with send-keys,
# the screen read back with capture-pane.
source "$(dirname "$0")/../lib.sh"

SOCK=ctoptest-$$-$RANDOM
TM() { tmux -L "$SOCK" "$@"; }

need() {
	command -v tmux >/dev/null || { fail "tmux is not installed (contrib/install-deps.sh)"; return 1; }
	[ -x "$CTOP" ] || { fail "no ctop-prof binary at $CTOP (run make)"; return 1; }
	[ -x "${WL_CMD[0]}" ] || { fail "workload ${WL_CMD[0]} missing (run make workloads)"; return 1; }
	return 0
}

# The screen as text, and with attributes (SGR sequences).
screen() { TM capture-pane -p -t ui 2>/dev/null; }
screen_e() { TM capture-pane -p -e -t ui 2>/dev/null; }
keys() { TM send-keys -t ui "$@"; }
show_screen() { note "screen:"; screen | sed 's/^/      |/' >&2; }

# wait_screen ERE [SECONDS]: poll until the screen matches.
wait_screen() {
	local re=$1 n=$(( ${2:-8} * 10 )) i
	for ((i = 0; i < n; i++)); do
		screen | grep -Eq -- "$re" && return 0
		sleep 0.1
	done
	fail "screen never matched /$re/"
	show_screen
	return 1
}

# wait_gone ERE [SECONDS]: poll until the screen no longer matches.
wait_gone() {
	local re=$1 n=$(( ${2:-8} * 10 )) i
	for ((i = 0; i < n; i++)); do
		screen | grep -Eq -- "$re" || return 0
		sleep 0.1
	done
	fail "screen still matches /$re/"
	show_screen
	return 1
}

# The rows of the view (between the tab line and the status line).
view_rows() { screen | sed -n "4,$(( ROWS - 1 ))p"; }
wait_view() {
	local re=$1 n=$(( ${2:-8} * 10 )) i
	for ((i = 0; i < n; i++)); do
		view_rows | grep -Eq -- "$re" && return 0
		sleep 0.1
	done
	fail "view never showed /$re/"
	show_screen
	return 1
}
wait_view_gone() {
	local re=$1 n=$(( ${2:-8} * 10 )) i
	for ((i = 0; i < n; i++)); do
		view_rows | grep -Eq -- "$re" || return 0
		sleep 0.1
	done
	fail "view still shows /$re/"
	show_screen
	return 1
}

# samples in the header, as a number ("12.3k" -> 12300)
header_samples() {
	screen | sed -n 2p | grep -oE 'samples [0-9.]+[kMG]?' | awk '{
		v = $2; m = 1
		if (v ~ /k$/) m = 1e3; else if (v ~ /M$/) m = 1e6; else if (v ~ /G$/) m = 1e9
		sub(/[kMG]$/, "", v); printf "%d\n", v * m }'
}

search() { keys /; keys -l "$1"; keys Enter; }

teardown() {
	local p
	p=$(ui_pid)
	TM kill-server 2>/dev/null
	rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"
	if [ -n "$p" ]; then
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	fi
	[ -n "${TARGET:-}" ] && kill_bg "$TARGET"
	return 0
}

# The ctop-prof process: the child of the pane's script.
ui_pid() {
	[ -f "${W:-/nonexistent}/run.pid" ] || return 0
	local comm
	comm=$(basename "$CTOP" | cut -c1-15)
	ps -o pid= -o comm= --ppid "$(cat "$W/run.pid")" 2>/dev/null | awk -v c="$comm" '$2 == c {print $1}'
}

# The workload (a test may set another before start_ui).
WL_CMD=("$WLBIN/threads" 1 300)

# start_ui COLS ROWS [VAR=VALUE...] [-- CTOP-ARGS...]: the workload, and
# ctop-prof -p on it inside tmux, in a fresh directory (snapshots land there).
start_ui() {
	local envs=() e
	COLS=$1 ROWS=$2
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
	[ "${1:-}" = -- ] && shift
	need || return 1
	W=$(mktemp -d "$TMPD/ui.XXXXXX")
	trap teardown EXIT
	# from the repository root: the line tables name threads.c relative to
	# it, and the Source view looks there (/proc/PID/cwd)
	pushd "$ROOT" >/dev/null || return 1
	start_bg "${WL_CMD[@]}"
	TARGET=$BGPID
	popd >/dev/null || return 1
	wait_for test -e "/proc/$TARGET/task" || { fail "workload did not start"; return 1; }
	{
		echo "cd '$W'"
		echo "echo \$\$ > '$W/run.pid'"
		echo "export TERM=xterm-256color LANG=C.UTF-8"
		echo "unset LC_ALL NO_COLOR"
		for e in "${envs[@]}"; do printf 'export %q\n' "$e"; done
		printf '%q -p %d' "$CTOP" "$TARGET"
		for e in "$@"; do printf ' %q' "$e"; done
		echo
		echo 'echo "EXITED $?"'
		echo 'stty -a | grep -o -- "-icanon\|icanon"'
		echo 'sleep 120'
	} >"$W/run.sh"
	TM new-session -d -s ui -x "$COLS" -y "$ROWS" "bash '$W/run.sh'" ||
		{ fail "tmux new-session failed"; return 1; }
	wait_screen "ctop-prof +PID $TARGET " 10
}

# The two spinners in Top: the first thing a user sees.
spinners_in_top() {
	wait_view ' spin_alpha ' 8 && wait_view ' spin_beta ' 8
}

# q (or a signal) must leave a sane terminal: canonical mode back and the
# alternate screen gone.
expect_restored() {
	wait_screen '^EXITED 0$' 8 || return 1
	wait_screen '^icanon$' 4 || { fail "terminal left in non-canonical mode"; return 1; }
	screen | grep -q '1 Top' && { fail "the TUI's screen is still shown after exit"; show_screen; return 1; }
	return 0
}

target_ok() {
	kill -0 "$TARGET" 2>/dev/null || { fail "the target $TARGET died"; return 1; }
	case $(thread_states "$TARGET") in
	*[tT]*) fail "the target was left stopped ($(thread_states "$TARGET"))"; return 1 ;;
	esac
	return 0
}
