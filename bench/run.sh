#!/bin/sh
# make bench: install what the benchmarks need (Debian packages, only
# those missing), raise the descriptor limit for 10,000 pingbacks in
# flight, and run every scenario (bench/bench.py run) in a scratch
# directory that is removed at exit.
#	make bench [BENCH_SECONDS=10] [BENCH_ROUNDS=3] [BENCH_SMOKE=1]
set -eu

here=$(cd "$(dirname "$0")" && pwd)
: "${PYTHON3:=python3}"

# bench_install PACKAGE...: apt-get install the ones not installed.
bench_install() {
	missing=
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		    grep -q '^install ok installed$' || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "bench: installing:$missing" >&2
	if [ "$(id -u)" = 0 ]; then
		sudo=
	elif command -v sudo >/dev/null 2>&1; then
		sudo=sudo
	else
		echo "bench: as root, run: apt-get install$missing" >&2
		exit 1
	fi
	$sudo apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
	    --no-install-recommends $missing >/dev/null
}

# Every in-flight pingback holds two descriptors (client, source).
bench_nofile() {
	ulimit -Hn 65536 2>/dev/null || :
	ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || :
}

case ${1:-run} in
install)
	shift
	bench_install "$@"
	exit 0
	;;
esac

bench_install wrk python3
bench_nofile
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pbd-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
"$PYTHON3" "$here/bench.py" run --tmp "$tmp"
