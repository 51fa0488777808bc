/*
 * Unit tests for store.c and store_outbox.c, on a database in a fresh
 * temporary directory: the batched write queue (one transaction per
 * batch, answers after COMMIT, duplicates, a locked store, a full disk
 * and recovery, cancel, close), the schema and its migration, and the
 * outbox's reads and marks.
 */
#include <sys/stat.h>
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

#include "pbd.h"
#include "xmalloc.h"

static char		 dir[4096];
static char		*dbpath;
static struct event_base *base;

/* One write's outcome, as its callback saw it. */
struct res {
	int		 called;
	enum store_rc	 rc;
	int64_t		 id;
	char		*cause;
	int		 visible;	/* rows another connection saw then */
};

static void
setup(void)
{
	const char	*tmp = getenv("TMPDIR");

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/t_store.XXXXXX", tmp);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	xasprintf(&dbpath, "%s/mentions.sqlite", dir);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
}

static void
teardown(void)
{
	DIR		*d;
	struct dirent	*de;
	char		*p;

	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			xasprintf(&p, "%s/%s", dir, de->d_name);
			unlink(p);
			free(p);
		}
		closedir(d);
	}
	rmdir(dir);
	free(dbpath);
	dbpath = NULL;
	event_base_free(base);
	base = NULL;
}

/* A mention of target_norm from source_norm; the as-sent URLs differ. */
static struct mention
mention(const char *source_norm, const char *target_norm)
{
	struct mention	 m;

	memset(&m, 0, sizeof(m));
	m.kind = "pingback";
	m.source = source_norm;
	m.target = target_norm;
	m.source_norm = source_norm;
	m.target_norm = target_norm;
	m.title = "A title \xc3\xa9";
	m.excerpt = "\xe2\x80\xa6 some text [link] more \xe2\x80\xa6";
	m.status = "pending";
	m.client_ip = "203.0.113.9";
	m.received_at = 1796113800;	/* 2026-12-01T08:30:00Z */
	return (m);
}

static struct store *
open_ok(void)
{
	struct store	*st;
	char		*cause = NULL;

	st = store_open(dbpath, base, &cause);
	ck_assert_msg(st != NULL, "store_open: %s", cause);
	ck_assert_ptr_null(cause);
	return (st);
}

static void
done_cb(enum store_rc rc, int64_t id, const char *cause, void *arg)
{
	struct res	*r = arg;

	ck_assert_int_eq(r->called, 0);
	r->called = 1;
	r->rc = rc;
	r->id = id;
	r->cause = cause != NULL ? xstrdup(cause) : NULL;
}

/* Run the loop until r has been called back (at most 10 s). */
static void
wait_for(struct res *r)
{
	time_t	 t0 = time(NULL);

	while (!r->called) {
		ck_assert_int_lt(time(NULL) - t0, 10);
		event_base_loop(base, EVLOOP_ONCE);
	}
}

/* Run the loop until nothing is queued or pending any more. */
static void
drain(struct store *st)
{
	time_t	 t0 = time(NULL);

	do {
		ck_assert_int_lt(time(NULL) - t0, 10);
		event_base_loop(base, EVLOOP_NONBLOCK);
	} while (store_queued(st) > 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
}

/* Submit m, wait for the answer; return it (r->cause to be freed). */
static struct res
submit_wait(struct store *st, const struct mention *m)
{
	struct res	 r;

	memset(&r, 0, sizeof(r));
	store_submit(st, m, done_cb, &r);
	ck_assert_int_eq(r.called, 0);		/* never from inside */
	wait_for(&r);
	return (r);
}

static int64_t
insert_ok(struct store *st, const struct mention *m)
{
	struct res	 r = submit_wait(st, m);

	ck_assert_msg(r.rc == STORE_OK, "rc %d: %s", r.rc, r.cause);
	ck_assert_ptr_null(r.cause);
	return (r.id);
}

/* Open a second, plain connection to the database. */
static sqlite3 *
raw_open(void)
{
	sqlite3	*db = NULL;

	ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	return (db);
}

static void
raw_exec(sqlite3 *db, const char *sql)
{
	char	*err = NULL;

	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK,
	    "%s: %s", sql, err);
}

/* The first column of the first row of sql, as a new string. */
static char *
raw_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*s;
	char		*r;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	r = xstrdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return (r);
}

static void
expect_text(sqlite3 *db, const char *sql, const char *want)
{
	char	*got = raw_text(db, sql);

	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(create_insert_exists)
{
	struct store	*st = open_ok();
	struct mention	 m = mention("http://a/1", "http://b/post");
	struct stat	 sb;
	char		*cause = (char *)1;

	ck_assert_int_eq(stat(dbpath, &sb), 0);
	ck_assert_int_eq(store_exists(st, "http://a/1", "http://b/post",
	    &cause), 0);
	ck_assert_ptr_null(cause);
	ck_assert_int_eq(insert_ok(st, &m), 1);
	ck_assert_int_eq(store_exists(st, "http://a/1", "http://b/post",
	    &cause), 1);
	ck_assert_int_eq(store_exists(st, "http://b/post", "http://a/1",
	    &cause), 0);
	ck_assert_int_eq(store_exists(st, "http://a/1", "http://b/other",
	    NULL), 0);
	m = mention("http://a/2", "http://b/post");
	ck_assert_int_eq(insert_ok(st, &m), 2);
	store_close(st);
	store_close(NULL);
}
END_TEST

START_TEST(duplicate)
{
	struct store	*st = open_ok();
	struct mention	 m = mention("http://a/1", "http://b/post");
	struct res	 r;

	insert_ok(st, &m);
	/* Sent differently, the same once normalised. */
	m.source = "HTTP://A:80/1#frag";
	m.target = "http://B/post";
	r = submit_wait(st, &m);
	ck_assert_int_eq(r.rc, STORE_DUPLICATE);
	ck_assert_ptr_null(r.cause);
	/* The statement is reusable after the failure. */
	m = mention("http://a/3", "http://b/post");
	ck_assert_int_eq(insert_ok(st, &m), 2);
	store_close(st);
}
END_TEST

START_TEST(sources)
{
	struct store	*st = open_ok();
	struct mention	 m;
	sqlite3		*db;
	char		**list = (char **)1, *cause = NULL;
	size_t		 n = 99;
	int		 i;
	char		 src[64], norm[64];

	for (i = 1; i <= 5; i++) {
		snprintf(src, sizeof(src), "HTTP://A/%d", i);
		snprintf(norm, sizeof(norm), "http://a/%d", i);
		m = mention(norm, "http://b/post");
		m.source = src;
		if (i == 4)
			m.status = "approved";
		insert_ok(st, &m);
	}
	m = mention("http://a/x", "http://b/other");
	insert_ok(st, &m);

	db = raw_open();
	raw_exec(db, "UPDATE mentions SET status = 'spam' WHERE id = 2");
	raw_exec(db, "UPDATE mentions SET status = 'deleted' WHERE id = 3");
	sqlite3_close(db);

	ck_assert_int_eq(store_sources(st, "http://b/post", &list, &n,
	    &cause), 0);
	ck_assert_ptr_null(cause);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(list[0], "HTTP://A/1");
	ck_assert_str_eq(list[1], "HTTP://A/4");
	ck_assert_str_eq(list[2], "HTTP://A/5");
	store_free_list(list, n);

	ck_assert_int_eq(store_sources(st, "http://b/none", &list, &n,
	    &cause), 0);
	ck_assert_uint_eq(n, 0);
	store_free_list(list, n);
	store_free_list(NULL, 0);
	store_close(st);
}
END_TEST

START_TEST(reopen)
{
	struct store	*st = open_ok();
	struct mention	 m = mention("http://a/1", "http://b/post");
	sqlite3		*db;

	insert_ok(st, &m);
	store_close(st);
	st = open_ok();
	ck_assert_int_eq(store_exists(st, "http://a/1", "http://b/post",
	    NULL), 1);
	m = mention("http://a/2", "http://b/post");
	ck_assert_int_eq(insert_ok(st, &m), 2);
	store_close(st);

	db = raw_open();
	expect_text(db, "SELECT count(*) FROM mentions", "2");
	expect_text(db, "PRAGMA user_version", "2");
	expect_text(db, "PRAGMA journal_mode", "wal");
	sqlite3_close(db);
}
END_TEST

START_TEST(columns)
{
	static const char *want[][2] = {
		{ "id", "INTEGER" }, { "kind", "TEXT" }, { "source", "TEXT" },
		{ "target", "TEXT" }, { "source_norm", "TEXT" },
		{ "target_norm", "TEXT" }, { "title", "TEXT" },
		{ "excerpt", "TEXT" }, { "status", "TEXT" },
		{ "client_ip", "TEXT" }, { "received_at", "TEXT" },
	};
	struct store	*st = open_ok();
	sqlite3		*db = raw_open();
	sqlite3_stmt	*s;
	size_t		 i = 0;

	store_close(st);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA table_info(mentions)",
	    -1, &s, NULL), SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		ck_assert_uint_lt(i, sizeof(want) / sizeof(want[0]));
		ck_assert_str_eq((const char *)sqlite3_column_text(s, 1),
		    want[i][0]);
		ck_assert_str_eq((const char *)sqlite3_column_text(s, 2),
		    want[i][1]);
		/* Everything but the key is NOT NULL. */
		ck_assert_int_eq(sqlite3_column_int(s, 3), i == 0 ? 0 : 1);
		ck_assert_int_eq(sqlite3_column_int(s, 5), i == 0 ? 1 : 0);
		i++;
	}
	ck_assert_uint_eq(i, sizeof(want) / sizeof(want[0]));
	sqlite3_finalize(s);
	/* The uniqueness rule and the target index exist. */
	expect_text(db, "SELECT count(*) FROM pragma_index_list('mentions')"
	    " WHERE \"unique\" = 1", "1");
	expect_text(db, "SELECT group_concat(name) FROM (SELECT ii.name FROM"
	    " pragma_index_list('mentions') il,"
	    " pragma_index_info(il.name) ii WHERE il.\"unique\" = 1"
	    " ORDER BY ii.seqno)", "source_norm,target_norm");
	expect_text(db, "SELECT count(*) FROM pragma_index_list('mentions') il,"
	    " pragma_index_info(il.name) ii WHERE il.\"unique\" = 0"
	    " AND ii.name = 'target_norm'", "1");
	sqlite3_close(db);
}
END_TEST

START_TEST(row_contents)
{
	struct store	*st = open_ok();
	struct mention	 m = mention("http://a/1", "http://b/post");
	sqlite3		*db;

	m.source = "http://A/1";
	m.target = "http://b/post#x";
	m.status = "approved";
	insert_ok(st, &m);
	store_close(st);
	db = raw_open();
	expect_text(db, "SELECT received_at FROM mentions",
	    "2026-12-01T08:30:00Z");
	expect_text(db, "SELECT kind || '|' || source || '|' || target || '|'"
	    " || source_norm || '|' || target_norm || '|' || status || '|'"
	    " || client_ip FROM mentions", "pingback|http://A/1|"
	    "http://b/post#x|http://a/1|http://b/post|approved|203.0.113.9");
	expect_text(db, "SELECT title FROM mentions", "A title \xc3\xa9");
	expect_text(db, "SELECT excerpt FROM mentions",
	    "\xe2\x80\xa6 some text [link] more \xe2\x80\xa6");
	sqlite3_close(db);
}
END_TEST

START_TEST(check_constraints)
{
	struct store	*st = open_ok();
	struct mention	 m = mention("http://a/1", "http://b/post");
	struct mention	 ok = mention("http://a/2", "http://b/post");
	struct res	 r1, r2;

	/* A bad row fails alone; the rest of its batch is written. */
	memset(&r1, 0, sizeof(r1));
	memset(&r2, 0, sizeof(r2));
	m.kind = "comment";
	store_submit(st, &m, done_cb, &r1);
	store_submit(st, &ok, done_cb, &r2);
	wait_for(&r2);
	ck_assert_int_eq(r1.rc, STORE_ERROR);
	ck_assert_ptr_nonnull(r1.cause);
	ck_assert_ptr_nonnull(strstr(r1.cause, dbpath));
	ck_assert_ptr_nonnull(strstr(r1.cause, "CHECK"));
	ck_assert_int_eq(r2.rc, STORE_OK);
	ck_assert_uint_eq(store_commits(st), 1);
	free(r1.cause);
	m = mention("http://a/1", "http://b/post");
	m.status = "maybe";
	r1 = submit_wait(st, &m);
	ck_assert_int_eq(r1.rc, STORE_ERROR);
	free(r1.cause);
	m = mention("http://a/1", "http://b/post");
	insert_ok(st, &m);
	store_close(st);
}
END_TEST

START_TEST(open_not_database)
{
	struct store	*st;
	FILE		*fp;
	char		*cause = NULL;

	ck_assert_ptr_nonnull(fp = fopen(dbpath, "w"));
	fputs("this is not an SQLite database, just some text that is long "
	    "enough to fill a header and then some more text\n", fp);
	fclose(fp);
	st = store_open(dbpath, base, &cause);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_nonnull(strstr(cause, dbpath));
	ck_assert_msg(strstr(cause, "not a database") != NULL, "%s", cause);
	free(cause);
}
END_TEST

START_TEST(open_missing_dir)
{
	struct store	*st;
	char		*path, *cause = NULL;

	xasprintf(&path, "%s/no/such/dir/m.sqlite", dir);
	st = store_open(path, base, &cause);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, path) != NULL, "%s", cause);
	ck_assert_msg(strstr(cause, "unable to open") != NULL, "%s", cause);
	free(cause);
	free(path);
	/* NULL cause is allowed. */
	ck_assert_ptr_null(store_open(dir, base, NULL));
}
END_TEST

START_TEST(newer_schema)
{
	struct store	*st = open_ok();
	sqlite3		*db;
	char		*cause = NULL;

	store_close(st);
	db = raw_open();
	raw_exec(db, "PRAGMA user_version = 7");
	sqlite3_close(db);
	ck_assert_ptr_null(store_open(dbpath, base, &cause));
	ck_assert_msg(strstr(cause, "schema version 7") != NULL, "%s", cause);
	free(cause);
}
END_TEST

/* Commit the other connection's transaction from a timer. */
static void
release_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	raw_exec(arg, "COMMIT");
}

static long
elapsed_ms(const struct timeval *t0)
{
	struct timeval	 t1;

	gettimeofday(&t1, NULL);
	return ((t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_usec - t0->tv_usec) / 1000);
}

/* Another writer holds the lock: the batch waits, then is written. */
START_TEST(busy_then_free)
{
	struct store	*st = open_ok();
	struct mention	 m = mention("http://a/1", "http://b/post");
	struct timeval	 t0, tv = { 0, 300000 };
	struct res	 r;
	sqlite3		*db;
	char		*cause = NULL, **list;
	size_t		 n;

	insert_ok(st, &m);
	db = raw_open();
	raw_exec(db, "BEGIN EXCLUSIVE");
	raw_exec(db, "INSERT INTO mentions (kind, source, target, source_norm,"
	    " target_norm, title, excerpt, status, client_ip, received_at)"
	    " VALUES ('pingback', 'x', 'y', 'x', 'y', '', '', 'pending', '',"
	    " '')");
	/* Readers still work (WAL), and do not see the open transaction. */
	ck_assert_int_eq(store_exists(st, "http://a/1", "http://b/post",
	    &cause), 1);
	ck_assert_int_eq(store_exists(st, "x", "y", &cause), 0);
	ck_assert_int_eq(store_sources(st, "http://b/post", &list, &n,
	    &cause), 0);
	ck_assert_uint_eq(n, 1);
	store_free_list(list, n);

	m = mention("http://a/2", "http://b/post");
	memset(&r, 0, sizeof(r));
	gettimeofday(&t0, NULL);
	event_base_once(base, -1, EV_TIMEOUT, release_cb, db, &tv);
	store_submit(st, &m, done_cb, &r);
	wait_for(&r);
	ck_assert_int_eq(r.rc, STORE_OK);
	ck_assert_int_eq(r.id, 3);
	ck_assert_int_ge(elapsed_ms(&t0), 250);
	ck_assert_int_lt(elapsed_ms(&t0), 1500);
	ck_assert_int_eq(store_exists(st, "x", "y", NULL), 1);
	sqlite3_close(db);
	store_close(st);
}
END_TEST

/* A lock held for good: "store locked" after the tries, then recovery. */
START_TEST(busy_gives_up)
{
	struct store	*st = open_ok();
	struct mention	 m = mention("http://a/1", "http://b/post");
	struct timeval	 t0;
	struct res	 r;
	sqlite3		*db = raw_open();
	long		 ms;

	raw_exec(db, "BEGIN EXCLUSIVE");
	raw_exec(db, "DELETE FROM mentions");
	memset(&r, 0, sizeof(r));
	gettimeofday(&t0, NULL);
	store_submit(st, &m, done_cb, &r);
	wait_for(&r);
	ms = elapsed_ms(&t0);
	ck_assert_int_eq(r.rc, STORE_ERROR);
	ck_assert_msg(strstr(r.cause, "store locked") != NULL, "%s", r.cause);
	ck_assert_ptr_nonnull(strstr(r.cause, dbpath));
	ck_assert_msg(ms >= PBD_STORE_BUSY_TRIES * PBD_STORE_BUSY_RETRY_MS *
	    3 / 4 && ms < 6000, "gave up after %ld ms", ms);
	free(r.cause);
	raw_exec(db, "ROLLBACK");
	ck_assert_int_eq(insert_ok(st, &m), 1);
	sqlite3_close(db);
	store_close(st);
}
END_TEST

/* Count the rows another connection sees, from inside a callback. */
static void
visible_cb(enum store_rc rc, int64_t id, const char *cause, void *arg)
{
	struct res	*r = arg;
	sqlite3		*db = raw_open();
	char		*n;

	done_cb(rc, id, cause, arg);
	n = raw_text(db, "SELECT count(*) FROM mentions");
	r->visible = atoi(n);
	free(n);
	sqlite3_close(db);
}

/* Many submits in one turn of the loop: one transaction, then answers. */
START_TEST(batch_one_transaction)
{
	struct store	*st = open_ok();
	struct mention	 m;
	struct res	 r[50];
	char		 src[64];
	int		 i;

	memset(r, 0, sizeof(r));
	for (i = 0; i < 50; i++) {
		snprintf(src, sizeof(src), "http://a/%d", i);
		m = mention(src, "http://b/post");
		store_submit(st, &m, i == 0 ? visible_cb : done_cb, &r[i]);
	}
	ck_assert_uint_eq(store_queued(st), 50);
	ck_assert_uint_eq(store_commits(st), 0);
	wait_for(&r[49]);
	ck_assert_uint_eq(store_commits(st), 1);
	/* The first answer came after COMMIT: all 50 rows were there. */
	ck_assert_int_eq(r[0].visible, 50);
	for (i = 0; i < 50; i++) {
		ck_assert_int_eq(r[i].called, 1);
		ck_assert_int_eq(r[i].rc, STORE_OK);
		ck_assert_int_eq(r[i].id, i + 1);
	}
	store_close(st);
}
END_TEST

/* More than a batch: several transactions of PBD_STORE_BATCH_MAX. */
START_TEST(batch_max)
{
	struct store	*st = open_ok();
	struct mention	 m;
	struct res	 r[150];
	sqlite3		*db;
	char		 src[64];
	int		 i;

	memset(r, 0, sizeof(r));
	for (i = 0; i < 150; i++) {
		snprintf(src, sizeof(src), "http://a/%d", i);
		m = mention(src, "http://b/post");
		store_submit(st, &m, done_cb, &r[i]);
	}
	wait_for(&r[149]);
	ck_assert_uint_eq(store_commits(st),
	    (150 + PBD_STORE_BATCH_MAX - 1) / PBD_STORE_BATCH_MAX);
	for (i = 0; i < 150; i++)
		ck_assert_int_eq(r[i].rc, STORE_OK);
	store_close(st);
	db = raw_open();
	expect_text(db, "SELECT count(*) FROM mentions", "150");
	sqlite3_close(db);
}
END_TEST

START_TEST(duplicates_in_batches)
{
	struct store	*st = open_ok();
	struct mention	 a = mention("http://a/1", "http://b/post");
	struct mention	 b = mention("http://a/2", "http://b/post");
	struct res	 r[3];

	memset(r, 0, sizeof(r));
	store_submit(st, &a, done_cb, &r[0]);
	store_submit(st, &a, done_cb, &r[1]);	/* same batch */
	store_submit(st, &b, done_cb, &r[2]);
	wait_for(&r[2]);
	ck_assert_int_eq(r[0].rc, STORE_OK);
	ck_assert_int_eq(r[1].rc, STORE_DUPLICATE);
	ck_assert_int_eq(r[2].rc, STORE_OK);
	ck_assert_uint_eq(store_commits(st), 1);
	r[0] = submit_wait(st, &b);		/* a later batch */
	ck_assert_int_eq(r[0].rc, STORE_DUPLICATE);
	store_close(st);
}
END_TEST

START_TEST(cancel_and_forget)
{
	struct store		*st = open_ok();
	struct mention		 a = mention("http://a/1", "http://b/post");
	struct mention		 b = mention("http://a/2", "http://b/post");
	struct mention		 c = mention("http://a/3", "http://b/post");
	struct store_job	*ja, *jc;
	struct res		 r[3];
	sqlite3			*db;

	memset(r, 0, sizeof(r));
	ja = store_submit(st, &a, done_cb, &r[0]);
	store_submit(st, &b, done_cb, &r[1]);
	jc = store_submit(st, &c, done_cb, &r[2]);
	store_cancel(ja);		/* not written, not called */
	store_forget(jc);		/* written, not called */
	store_cancel(NULL);
	store_forget(NULL);
	wait_for(&r[1]);
	drain(st);
	ck_assert_int_eq(r[0].called, 0);
	ck_assert_int_eq(r[2].called, 0);
	store_close(st);
	db = raw_open();
	expect_text(db, "SELECT group_concat(source) FROM mentions",
	    "http://a/2,http://a/3");
	sqlite3_close(db);
}
END_TEST

/* What is queued at close is committed and answered. */
START_TEST(close_commits_queue)
{
	struct store	*st = open_ok();
	struct mention	 m = mention("http://a/1", "http://b/post");
	struct res	 r;

	memset(&r, 0, sizeof(r));
	store_submit(st, &m, done_cb, &r);
	store_close(st);
	ck_assert_int_eq(r.called, 1);
	ck_assert_int_eq(r.rc, STORE_OK);
	st = open_ok();
	ck_assert_int_eq(store_exists(st, "http://a/1", "http://b/post",
	    NULL), 1);
	store_close(st);
}
END_TEST

/*
 * A full disk (max_page_count: the database may not grow): every write
 * of the batch fails with a clear cause, nothing is half-written, and
 * once there is room again the next batch goes through.
 */
START_TEST(disk_full_then_recovers)
{
	struct store	*st = open_ok();
	struct mention	 m;
	struct res	 r[4];
	char		*big, src[64], *pages, *cause = NULL, sql[64];
	sqlite3		*db;
	int		 i;

	m = mention("http://a/0", "http://b/post");
	insert_ok(st, &m);
	db = raw_open();
	pages = raw_text(db, "PRAGMA page_count");
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %s", pages);
	free(pages);
	ck_assert_int_eq(store_test_exec(st, sql, &cause), 0);
	big = xmalloc(20001);
	memset(big, 'x', 20000);
	big[20000] = '\0';
	memset(r, 0, sizeof(r));
	for (i = 0; i < 4; i++) {
		snprintf(src, sizeof(src), "http://a/%d", i + 1);
		m = mention(src, "http://b/post");
		m.excerpt = big;
		store_submit(st, &m, done_cb, &r[i]);
	}
	wait_for(&r[3]);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(r[i].rc, STORE_ERROR);
		ck_assert_msg(strstr(r[i].cause, "database or disk is full") !=
		    NULL, "%s", r[i].cause);
		ck_assert_ptr_nonnull(strstr(r[i].cause, dbpath));
		free(r[i].cause);
	}
	expect_text(db, "SELECT count(*) FROM mentions", "1");
	/* Reads still work. */
	ck_assert_int_eq(store_exists(st, "http://a/0", "http://b/post",
	    NULL), 1);
	/* Space again: the same writes now succeed. */
	ck_assert_int_eq(store_test_exec(st, "PRAGMA max_page_count = "
	    "1073741823", &cause), 0);
	memset(r, 0, sizeof(r));
	for (i = 0; i < 4; i++) {
		snprintf(src, sizeof(src), "http://a/%d", i + 1);
		m = mention(src, "http://b/post");
		m.excerpt = big;
		store_submit(st, &m, done_cb, &r[i]);
	}
	wait_for(&r[3]);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(r[i].rc, STORE_OK);
	expect_text(db, "SELECT count(*) FROM mentions", "5");
	free(big);
	sqlite3_close(db);
	store_close(st);
}
END_TEST

static size_t	 committed;

static void
commit_cb(size_t n, void *arg)
{
	ck_assert_ptr_eq(arg, &committed);
	committed += n;
}

START_TEST(deliveries_per_sink)
{
	struct store	*st = open_ok();
	struct mention	 m = mention("http://a/1", "http://b/post");
	static char	 n1[] = "hook", n2[] = "exec-1";
	char		*names[] = { n1, n2 };
	struct res	 r;
	sqlite3		*db;
	char		*t;
	long		 next;

	committed = 0;
	store_set_sinks(st, names, 2);
	store_set_commit_cb(st, commit_cb, &committed);
	insert_ok(st, &m);
	ck_assert_uint_eq(committed, 1);
	r = submit_wait(st, &m);			/* duplicate: no rows */
	ck_assert_int_eq(r.rc, STORE_DUPLICATE);
	ck_assert_uint_eq(committed, 1);
	store_set_sinks(st, NULL, 0);
	m = mention("http://a/2", "http://b/post");
	insert_ok(st, &m);
	ck_assert_uint_eq(committed, 2);
	store_close(st);
	db = raw_open();
	expect_text(db, "SELECT group_concat(mention_id || ':' || sink || ':'"
	    " || state || ':' || attempts || ':' ||"
	    " ifnull(last_error, 'null') || ':' || ifnull(delivered_at,"
	    " 'null'), ' ') FROM (SELECT * FROM deliveries ORDER BY sink)",
	    "1:exec-1:pending:0:null:null 1:hook:pending:0:null:null");
	t = raw_text(db, "SELECT min(next_attempt) FROM deliveries");
	next = atol(t);
	free(t);
	ck_assert_int_le(labs(next - (long)time(NULL)), 5);
	/* Deleting a mention deletes its deliveries (foreign keys on). */
	raw_exec(db, "PRAGMA foreign_keys = ON");
	raw_exec(db, "DELETE FROM mentions WHERE id = 1");
	expect_text(db, "SELECT count(*) FROM deliveries", "0");
	sqlite3_close(db);
}
END_TEST

START_TEST(deliveries_schema)
{
	static const char *want[][3] = {
		{ "mention_id", "INTEGER", "1" }, { "sink", "TEXT", "1" },
		{ "state", "TEXT", "1" }, { "attempts", "INTEGER", "1" },
		{ "next_attempt", "INTEGER", "1" },
		{ "last_error", "TEXT", "0" }, { "delivered_at", "TEXT", "0" },
	};
	struct store	*st = open_ok();
	sqlite3		*db = raw_open();
	sqlite3_stmt	*s;
	char		*err = NULL;
	size_t		 i = 0;

	store_close(st);
	ck_assert_int_eq(sqlite3_prepare_v2(db,
	    "PRAGMA table_info(deliveries)", -1, &s, NULL), SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		ck_assert_uint_lt(i, sizeof(want) / sizeof(want[0]));
		ck_assert_str_eq((const char *)sqlite3_column_text(s, 1),
		    want[i][0]);
		ck_assert_str_eq((const char *)sqlite3_column_text(s, 2),
		    want[i][1]);
		ck_assert_int_eq(sqlite3_column_int(s, 3), atoi(want[i][2]));
		i++;
	}
	ck_assert_uint_eq(i, sizeof(want) / sizeof(want[0]));
	sqlite3_finalize(s);
	expect_text(db, "SELECT group_concat(name) FROM (SELECT name FROM"
	    " pragma_table_info('deliveries') WHERE pk > 0 ORDER BY pk)",
	    "mention_id,sink");
	expect_text(db, "SELECT group_concat(ii.name) FROM"
	    " pragma_index_info('deliveries_due') ii", "state,next_attempt");
	expect_text(db, "SELECT \"table\" || '.' || \"to\" || ' ' || on_delete"
	    " FROM pragma_foreign_key_list('deliveries')",
	    "mentions.id CASCADE");
	raw_exec(db, "INSERT INTO mentions (kind, source, target, source_norm,"
	    " target_norm, title, excerpt, status, client_ip, received_at)"
	    " VALUES ('pingback', 'x', 'y', 'x', 'y', '', '', 'pending', '',"
	    " '')");
	ck_assert_int_ne(sqlite3_exec(db, "INSERT INTO deliveries (mention_id,"
	    " sink, state, next_attempt) VALUES (1, 'a', 'lost', 0)", NULL,
	    NULL, &err), SQLITE_OK);
	sqlite3_free(err);
	sqlite3_close(db);
}
END_TEST

/* A version 1 database (no deliveries) is migrated in place. */
START_TEST(migrate_v1)
{
	struct store	*st;
	struct mention	 m = mention("http://a/2", "http://b/post");
	static char	 n1[] = "hook";
	char		*names[] = { n1 };
	sqlite3		*db;

	ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	raw_exec(db, "PRAGMA journal_mode = WAL");
	raw_exec(db, "CREATE TABLE mentions (id INTEGER PRIMARY KEY,"
	    " kind TEXT NOT NULL"
	    "  CHECK(kind IN ('pingback','trackback','webmention')),"
	    " source TEXT NOT NULL, target TEXT NOT NULL,"
	    " source_norm TEXT NOT NULL, target_norm TEXT NOT NULL,"
	    " title TEXT NOT NULL, excerpt TEXT NOT NULL, status TEXT NOT NULL"
	    "  CHECK(status IN ('pending','approved','spam','deleted')),"
	    " client_ip TEXT NOT NULL, received_at TEXT NOT NULL,"
	    " UNIQUE(source_norm, target_norm));"
	    "CREATE INDEX mentions_target_norm ON mentions(target_norm);"
	    "INSERT INTO mentions VALUES (1, 'pingback', 'http://a/1',"
	    " 'http://b/post', 'http://a/1', 'http://b/post', 't', 'e',"
	    " 'approved', '192.0.2.1', '2026-01-01T00:00:00Z');"
	    "PRAGMA user_version = 1;");
	sqlite3_close(db);

	st = open_ok();
	store_set_sinks(st, names, 1);
	ck_assert_int_eq(store_exists(st, "http://a/1", "http://b/post",
	    NULL), 1);
	ck_assert_int_eq(insert_ok(st, &m), 2);
	store_close(st);
	db = raw_open();
	expect_text(db, "PRAGMA user_version", "2");
	expect_text(db, "SELECT count(*) FROM mentions", "2");
	/* Mentions from before the upgrade get no deliveries. */
	expect_text(db, "SELECT group_concat(mention_id || ':' || sink)"
	    " FROM deliveries", "2:hook");
	sqlite3_close(db);
	/* And it opens again as version 2. */
	st = open_ok();
	store_close(st);
}
END_TEST

/* Queue a mark and wait for it. */
static struct res
mark_wait(struct store *st, int64_t id, const char *sink,
    enum delivery_state state, long attempts, time_t when, const char *err)
{
	struct res	 r;

	memset(&r, 0, sizeof(r));
	store_outbox_mark(st, id, sink, state, attempts, when, err, done_cb,
	    &r);
	wait_for(&r);
	return (r);
}

static uint64_t
count(struct store *st, const char *sink, enum delivery_state state)
{
	uint64_t	 n = 99;
	char		*cause = NULL;

	ck_assert_int_eq(store_outbox_count(st, sink, state, &n, &cause), 0);
	ck_assert_ptr_null(cause);
	return (n);
}

START_TEST(outbox_due_and_marks)
{
	struct store	*st = open_ok();
	struct mention	 m;
	struct delivery	*d;
	static char	 n1[] = "a";
	char		*names[] = { n1 }, src[64], *cause = NULL;
	time_t		 now = time(NULL) + 10;
	size_t		 n;
	sqlite3		*db;
	int		 i;

	store_set_sinks(st, names, 1);
	for (i = 1; i <= 3; i++) {
		snprintf(src, sizeof(src), "http://a/%d", i);
		m = mention(src, "http://b/post");
		insert_ok(st, &m);
	}
	ck_assert_int_eq(store_outbox_due(st, "a", now, 10, &d, &n, &cause),
	    0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(d[0].mention_id, 1);
	ck_assert_int_eq(d[0].attempts, 0);
	ck_assert_int_eq(d[0].received_at, 1796113800);
	ck_assert_str_eq(d[0].received, "2026-12-01T08:30:00Z");
	ck_assert_str_eq(d[0].kind, "pingback");
	ck_assert_str_eq(d[0].source, "http://a/1");
	ck_assert_str_eq(d[0].source_norm, "http://a/1");
	ck_assert_str_eq(d[0].target_norm, "http://b/post");
	ck_assert_str_eq(d[0].title, "A title \xc3\xa9");
	ck_assert_str_eq(d[0].status, "pending");
	ck_assert_str_eq(d[0].client_ip, "203.0.113.9");
	store_outbox_free(d, n);
	ck_assert_int_eq(store_outbox_due(st, "a", now, 2, &d, &n, &cause),
	    0);
	ck_assert_uint_eq(n, 2);
	store_outbox_free(d, n);
	ck_assert_int_eq(store_outbox_due(st, "other", now, 10, &d, &n,
	    &cause), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(d);
	ck_assert_int_eq(store_outbox_due(st, "a", time(NULL) - 3600, 10, &d,
	    &n, &cause), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(count(st, "a", DELIVERY_PENDING), 3);

	ck_assert_int_eq(mark_wait(st, 1, "a", DELIVERY_DELIVERED, 1, now,
	    "ignored").rc, STORE_OK);
	ck_assert_int_eq(mark_wait(st, 2, "a", DELIVERY_PENDING, 1, now + 100,
	    "http 503").rc, STORE_OK);
	ck_assert_int_eq(mark_wait(st, 3, "a", DELIVERY_FAILED, 7, now,
	    "timeout").rc, STORE_OK);
	/* Only pending rows are marked. */
	ck_assert_int_eq(mark_wait(st, 1, "a", DELIVERY_FAILED, 2, now,
	    "x").rc, STORE_DUPLICATE);
	ck_assert_int_eq(mark_wait(st, 2, "b", DELIVERY_DELIVERED, 1, now,
	    NULL).rc, STORE_DUPLICATE);
	ck_assert_int_eq(store_outbox_due(st, "a", now, 10, &d, &n, &cause),
	    0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(store_outbox_due(st, "a", now + 100, 10, &d, &n,
	    &cause), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(d[0].mention_id, 2);
	ck_assert_int_eq(d[0].attempts, 1);
	store_outbox_free(d, n);
	ck_assert_uint_eq(count(st, "a", DELIVERY_PENDING), 1);
	ck_assert_uint_eq(count(st, "a", DELIVERY_DELIVERED), 1);
	ck_assert_uint_eq(count(st, "a", DELIVERY_FAILED), 1);
	store_close(st);
	db = raw_open();
	expect_text(db, "SELECT group_concat(mention_id || ':' || state || ':'"
	    " || attempts || ':' || ifnull(last_error, 'null') || ':' ||"
	    " (delivered_at IS NOT NULL), ' ') FROM deliveries",
	    "1:delivered:1:null:1 2:pending:1:http 503:0 3:failed:7:timeout:0");
	sqlite3_close(db);
}
END_TEST

/* Marks share the batches: a full disk fails them, nothing changes. */
START_TEST(outbox_mark_in_failed_batch)
{
	struct store	*st = open_ok();
	struct mention	 m = mention("http://a/1", "http://b/post");
	struct mention	 m2 = mention("http://a/2", "http://b/post");
	static char	 n1[] = "a";
	char		*names[] = { n1 }, *big, *cause = NULL;
	struct res	 r1, r2;

	store_set_sinks(st, names, 1);
	insert_ok(st, &m);
	ck_assert_int_eq(store_test_exec(st, "PRAGMA max_page_count = 1",
	    &cause), 0);
	big = xcalloc(1, 30001);
	memset(big, 'y', 30000);
	m2.excerpt = big;
	memset(&r1, 0, sizeof(r1));
	memset(&r2, 0, sizeof(r2));
	store_outbox_mark(st, 1, "a", DELIVERY_DELIVERED, 1, time(NULL), NULL,
	    done_cb, &r1);
	store_submit(st, &m2, done_cb, &r2);
	wait_for(&r2);
	ck_assert_int_eq(r1.rc, STORE_ERROR);
	ck_assert_int_eq(r2.rc, STORE_ERROR);
	free(r1.cause);
	free(r2.cause);
	ck_assert_uint_eq(count(st, "a", DELIVERY_PENDING), 1);
	ck_assert_uint_eq(count(st, "a", DELIVERY_DELIVERED), 0);
	free(big);
	store_close(st);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite	*s = suite_create("store");
	TCase	*tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, create_insert_exists);
	tcase_add_test(tc, duplicate);
	tcase_add_test(tc, sources);
	tcase_add_test(tc, reopen);
	tcase_add_test(tc, columns);
	tcase_add_test(tc, row_contents);
	tcase_add_test(tc, check_constraints);
	tcase_add_test(tc, open_not_database);
	tcase_add_test(tc, open_missing_dir);
	tcase_add_test(tc, newer_schema);
	tcase_add_test(tc, busy_then_free);
	tcase_add_test(tc, busy_gives_up);
	tcase_add_test(tc, batch_one_transaction);
	tcase_add_test(tc, batch_max);
	tcase_add_test(tc, duplicates_in_batches);
	tcase_add_test(tc, cancel_and_forget);
	tcase_add_test(tc, close_commits_queue);
	tcase_add_test(tc, disk_full_then_recovers);
	tcase_add_test(tc, deliveries_per_sink);
	tcase_add_test(tc, deliveries_schema);
	tcase_add_test(tc, migrate_v1);
	tcase_add_test(tc, outbox_due_and_marks);
	tcase_add_test(tc, outbox_mark_in_failed_batch);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(store_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
