#!/bin/sh
# make bench-callgrind / make bench-baseline: the instruction-count
# guard.  pingbackd runs under valgrind --tool=callgrind, counting only
# inside event_base_loop; a deterministic client (bench/pbclient.py)
# sends fixed batches of fault-path and verified-path pingbacks one
# after the other; the Ir per request (the difference between a small
# and a large batch) is compared with bench/callgrind.baseline.
#	callgrind.sh check      exit 1 if either grew by more than 10%
#	callgrind.sh baseline   rewrite bench/callgrind.baseline
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${PYTHON3:=python3}"
action=${1:-check}
sh "$here/run.sh" install valgrind python3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pbd-callgrind.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
"$PYTHON3" "$here/bench.py" callgrind "$action" --tmp "$tmp" \
    ${BENCH_CG_REPEAT:+--repeat "$BENCH_CG_REPEAT"}
