#!/bin/sh
# make bench-wordpress: pingbackd side by side with WordPress 6.1
# (Debian's package), same load, same source server, same run.
#
# Installs what is missing (wordpress, mariadb-server, nginx, php-fpm),
# then sets up a throwaway WordPress in a scratch directory: MariaDB on
# a unix socket in a datadir of its own (started by hand, no network),
# php-fpm with a static pool, nginx on a free loopback port, the
# wp-config through Debian's /etc/wordpress/config-<name>.php mechanism
# (the one file outside the scratch directory, removed at exit), a
# published post with pings open, and a must-use plugin that lets
# WordPress fetch sources on loopback (WordPress refuses them by
# default, as pingbackd does without fetch.allow_networks).  Then
# bench.py wordpress runs the fault path and the verified path against
# both, A B A B, and prints both ratios.  Takes a few minutes.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
: "${PYTHON3:=python3}"
: "${BENCH_WP_WORKERS:=8}"	# php-fpm children: 4 per core
name=pbdbench$$
wpconf=/etc/wordpress/config-$name.php

sh "$here/run.sh" install wrk python3 curl wordpress php-fpm php-mysql php-xml \
    mariadb-server nginx-light
phpfpm=$(ls /usr/sbin/php-fpm* 2>/dev/null | head -n 1)
[ -n "$phpfpm" ] || { echo "bench: no php-fpm binary" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pbd-wp.XXXXXX")
chmod 755 "$tmp"
pids=
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null || :
	done
	for p in $pids; do
		for i in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.5
		done
		kill -9 "$p" 2>/dev/null || :
	done
	rm -f "$wpconf"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	"$PYTHON3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for WHAT COMMAND...: retry COMMAND for up to 30 s.
wait_for() {
	what=$1
	shift
	i=0
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 300 ]; then
			echo "bench: $what did not come up" >&2
			tail -n 20 "$tmp"/*.log >&2 || :
			exit 1
		fi
		sleep 0.1
	done
}

echo "bench: MariaDB in $tmp/db" >&2
mariadb-install-db --no-defaults --datadir="$tmp/db" --user=root \
    --auth-root-authentication-method=socket --skip-test-db \
    >"$tmp/install-db.log" 2>&1
mariadbd --no-defaults --datadir="$tmp/db" --socket="$tmp/mysql.sock" \
    --pid-file="$tmp/mysqld.pid" --skip-networking --user=root \
    --innodb-buffer-pool-size=128M --log-error="$tmp/mysqld.log" &
pids="$pids $!"
db_pid=$!
wait_for MariaDB mariadb --no-defaults --socket="$tmp/mysql.sock" -uroot \
    -e 'SELECT 1'
mariadb --no-defaults --socket="$tmp/mysql.sock" -uroot <<'SQL'
CREATE DATABASE wordpress;
CREATE USER 'wordpress'@'localhost' IDENTIFIED BY 'bench';
GRANT ALL ON wordpress.* TO 'wordpress'@'localhost';
SQL

port=$(free_port)
site=http://127.0.0.1:$port
mkdir -p "$tmp/wp-content/mu-plugins" "$tmp/wp-content/uploads"
cat >"$wpconf" <<EOF
<?php
/* Throwaway WordPress of pingbackd's make bench-wordpress. */
define('DB_NAME', 'wordpress');
define('DB_USER', 'wordpress');
define('DB_PASSWORD', 'bench');
define('DB_HOST', 'localhost:$tmp/mysql.sock');
define('WP_CONTENT_DIR', '$tmp/wp-content');
define('WP_HOME', '$site');
define('WP_SITEURL', '$site');
define('DISABLE_WP_CRON', true);
define('WP_HTTP_BLOCK_EXTERNAL', false);
EOF
# Sources live on loopback, on bench/origin's port; and all pingbacks
# come from one address, which WordPress's comment-flood check (one
# comment per 15 s per address) would refuse with fault 429: pingbackd
# runs with its per-client limits off too.
cat >"$tmp/wp-content/mu-plugins/pbdbench.php" <<'EOF'
<?php
add_filter('comment_flood_filter', '__return_false', 99);
add_filter('http_request_host_is_external', '__return_true');
add_filter('http_allowed_safe_ports', function ($ports, $host, $url) {
	$p = wp_parse_url($url, PHP_URL_PORT);
	return $p ? array_merge($ports, array($p)) : $ports;
}, 10, 3);
EOF

cat >"$tmp/php-fpm.conf" <<EOF
[global]
pid = $tmp/php-fpm.pid
error_log = $tmp/php-fpm.log
daemonize = no
[$name]
user = root
group = root
listen = $tmp/php-fpm.sock
listen.mode = 0666
pm = static
pm.max_children = $BENCH_WP_WORKERS
env[WORDPRESS_CONFIG] = $name
EOF
"$phpfpm" -R -y "$tmp/php-fpm.conf" >"$tmp/php-fpm.out" 2>&1 &
pids="$pids $!"
fpm_pid=$!
wait_for php-fpm test -S "$tmp/php-fpm.sock"

cat >"$tmp/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx.log;
daemon off;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $tmp/nginx-body;
	fastcgi_temp_path $tmp/nginx-fastcgi;
	proxy_temp_path $tmp/nginx-proxy;
	uwsgi_temp_path $tmp/nginx-uwsgi;
	scgi_temp_path $tmp/nginx-scgi;
	server {
		listen 127.0.0.1:$port;
		root /usr/share/wordpress;
		index index.php;
		location ~ \.php\$ {
			include /etc/nginx/fastcgi_params;
			fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
			fastcgi_param WORDPRESS_CONFIG $name;
			fastcgi_pass unix:$tmp/php-fpm.sock;
		}
	}
}
EOF
nginx -c "$tmp/nginx.conf" -p "$tmp" &
pids="$pids $!"
ngx_pid=$!
wait_for nginx curl -sf -o /dev/null "$site/readme.html"

echo "bench: installing WordPress at $site" >&2
cat >"$tmp/install.php" <<'EOF'
<?php
$_SERVER['HTTP_HOST'] = $argv[1];
define('WP_INSTALLING', true);
require '/usr/share/wordpress/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
wp_install('pingbackd bench', 'admin', 'admin@example.invalid', false, '',
    wp_generate_password(24));
update_option('default_ping_status', 'open');
update_option('default_pingback_flag', '1');
update_option('comment_moderation', '0');
$id = wp_insert_post(array('post_title' => 'A post worth linking',
    'post_content' => 'Ping me.', 'post_status' => 'publish',
    'ping_status' => 'open', 'comment_status' => 'open'));
echo get_permalink($id), "\n";
EOF
target=$(WORDPRESS_CONFIG=$name php -d display_errors=stderr \
    "$tmp/install.php" "127.0.0.1:$port" 2>"$tmp/install.log" | tail -n 1)
case $target in
http://*) ;;
*)	echo "bench: WordPress install failed:" >&2
	cat "$tmp/install.log" >&2
	exit 1 ;;
esac
echo "bench: target post $target" >&2

BENCH_WP_PIDS="$db_pid $fpm_pid $ngx_pid" "$PYTHON3" "$here/bench.py" \
    wordpress --tmp "$tmp/bench" --wp-url "$site/xmlrpc.php" \
    --wp-target "$target"
