#!/bin/sh
# Lint the generated man pages with mandoc; any warning fails (TAP).
# The Makefile exports MANDOC and PBD_BUILDDIR and runs this only when
# mandoc is installed.

: "${MANDOC:=mandoc}"
: "${PBD_BUILDDIR:=.}"

echo "1..2"
n=0
for page in doc/pingbackd.8 doc/pingbackd.conf.5; do
	n=$((n + 1))
	file="$PBD_BUILDDIR/$page"
	if [ ! -f "$file" ]; then
		echo "not ok $n - $page: $file does not exist"
		continue
	fi
	out=$("$MANDOC" -Tlint -W warning "$file" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && [ -z "$out" ]; then
		echo "ok $n - $page: mandoc -Tlint -W warning"
	else
		echo "not ok $n - $page: mandoc -Tlint -W warning (exit $rc)"
		printf '%s\n' "$out" | sed 's/^/# /'
	fi
done
