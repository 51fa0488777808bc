/*
 * Unit tests for config.c and config_sink.c: defaults, a full file,
 * every error class with its exact "file:line: message" text, lists,
 * repeats, [sink.NAME] sections, the shipped example and development
 * configurations, and conf_target_allowed.
 */
#include "config.h"

#include <sys/socket.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pbd.h"
#include "sink.h"
#include "xmalloc.h"

static char	 tmp_path[4096];

/* Write text to a fresh temporary file; return its (static) path. */
static const char *
t_write(const char *text)
{
	const char	*dir;
	FILE		*fp;
	int		 fd;

	if ((dir = getenv("TMPDIR")) == NULL || *dir == '\0')
		dir = "/tmp";
	snprintf(tmp_path, sizeof(tmp_path), "%s/t_config.XXXXXX", dir);
	fd = mkstemp(tmp_path);
	ck_assert_int_ne(fd, -1);
	fp = fdopen(fd, "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(fputs(text, fp) >= 0, 1);
	ck_assert_int_eq(fclose(fp), 0);
	return (tmp_path);
}

/* Load text; it must fail.  Return the errors (caller frees). */
static char *
t_errors(const char *text)
{
	struct conf	*c;
	char		*errors = NULL;

	c = conf_load(t_write(text), &errors);
	unlink(tmp_path);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(errors);
	return (errors);
}

/* Load text; it must succeed. */
static struct conf *
t_load(const char *text)
{
	struct conf	*c;
	char		*errors = NULL;

	c = conf_load(t_write(text), &errors);
	unlink(tmp_path);
	ck_assert_msg(c != NULL, "unexpected errors: %s", errors);
	ck_assert_ptr_null(errors);
	return (c);
}

/* Return s with every "from" replaced by "to" (caller frees). */
static char *
t_subst(const char *s, const char *from, const char *to)
{
	const char	*at;
	char		*out;
	size_t		 len = 0, flen = strlen(from), tlen = strlen(to);

	out = xmalloc(strlen(s) * (tlen + 1) + 1);
	while ((at = strstr(s, from)) != NULL) {
		memcpy(out + len, s, at - s);
		len += at - s;
		memcpy(out + len, to, tlen);
		len += tlen;
		s = at + flen;
	}
	strcpy(out + len, s);
	return (out);
}

/* Loading text must fail with exactly expect ("%s" is the file name). */
static void
t_expect_raw(const char *text, const char *expect)
{
	char	*errors, *want;

	errors = t_errors(text);
	want = t_subst(expect, "%s", tmp_path);
	ck_assert_str_eq(errors, want);
	free(want);
	free(errors);
}

/* The same, after a valid [targets] section of two lines. */
static void
t_expect(const char *text, const char *expect)
{
	char	*full;

	xasprintf(&full, "[targets]\nallow = https://blog.example.com/\n%s",
	    text);
	t_expect_raw(full, expect);
	free(full);
}

/* The path of a file in a directory named by an environment variable. */
static char *
t_env_path(const char *var, const char *file)
{
	const char	*dir;
	char		*path;

	dir = getenv(var);
	ck_assert_msg(dir != NULL, "%s is not set", var);
	xasprintf(&path, "%s/%s", dir, file);
	return (path);
}

START_TEST(t_defaults)
{
	struct conf	*c;

	c = conf_default();
	ck_assert_uint_eq(c->nlisten, 1);
	ck_assert_str_eq(c->listen[0], "127.0.0.1:8080");
	ck_assert_str_eq(c->public_url, "http://127.0.0.1:8080");
	ck_assert_str_eq(c->xmlrpc_path, "/xmlrpc");
	ck_assert_uint_eq(c->max_body, 65536);
	ck_assert_uint_eq(c->nallow, 0);
	ck_assert_int_eq(c->require_existing, 0);
	ck_assert_int_eq(c->fetch_timeout, 10);
	ck_assert_uint_eq(c->fetch_max_bytes, 1048576);
	ck_assert_int_eq(c->fetch_max_redirects, 5);
	ck_assert_uint_eq(c->nallow_networks, 0);
	ck_assert_int_eq(c->fetch_max_concurrent, 256);
	ck_assert_int_eq(c->fetch_max_per_host, 4);
	ck_assert_str_eq(c->user_agent, "pingbackd/" PACKAGE_VERSION);
	ck_assert_str_eq(c->store_path, "/var/lib/pingbackd/mentions.sqlite");
	ck_assert_str_eq(c->default_status, "pending");
	ck_assert_double_eq(c->client_rate, 1.0);
	ck_assert_int_eq(c->client_burst, 20);
	ck_assert_int_eq(c->source_host_per_minute, 30);
	ck_assert_int_eq(c->fetch_cache_ttl, 600);
	ck_assert_uint_eq(c->fetch_cache_size, 10000);
	ck_assert_uint_eq(c->nblock_sources, 0);
	ck_assert_ptr_null(c->block_sources);
	ck_assert_uint_eq(c->nblock_targets, 0);
	ck_assert_ptr_null(c->block_targets);
	ck_assert_int_eq(c->log_level, LOG_INFO);
	ck_assert_int_eq(c->log_format, LOG_FORMAT_LOGFMT);
	conf_free(c);
	conf_free(NULL);
}
END_TEST

START_TEST(t_minimal)
{
	struct conf	*c;

	/* Only the required key: everything else is the default. */
	c = t_load("[targets]\nallow = https://blog.example.com\n");
	ck_assert_uint_eq(c->nlisten, 1);
	ck_assert_str_eq(c->listen[0], "127.0.0.1:8080");
	ck_assert_uint_eq(c->nallow, 1);
	ck_assert_str_eq(c->allow[0], "https://blog.example.com/");
	ck_assert_str_eq(c->default_status, "pending");
	ck_assert_ptr_nonnull(c->path);
	conf_free(c);
}
END_TEST

START_TEST(t_full)
{
	struct conf	*c;
	char		*path, *errors = NULL;

	path = t_env_path("PBD_TESTDATA", "conf/full.conf");
	c = conf_load(path, &errors);
	ck_assert_msg(c != NULL, "%s", errors);
	ck_assert_str_eq(c->path, path);
	ck_assert_uint_eq(c->nlisten, 3);
	ck_assert_str_eq(c->listen[0], "127.0.0.1:0");
	ck_assert_str_eq(c->listen[1], "[::1]:8081");
	ck_assert_str_eq(c->listen[2], "unix:/run/pingbackd/http.sock");
	ck_assert_str_eq(c->public_url, "https://pingback.example.com");
	ck_assert_str_eq(c->xmlrpc_path, "/rpc/pingback");
	ck_assert_uint_eq(c->max_body, 131072);
	ck_assert_uint_eq(c->nallow, 3);
	ck_assert_str_eq(c->allow[0], "https://blog.example.com/");
	ck_assert_str_eq(c->allow[1], "https://blog.example.org/posts/");
	ck_assert_str_eq(c->allow[2], "http://blog.example.com:8080/a");
	ck_assert_int_eq(c->require_existing, 1);
	ck_assert_int_eq(c->fetch_timeout, 30);
	ck_assert_uint_eq(c->fetch_max_bytes, 2097152);
	ck_assert_int_eq(c->fetch_max_redirects, 0);
	ck_assert_uint_eq(c->nallow_networks, 2);
	ck_assert_int_eq(c->allow_networks[0].family, AF_INET);
	ck_assert_int_eq(c->allow_networks[0].prefix, 8);
	ck_assert_int_eq(c->allow_networks[0].addr[0], 127);
	ck_assert_int_eq(c->allow_networks[1].family, AF_INET6);
	ck_assert_int_eq(c->allow_networks[1].prefix, 128);
	ck_assert_int_eq(c->allow_networks[1].addr[15], 1);
	ck_assert_int_eq(c->fetch_max_concurrent, 1000);
	ck_assert_int_eq(c->fetch_max_per_host, 2);
	ck_assert_str_eq(c->user_agent,
	    "pingbackd-test/1.0 (+https://blog.example.com/about)");
	ck_assert_str_eq(c->store_path, "/srv/pingbackd/mentions.sqlite");
	ck_assert_str_eq(c->default_status, "approved");
	ck_assert_double_eq(c->client_rate, 0.5);
	ck_assert_int_eq(c->client_burst, 0);
	ck_assert_int_eq(c->source_host_per_minute, 0);
	ck_assert_int_eq(c->fetch_cache_ttl, 86400);
	ck_assert_uint_eq(c->fetch_cache_size, 16);
	ck_assert_uint_eq(c->nblock_sources, 5);
	ck_assert_str_eq(c->block_sources[0], "spam.example");
	ck_assert_str_eq(c->block_sources[1], "example.net");
	ck_assert_str_eq(c->block_sources[2], "198.51.100.7");
	ck_assert_str_eq(c->block_sources[3], "[2001:db8::7]");
	ck_assert_str_eq(c->block_sources[4],
	    "https://hosting.example/~spammer/");
	ck_assert_uint_eq(c->nblock_targets, 2);
	ck_assert_str_eq(c->block_targets[0],
	    "https://blog.example.com/private/");
	ck_assert_str_eq(c->block_targets[1], "old.blog.example.com");
	ck_assert_int_eq(c->log_level, LOG_DEBUG);
	ck_assert_int_eq(c->log_format, LOG_FORMAT_JSON);
	ck_assert_uint_eq(c->nsinks, 2);
	ck_assert_str_eq(c->sinks[0].name, "blog-db");
	ck_assert_str_eq(c->sinks[0].type, "webhook");
	ck_assert_str_eq(c->sinks[0].url,
	    "https://comments.example.com/api/pingbacks?via=pingbackd");
	ck_assert_str_eq(c->sinks[0].secret,
	    "0123456789abcdef-not-a-real-secret");
	ck_assert_int_eq(c->sinks[0].max_age, 172800);
	ck_assert_int_eq(c->sinks[0].retry_base, 10);
	ck_assert_int_eq(c->sinks[0].retry_max, 600);
	ck_assert_int_eq(c->sinks[0].concurrency, 8);
	ck_assert_int_eq(c->sinks[0].timeout, 20);
	ck_assert_ptr_null(c->sinks[0].argv);
	ck_assert_str_eq(c->sinks[1].name, "archive_1");
	ck_assert_str_eq(c->sinks[1].type, "exec");
	ck_assert_uint_eq(c->sinks[1].argc, 2);
	ck_assert_str_eq(c->sinks[1].argv[0], "/bin/cat");
	ck_assert_str_eq(c->sinks[1].argv[1], "-u");
	ck_assert_ptr_null(c->sinks[1].argv[2]);
	ck_assert_ptr_null(c->sinks[1].url);
	ck_assert_int_eq(c->sinks[1].max_age, 86400);
	conf_free(c);
	free(path);
}
END_TEST

START_TEST(t_example)
{
	struct conf	*c, *d;
	char		*path, *errors = NULL;

	/* The installed example: loads cleanly, documents the defaults. */
	path = t_env_path("PBD_SRCDIR", "conf/pingbackd.conf");
	c = conf_load(path, &errors);
	ck_assert_msg(c != NULL, "%s", errors);
	d = conf_default();
	ck_assert_uint_eq(c->nlisten, 1);
	ck_assert_str_eq(c->listen[0], d->listen[0]);
	ck_assert_str_eq(c->public_url, d->public_url);
	ck_assert_str_eq(c->xmlrpc_path, d->xmlrpc_path);
	ck_assert_uint_eq(c->max_body, d->max_body);
	ck_assert_uint_eq(c->nallow, 1);
	ck_assert_str_eq(c->allow[0], "https://blog.example.com/");
	ck_assert_int_eq(c->require_existing, d->require_existing);
	ck_assert_int_eq(c->fetch_timeout, d->fetch_timeout);
	ck_assert_uint_eq(c->fetch_max_bytes, d->fetch_max_bytes);
	ck_assert_int_eq(c->fetch_max_redirects, d->fetch_max_redirects);
	ck_assert_uint_eq(c->nallow_networks, 0);
	ck_assert_int_eq(c->fetch_max_concurrent, d->fetch_max_concurrent);
	ck_assert_int_eq(c->fetch_max_per_host, d->fetch_max_per_host);
	ck_assert_str_eq(c->user_agent, d->user_agent);
	ck_assert_str_eq(c->store_path, d->store_path);
	ck_assert_str_eq(c->default_status, d->default_status);
	ck_assert_double_eq(c->client_rate, d->client_rate);
	ck_assert_int_eq(c->client_burst, d->client_burst);
	ck_assert_int_eq(c->source_host_per_minute,
	    d->source_host_per_minute);
	ck_assert_int_eq(c->fetch_cache_ttl, d->fetch_cache_ttl);
	ck_assert_uint_eq(c->fetch_cache_size, d->fetch_cache_size);
	ck_assert_uint_eq(c->nblock_sources, 0);
	ck_assert_uint_eq(c->nblock_targets, 0);
	ck_assert_int_eq(c->log_level, d->log_level);
	ck_assert_int_eq(c->log_format, d->log_format);
	ck_assert_uint_eq(c->nsinks, 0);	/* examples commented out */
	conf_free(d);
	conf_free(c);
	free(path);
}
END_TEST

/* Read a whole (small) file; caller frees. */
static char *
t_slurp(const char *path)
{
	FILE	*fp;
	char	*text;
	size_t	 n;

	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "cannot open %s", path);
	text = xcalloc(1, 65536);
	n = fread(text, 1, 65535, fp);
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_lt(n, 65535);
	fclose(fp);
	return (text);
}

START_TEST(t_dev)
{
	struct conf	*c;
	char		*path, *text, *out;

	/* conf/dev.conf.in, after dev.sh's @BUILDDIR@ substitution. */
	path = t_env_path("PBD_SRCDIR", "conf/dev.conf.in");
	text = t_slurp(path);
	out = t_subst(text, "@BUILDDIR@", "/tmp/build");
	ck_assert_ptr_null(strchr(out, '@'));
	c = t_load(out);
	ck_assert_uint_eq(c->nlisten, 1);
	ck_assert_str_eq(c->listen[0], "127.0.0.1:8080");
	ck_assert_str_eq(c->public_url, "http://127.0.0.1:8080");
	ck_assert_uint_eq(c->nallow, 1);
	ck_assert_str_eq(c->allow[0], "http://127.0.0.1:8081/");
	ck_assert_uint_eq(c->nallow_networks, 2);
	ck_assert_str_eq(c->store_path, "/tmp/build/run/mentions.sqlite");
	ck_assert_str_eq(c->default_status, "approved");
	ck_assert_int_eq(c->log_level, LOG_DEBUG);
	conf_free(c);
	free(out);
	free(text);
	free(path);
}
END_TEST

START_TEST(t_man_examples)
{
	struct conf	*c;
	char		*path, *text, *sub, *start, *end;
	int		 n = 0;

	/* The configurations in pingbackd.conf(5)'s EXAMPLES load. */
	path = t_env_path("PBD_SRCDIR", "doc/pingbackd.conf.5.in");
	text = t_slurp(path);
	sub = t_subst(text, "@localstatedir@", "/var");
	start = strstr(sub, "\n.Sh EXAMPLES\n");
	ck_assert_ptr_nonnull(start);
	while ((start = strstr(start, "\n.Bd -literal -offset indent\n")) !=
	    NULL) {
		start = strchr(start + 1, '\n') + 1;
		end = strstr(start, "\n.Ed\n");
		ck_assert_ptr_nonnull(end);
		end[1] = '\0';
		if (strncmp(start, "[server]", 8) == 0) {
			c = t_load(start);
			conf_free(c);
			n++;
		}
		start = end + 2;
	}
	ck_assert_int_eq(n, 2);
	free(sub);
	free(text);
	free(path);
}
END_TEST

START_TEST(t_cannot_open)
{
	char	*errors = NULL;

	ck_assert_ptr_null(conf_load("/nonexistent/pingbackd.conf", &errors));
	ck_assert_str_eq(errors,
	    "/nonexistent/pingbackd.conf: cannot open: "
	    "No such file or directory");
	free(errors);
	ck_assert_ptr_null(conf_load("/nonexistent/pingbackd.conf", NULL));
	ck_assert_ptr_null(conf_load("/", &errors));
	ck_assert_str_eq(errors, "/: cannot read: Is a directory");
	free(errors);
}
END_TEST

START_TEST(t_unknown_key)
{
	t_expect("[server]\nfoo = 1\n",
	    "%s:4: unknown key \"foo\" in [server]");
	t_expect("[fetch]\nlisten = 127.0.0.1:80\n",
	    "%s:4: unknown key \"listen\" in [fetch]");
	/* Continuation lines of an unknown key are not reported again. */
	t_expect("[server]\nfoo = 1\n  2\n",
	    "%s:4: unknown key \"foo\" in [server]");
	t_expect("[server]\n= 1\n", "%s:4: missing key name in [server]");
}
END_TEST

START_TEST(t_unknown_section)
{
	/* Reported once, at the header; its keys are not reported. */
	t_expect("[fetchh]\ntimeout = 5\nfoo = 1\n",
	    "%s:3: unknown section [fetchh]");
	t_expect("[nothing]\n", "%s:3: unknown section [nothing]");
	t_expect("[server]\n[Server]\nlisten = x\n",
	    "%s:4: unknown section [Server]");
	t_expect_raw("timeout = 5\n[targets]\nallow = https://a.example/\n",
	    "%s:1: key \"timeout\" is outside any section");
}
END_TEST

START_TEST(t_numbers)
{
	t_expect("[fetch]\ntimeout = abc\n",
	    "%s:4: [fetch] timeout: \"abc\" is not a number");
	t_expect("[fetch]\ntimeout = 10s\n",
	    "%s:4: [fetch] timeout: \"10s\" is not a number");
	t_expect("[fetch]\ntimeout = 0x10\n",
	    "%s:4: [fetch] timeout: \"0x10\" is not a number");
	t_expect("[fetch]\ntimeout = +5\n",
	    "%s:4: [fetch] timeout: \"+5\" is not a number");
	t_expect("[fetch]\ntimeout = 1 0\n",
	    "%s:4: [fetch] timeout: \"1 0\" is not a number");
	t_expect("[fetch]\ntimeout =\n",
	    "%s:4: [fetch] timeout: empty value (expected a number in "
	    "1..300)");
	t_expect("[fetch]\ntimeout = 0\n",
	    "%s:4: [fetch] timeout: \"0\" is out of range 1..300");
	t_expect("[fetch]\ntimeout = 301\n",
	    "%s:4: [fetch] timeout: \"301\" is out of range 1..300");
	t_expect("[fetch]\ntimeout = -1\n",
	    "%s:4: [fetch] timeout: \"-1\" is out of range 1..300");
	t_expect("[fetch]\nmax_bytes = 99999999999999999999999\n",
	    "%s:4: [fetch] max_bytes: \"99999999999999999999999\" is out of "
	    "range 1024..67108864");
	t_expect("[server]\nmax_body = 511\n",
	    "%s:4: [server] max_body: \"511\" is out of range 512..16777216");
	t_expect("[fetch]\nmax_redirects = 21\n",
	    "%s:4: [fetch] max_redirects: \"21\" is out of range 0..20");
	t_expect("[fetch]\nmax_concurrent = 0\n",
	    "%s:4: [fetch] max_concurrent: \"0\" is out of range 1..100000");
	t_expect("[fetch]\nmax_per_host = 10001\n",
	    "%s:4: [fetch] max_per_host: \"10001\" is out of range 1..10000");
	t_expect("[limits]\nclient_burst = 1000001\n",
	    "%s:4: [limits] client_burst: \"1000001\" is out of range "
	    "0..1000000");
	t_expect("[limits]\nclient_rate = 0\n",
	    "%s:4: [limits] client_rate: \"0\" is out of range: must be > 0 "
	    "and <= 100000");
	t_expect("[limits]\nclient_rate = 100000.5\n",
	    "%s:4: [limits] client_rate: \"100000.5\" is out of range: must "
	    "be > 0 and <= 100000");
	t_expect("[limits]\nclient_rate = 1e3\n",
	    "%s:4: [limits] client_rate: \"1e3\" is not a number");
	t_expect("[limits]\nclient_rate = .\n",
	    "%s:4: [limits] client_rate: \".\" is not a number");
	t_expect("[limits]\nclient_rate = 1.2.3\n",
	    "%s:4: [limits] client_rate: \"1.2.3\" is not a number");
	t_expect("[limits]\nsource_host_per_minute = 100001\n",
	    "%s:4: [limits] source_host_per_minute: \"100001\" is out of "
	    "range 0..100000");
	t_expect("[limits]\nsource_host_per_minute = -1\n",
	    "%s:4: [limits] source_host_per_minute: \"-1\" is out of range "
	    "0..100000");
	t_expect("[limits]\nsource_host_per_minute = 30/min\n",
	    "%s:4: [limits] source_host_per_minute: \"30/min\" is not a "
	    "number");
	t_expect("[limits]\nsource_host_per_minute =\n",
	    "%s:4: [limits] source_host_per_minute: empty value (expected a "
	    "number in 0..100000)");
	t_expect("[limits]\nfetch_cache_ttl = 86401\n",
	    "%s:4: [limits] fetch_cache_ttl: \"86401\" is out of range "
	    "0..86400");
	t_expect("[limits]\nfetch_cache_ttl = 10m\n",
	    "%s:4: [limits] fetch_cache_ttl: \"10m\" is not a number");
	t_expect("[limits]\nfetch_cache_size = 15\n",
	    "%s:4: [limits] fetch_cache_size: \"15\" is out of range "
	    "16..1000000");
	t_expect("[limits]\nfetch_cache_size = 1000001\n",
	    "%s:4: [limits] fetch_cache_size: \"1000001\" is out of range "
	    "16..1000000");
	t_expect("[limits]\nfetch_cache_size =\n",
	    "%s:4: [limits] fetch_cache_size: empty value (expected a number "
	    "in 16..1000000)");
	/* A number is not a list. */
	t_expect("[limits]\nfetch_cache_ttl = 5\n  6\n",
	    "%s:5: [limits] fetch_cache_ttl: unexpected indented line \"6\" "
	    "(only lists continue on indented lines)");
}
END_TEST

START_TEST(t_number_values)
{
	struct conf	*c;

	c = t_load("[targets]\nallow = https://a.example/\n[fetch]\n"
	    "timeout = 300\nmax_redirects = 0\nmax_bytes = 0001024\n"
	    "[limits]\nclient_rate = 2.25\nclient_burst = 1000000\n"
	    "source_host_per_minute = 100000\nfetch_cache_ttl = 0\n"
	    "fetch_cache_size = 1000000\n");
	ck_assert_int_eq(c->fetch_timeout, 300);
	ck_assert_int_eq(c->fetch_max_redirects, 0);
	ck_assert_uint_eq(c->fetch_max_bytes, 1024);
	ck_assert_double_eq(c->client_rate, 2.25);
	ck_assert_int_eq(c->client_burst, 1000000);
	ck_assert_int_eq(c->source_host_per_minute, 100000);
	ck_assert_int_eq(c->fetch_cache_ttl, 0);
	ck_assert_uint_eq(c->fetch_cache_size, 1000000);
	conf_free(c);
	c = t_load("[targets]\nallow = https://a.example/\n[limits]\n"
	    "source_host_per_minute = 0\nfetch_cache_ttl = 86400\n"
	    "fetch_cache_size = 16\n");
	ck_assert_int_eq(c->source_host_per_minute, 0);
	ck_assert_int_eq(c->fetch_cache_ttl, 86400);
	ck_assert_uint_eq(c->fetch_cache_size, 16);
	conf_free(c);
}
END_TEST

START_TEST(t_booleans)
{
	static const char *const yes[] = { "yes", "true", "on", "1", "YES" };
	static const char *const no[] = { "no", "false", "off", "0", "Off" };
	struct conf	*c;
	char		*text;
	size_t		 i;

	for (i = 0; i < 5; i++) {
		xasprintf(&text, "[targets]\nallow = https://a.example/\n"
		    "require_existing = %s\n", yes[i]);
		c = t_load(text);
		ck_assert_int_eq(c->require_existing, 1);
		conf_free(c);
		free(text);
		xasprintf(&text, "[targets]\nallow = https://a.example/\n"
		    "require_existing = yes\nrequire_existing = %s\n", no[i]);
		c = t_load(text);
		ck_assert_int_eq(c->require_existing, 0);
		conf_free(c);
		free(text);
	}
	t_expect("[targets]\nrequire_existing = maybe\n",
	    "%s:4: [targets] require_existing: \"maybe\" is not a boolean "
	    "(yes/no, true/false, on/off, 1/0)");
	t_expect("[targets]\nrequire_existing =\n",
	    "%s:4: [targets] require_existing: \"\" is not a boolean "
	    "(yes/no, true/false, on/off, 1/0)");
}
END_TEST

START_TEST(t_cidr)
{
	struct conf	*c;

	t_expect("[fetch]\nallow_networks = 127.0.0.0/8 banana\n",
	    "%s:4: [fetch] allow_networks: \"banana\" is not a network "
	    "(address/prefix)");
	t_expect("[fetch]\nallow_networks = 10.0.0.0/33\n",
	    "%s:4: [fetch] allow_networks: \"10.0.0.0/33\" is not a network "
	    "(address/prefix)");
	t_expect("[fetch]\nallow_networks = ::1/129\n",
	    "%s:4: [fetch] allow_networks: \"::1/129\" is not a network "
	    "(address/prefix)");
	/* Empty means none; repeats and continuation lines add. */
	c = t_load("[targets]\nallow = https://a.example/\n[fetch]\n"
	    "allow_networks =\n");
	ck_assert_uint_eq(c->nallow_networks, 0);
	conf_free(c);
	c = t_load("[targets]\nallow = https://a.example/\n[fetch]\n"
	    "allow_networks = 10.0.0.0/8\nallow_networks = 192.168.0.0/16\n"
	    "    fd00::/8 ; comment\n");
	ck_assert_uint_eq(c->nallow_networks, 3);
	ck_assert_int_eq(c->allow_networks[1].addr[0], 192);
	ck_assert_int_eq(c->allow_networks[1].prefix, 16);
	ck_assert_int_eq(c->allow_networks[2].family, AF_INET6);
	conf_free(c);
}
END_TEST

START_TEST(t_listen)
{
	struct conf	*c;

	t_expect("[server]\nlisten = 127.0.0.1\n",
	    "%s:4: [server] listen: \"127.0.0.1\" is not a valid address: no "
	    "port (expected host:port, [v6]:port or unix:/path)");
	t_expect("[server]\nlisten = :8080\n",
	    "%s:4: [server] listen: \":8080\" is not a valid address: empty "
	    "host");
	t_expect("[server]\nlisten = localhost:\n",
	    "%s:4: [server] listen: \"localhost:\" is not a valid address: "
	    "empty port");
	t_expect("[server]\nlisten = localhost:http\n",
	    "%s:4: [server] listen: \"localhost:http\" is not a valid "
	    "address: the port is not a number");
	t_expect("[server]\nlisten = 127.0.0.1:65536\n",
	    "%s:4: [server] listen: \"127.0.0.1:65536\" is not a valid "
	    "address: the port is out of range 0..65535");
	t_expect("[server]\nlisten = ::1:80\n",
	    "%s:4: [server] listen: \"::1:80\" is not a valid address: an "
	    "IPv6 address must be in brackets");
	t_expect("[server]\nlisten = [::1:80\n",
	    "%s:4: [server] listen: \"[::1:80\" is not a valid address: no "
	    "closing ']'");
	t_expect("[server]\nlisten = [foo]:80\n",
	    "%s:4: [server] listen: \"[foo]:80\" is not a valid address: bad "
	    "IPv6 address");
	t_expect("[server]\nlisten = [::1]\n",
	    "%s:4: [server] listen: \"[::1]\" is not a valid address: no port "
	    "(expected [v6]:port)");
	t_expect("[server]\nlisten = unix:run/x.sock\n",
	    "%s:4: [server] listen: \"unix:run/x.sock\" is not a valid "
	    "address: the socket path must be absolute");
	t_expect("[server]\nlisten = a_b:80\n",
	    "%s:4: [server] listen: \"a_b:80\" is not a valid address: bad "
	    "character in host name");
	t_expect("[server]\nlisten = 127.0.0.1:80\nlisten = 127.0.0.1:80\n",
	    "%s:5: [server] listen: \"127.0.0.1:80\" is given twice");

	/* The first listen replaces the default; the rest add. */
	c = t_load("[targets]\nallow = https://a.example/\n[server]\n"
	    "listen = 127.0.0.1:0\nlisten = [::1]:0 localhost:65535\n"
	    "  unix:/tmp/p.sock\n");
	ck_assert_uint_eq(c->nlisten, 4);
	ck_assert_str_eq(c->listen[0], "127.0.0.1:0");
	ck_assert_str_eq(c->listen[1], "[::1]:0");
	ck_assert_str_eq(c->listen[2], "localhost:65535");
	ck_assert_str_eq(c->listen[3], "unix:/tmp/p.sock");
	conf_free(c);

	/* Empty: no addresses of its own (sockets from systemd). */
	c = t_load("[targets]\nallow = https://a.example/\n[server]\n"
	    "listen =\n");
	ck_assert_uint_eq(c->nlisten, 0);
	ck_assert_ptr_null(c->listen);
	conf_free(c);
	c = t_load("[targets]\nallow = https://a.example/\n[server]\n"
	    "listen =\nlisten = 127.0.0.1:0\n");
	ck_assert_uint_eq(c->nlisten, 1);
	conf_free(c);
}
END_TEST

START_TEST(t_urls)
{
	struct conf	*c;

	t_expect("[server]\npublic_url = /pingback\n",
	    "%s:4: [server] public_url: \"/pingback\" is not an absolute "
	    "http(s) URL");
	t_expect("[server]\npublic_url = ftp://x.example/\n",
	    "%s:4: [server] public_url: \"ftp://x.example/\" is not an "
	    "absolute http(s) URL");
	t_expect("[server]\npublic_url = https://x.example/?a=b\n",
	    "%s:4: [server] public_url: \"https://x.example/?a=b\" must have "
	    "no query, fragment or spaces");
	t_expect("[server]\nxmlrpc_path = xmlrpc\n",
	    "%s:4: [server] xmlrpc_path: \"xmlrpc\" does not start with '/'");
	t_expect("[server]\nxmlrpc_path = /xml rpc\n",
	    "%s:4: [server] xmlrpc_path: \"/xml rpc\" must be a path without "
	    "spaces, query or fragment");
	t_expect_raw("[targets]\nallow = https://a.example/ "
	    "mailto:me@a.example\n",
	    "%s:2: [targets] allow: \"mailto:me@a.example\" is not an "
	    "absolute http(s) URL");

	c = t_load("[targets]\nallow = https://a.example/\n[server]\n"
	    "public_url = https://a.example/pingback//\n");
	ck_assert_str_eq(c->public_url, "https://a.example/pingback");
	conf_free(c);
}
END_TEST

START_TEST(t_strings)
{
	t_expect("[store]\npath =\n", "%s:4: [store] path: empty value");
	t_expect("[store]\ndefault_status = spam\n",
	    "%s:4: [store] default_status: \"spam\" is not pending or "
	    "approved");
	t_expect("[fetch]\nuser_agent =\n",
	    "%s:4: [fetch] user_agent: empty value");
	t_expect("[fetch]\nuser_agent = a\tb\n",
	    "%s:4: [fetch] user_agent: the value has control characters");
	t_expect("[log]\nlevel = loud\n",
	    "%s:4: [log] level: \"loud\" is not one of debug, info, notice, "
	    "warning, err");
	t_expect("[log]\nformat = xml\n",
	    "%s:4: [log] format: \"xml\" is not logfmt or json");
}
END_TEST

START_TEST(t_missing_allow)
{
	t_expect_raw("[server]\nlisten = 127.0.0.1:0\n",
	    "%s: [targets] allow is required");
	t_expect_raw("", "%s: [targets] allow is required");
	t_expect_raw("[targets]\nallow =\n", "%s: [targets] allow is required");
}
END_TEST

START_TEST(t_syntax)
{
	char	 line[400];

	t_expect("[fetch]\njust some words\n",
	    "%s:4: syntax error: \"just some words\": expected key = value");
	/* Keys under a broken header are ignored, not misfiled. */
	t_expect("[fetch\ntimeout = 0\n",
	    "%s:3: syntax error: \"[fetch\": no closing ']'");
	t_expect("[fetch ;]\n",
	    "%s:3: syntax error: \"[fetch ;]\": no closing ']'");
	t_expect("[server]\nxmlrpc_path ; = /x\n",
	    "%s:4: syntax error: \"xmlrpc_path ; = /x\": expected key = "
	    "value");
	/* Every syntax error is reported, not only inih's first. */
	t_expect("[fetch]\nfoo\nbar\n[log\n",
	    "%s:4: syntax error: \"foo\": expected key = value\n"
	    "%s:5: syntax error: \"bar\": expected key = value\n"
	    "%s:6: syntax error: \"[log\": no closing ']'");
	/* A line too long for inih's buffer. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "[fetch]\nuser_agent = ", 21);
	strcpy(line + 300, "\n[log]\nlevel = loud\n");
	t_expect(line, "%s:4: line too long (more than 197 bytes)\n"
	    "%s:6: [log] level: \"loud\" is not one of debug, info, notice, "
	    "warning, err");
	/* An indented line continues a value: fine for lists only. */
	t_expect("[fetch]\ntimeout = 5\n  max_bytes = 2048\n",
	    "%s:5: [fetch] timeout: unexpected indented line \"max_bytes = "
	    "2048\" (only lists continue on indented lines)");
}
END_TEST

START_TEST(t_several)
{
	char	*path, *errors = NULL, *want;

	path = t_env_path("PBD_TESTDATA", "conf/errors.conf");
	ck_assert_ptr_null(conf_load(path, &errors));
	want = t_subst(
	    "%s:3: [server] listen: \"127.0.0.1\" is not a valid address: "
	    "no port (expected host:port, [v6]:port or unix:/path)\n"
	    "%s:4: [server] max_body: \"100\" is out of range "
	    "512..16777216\n"
	    "%s:5: unknown key \"colour\" in [server]\n"
	    "%s:7: syntax error: \"[fetch\": no closing ']'\n"
	    "%s:11: [fetch] timeout: \"10s\" is not a number\n"
	    "%s:12: [fetch] max_redirects: \"21\" is out of range 0..20\n"
	    "%s:13: [fetch] allow_networks: \"banana\" is not a network "
	    "(address/prefix)\n"
	    "%s:14: syntax error: \"just some words\": expected key = "
	    "value\n"
	    "%s:17: [targets] require_existing: \"maybe\" is not a boolean "
	    "(yes/no, true/false, on/off, 1/0)\n"
	    "%s:18: [targets] allow: \"ftp://blog.example.com/\" is not an "
	    "absolute http(s) URL\n"
	    "%s:20: unknown section [storage]\n"
	    "%s:24: [log] level: \"loud\" is not one of debug, info, "
	    "notice, warning, err\n"
	    "%s:27: [limits] fetch_cache_size: \"8\" is out of range "
	    "16..1000000\n"
	    "%s:28: [limits] block_sources: \"bad!.example\" is not a domain "
	    "or IP address\n"
	    "%s:28: [limits] block_sources: \"ftp://x.example/\" is not an "
	    "absolute http(s) URL\n"
	    "%s:32: [sink.hook] command: not a key of a webhook sink\n"
	    "%s:39: [sink.run] command: \"bin/run\" is not an absolute "
	    "path\n"
	    "%s:41: [sink.bad name]: a sink name is 1 to 32 letters, digits, "
	    "'_' or '-'\n"
	    "%s:44: [sink.hook] is given twice (first at line 30)\n"
	    "%s:35: [sink.hook] retry_max: \"30\" is less than retry_base "
	    "(60)\n"
	    "%s: [targets] allow is required", "%s", path);
	ck_assert_str_eq(errors, want);
	free(want);
	free(errors);
	free(path);
}
END_TEST

START_TEST(t_lists)
{
	struct conf	*c;

	/* Repeats, space-separated lists, continuations, duplicates. */
	c = t_load("\xEF\xBB\xBF[targets]\n"
	    "allow = https://A.example https://b.example:443/x/\n"
	    "allow: http://c.example:80/ ; inline comment\n"
	    "\thttps://d.example/p%7e\n"
	    "# a comment\n"
	    "allow = https://a.example/\n"
	    "[server]\n"
	    "public_url = http://one.example\n"
	    "public_url = http://two.example\n");
	ck_assert_uint_eq(c->nallow, 4);
	ck_assert_str_eq(c->allow[0], "https://a.example/");
	ck_assert_str_eq(c->allow[1], "https://b.example/x/");
	ck_assert_str_eq(c->allow[2], "http://c.example/");
	ck_assert_str_eq(c->allow[3], "https://d.example/p~");
	ck_assert_str_eq(c->public_url, "http://two.example");
	conf_free(c);

	/* CRLF line ends; an indented first key is a key, not a value. */
	c = t_load("[targets]\r\nallow = https://a.example/\r\n\r\n"
	    "[fetch]\r\n\ttimeout = 7\r\n[limits]\r\nclient_rate = 3.\r\n");
	ck_assert_int_eq(c->fetch_timeout, 7);
	ck_assert_double_eq(c->client_rate, 3.0);
	conf_free(c);
}
END_TEST

START_TEST(t_target_allowed)
{
	struct conf	*c;

	c = t_load("[targets]\nallow = https://blog.example.com "
	    "http://b.example/a\n");
	ck_assert_int_eq(conf_target_allowed(c,
	    "https://blog.example.com/"), 1);
	ck_assert_int_eq(conf_target_allowed(c,
	    "https://blog.example.com/2024/post/"), 1);
	ck_assert_int_eq(conf_target_allowed(c,
	    "https://blog.example.com.evil/"), 0);
	ck_assert_int_eq(conf_target_allowed(c,
	    "https://blog.example.community/"), 0);
	ck_assert_int_eq(conf_target_allowed(c,
	    "http://blog.example.com/"), 0);
	ck_assert_int_eq(conf_target_allowed(c,
	    "https://blog.example.com:8443/"), 0);
	ck_assert_int_eq(conf_target_allowed(c, "http://b.example/a"), 1);
	ck_assert_int_eq(conf_target_allowed(c, "http://b.example/a/b"), 1);
	/* A plain string prefix, as documented. */
	ck_assert_int_eq(conf_target_allowed(c, "http://b.example/ab"), 1);
	ck_assert_int_eq(conf_target_allowed(c, "http://b.example/"), 0);
	ck_assert_int_eq(conf_target_allowed(c, NULL), 0);
	ck_assert_int_eq(conf_target_allowed(NULL, "http://b.example/a"), 0);
	conf_free(c);
}
END_TEST

START_TEST(t_block_lists)
{
	struct conf	*c;

	/* Domains, IP literals and URL prefixes, stored canonically. */
	c = t_load("[targets]\nallow = https://a.example/\n[limits]\n"
	    "block_sources = Spam.EXAMPLE *.wild.example .dot.example\n"
	    "  trailing.example. 192.0.2.1 [2001:DB8:0::1] 2001:db8::2\n"
	    "  ::ffff:198.51.100.1 localhost xn--bcher-kva.example\n"
	    "block_sources = HTTPS://Host.Example:443/a%7eb/ ; comment\n"
	    "block_sources = http://[2001:db8::1]:8080/x http://T.example./\n"
	    "block_sources = spam.example *.spam.example\n"
	    "block_sources =\n"
	    "block_targets = https://a.example/private/ a.example\n");
	ck_assert_uint_eq(c->nblock_sources, 13);
	ck_assert_str_eq(c->block_sources[0], "spam.example");
	ck_assert_str_eq(c->block_sources[1], "wild.example");
	ck_assert_str_eq(c->block_sources[2], "dot.example");
	ck_assert_str_eq(c->block_sources[3], "trailing.example");
	ck_assert_str_eq(c->block_sources[4], "192.0.2.1");
	ck_assert_str_eq(c->block_sources[5], "[2001:db8::1]");
	ck_assert_str_eq(c->block_sources[6], "[2001:db8::2]");
	ck_assert_str_eq(c->block_sources[7], "198.51.100.1");
	ck_assert_str_eq(c->block_sources[8], "localhost");
	ck_assert_str_eq(c->block_sources[9], "xn--bcher-kva.example");
	ck_assert_str_eq(c->block_sources[10], "https://host.example/a~b/");
	ck_assert_str_eq(c->block_sources[11], "http://[2001:db8::1]:8080/x");
	ck_assert_str_eq(c->block_sources[12], "http://t.example/");
	ck_assert_uint_eq(c->nblock_targets, 2);
	ck_assert_str_eq(c->block_targets[0], "https://a.example/private/");
	ck_assert_str_eq(c->block_targets[1], "a.example");
	conf_free(c);

	t_expect("[limits]\nblock_sources = ftp://spam.example/\n",
	    "%s:4: [limits] block_sources: \"ftp://spam.example/\" is not an "
	    "absolute http(s) URL");
	t_expect("[limits]\nblock_sources = https://u:p@spam.example/\n",
	    "%s:4: [limits] block_sources: \"https://u:p@spam.example/\" is "
	    "not an absolute http(s) URL (credentials in URL)");
	t_expect("[limits]\nblock_targets = a.example/private/\n",
	    "%s:4: [limits] block_targets: \"a.example/private/\" is not a "
	    "domain or IP address (a URL prefix starts with http:// or "
	    "https://)");
	t_expect("[limits]\nblock_sources = ok.example bad!.example\n",
	    "%s:4: [limits] block_sources: \"bad!.example\" is not a domain "
	    "or IP address");
	t_expect("[limits]\nblock_sources = a..example\n",
	    "%s:4: [limits] block_sources: \"a..example\" is not a domain or "
	    "IP address");
	t_expect("[limits]\nblock_sources = *.\n",
	    "%s:4: [limits] block_sources: \"*.\" is not a domain or IP "
	    "address");
	t_expect("[limits]\nblock_sources = .\n",
	    "%s:4: [limits] block_sources: \".\" is not a domain or IP "
	    "address");
	t_expect("[limits]\nblock_sources = *\n",
	    "%s:4: [limits] block_sources: \"*\" is not a domain or IP "
	    "address");
	t_expect("[limits]\nblock_sources = a.*.example\n",
	    "%s:4: [limits] block_sources: \"a.*.example\" is not a domain "
	    "or IP address");
	t_expect("[limits]\nblock_sources = *.192.0.2.1\n",
	    "%s:4: [limits] block_sources: \"*.192.0.2.1\" is not a domain "
	    "or IP address");
	/* What curl would take for an IPv4 address in another form. */
	t_expect("[limits]\nblock_sources = 192.0.2\n",
	    "%s:4: [limits] block_sources: \"192.0.2\" is not a domain or IP "
	    "address");
	t_expect("[limits]\nblock_sources = 0x7f.1\n",
	    "%s:4: [limits] block_sources: \"0x7f.1\" is not a domain or IP "
	    "address");
	t_expect("[limits]\nblock_sources = 1.0x7f\n",
	    "%s:4: [limits] block_sources: \"1.0x7f\" is not a domain or IP "
	    "address");
	t_expect("[limits]\nblock_sources = 2130706433\n",
	    "%s:4: [limits] block_sources: \"2130706433\" is not a domain or "
	    "IP address");
	t_expect("[limits]\nblock_sources = 256.0.0.1\n",
	    "%s:4: [limits] block_sources: \"256.0.0.1\" is not a domain or "
	    "IP address");
	t_expect("[limits]\nblock_sources = [192.0.2.1]\n",
	    "%s:4: [limits] block_sources: \"[192.0.2.1]\" is not a domain or "
	    "IP address");
	t_expect("[limits]\nblock_sources = [::1\n",
	    "%s:4: [limits] block_sources: \"[::1\" is not a domain or IP "
	    "address");
	t_expect("[limits]\nblock_sources = 2001:db8::1::2\n",
	    "%s:4: [limits] block_sources: \"2001:db8::1::2\" is not a domain "
	    "or IP address");
	t_expect("[limits]\nblock_sources = spam.example:8080\n",
	    "%s:4: [limits] block_sources: \"spam.example:8080\" is not a "
	    "domain or IP address");
	t_expect("[limits]\nblock_targets = b\xc3\xbc""cher.example\n",
	    "%s:4: [limits] block_targets: \"b\xc3\xbc""cher.example\" is not "
	    "a domain or IP address");
	/* Labels of at most 63 bytes. */
	t_expect("[limits]\nblock_sources = "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    ".example\n",
	    "%s:4: [limits] block_sources: \""
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    ".example\" is not a domain or IP address");
	c = t_load("[targets]\nallow = https://a.example/\n[limits]\n"
	    "block_sources = "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    ".example\n");
	ck_assert_uint_eq(c->nblock_sources, 1);
	conf_free(c);
	/* Every bad entry is reported, on its own line. */
	t_expect("[limits]\nblock_sources = a!\n  b! ok.example\n"
	    "block_targets = c!\n",
	    "%s:4: [limits] block_sources: \"a!\" is not a domain or IP "
	    "address\n"
	    "%s:5: [limits] block_sources: \"b!\" is not a domain or IP "
	    "address\n"
	    "%s:6: [limits] block_targets: \"c!\" is not a domain or IP "
	    "address");
}
END_TEST

/* conf_blocked on a list loaded from "block_sources = entries". */
static int
t_blocked_by(const char *entries, const char *url)
{
	struct conf	*c;
	char		*text;
	int		 hit;

	xasprintf(&text, "[targets]\nallow = https://a.example/\n[limits]\n"
	    "block_sources = %s\n", entries);
	c = t_load(text);
	hit = conf_blocked(c->block_sources, c->nblock_sources, url);
	conf_free(c);
	free(text);
	return (hit);
}

/* The same, on url normalised first; it must normalise. */
static void
t_blocked_norm(const char *entries, const char *url, int want)
{
	const char	*cause = NULL;
	char		*norm;

	norm = url_normalize(url, &cause);
	ck_assert_msg(norm != NULL, "%s: %s", url, cause);
	ck_assert_msg(t_blocked_by(entries, norm) == want,
	    "%s (%s) against %s: not %d", url, norm, entries, want);
	free(norm);
}

START_TEST(t_blocked)
{
	static const char *const yes[] = {
		"http://example.com/",
		"https://example.com/any/page?q=1",
		"http://example.com:8080/",
		"https://a.b.example.com/",
		"https://www.example.com./x",		/* trailing dot */
		"https://example.com../",
	};
	static const char *const no[] = {
		"https://badexample.com/",
		"https://example.com.evil/",
		"https://example.co/",
		"https://com/",
		"https://example.org/example.com/",
		"https://evil.example/?u=https://example.com/",
		"https://evil.example/#example.com",
		"not a url",
		"",
	};
	const char	*list = "example.com";
	size_t		 i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(t_blocked_by(list, yes[i]) == 1,
		    "%s should be blocked", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(t_blocked_by(list, no[i]) == 0,
		    "%s should not be blocked", no[i]);
	/* Wildcard forms are the same entry. */
	ck_assert_int_eq(t_blocked_by("*.example.com", "http://example.com/"),
	    1);
	ck_assert_int_eq(t_blocked_by(".example.com", "http://x.example.com/"),
	    1);
	/* A subdomain entry does not block its parent. */
	ck_assert_int_eq(t_blocked_by("a.example.com", "http://example.com/"),
	    0);
	ck_assert_int_eq(t_blocked_by("a.example.com",
	    "http://b.a.example.com/"), 1);
	ck_assert_int_eq(t_blocked_by("a.example.com",
	    "http://ba.example.com/"), 0);
	/* A top-level domain entry blocks the whole TLD. */
	ck_assert_int_eq(t_blocked_by("xyz", "http://spam.xyz/"), 1);
	ck_assert_int_eq(t_blocked_by("xyz", "http://xyz.example/"), 0);

	/* IP literals: exact, canonical, IPv4-mapped IPv6 as IPv4. */
	ck_assert_int_eq(t_blocked_by("192.0.2.1", "http://192.0.2.1/"), 1);
	ck_assert_int_eq(t_blocked_by("192.0.2.1", "http://192.0.2.1:81/"), 1);
	ck_assert_int_eq(t_blocked_by("192.0.2.1", "http://192.0.2.10/"), 0);
	ck_assert_int_eq(t_blocked_by("192.0.2.1", "http://1192.0.2.1/"), 0);
	ck_assert_int_eq(t_blocked_by("192.0.2.1",
	    "http://[::ffff:192.0.2.1]/"), 1);
	ck_assert_int_eq(t_blocked_by("::ffff:192.0.2.1",
	    "http://192.0.2.1/"), 1);
	ck_assert_int_eq(t_blocked_by("2001:db8::1",
	    "http://[2001:db8::1]:8080/"), 1);
	ck_assert_int_eq(t_blocked_by("[2001:DB8::1]",
	    "http://[2001:db8:0:0::1]/"), 1);
	ck_assert_int_eq(t_blocked_by("2001:db8::1",
	    "http://[2001:db8::10]/"), 0);
	ck_assert_int_eq(t_blocked_by("2001:db8::1",
	    "http://[2001:db8::1:1]/"), 0);

	/* Other forms of an address, as url_normalize passes them on. */
	t_blocked_norm("127.0.0.1", "http://0x7f.1/", 1);
	t_blocked_norm("127.0.0.1", "http://2130706433:8080/", 1);
	t_blocked_norm("127.0.0.1", "http://[::FFFF:7f00:1]/", 1);
	t_blocked_norm("2001:db8::1", "http://[2001:DB8:0:0:0:0:0:1]/", 1);
	t_blocked_norm("example.com", "HTTP://WWW.EXAMPLE.COM./", 1);
	t_blocked_norm("example.com", "http://%65xample.com/", 1);
	t_blocked_norm("example.com", "http://example.com%2eevil/", 0);

	/* URL prefixes: plain string prefixes of the normalised URL. */
	list = "https://hosting.example/~spammer/";
	ck_assert_int_eq(t_blocked_by(list,
	    "https://hosting.example/~spammer/post"), 1);
	ck_assert_int_eq(t_blocked_by(list,
	    "https://hosting.example./~spammer/"), 1);
	ck_assert_int_eq(t_blocked_by(list,
	    "https://HOSTING.example/~spammer/"), 1);
	ck_assert_int_eq(t_blocked_by(list,
	    "https://hosting.example/~spammer"), 0);
	ck_assert_int_eq(t_blocked_by(list,
	    "https://hosting.example/~other/"), 0);
	ck_assert_int_eq(t_blocked_by(list,
	    "http://hosting.example/~spammer/"), 0);
	ck_assert_int_eq(t_blocked_by(list,
	    "https://hosting.example:8443/~spammer/"), 0);
	ck_assert_int_eq(t_blocked_by(list,
	    "https://sub.hosting.example/~spammer/"), 0);
	ck_assert_int_eq(t_blocked_by("http://[::ffff:192.0.2.1]/a",
	    "http://192.0.2.1/a/b"), 1);
	ck_assert_int_eq(t_blocked_by("http://192.0.2.1/a",
	    "http://[::ffff:192.0.2.1]/a"), 1);

	/* Several entries of both kinds. */
	list = "one.example https://two.example/p/ 192.0.2.9";
	ck_assert_int_eq(t_blocked_by(list, "https://x.one.example/"), 1);
	ck_assert_int_eq(t_blocked_by(list, "https://two.example/p/q"), 1);
	ck_assert_int_eq(t_blocked_by(list, "https://two.example/q"), 0);
	ck_assert_int_eq(t_blocked_by(list, "https://192.0.2.9/"), 1);
	ck_assert_int_eq(t_blocked_by(list, "https://three.example/"), 0);

	/* Empty lists and NULL block nothing. */
	ck_assert_int_eq(conf_blocked(NULL, 0, "https://example.com/"), 0);
	ck_assert_int_eq(t_blocked_by("", "https://example.com/"), 0);
	ck_assert_int_eq(t_blocked_by("example.com", NULL), 0);
}
END_TEST

START_TEST(t_sinks)
{
	struct conf		*c;
	const struct sink_conf	*s;

	c = t_load("[targets]\nallow = https://a.example/\n"
	    "[sink.hook]\ntype = webhook\n"
	    "url = https://comments.example/hook?x=1\nsecret = s3cr3t!\n"
	    "[server]\nmax_body = 1024\n"
	    "[sink.Run-1_x]\ncommand = /bin/cat -u  extra\tword\n"
	    "type = exec\nmax_age = 60\nretry_base = 1\nretry_max = 1\n"
	    "concurrency = 256\ntimeout = 300\n"
	    "[sink.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\ntype = exec\n"
	    "command = /bin/cat\nmax_age = 2592000\nretry_base = 3600\n"
	    "retry_max = 86400\n");
	ck_assert_uint_eq(c->max_body, 1024);
	ck_assert_uint_eq(c->nsinks, 3);
	s = &c->sinks[0];
	ck_assert_str_eq(s->name, "hook");
	ck_assert_str_eq(s->type, "webhook");
	ck_assert_str_eq(s->url, "https://comments.example/hook?x=1");
	ck_assert_str_eq(s->secret, "s3cr3t!");
	ck_assert_ptr_null(s->argv);
	ck_assert_uint_eq(s->argc, 0);
	ck_assert_int_eq(s->max_age, 86400);
	ck_assert_int_eq(s->retry_base, 5);
	ck_assert_int_eq(s->retry_max, 3600);
	ck_assert_int_eq(s->concurrency, 4);
	ck_assert_int_eq(s->timeout, 10);
	s = &c->sinks[1];
	ck_assert_str_eq(s->name, "Run-1_x");
	ck_assert_str_eq(s->type, "exec");
	ck_assert_ptr_null(s->url);
	ck_assert_ptr_null(s->secret);
	ck_assert_uint_eq(s->argc, 4);
	ck_assert_str_eq(s->argv[0], "/bin/cat");
	ck_assert_str_eq(s->argv[1], "-u");
	ck_assert_str_eq(s->argv[2], "extra");
	ck_assert_str_eq(s->argv[3], "word");
	ck_assert_ptr_null(s->argv[4]);
	ck_assert_int_eq(s->max_age, 60);
	ck_assert_int_eq(s->retry_base, 1);
	ck_assert_int_eq(s->retry_max, 1);
	ck_assert_int_eq(s->concurrency, 256);
	ck_assert_int_eq(s->timeout, 300);
	s = &c->sinks[2];
	ck_assert_uint_eq(strlen(s->name), 32);
	ck_assert_int_eq(s->max_age, 2592000);
	ck_assert_int_eq(s->retry_base, 3600);
	ck_assert_int_eq(s->retry_max, 86400);
	conf_free(c);

	/* No sink at all is fine. */
	c = t_load("[targets]\nallow = https://a.example/\n");
	ck_assert_uint_eq(c->nsinks, 0);
	ck_assert_ptr_null(c->sinks);
	conf_free(c);
}
END_TEST

START_TEST(t_sink_errors)
{
	char	*errors;

	/* Sections. */
	t_expect("[sink]\ntype = exec\n",
	    "%s:3: [sink] needs a name, as in [sink.NAME]");
	t_expect("[sink.]\ntype = exec\n",
	    "%s:3: [sink.]: a sink name is 1 to 32 letters, digits, '_' or "
	    "'-'");
	t_expect("[sink.a b]\ntype = exec\n",
	    "%s:3: [sink.a b]: a sink name is 1 to 32 letters, digits, '_' "
	    "or '-'");
	t_expect("[sink.a.b]\n",
	    "%s:3: [sink.a.b]: a sink name is 1 to 32 letters, digits, '_' "
	    "or '-'");
	t_expect("[sink.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n",
	    "%s:3: [sink.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]: a sink name is 1 "
	    "to 32 letters, digits, '_' or '-'");
	t_expect("[Sink.a]\n", "%s:3: unknown section [Sink.a]");
	t_expect("[sink.a]\ntype = webhook\nurl = https://x.example/\n"
	    "[sink.a]\ntype = exec\nfoo = 1\n",
	    "%s:6: [sink.a] is given twice (first at line 3)");
	t_expect("[sink.a]\ntype = webhook\nurl = https://x.example/\n"
	    "foo = 1\n", "%s:6: unknown key \"foo\" in [sink.a]");
	/* What a sink lacks: reported at its header. */
	t_expect("[sink.hook]\n",
	    "%s:3: [sink.hook] type is required (webhook or exec)");
	t_expect("[sink.hook]\nmax_age = 60\n[server]\nmax_body = 1024\n",
	    "%s:3: [sink.hook] type is required (webhook or exec)");
	t_expect("[sink.hook]\ntype = smtp\n",
	    "%s:4: [sink.hook] type: \"smtp\" is not webhook or exec");
	t_expect("[sink.hook]\ntype = webhook\n",
	    "%s:3: [sink.hook] url is required for a webhook sink");
	t_expect("[sink.run]\ntype = exec\n",
	    "%s:3: [sink.run] command is required for an exec sink");
	/* Keys of the other type, before or after type. */
	t_expect("[sink.hook]\ntype = webhook\nurl = https://x.example/\n"
	    "command = /bin/cat\n",
	    "%s:6: [sink.hook] command: not a key of a webhook sink");
	t_expect("[sink.hook]\nurl = https://x.example/\nsecret = k\n"
	    "command = /bin/cat\ntype = exec\n",
	    "%s:4: [sink.hook] url: not a key of an exec sink\n"
	    "%s:5: [sink.hook] secret: not a key of an exec sink");
	t_expect("[sink.run]\ntype = exec\ncommand = /bin/cat\nsecret = x\n",
	    "%s:6: [sink.run] secret: not a key of an exec sink");
	/* webhook */
	t_expect("[sink.hook]\ntype = webhook\nurl = ftp://x.example/\n",
	    "%s:5: [sink.hook] url: \"ftp://x.example/\" is not an absolute "
	    "http(s) URL");
	t_expect("[sink.hook]\ntype = webhook\nurl = /hook\n",
	    "%s:5: [sink.hook] url: \"/hook\" is not an absolute http(s) URL");
	t_expect("[sink.hook]\ntype = webhook\nurl = https://x.example/a b\n",
	    "%s:5: [sink.hook] url: \"https://x.example/a b\" must have no "
	    "spaces or control characters");
	t_expect("[sink.hook]\ntype = webhook\nurl =\n",
	    "%s:5: [sink.hook] url: empty value (expected an http or https "
	    "URL)");
	t_expect("[sink.hook]\ntype = webhook\nurl = https://x.example/\n"
	    "secret =\n", "%s:6: [sink.hook] secret: empty value (leave the "
	    "key out for unsigned requests)");
	/* The secret is never repeated in an error. */
	errors = t_errors("[targets]\nallow = https://a.example/\n"
	    "[sink.hook]\ntype = webhook\nurl = https://x.example/\n"
	    "secret = hunter2\thunter3\n");
	ck_assert_ptr_null(strstr(errors, "hunter"));
	ck_assert_ptr_nonnull(strstr(errors, ":6: [sink.hook] secret: the "
	    "value has control characters"));
	free(errors);
	/* exec */
	t_expect("[sink.run]\ntype = exec\ncommand = bin/cat\n",
	    "%s:5: [sink.run] command: \"bin/cat\" is not an absolute path");
	t_expect("[sink.run]\ntype = exec\ncommand = /nonexistent/prog -x\n",
	    "%s:5: [sink.run] command: \"/nonexistent/prog\" cannot be run: "
	    "No such file or directory");
	t_expect("[sink.run]\ntype = exec\ncommand = /etc/passwd\n",
	    "%s:5: [sink.run] command: \"/etc/passwd\" cannot be run: "
	    "Permission denied");
	t_expect("[sink.run]\ntype = exec\ncommand = /\n",
	    "%s:5: [sink.run] command: \"/\" is not a regular file");
	t_expect("[sink.run]\ntype = exec\ncommand =\n",
	    "%s:5: [sink.run] command: empty value (expected /path/to/program "
	    "[argument ...])");
	t_expect("[sink.run]\ntype = exec\ncommand = /bin/cat\n  -u\n",
	    "%s:6: [sink.run] command: unexpected indented line \"-u\" (only "
	    "lists continue on indented lines)");
	/* Numbers, and retry_max >= retry_base. */
	t_expect("[sink.run]\ntype = exec\ncommand = /bin/cat\nmax_age = 59\n"
	    "retry_base = 0\nretry_max = 86401\nconcurrency = 0\n"
	    "timeout = 301\nconcurrency = x\n",
	    "%s:6: [sink.run] max_age: \"59\" is out of range 60..2592000\n"
	    "%s:7: [sink.run] retry_base: \"0\" is out of range 1..3600\n"
	    "%s:8: [sink.run] retry_max: \"86401\" is out of range 1..86400\n"
	    "%s:9: [sink.run] concurrency: \"0\" is out of range 1..256\n"
	    "%s:10: [sink.run] timeout: \"301\" is out of range 1..300\n"
	    "%s:11: [sink.run] concurrency: \"x\" is not a number");
	t_expect("[sink.run]\ntype = exec\ncommand = /bin/cat\n"
	    "retry_base = 60\nretry_max = 30\n",
	    "%s:7: [sink.run] retry_max: \"30\" is less than retry_base (60)");
	t_expect("[sink.run]\ntype = exec\ncommand = /bin/cat\n"
	    "retry_max = 30\nretry_base = 60\n",
	    "%s:7: [sink.run] retry_base: \"60\" is more than retry_max (30)");
	t_expect("[sink.run]\ntype = exec\ncommand = /bin/cat\n"
	    "retry_base = 3600\n[sink.b]\ntype = exec\ncommand = /bin/cat\n"
	    "retry_max = 4\n",
	    "%s:10: [sink.b] retry_max: \"4\" is less than retry_base (5)");
}
END_TEST

START_TEST(t_sink_copy)
{
	struct conf		*c;
	struct sink_conf	 a, b;

	c = t_load("[targets]\nallow = https://a.example/\n"
	    "[sink.hook]\ntype = webhook\nurl = https://x.example/\n"
	    "secret = k\n[sink.run]\ntype = exec\ncommand = /bin/cat -u\n");
	conf_sink_copy(&a, &c->sinks[0]);
	conf_sink_copy(&b, &c->sinks[1]);
	ck_assert_ptr_ne(a.url, c->sinks[0].url);
	ck_assert_int_eq(conf_sink_equal(&a, &c->sinks[0]), 1);
	ck_assert_int_eq(conf_sink_equal(&b, &c->sinks[1]), 1);
	ck_assert_int_eq(conf_sink_equal(&a, &b), 0);
	ck_assert_str_eq(b.argv[1], "-u");
	ck_assert_ptr_null(b.argv[2]);
	conf_free(c);
	/* The copies outlive the configuration. */
	ck_assert_str_eq(a.secret, "k");
	b.timeout++;
	ck_assert_int_eq(conf_sink_equal(&b, &b), 1);
	conf_sink_clear(&a);
	conf_sink_clear(&b);
	conf_sink_clear(&b);
	conf_sink_clear(NULL);
}
END_TEST

static Suite *
t_config_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("config");
	tc = tcase_create("config");
	tcase_add_test(tc, t_defaults);
	tcase_add_test(tc, t_minimal);
	tcase_add_test(tc, t_full);
	tcase_add_test(tc, t_example);
	tcase_add_test(tc, t_dev);
	tcase_add_test(tc, t_man_examples);
	tcase_add_test(tc, t_cannot_open);
	tcase_add_test(tc, t_unknown_key);
	tcase_add_test(tc, t_unknown_section);
	tcase_add_test(tc, t_numbers);
	tcase_add_test(tc, t_number_values);
	tcase_add_test(tc, t_booleans);
	tcase_add_test(tc, t_cidr);
	tcase_add_test(tc, t_listen);
	tcase_add_test(tc, t_urls);
	tcase_add_test(tc, t_strings);
	tcase_add_test(tc, t_missing_allow);
	tcase_add_test(tc, t_syntax);
	tcase_add_test(tc, t_several);
	tcase_add_test(tc, t_lists);
	tcase_add_test(tc, t_target_allowed);
	tcase_add_test(tc, t_block_lists);
	tcase_add_test(tc, t_blocked);
	tcase_add_test(tc, t_sinks);
	tcase_add_test(tc, t_sink_errors);
	tcase_add_test(tc, t_sink_copy);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(t_config_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
