#!/bin/sh
# The README's two commands.
#   ./dev.sh start   install what is missing, build, run pingbackd on
#                    127.0.0.1:8080 with a development config
#   ./dev.sh check   install what is missing, build, run the test suite
# BUILD (default: build) and CONFIGURE_FLAGS choose the build.
set -eu

top=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
cmd=${1:-start}

DEPS="build-essential autoconf automake pkg-config libevent-dev
libcurl4-openssl-dev libxml2-dev libxmlrpc-core-c3-dev libsqlite3-dev
libinih-dev libsystemd-dev libssl-dev check xmlrpc-api-utils python3 mandoc sqlite3
curl"

install_deps() {
	missing=
	for p in $DEPS; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		    grep -q '^install ok installed$' || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "dev.sh: installing:$missing"
	if [ "$(id -u)" = 0 ]; then
		sudo=
	elif command -v sudo >/dev/null 2>&1; then
		sudo=sudo
	else
		echo "dev.sh: as root, run: apt-get install$missing" >&2
		exit 1
	fi
	$sudo apt-get update -q
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q $missing
}

do_build() {
	cd "$top"
	[ -x configure ] && [ -f build-aux/tap-driver.sh ] || autoreconf -fi
	mkdir -p "$build"
	cd "$build"
	[ -f Makefile ] || "$top/configure" ${CONFIGURE_FLAGS:-}
	make -j"$(nproc)"
}

# A demo blog post and a page linking to it, served on 127.0.0.1:8081.
demo_site() {
	demo=$build/run/demo
	mkdir -p "$demo"
	post=http://127.0.0.1:8081/2012/social-media-manager.html
	src=http://127.0.0.1:8081/fachwissen.html
	mkdir -p "$demo/2012"
	sed -e "s|{{TARGET}}|$post|g" -e "s|{{SOURCE}}|$src|g" \
	    -e "s|{{XMLRPC}}|http://127.0.0.1:8080/xmlrpc|g" \
	    "$top/tests/data/target-de.html" > "$demo/2012/social-media-manager.html"
	sed -e "s|{{TARGET}}|$post|g" -e "s|{{SOURCE}}|$src|g" \
	    -e "s|{{XMLRPC}}|http://127.0.0.1:8080/xmlrpc|g" \
	    "$top/tests/data/source-de-utf8.html" > "$demo/fachwissen.html"
}

do_start() {
	mkdir -p "$build/run"
	sed -e "s|@BUILDDIR@|$build|g" "$top/conf/dev.conf.in" > "$build/run/dev.conf"
	demo_site
	python3 -m http.server 8081 --bind 127.0.0.1 --directory "$demo" \
	    >"$build/run/demo.log" 2>&1 &
	demo_pid=$!
	trap 'kill $demo_pid 2>/dev/null' EXIT INT TERM
	cat <<MSG

pingbackd is starting on http://127.0.0.1:8080/xmlrpc (Ctrl-C stops it).
A demo blog post and a page that links to it are served on 127.0.0.1:8081.
In another terminal, send the first pingback:

  python3 -c 'import xmlrpc.client as x; print(x.ServerProxy("http://127.0.0.1:8080/xmlrpc").pingback.ping("$src", "$post"))'

and look at the store:

  sqlite3 -line $build/run/mentions.sqlite 'SELECT * FROM mentions'

MSG
	"$build/src/pingbackd" -c "$build/run/dev.conf" || :
}

install_deps
do_build
case $cmd in
start)
	do_start
	;;
check)
	cd "$build"
	make -j"$(nproc)" check
	;;
*)
	echo "usage: dev.sh [start | check]" >&2
	exit 1
	;;
esac
