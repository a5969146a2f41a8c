#!/usr/bin/env bash
# The terminal is restored on every way out, beyond what tests/tui/tui.sh
# covers (q, SIGTERM, SIGSEGV, the terminal going away): SIGINT and SIGHUP
# (quit: exit 0), SIGABRT and SIGBUS (crash: the handler restores the
# terminal, then the signal ends the process). The TUI runs in a detached
# tmux session; after ctop-prof ends, the
# pane's shell prints its exit status and whether the terminal is back in
# canonical mode. The target is never left stopped or killed.
source "$(dirname "$0")/tui-lib.bash"
# ---- tests ---------------------------------------------------------------

# signal_case SIG STATUS: send SIG to ctop-prof in the TUI; it must end with
# STATUS and leave a sane terminal, and the target running.
signal_case() {
	local sig=$1 want=$2
	start_ui 100 30 || return 1
	spinners_in_top || return 1
	local p
	p=$(ui_pid)
	[ -n "$p" ] || { fail "cannot find the ctop-prof process"; return 1; }
	kill -"$sig" "$p"
	wait_screen "^EXITED $want\$" 8 || return 1
	wait_screen '^icanon$' 4 || { fail "SIG$sig: terminal left in non-canonical mode"; return 1; }
	screen | grep -q '1 Top' && { fail "SIG$sig: the TUI's screen is still shown after exit"; show_screen; return 1; }
	target_ok
}
test_sigint_restores_terminal()  { signal_case INT 0; }
test_sighup_restores_terminal()  { signal_case HUP 0; }
test_sigabrt_restores_terminal() { signal_case ABRT 134; }
test_sigbus_restores_terminal()  { signal_case BUS 135; }

run_tests
