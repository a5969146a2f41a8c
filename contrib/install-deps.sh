#!/bin/sh
# Installs what ctop-prof needs to build and test, if it is missing.
# Idempotent. As root it runs apt-get; otherwise it prints the exact command.
set -u
PKGS="gcc g++ make pkg-config libdw-dev libelf-dev libncurses-dev zlib1g-dev
libcmocka-dev golang-go tmux linux-perf elfutils binutils nodejs procps strace gdb"
# make fuzz also needs clang's libFuzzer and sanitizer runtimes.
[ "${FUZZ:-0}" = 1 ] && PKGS="clang-14 libclang-rt-14-dev"
missing=""
for p in $PKGS; do
	if [ "$p" = nodejs ] && command -v node >/dev/null 2>&1; then continue; fi
	if [ "$p" = linux-perf ] && command -v perf >/dev/null 2>&1; then continue; fi
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
	echo "install-deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || exit 1
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null || exit 1
else
	echo "install-deps: missing packages:$missing" >&2
	echo "install-deps: run: sudo apt-get install -y$missing" >&2
	exit 1
fi
