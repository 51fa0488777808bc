/*
 * Unit tests for sink.c: the registry, the JSON payload and its
 * escaping, the idempotency key, and the delivery scheduler driven
 * through a stub sink type (registered with the lookup hook) on a real
 * store, with an injected clock and jitter: delivery, retry with
 * backoff, max_age, restart, concurrency, reload, a store that cannot
 * record an outcome.
 */
#include "config.h"

#include <sys/time.h>

#include <check.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "log.h"
#include "pbd.h"
#include "sink.h"
#include "xmalloc.h"

/* SHA-256 of "http://a/1\nhttp://b/post" */
#define KEY_A1	"89b342e4a0f24e23e5736273bf722890" \
		"b384a87d305ff955e52632daa9c7d572"

static char		 dir[4096];
static char		*dbpath;
static struct event_base *base;
static struct store	*st;
static struct conf	*conf;
static struct sinks	*sinks;

/* The stub sink: records each delivery; the test completes them. */
struct call {
	struct sink	*sink;		/* only while live */
	char		 name[40];
	long		 concurrency;
	int64_t		 id;
	char		*key;
	char		*json;
	sink_done_cb	 cb;
	void		*arg;
	int		 live;
};
static struct call	 calls[64];
static int		 ncalls;
static int		 opens, closes, fail_open, fail_deliver;
static time_t		 fake_now;
static double		 fake_jitter = 1.0;

static int
stub_open(struct sink *s, char **cause)
{
	*cause = NULL;
	if (fail_open) {
		*cause = xstrdup("cannot reach the stub");
		return (-1);
	}
	s->priv = &opens;
	opens++;
	return (0);
}

static int
stub_deliver(struct sink *s, const struct sink_item *it, sink_done_cb cb,
    void *arg)
{
	struct call	*c;

	ck_assert_ptr_eq(s->priv, &opens);
	if (fail_deliver)
		return (-1);
	ck_assert_int_lt(ncalls, 64);
	c = &calls[ncalls++];
	c->sink = s;
	snprintf(c->name, sizeof(c->name), "%s", s->conf->name);
	c->concurrency = s->conf->concurrency;
	c->id = it->mention_id;
	c->key = xstrdup(it->key);
	c->json = xstrndup(it->json, it->len);
	ck_assert_uint_eq(strlen(c->json), it->len);
	c->cb = cb;
	c->arg = arg;
	c->live = 1;
	return (0);
}

static void
stub_close(struct sink *s)
{
	int	 i;

	for (i = 0; i < ncalls; i++)
		if (calls[i].sink == s)
			calls[i].live = 0;
	closes++;
}

static const struct sink_ops stub_ops = {
	"stub", stub_open, stub_deliver, stub_close
};

static const struct sink_ops *
stub_lookup(const char *type)
{
	return (strcmp(type, "stub") == 0 ? &stub_ops : NULL);
}

static time_t
stub_now(void)
{
	return (fake_now);
}

static double
stub_jitter(void)
{
	return (fake_jitter);
}

static const struct sinks_hooks hooks = { stub_lookup, stub_now, stub_jitter };

/* Complete call i; it must still be live. */
static void
complete(int i, int ok, const char *error)
{
	ck_assert_int_lt(i, ncalls);
	ck_assert_msg(calls[i].live, "call %d is not live", i);
	calls[i].live = 0;
	calls[i].cb(calls[i].sink, ok, error, calls[i].arg);
}

static int
nlive(void)
{
	int	 i, n = 0;

	for (i = 0; i < ncalls; i++)
		n += calls[i].live;
	return (n);
}

/* Let the loop run what is ready: flushes, kicks, callbacks. */
static void
spin(void)
{
	int	 i;

	for (i = 0; i < 8; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

/* Move the clock and let the scheduler look. */
static void
advance(time_t s)
{
	fake_now += s;
	sinks_kick(sinks);
	spin();
}

static struct sink_conf *
add_sink(const char *name, long concurrency, long base_s, long max_s,
    long max_age)
{
	struct sink_conf	*sc;

	conf->sinks = xreallocarray(conf->sinks, conf->nsinks + 1,
	    sizeof(*conf->sinks));
	sc = &conf->sinks[conf->nsinks++];
	memset(sc, 0, sizeof(*sc));
	sc->name = xstrdup(name);
	sc->type = xstrdup("stub");
	sc->concurrency = concurrency;
	sc->retry_base = base_s;
	sc->retry_max = max_s;
	sc->max_age = max_age;
	sc->timeout = 10;
	return (sc);
}

static void
open_store(void)
{
	char	*cause = NULL;

	st = store_open(dbpath, base, &cause);
	ck_assert_msg(st != NULL, "%s", cause);
}

static void
open_sinks(void)
{
	char	*cause = NULL;

	sinks = sinks_new_hooks(base, st, NULL, conf, &hooks, &cause);
	ck_assert_msg(sinks != NULL, "%s", cause);
}

static void
setup(void)
{
	const char	*tmp = getenv("TMPDIR");

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/t_sink.XXXXXX", tmp);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	xasprintf(&dbpath, "%s/mentions.sqlite", dir);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	conf = conf_default();
	memset(calls, 0, sizeof(calls));
	ncalls = opens = closes = fail_open = fail_deliver = 0;
	fake_now = time(NULL) + 60;
	fake_jitter = 1.0;
	log_setlevel(LOG_ERR);
	open_store();
	sinks = NULL;
}

static void
teardown(void)
{
	DIR		*d;
	struct dirent	*de;
	char		*p;
	int		 i;

	sinks_free(sinks);
	store_close(st);
	conf_free(conf);
	event_base_free(base);
	for (i = 0; i < ncalls; i++) {
		free(calls[i].key);
		free(calls[i].json);
	}
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			xasprintf(&p, "%s/%s", dir, de->d_name);
			unlink(p);
			free(p);
		}
		closedir(d);
	}
	rmdir(dir);
	free(dbpath);
}

static void
done_cb(enum store_rc rc, int64_t id, const char *cause, void *arg)
{
	(void)id;
	(void)cause;
	ck_assert_int_eq(rc, STORE_OK);
	*(int *)arg = 1;
}

/* Store a mention from source (target http://b/post), received ago s ago. */
static void
submit(const char *source, time_t ago)
{
	struct mention	 m;
	int		 done = 0;

	memset(&m, 0, sizeof(m));
	m.kind = "pingback";
	m.source = m.source_norm = source;
	m.target = m.target_norm = "http://b/post";
	m.title = "T";
	m.excerpt = "E";
	m.status = "pending";
	m.client_ip = "192.0.2.7";
	m.received_at = fake_now - ago;
	store_submit(st, &m, done_cb, &done);
	while (!done)
		event_base_loop(base, EVLOOP_ONCE);
	spin();
}

/* One value of the store's outbox, through a second connection. */
static char *
row(const char *sql)
{
	sqlite3		*db;
	sqlite3_stmt	*s;
	char		*r;

	ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	r = xstrdup(sqlite3_column_text(s, 0) != NULL ?
	    (const char *)sqlite3_column_text(s, 0) : "NULL");
	sqlite3_finalize(s);
	sqlite3_close(db);
	return (r);
}

static void
expect_row(const char *sql, const char *want)
{
	char	*got = row(sql);

	ck_assert_str_eq(got, want);
	free(got);
}

/* state:attempts:next_attempt-fake_now:last_error of one delivery. */
static void
expect_delivery(int64_t id, const char *sink, const char *want)
{
	char	*sql;

	xasprintf(&sql, "SELECT state || ':' || attempts || ':' ||"
	    " (next_attempt - %lld) || ':' || ifnull(last_error, 'NULL')"
	    " FROM deliveries WHERE mention_id = %lld AND sink = '%s'",
	    (long long)fake_now, (long long)id, sink);
	expect_row(sql, want);
	free(sql);
}

static struct sinks_counts
counts(void)
{
	struct sinks_counts	 c;

	sinks_counts(sinks, &c);
	return (c);
}

START_TEST(registry)
{
	ck_assert_ptr_eq(sink_ops_lookup("webhook"), &sink_webhook_ops);
	ck_assert_ptr_eq(sink_ops_lookup("exec"), &sink_exec_ops);
	ck_assert_str_eq(sink_webhook_ops.type, "webhook");
	ck_assert_str_eq(sink_exec_ops.type, "exec");
	ck_assert_ptr_null(sink_ops_lookup("stub"));
	ck_assert_ptr_null(sink_ops_lookup(""));
}
END_TEST

/* Replace a string of a delivery. */
static void
dset(char **field, const char *v)
{
	free(*field);
	*field = xstrdup(v);
}

START_TEST(payload)
{
	struct delivery	*dp = xcalloc(1, sizeof(*dp)), d;
	char		*json, key[65];
	size_t		 len;

	dp->mention_id = 42;
	dset(&dp->kind, "pingback");
	dset(&dp->source, "http://a/1?x=\"y\"");
	dset(&dp->target, "http://b/post");
	dset(&dp->source_norm, "http://a/1");
	dset(&dp->target_norm, "http://b/post");
	/* quote, backslash, controls, DEL, valid and invalid UTF-8 */
	dset(&dp->title, "say \"hi\" \\o/\n\ttab \x01\x1f\x7f "
	    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 "
	    "bad:\xff\xc3(\xed\xa0\x80\xf4\x90\x80\x80\xc0\xaf\xe0\x80\xaf");
	dset(&dp->excerpt, "\xe2\x80\xa6 text [link] \xe2\x80\xa6");
	dset(&dp->status, "approved");
	dset(&dp->client_ip, "2001:db8::1");
	dset(&dp->received, "2026-12-01T08:30:00Z");
	d = *dp;
	json = sink_payload(&d, &len);
	ck_assert_uint_eq(strlen(json), len);
	ck_assert_str_eq(json, "{\"id\":42,"
	    "\"idempotency_key\":\"" KEY_A1 "\","
	    "\"kind\":\"pingback\","
	    "\"source\":\"http://a/1?x=\\\"y\\\"\","
	    "\"target\":\"http://b/post\","
	    "\"title\":\"say \\\"hi\\\" \\\\o/\\u000a\\u0009tab \\u0001\\u001f"
	    "\\u007f \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 bad:\\ufffd\\ufffd("
	    "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd"
	    "\\ufffd\\ufffd\\ufffd\","
	    "\"excerpt\":\"\xe2\x80\xa6 text [link] \xe2\x80\xa6\","
	    "\"status\":\"approved\","
	    "\"client_ip\":\"2001:db8::1\","
	    "\"received_at\":\"2026-12-01T08:30:00Z\"}");
	free(json);
	sink_key(&d, key, sizeof(key));
	ck_assert_str_eq(key, KEY_A1);
	/* The key depends on the normalised pair only. */
	dp->mention_id = 7;
	dset(&dp->source, "HTTP://A/1");
	sink_key(dp, key, sizeof(key));
	ck_assert_str_eq(key, KEY_A1);
	dset(&dp->source_norm, "http://a/2");
	sink_key(dp, key, sizeof(key));
	ck_assert_str_ne(key, KEY_A1);
	store_outbox_free(dp, 1);
}
END_TEST

START_TEST(deliver_ok)
{
	struct sinks_counts	 c;

	add_sink("s1", 4, 5, 3600, 86400);
	open_sinks();
	ck_assert_int_eq(opens, 1);
	submit("http://a/1", 10);
	ck_assert_int_eq(ncalls, 1);
	ck_assert_int_eq(calls[0].id, 1);
	ck_assert_str_eq(calls[0].key, KEY_A1);
	ck_assert_ptr_nonnull(strstr(calls[0].json, "{\"id\":1,"
	    "\"idempotency_key\":\"" KEY_A1 "\",\"kind\":\"pingback\","
	    "\"source\":\"http://a/1\",\"target\":\"http://b/post\","
	    "\"title\":\"T\",\"excerpt\":\"E\",\"status\":\"pending\","
	    "\"client_ip\":\"192.0.2.7\",\"received_at\":\""));
	c = counts();
	ck_assert_uint_eq(c.pending, 1);
	ck_assert_uint_eq(c.inflight, 1);
	/* Not started twice while in flight. */
	advance(30);
	ck_assert_int_eq(ncalls, 1);
	complete(0, 1, NULL);
	spin();
	expect_delivery(1, "s1", "delivered:1:0:NULL");
	expect_row("SELECT delivered_at IS NOT NULL FROM deliveries", "1");
	c = counts();
	ck_assert_uint_eq(c.pending, 0);
	ck_assert_uint_eq(c.inflight, 0);
	ck_assert_uint_eq(c.delivered, 1);
	ck_assert_uint_eq(c.failed, 0);
	advance(3600);
	ck_assert_int_eq(ncalls, 1);
}
END_TEST

START_TEST(retry_backoff)
{
	add_sink("s1", 4, 5, 20, 86400);
	open_sinks();
	submit("http://a/1", 0);
	ck_assert_int_eq(ncalls, 1);
	complete(0, 0, "http 503");
	spin();
	expect_delivery(1, "s1", "pending:1:5:http 503");
	ck_assert_uint_eq(counts().pending, 1);
	advance(4);
	ck_assert_int_eq(ncalls, 1);
	advance(1);
	ck_assert_int_eq(ncalls, 2);
	ck_assert_str_eq(calls[1].key, KEY_A1);	/* the same key */
	ck_assert_str_eq(calls[1].json, calls[0].json);
	complete(1, 0, "timeout");
	spin();
	expect_delivery(1, "s1", "pending:2:10:timeout");
	advance(10);
	complete(2, 0, NULL);
	spin();
	expect_delivery(1, "s1", "pending:3:20:failed");
	advance(20);
	complete(3, 0, "x");
	spin();
	expect_delivery(1, "s1", "pending:4:20:x");	/* retry_max */
	/* Jitter shortens the wait, never below a second. */
	fake_jitter = 0.5;
	advance(20);
	complete(4, 0, "y");
	spin();
	expect_delivery(1, "s1", "pending:5:10:y");
	advance(10);
	complete(5, 1, NULL);
	spin();
	expect_delivery(1, "s1", "delivered:6:0:NULL");
}
END_TEST

START_TEST(max_age_fails)
{
	add_sink("s1", 4, 5, 20, 60);
	open_sinks();
	submit("http://a/1", 100);
	/* Attempted once even though old, then failed for good. */
	ck_assert_int_eq(ncalls, 1);
	complete(0, 0, "connection refused");
	spin();
	expect_delivery(1, "s1", "failed:1:0:connection refused");
	ck_assert_uint_eq(counts().failed, 1);
	ck_assert_uint_eq(counts().pending, 0);
	advance(3600);
	ck_assert_int_eq(ncalls, 1);
	/* A young one is retried. */
	submit("http://a/2", 30);
	complete(1, 0, "connection refused");
	spin();
	expect_delivery(2, "s1", "pending:1:5:connection refused");
}
END_TEST

START_TEST(deliver_cannot_start)
{
	add_sink("s1", 4, 5, 20, 86400);
	open_sinks();
	fail_deliver = 1;
	submit("http://a/1", 0);
	expect_delivery(1, "s1", "pending:1:5:the delivery could not be "
	    "started");
	fail_deliver = 0;
	advance(5);
	ck_assert_int_eq(ncalls, 1);
	complete(0, 1, NULL);
	spin();
	expect_delivery(1, "s1", "delivered:2:0:NULL");
}
END_TEST

START_TEST(restart_resumes)
{
	add_sink("s1", 4, 5, 20, 86400);
	open_sinks();
	submit("http://a/1", 0);
	submit("http://a/2", 0);
	ck_assert_int_eq(ncalls, 2);
	complete(1, 1, NULL);
	spin();
	/* "Crash": the first is in flight, its outcome never recorded. */
	sinks_free(sinks);
	sinks = NULL;
	ck_assert_int_eq(closes, 1);
	ck_assert_int_eq(nlive(), 0);
	store_close(st);
	open_store();
	open_sinks();
	ck_assert_uint_eq(counts().pending, 1);
	spin();
	ck_assert_int_eq(ncalls, 3);
	ck_assert_int_eq(calls[2].id, 1);
	ck_assert_str_eq(calls[2].key, calls[0].key);
	complete(2, 1, NULL);
	spin();
	expect_delivery(1, "s1", "delivered:1:0:NULL");
	expect_delivery(2, "s1", "delivered:1:0:NULL");
}
END_TEST

START_TEST(concurrency)
{
	char	 src[32];
	int	 i;

	add_sink("s1", 2, 5, 20, 86400);
	open_sinks();
	for (i = 1; i <= 5; i++) {
		snprintf(src, sizeof(src), "http://a/%d", i);
		submit(src, 0);
	}
	ck_assert_int_eq(ncalls, 2);
	ck_assert_uint_eq(counts().inflight, 2);
	ck_assert_uint_eq(counts().pending, 5);
	complete(0, 1, NULL);
	spin();
	ck_assert_int_eq(ncalls, 3);
	ck_assert_int_eq(nlive(), 2);
	complete(1, 0, "boom");		/* retried later, not now */
	spin();
	ck_assert_int_eq(ncalls, 4);
	ck_assert_int_eq(calls[3].id, 4);
	complete(2, 1, NULL);
	complete(3, 1, NULL);
	spin();
	ck_assert_int_eq(ncalls, 5);
	complete(4, 1, NULL);
	spin();
	ck_assert_int_eq(ncalls, 5);
	advance(5);
	ck_assert_int_eq(ncalls, 6);
	ck_assert_int_eq(calls[5].id, 2);
	complete(5, 1, NULL);
	spin();
	ck_assert_uint_eq(counts().delivered, 5);
	ck_assert_uint_eq(counts().pending, 0);
}
END_TEST

/* Two sinks: each gets every mention, independently. */
START_TEST(two_sinks)
{
	add_sink("a", 4, 5, 20, 86400);
	add_sink("b", 4, 5, 20, 86400);
	open_sinks();
	submit("http://a/1", 0);
	ck_assert_int_eq(ncalls, 2);
	ck_assert_ptr_ne(calls[0].sink, calls[1].sink);
	ck_assert_str_eq(calls[0].json, calls[1].json);
	complete(0, 1, NULL);
	complete(1, 0, "down");
	spin();
	expect_row("SELECT group_concat(sink || ':' || state, ' ') FROM"
	    " (SELECT * FROM deliveries ORDER BY sink)",
	    "a:delivered b:pending");
	ck_assert_uint_eq(counts().pending, 1);
}
END_TEST

START_TEST(reload)
{
	struct conf	*nconf;
	char		*cause = NULL;
	int		 i;

	add_sink("keep", 4, 5, 20, 86400);
	add_sink("change", 4, 5, 20, 86400);
	add_sink("gone", 4, 5, 20, 86400);
	open_sinks();
	submit("http://a/1", 0);
	ck_assert_int_eq(ncalls, 3);
	ck_assert_int_eq(opens, 3);

	/* keep: the same; change: another concurrency; gone; new. */
	nconf = conf_default();
	conf_free(conf);
	conf = nconf;
	add_sink("keep", 4, 5, 20, 86400);
	add_sink("change", 2, 5, 20, 86400);
	add_sink("new", 4, 5, 20, 86400);
	/* A sink that cannot open refuses the whole reload. */
	fail_open = 1;
	ck_assert_int_eq(sinks_reload(sinks, conf, st, &cause), -1);
	ck_assert_str_eq(cause, "[sink.change] cannot reach the stub");
	free(cause);
	ck_assert_int_eq(nlive(), 3);
	ck_assert_int_eq(closes, 0);
	fail_open = 0;
	ck_assert_int_eq(sinks_reload_prepare(sinks, conf, st, &cause), 0);
	sinks_reload_abort(sinks);
	ck_assert_int_eq(closes, 2);		/* what prepare opened */
	ck_assert_int_eq(nlive(), 3);
	ck_assert_int_eq(sinks_reload(sinks, conf, st, &cause), 0);
	ck_assert_int_eq(opens, 3 + 2 + 2);
	ck_assert_int_eq(closes, 2 + 2);	/* change, gone */
	/* keep's delivery is still in flight and completes. */
	for (i = 0; i < 3 && strcmp(calls[i].name, "keep") != 0; i++)
		;
	ck_assert_int_lt(i, 3);
	ck_assert_int_eq(calls[i].live, 1);
	ck_assert_int_eq(nlive(), 1);
	complete(i, 1, NULL);
	spin();
	/* change's abandoned delivery is made again by the new one. */
	ck_assert_int_eq(ncalls, 4);
	ck_assert_str_eq(calls[3].name, "change");
	ck_assert_int_eq(calls[3].concurrency, 2);
	complete(3, 1, NULL);
	spin();
	/* new mentions go to keep, change and new, not to gone. */
	submit("http://a/2", 0);
	expect_row("SELECT group_concat(sink, ' ') FROM (SELECT sink FROM"
	    " deliveries WHERE mention_id = 2 ORDER BY sink)",
	    "change keep new");
	/* gone's row is left alone, pending. */
	expect_row("SELECT state || ':' || attempts FROM deliveries WHERE"
	    " mention_id = 1 AND sink = 'gone'", "pending:0");
	expect_row("SELECT count(*) FROM deliveries WHERE mention_id = 1",
	    "3");
}
END_TEST

START_TEST(open_fails)
{
	char	*cause = NULL;

	add_sink("s1", 4, 5, 20, 86400);
	fail_open = 1;
	ck_assert_ptr_null(sinks_new_hooks(base, st, NULL, conf, &hooks,
	    &cause));
	ck_assert_str_eq(cause, "[sink.s1] cannot reach the stub");
	free(cause);
	fail_open = 0;
	free(conf->sinks[0].type);
	conf->sinks[0].type = xstrdup("carrier-pigeon");
	ck_assert_ptr_null(sinks_new_hooks(base, st, NULL, conf, &hooks,
	    &cause));
	ck_assert_str_eq(cause, "[sink.s1] type carrier-pigeon: not in this "
	    "pingbackd");
	free(cause);
}
END_TEST

static void
unlock_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	sqlite3_exec(arg, "ROLLBACK", NULL, NULL, NULL);
}

/*
 * The store cannot record a success (locked past its tries): the
 * outcome is held, the delivery is not made again, and it is recorded
 * once the store can be written.
 */
START_TEST(outcome_held)
{
	struct timeval	 tv = { 2, 500000 };
	sqlite3		*db;
	time_t		 t0;
	FILE		*fp;
	char		*logbuf = NULL;
	size_t		 loglen = 0;

	add_sink("s1", 4, 5, 20, 86400);
	open_sinks();
	submit("http://a/1", 0);
	ck_assert_int_eq(ncalls, 1);
	ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN EXCLUSIVE; DELETE FROM"
	    " mentions WHERE id = 0", NULL, NULL, NULL), SQLITE_OK);
	event_base_once(base, -1, EV_TIMEOUT, unlock_cb, db, &tv);
	ck_assert_ptr_nonnull(fp = open_memstream(&logbuf, &loglen));
	log_setstream(fp);
	log_setlevel(LOG_INFO);
	complete(0, 1, NULL);
	t0 = time(NULL);
	while (time(NULL) - t0 < 4) {
		event_base_loop(base, EVLOOP_ONCE);
		sinks_kick(sinks);
	}
	advance(1);
	log_setstream(stderr);
	log_setlevel(LOG_ERR);
	fclose(fp);
	ck_assert_int_eq(ncalls, 1);
	expect_delivery(1, "s1", "delivered:1:-1:NULL");
	ck_assert_uint_eq(counts().delivered, 1);
	/* Logged once: the delivery, and the store's trouble. */
	ck_assert_msg(strstr(logbuf, "event=sink.store_error sink=s1 id=1 "
	    "error=") != NULL, "%s", logbuf);
	ck_assert_ptr_nonnull(strstr(logbuf, "store locked"));
	ck_assert_ptr_null(strstr(strstr(logbuf, "sink.store_error") + 1,
	    "sink.store_error"));
	ck_assert_ptr_nonnull(strstr(logbuf, "event=sink.delivered sink=s1 "
	    "id=1 attempts=1 source=http://a/1 target=http://b/post"));
	free(logbuf);
	sqlite3_close(db);
}
END_TEST

static Suite *
sink_suite(void)
{
	Suite	*s = suite_create("sink");
	TCase	*tc = tcase_create("sink");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, registry);
	tcase_add_test(tc, payload);
	tcase_add_test(tc, deliver_ok);
	tcase_add_test(tc, retry_backoff);
	tcase_add_test(tc, max_age_fails);
	tcase_add_test(tc, deliver_cannot_start);
	tcase_add_test(tc, restart_resumes);
	tcase_add_test(tc, concurrency);
	tcase_add_test(tc, two_sinks);
	tcase_add_test(tc, reload);
	tcase_add_test(tc, open_fails);
	tcase_add_test(tc, outcome_held);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(sink_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
