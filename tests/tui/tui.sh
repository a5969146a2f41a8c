#!/usr/bin/env bash
# The live TUI, driven as a user drives it (tmux's regress style): the real
# binary in a detached tmux session on its own server socket, keys sent with
# send-keys, the screen read back with capture-pane. The target is the
# threads workload: threads alpha (spin_alpha), beta (spin_beta), sleeper,
# late (spin_late). Every wait polls; nothing sleeps a fixed time except to
# show that something does NOT change.
source "$(dirname "$0")/tui-lib.bash"

# ---- tests ---------------------------------------------------------------

test_top_and_header() {
	start_ui 120 40 || return 1
	spinners_in_top || return 1
	local h1 h2
	h1=$(screen | sed -n 1p) h2=$(screen | sed -n 2p)
	echo "$h1" | grep -Eq "PID $TARGET \(threads\)  threads [0-9]+  (perf cpu-clock|ptrace) [0-9]+ Hz  unwind auto" ||
		{ fail "header line 1: $h1"; return 1; }
	echo "$h2" | grep -Eq '^samples [0-9.]+[kM]?  lost [0-9.]+[kM]?  elapsed [0-9]+s  window: since start  filters: none' ||
		{ fail "header line 2: $h2"; return 1; }
	view_rows | grep -Eq '^ +flat +flat% +cum +cum% function +module +file:line' ||
		{ fail "Top column header"; show_screen; return 1; }
	# a row: numbers, name, module, file:line
	view_rows | grep -Eq '^ +[0-9.]+k? +[0-9.]+% +[0-9.]+k? +[0-9.]+% spin_alpha +threads +threads\.c:[0-9]+' ||
		{ fail "spin_alpha row"; show_screen; return 1; }
}

test_views() {
	start_ui 120 40 || return 1
	spinners_in_top || return 1
	keys 3
	wait_view 'Flame graph' && wait_view 'spin_alpha' && wait_view 'spin_beta' || return 1
	view_rows | grep -Eq '^spin_|[ ]spin_alpha' || { fail "no flame boxes"; return 1; }
	keys 4
	wait_view '^[ *] *[0-9]+ alpha +[RSD] ' || return 1
	wait_view '^[ *] *[0-9]+ beta +[RSD] ' && wait_view '^[ *] *[0-9]+ sleeper +S ' || return 1
	wait_view 'alpha .* spin_alpha' || return 1
	keys 5
	wait_view 'thread stack groups' && wait_view ' spin_alpha$' 10 && wait_view 'sleep_forever' 10 || return 1
	keys 2
	wait_view '(▾|▸|-|\+) (__clone3|start_thread|run)' && wait_view 'spin_beta' || return 1
	# Source shows the function selected in the view we come from
	search '^spin_alpha$'
	keys 6
	wait_view 'Source: spin_alpha ' && wait_view 'WL_BURN' || return 1
	view_rows | grep -Eq '^ +[0-9]+ +[0-9.]+k? +[0-9.]+k? +WL_BURN' ||
		{ fail "no counts on the hot source line"; show_screen; return 1; }
	keys Tab
	wait_view '^ +flat +flat%' || return 1
}

test_top_drilldown() {
	start_ui 120 40 || return 1
	spinners_in_top || return 1
	search '^spin_alpha$'
	keys Enter
	wait_view 'peek: spin_alpha' && wait_view '^ caller .* run ' && wait_view '^ --> .* spin_alpha' || return 1
	keys Up Enter           # onto the caller, and go there
	wait_view 'peek: run' && wait_view '^ callee .* spin_alpha' && wait_view '^ callee .* spin_beta' &&
		wait_view '^ caller .* start_thread' || return 1
	keys Escape
	wait_view 'peek: spin_alpha' || return 1
	keys Escape
	wait_view_gone 'peek:' && wait_view '^ +flat +flat%' || return 1
}

test_flame_zoom_and_search() {
	start_ui 120 40 || return 1
	spinners_in_top || return 1
	keys 3
	wait_view 'spin_beta' || return 1
	search 'spin_'
	wait_screen 'search /spin_' || return 1
	# the cursor is on a match: the info line names it
	wait_view '^spin_(alpha|beta|late) +\[threads\]' || return 1
	local first next
	first=$(view_rows | grep -oE '^spin_[a-z]+ +\[threads\]' | awk '{print $1}')
	# the other matches are highlighted (search colour, yellow)
	local hl
	hl=$(screen_e | grep -aoE $'33m(\x1b\\[[0-9;]*m)*spin_[a-z]+' | wc -l)
	[ "$hl" -ge 1 ] || { fail "no highlighted search matches in the flame graph"; return 1; }
	keys n
	wait_view "^spin_(alpha|beta|late) +\\[threads\\]" || return 1
	next=$(view_rows | grep -oE '^spin_[a-z]+ +\[threads\]' | awk '{print $1}')
	[ "$first" != "$next" ] || { fail "n did not move to the next match ($first)"; show_screen; return 1; }
	keys Enter
	wait_view "zoom: $next " || return 1
	local other
	for other in spin_alpha spin_beta spin_late; do
		[ "$other" = "$next" ] && continue
		wait_view_gone "$other" 4 || return 1
	done
	keys Escape
	wait_view 'zoom: all' && wait_view 'spin_alpha' && wait_view 'spin_beta' || return 1
}

test_top_search_highlights() {
	start_ui 120 40 || return 1
	spinners_in_top || return 1
	search 'spin_'
	wait_screen 'search /spin_' || return 1
	local hl
	hl=$(screen_e | grep -aoE $'33m(\x1b\\[[0-9;]*m)*spin_[a-z]+' | wc -l)
	[ "$hl" -ge 1 ] || { fail "search matches not highlighted in Top"; show_screen; return 1; }
	search 'no_such_function_xyz'
	wait_screen 'no match for /no_such_function_xyz' || return 1
}

test_filters() {
	start_ui 120 40 || return 1
	spinners_in_top || return 1
	search '^spin_beta$'
	keys f
	wait_screen 'filters: focus=spin_beta' && wait_view_gone ' spin_alpha ' && wait_view ' spin_beta ' || return 1
	keys F
	wait_screen 'filters: none' && wait_view ' spin_alpha ' || return 1
	search '^spin_alpha$'
	keys i
	wait_screen 'filters: ignore=spin_alpha' && wait_view_gone ' spin_alpha ' && wait_view ' spin_beta ' || return 1
	keys F
	wait_view ' spin_alpha ' || return 1
	search '^run$'
	keys h
	wait_screen 'filters: hide=run' && wait_view_gone '% run ' && wait_view ' spin_alpha ' || return 1
	keys F
	wait_view '% run ' || return 1
}

test_thread_restriction() {
	start_ui 120 40 || return 1
	spinners_in_top || return 1
	keys 4
	wait_view ' beta ' || return 1
	search '^alpha$'
	keys Enter
	wait_screen 'filters: thread=[0-9]+\(alpha\)' || return 1
	keys 1
	wait_view ' spin_alpha ' && wait_view_gone ' spin_beta ' || return 1
	keys 4 Escape
	wait_screen 'filters: none' || return 1
	keys 1
	wait_view ' spin_beta ' || return 1
}

test_pause_resume() {
	start_ui 120 40 || return 1
	spinners_in_top || return 1
	keys p
	wait_screen '\[PAUSED\]' || return 1
	local before after s1 s2
	before=$(view_rows | grep ' spin_alpha ')
	s1=$(header_samples)
	sleep 2.5      # the display must NOT change while sampling goes on
	after=$(view_rows | grep ' spin_alpha ')
	s2=$(header_samples)
	[ "$before" = "$after" ] || { fail "paused display changed: '$before' -> '$after'"; return 1; }
	[ "$s2" -gt "$s1" ] || { fail "sampling stopped while paused ($s1 -> $s2)"; return 1; }
	keys p
	wait_gone '\[PAUSED\]' || return 1
	local i
	for i in $(seq 80); do
		[ "$(view_rows | grep ' spin_alpha ')" != "$before" ] && return 0
		sleep 0.1
	done
	fail "display did not move after resume"
}

test_reset() {
	start_ui 120 40 || return 1
	spinners_in_top || return 1
	local i s1=0 s2
	for i in $(seq 100); do s1=$(header_samples); [ "${s1:-0}" -ge 40 ] && break; sleep 0.1; done
	[ "$s1" -ge 40 ] || { fail "not enough samples to test reset ($s1)"; return 1; }
	keys r
	wait_screen 'counts reset' || return 1
	for i in $(seq 30); do
		s2=$(header_samples)
		[ "$s2" -lt "$s1" ] && return 0
		sleep 0.1
	done
	fail "samples did not drop after r: $s1 -> $s2"
}

test_snapshot() {
	start_ui 120 40 || return 1
	spinners_in_top || return 1
	keys 5
	wait_view 'thread stack groups: [1-9]' 10 || return 1   # the scanner has data
	keys s
	wait_screen 'saved ctop-prof-[0-9]+-[0-9]{8}-[0-9]{6}\.pb\.gz, ctop-prof-[0-9]+-[0-9]{8}-[0-9]{6}-threads\.pb\.gz' || return 1
	local cpu thr
	cpu=$(ls "$W"/ctop-prof-"$TARGET"-*[0-9].pb.gz | head -1)
	thr=$(ls "$W"/ctop-prof-"$TARGET"-*-threads.pb.gz | head -1)
	[ -s "$cpu" ] && [ -s "$thr" ] || { fail "snapshot files missing: $(ls "$W")"; return 1; }
	local out
	out=$(pprof_top "$cpu") || { fail "go tool pprof rejects $cpu: $out"; return 1; }
	echo "$out" | grep -q 'spin_alpha' || { fail "snapshot lacks spin_alpha: $out"; return 1; }
	out=$(pprof_top "$thr") || { fail "go tool pprof rejects $thr: $out"; return 1; }
	# never overwrite: a second snapshot gets another name
	keys s
	local i n=0
	for i in $(seq 50); do
		n=$(ls "$W" | grep -cE '^ctop-prof-[0-9]+-[0-9]{8}-[0-9]{6}(-[0-9]+)?\.pb\.gz$')
		[ "$n" -ge 2 ] && break
		sleep 0.1
	done
	[ "$n" -ge 2 ] || { fail "second snapshot did not create a new file: $(ls "$W")"; return 1; }
}

test_help() {
	start_ui 120 40 || return 1
	spinners_in_top || return 1
	keys '?'
	wait_screen 'ctop-prof help' || return 1
	local k
	for k in '1 \.\. 6, Tab' 'Up Down j k' 'PgUp PgDn g G' 'Enter +drill down' 'Esc Backspace' \
		 '/  n  N' '^ +f +focus' '^ +i +ignore' '^ +h +hide' '^ +F +clear' '^ +w +time window' \
		 '<  > +sort' '^ +I +invert' '^ +t +Leaks' 'p  space +pause' '^ +r +reset' \
		 '^ +s +save a snapshot' '^ +q +quit'; do
		screen | grep -Eq -- "$k" || { fail "help lacks /$k/"; show_screen; return 1; }
	done
	keys x
	wait_gone 'ctop-prof help' && wait_view ' spin_alpha ' || return 1
}

test_window_sort_invert() {
	start_ui 120 40 || return 1
	spinners_in_top || return 1
	keys w
	wait_screen 'window: last 10s' || return 1
	keys w
	wait_screen 'window: last 60s' || return 1
	keys w
	wait_screen 'window: since start' || return 1
	keys '<'
	wait_screen 'sorted by name' || return 1
	keys '>' '>'
	wait_screen 'sorted by flat%' || return 1
	keys I
	wait_view 'inverted' && wait_view '^ +[0-9.]+% +[0-9.]+k? +[0-9.]+k? +(▾|▸|-|\+) spin_alpha' || return 1
}

test_resize() {
	start_ui 120 40 || return 1
	spinners_in_top || return 1
	TM resize-window -t ui -x 100 -y 30
	wait_screen '^ +flat +flat% .*file:line' || return 1
	local w
	w=$(screen | awk '{ if (length($0) > m) m = length($0) } END { print m }')
	[ "$w" -le 100 ] || { fail "lines wider than the terminal after resize: $w"; return 1; }
	TM resize-window -t ui -x 70 -y 20
	wait_screen 'terminal too small \(70x20\); need 80x24' || return 1
	TM resize-window -t ui -x 80 -y 24
	ROWS=24
	wait_gone 'too small' && wait_view ' spin_alpha ' || return 1
	keys q
	expect_restored
}

test_quit_restores_terminal() {
	start_ui 120 40 || return 1
	spinners_in_top || return 1
	keys q
	expect_restored && target_ok
}

test_sigterm_restores_terminal() {
	start_ui 120 40 || return 1
	spinners_in_top || return 1
	local p
	p=$(ui_pid)
	[ -n "$p" ] || { fail "cannot find the ctop-prof process"; return 1; }
	kill -TERM "$p"
	expect_restored && target_ok
}

test_go_leaks() {
	# goleak: 3 goroutines parked in fixedWaiter, one leaked in
	# leakyReceiver every 200 ms; scans every 0.5 s
	WL_CMD=("$WLBIN/goleak" 400 200 3)
	start_ui 120 40 -- --scan-interval 0.5 || return 1
	wait_screen 'goroutines [0-9]+, go1\.[0-9]+' 10 || return 1
	keys 5
	wait_view 'goroutine stack groups' 10 || return 1
	# the growing group is marked and sorted first
	wait_view '^LEAK +[0-9]+ +\+[0-9]+ .* main\.leakyReceiver' 15 || return 1
	view_rows | sed -n 3p | grep -q 'main\.leakyReceiver' ||
		{ fail "the leak is not the first row"; show_screen; return 1; }
	wait_view 'chan receive +main\.fixedWaiter' || return 1
	keys Enter
	wait_view 'goroutines: count [0-9]+' && wait_view 'main\.leakyReceiver  .*main\.go:[0-9]+' || return 1
	keys Escape t
	wait_view 'thread stack groups' || return 1
	keys t
	wait_view 'goroutine stack groups' || return 1
}

test_crash_restores_terminal() {
	start_ui 120 40 || return 1
	spinners_in_top || return 1
	local p
	p=$(ui_pid)
	[ -n "$p" ] || { fail "cannot find the ctop-prof process"; return 1; }
	# a crash (as if): the handler restores the terminal, then the default
	# action ends the process with the signal
	kill -SEGV "$p"
	wait_screen '^EXITED 139$' 8 && wait_screen '^icanon$' 4 || return 1
	target_ok
}

test_duration_freezes_view() {
	start_ui 120 40 -- -d 2 || return 1
	spinners_in_top || return 1
	wait_screen 'sampling stopped after -d 2s' 10 && wait_screen '\[STOPPED\]' || return 1
	local s1 s2
	s1=$(header_samples)
	sleep 1.5     # nothing may move any more
	s2=$(header_samples)
	[ "$s1" = "$s2" ] || { fail "samples still grow after -d: $s1 -> $s2"; return 1; }
	keys 3
	wait_view 'spin_alpha' || return 1
	keys q
	expect_restored && target_ok
}

test_terminal_gone() {
	start_ui 120 40 || return 1
	spinners_in_top || return 1
	local p i
	p=$(ui_pid)
	TM kill-server
	for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$p" 2>/dev/null && { fail "ctop-prof still runs after its terminal went away"; return 1; }
	target_ok
}

test_target_exit_keeps_data() {
	start_ui 120 40 || return 1
	spinners_in_top || return 1
	kill -9 "$TARGET"
	wait_screen 'target exited' && wait_screen '\[EXITED\]' || return 1
	keys 3
	wait_view 'spin_alpha' || return 1       # the data is kept and browsable
	keys q
	expect_restored
}

test_main_flow_80x24() {
	start_ui 80 24 || return 1
	spinners_in_top || return 1
	view_rows | grep -Eq 'function +module +file:line' || { fail "Top columns at 80x24"; show_screen; return 1; }
	keys 3
	wait_view 'spin_alpha' && wait_view 'spin_beta' || return 1
	keys 4
	wait_view ' alpha ' && wait_view ' beta ' || return 1
	keys 5
	wait_view 'stack groups' || return 1
	keys 2
	wait_view 'spin_alpha' || return 1
	keys 6
	wait_view 'Source: ' || return 1
	keys 1
	search '^spin_alpha$'
	keys Enter
	wait_view 'peek: spin_alpha' || return 1
	keys '?'
	wait_screen 'ctop-prof help' && wait_screen '^ +q +quit' || return 1
	keys Escape q
	expect_restored
}

test_lang_c_ascii() {
	# plain ASCII and, through NO_COLOR, monochrome: the flame graph must
	# stay readable with boxes told apart by reverse video alone
	start_ui 120 40 LANG=C LC_ALL=C NO_COLOR=1 || return 1
	spinners_in_top || return 1
	keys 3
	wait_view 'spin_alpha' && wait_view 'spin_beta' && wait_view '^run' || return 1
	keys 2
	wait_view '^ +[0-9.]+% .* [-+] (run|start_thread|__clone3)' || return 1
	keys 5
	wait_view 'thread stack groups: [1-9]' 10 || return 1
	local v marks=('' 'flat%' 'cum% +cum +self' 'Flame graph' 'HOTTEST FUNCTION' 'stack groups')
	for v in 1 2 3 4 5; do
		keys "$v"
		wait_view "${marks[$v]}" || return 1
		if screen | LC_ALL=C grep -q '[^ -~]'; then
			fail "non-ASCII on screen in view $v with LANG=C"
			show_screen
			return 1
		fi
	done
	if screen_e | grep -aqE $'\x1b\\[[0-9;]*(3[0-7]|4[0-7])m'; then
		fail "colours used with NO_COLOR set"
		return 1
	fi
}

test_no_color() {
	start_ui 120 40 -- --no-color || return 1
	spinners_in_top || return 1
	keys 3
	wait_view 'spin_alpha' || return 1
	if screen_e | grep -aqE $'\x1b\\[[0-9;]*(3[0-7]|4[0-7])m'; then
		fail "colours used with --no-color"
		return 1
	fi
}
run_tests
