#!/bin/sh
# Run each libFuzzer harness of a --enable-fuzzing build for a bounded
# time, on a copy of its seed corpus in a temporary directory (the
# source tree stays clean).  Prints one summary line per harness and
# exits non-zero on any crash, leak, timeout, out-of-memory or
# sanitizer report; the failing inputs and logs are then kept.
#
# usage: tests/fuzz/run.sh BUILDDIR [SECONDS]
#	SECONDS		per harness (-max_total_time), default 60
# Environment:
#	FUZZ_HARNESSES	names to run (default: xmlrpc verify url config)
#	FUZZ_FLAGS	more libFuzzer flags, e.g. "-max_len=16384"
#	FUZZ_KEEP=1	keep the work directory (grown corpora) even on success
#	PBD_FUZZ_LOG=1	let the harnesses log to stderr
set -u

usage() {
	echo "usage: $0 BUILDDIR [SECONDS]" >&2
	exit 2
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	usage
fi
builddir=$1
secs=${2:-60}
case $secs in
''|*[!0-9]*) usage ;;
esac
[ "$secs" -gt 0 ] || usage
[ -d "$builddir" ] || { echo "$0: $builddir: no such directory" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd) || exit 2
builddir=$(cd "$builddir" && pwd) || exit 2

work=$(mktemp -d "${TMPDIR:-/tmp}/pbd-fuzz.XXXXXX") || exit 2
failed=0
# shellcheck disable=SC2317
cleanup() {
	if [ "$failed" -eq 0 ] && [ -z "${FUZZ_KEEP:-}" ]; then
		rm -rf "$work"
	else
		echo "fuzz: work directory kept: $work" >&2
	fi
}
trap cleanup EXIT
trap 'failed=1; exit 130' INT TERM

# What a sanitizer or libFuzzer prints when it finds something.
reports_re='ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:'
reports_re="$reports_re|^SUMMARY: "

# Sanitizer defaults; the caller's options come after and win.
asan="detect_leaks=1:${ASAN_OPTIONS:-}"
ubsan="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"

# Pull "key: N" out of a libFuzzer status line.
field() {
	sed -n "s/.* $1: \\([0-9][0-9]*\\).*/\\1/p"
}

# run NAME: fuzz one harness; return 0 if nothing was found.
run() {
	name=$1
	bin=$builddir/tests/fuzz/fuzz_$name
	dir=$work/$name
	if [ ! -x "$bin" ]; then
		echo "fuzz_$name: FAILED: $bin not built (configure" \
		    "CC=clang --enable-fuzzing, then make fuzz)"
		return 1
	fi
	mkdir -p "$dir/corpus" "$dir/tmp" || return 1
	if [ -d "$here/corpus/$name" ]; then
		cp "$here/corpus/$name"/* "$dir/corpus/" 2>/dev/null
		chmod -R u+w "$dir/corpus"
	fi
	seeds=$(find "$dir/corpus" -type f | wc -l)
	dict=
	[ -f "$here/$name.dict" ] && dict=-dict=$here/$name.dict
	# In $dir, so that whatever libFuzzer writes stays out of the tree.
	# shellcheck disable=SC2086
	(cd "$dir" && export TMPDIR="$dir/tmp" ASAN_OPTIONS="$asan" \
	    UBSAN_OPTIONS="$ubsan" && exec "$bin" -max_total_time="$secs" \
	    -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
	    -artifact_prefix="$dir/" $dict ${FUZZ_FLAGS:-} "$dir/corpus") \
	    >"$dir/log" 2>&1
	rc=$?
	artifacts=$(find "$dir" -maxdepth 1 -type f \( -name 'crash-*' -o \
	    -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' -o \
	    -name 'slow-unit-*' \) | tr '\n' ' ')
	reports=$(grep -a -c -E "$reports_re" "$dir/log")
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" |
	    tail -n 1)
	last=$(grep -a -E '^#[0-9]+' "$dir/log" | tail -n 1)
	cov=$(printf '%s\n' "$last" | field cov)
	ft=$(printf '%s\n' "$last" | field ft)
	rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$dir/log" | tail -n 1)
	inputs=$(find "$dir/corpus" -type f | wc -l)
	if [ "$rc" -ne 0 ] || [ "$reports" -ne 0 ] || [ -n "$artifacts" ]; then
		echo "fuzz_$name: FAILED (exit $rc, $reports sanitizer or" \
		    "libFuzzer reports) after ${runs:-?} runs;" \
		    "inputs: ${artifacts:-none}; log: $dir/log"
		# The report, without libFuzzer's progress lines.
		grep -a -v -E '^(#[0-9]+[[:space:]]|INFO: )' "$dir/log" |
		    head -n 60 >&2
		return 1
	fi
	echo "fuzz_$name: ok: ${runs:-?} runs in $secs s," \
	    "cov ${cov:-?}, ft ${ft:-?}, corpus $seeds -> $inputs," \
	    "peak rss ${rss:-?} MB"
	return 0
}

for name in ${FUZZ_HARNESSES:-xmlrpc verify url config}; do
	name=${name#fuzz_}
	run "$name" || failed=1
done
exit "$failed"
