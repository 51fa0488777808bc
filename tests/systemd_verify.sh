#!/bin/sh
# systemd units: "systemd-analyze verify" on pingbackd.service (as built,
# with the configured paths) and pingbackd.socket must pass without a
# single diagnostic, and "systemd-analyze security --offline=yes" must
# rate the service's sandbox at most $MAX_EXPOSURE (the score is printed).
# TAP.  Needs no running systemd: verify and --offline only read files.
#
# Environment (exported by make check): SYSTEMD_ANALYZE (empty: skip),
# PINGBACKD, PBD_SRCDIR, PBD_BUILDDIR.

MAX_EXPOSURE=2.0

if [ -z "$SYSTEMD_ANALYZE" ] || [ ! -x "$SYSTEMD_ANALYZE" ]; then
	echo "1..0 # SKIP systemd-analyze not found at configure time"
	exit 0
fi
service="${PBD_BUILDDIR:-.}/systemd/pingbackd.service"
socket="${PBD_SRCDIR:-.}/systemd/pingbackd.socket"
if [ ! -f "$service" ] || [ ! -f "$socket" ]; then
	echo "1..0 # SKIP $service or $socket not there (run make first)"
	exit 0
fi
if [ -z "$PINGBACKD" ] || [ ! -x "$PINGBACKD" ]; then
	echo "1..0 # SKIP daemon binary '$PINGBACKD' not built"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pbd-units.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
n=0
failed=0

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}

not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
}

diag() {
	sed 's/^/# /' "$@"
}

# verify checks that ExecStart's binary exists: point both commands at
# the binary just built.  Everything else stays as it will be installed.
sed -e "s|^\(ExecStart[A-Za-z]*=\)[^ ]*/pingbackd |\1$PINGBACKD |" \
    "$service" > "$tmp/pingbackd.service"
cp "$socket" "$tmp/pingbackd.socket"
if grep -q "^ExecStart=$PINGBACKD " "$tmp/pingbackd.service" &&
    grep -q "^ExecStartPre=$PINGBACKD " "$tmp/pingbackd.service"; then
	ok "service copy: ExecStart= and ExecStartPre= run the built pingbackd"
else
	not_ok "service copy: ExecStart= and ExecStartPre= run the built pingbackd"
	grep '^Exec' "$service" | diag
fi

# Every unit-file problem is only a warning to verify, with status 0:
# any output at all counts as a failure.  --man=no: the man pages of
# Documentation= are not installed in a build tree.
for unit in pingbackd.service pingbackd.socket; do
	(cd "$tmp" && "$SYSTEMD_ANALYZE" verify --man=no "$tmp/$unit") \
	    > "$tmp/out" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && [ ! -s "$tmp/out" ]; then
		ok "systemd-analyze verify $unit: clean"
	else
		not_ok "systemd-analyze verify $unit: clean (status $rc)"
		diag "$tmp/out"
	fi
done

# Both at once, as systemctl would load them: the socket's service.
(cd "$tmp" && "$SYSTEMD_ANALYZE" verify --man=no "$tmp/pingbackd.socket" \
    "$tmp/pingbackd.service") > "$tmp/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ ! -s "$tmp/out" ]; then
	ok "systemd-analyze verify pingbackd.socket pingbackd.service together"
else
	not_ok "systemd-analyze verify socket and service together (status $rc)"
	diag "$tmp/out"
fi

# Control: verify does notice a broken unit here (else "clean" above
# would prove nothing).
mkdir "$tmp/bad"
sed -e 's/^Type=notify$/Type=notify-sometimes/' \
    -e 's|^ExecStart=[^ ]*|ExecStart=/nonexistent/pingbackd|' \
    "$tmp/pingbackd.service" > "$tmp/bad/pingbackd.service"
(cd "$tmp/bad" && "$SYSTEMD_ANALYZE" verify --man=no \
    "$tmp/bad/pingbackd.service") > "$tmp/out" 2>&1
rc=$?
if [ $rc -ne 0 ] && grep -q "notify-sometimes" "$tmp/out" &&
    grep -q "/nonexistent/pingbackd" "$tmp/out"; then
	ok "control: verify reports a bad Type= and a missing ExecStart binary"
else
	not_ok "control: verify reports a bad Type= and a missing binary"
	diag "$tmp/out"
fi

# The sandbox must stay what doc/SYSTEMD.md says; print the score.
"$SYSTEMD_ANALYZE" security --offline=yes --no-pager \
    "$tmp/pingbackd.service" > "$tmp/sec" 2>&1
rc=$?
if grep -q "Overall exposure level" "$tmp/sec"; then
	score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' \
	    "$tmp/sec")
	echo "# systemd-analyze security pingbackd.service: exposure $score"
	grep -E ' [0-9]+\.[0-9]+$' "$tmp/sec" | sed 's/  */ /g' | diag
	if awk -v s="$score" -v m="$MAX_EXPOSURE" \
	    'BEGIN { exit !(s != "" && s + 0 <= m + 0) }'; then
		ok "security exposure $score <= $MAX_EXPOSURE"
	else
		not_ok "security exposure $score <= $MAX_EXPOSURE"
	fi
elif grep -qi "offline" "$tmp/sec"; then
	n=$((n + 1))
	echo "ok $n - security exposure # SKIP systemd-analyze security" \
	    "has no --offline (status $rc)"
	diag "$tmp/sec"
else
	not_ok "systemd-analyze security --offline=yes ran (status $rc)"
	diag "$tmp/sec"
fi

echo "1..$n"
[ $failed -eq 0 ]
