/* Unit tests for store.c, on a database in a fresh temporary directory. */
#include <sys/stat.h>
#include <sys/time.h>

#include <check.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "pbd.h"
#include "xmalloc.h"

static char	 dir[4096];
static char	*dbpath;

static void
setup(void)
{
	const char	*tmp = getenv("TMPDIR");

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/t_store.XXXXXX", tmp);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	xasprintf(&dbpath, "%s/mentions.sqlite", dir);
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

	st = store_open(dbpath, &cause);
	ck_assert_msg(st != NULL, "store_open: %s", cause);
	ck_assert_ptr_null(cause);
	return (st);
}

static int64_t
insert_ok(struct store *st, const struct mention *m)
{
	int64_t	 id = -1;
	char	*cause = NULL;

	ck_assert_int_eq(store_insert(st, m, &id, &cause), STORE_OK);
	ck_assert_ptr_null(cause);
	return (id);
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
	int64_t		 id = 42;
	char		*cause = NULL;

	insert_ok(st, &m);
	/* Sent differently, the same once normalised. */
	m.source = "HTTP://A:80/1#frag";
	m.target = "http://B/post";
	ck_assert_int_eq(store_insert(st, &m, &id, &cause), STORE_DUPLICATE);
	ck_assert_ptr_null(cause);
	ck_assert_int_eq(id, 42);
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
	expect_text(db, "PRAGMA user_version", "1");
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
	char		*cause = NULL;

	m.kind = "comment";
	ck_assert_int_eq(store_insert(st, &m, NULL, &cause), STORE_ERROR);
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_nonnull(strstr(cause, dbpath));
	ck_assert_ptr_nonnull(strstr(cause, "CHECK"));
	free(cause);
	cause = NULL;
	m = mention("http://a/1", "http://b/post");
	m.status = "maybe";
	ck_assert_int_eq(store_insert(st, &m, NULL, &cause), STORE_ERROR);
	free(cause);
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
	st = store_open(dbpath, &cause);
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
	st = store_open(path, &cause);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, path) != NULL, "%s", cause);
	ck_assert_msg(strstr(cause, "unable to open") != NULL, "%s", cause);
	free(cause);
	free(path);
	/* NULL cause is allowed. */
	ck_assert_ptr_null(store_open(dir, NULL));
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
	ck_assert_ptr_null(store_open(dbpath, &cause));
	ck_assert_msg(strstr(cause, "schema version 7") != NULL, "%s", cause);
	free(cause);
}
END_TEST

START_TEST(busy)
{
	struct store	*st = open_ok();
	struct mention	 m = mention("http://a/1", "http://b/post");
	struct timeval	 t0, t1;
	sqlite3		*db;
	char		*cause = NULL, **list;
	size_t		 n;
	int64_t		 id = -1;

	insert_ok(st, &m);
	db = raw_open();
	raw_exec(db, "BEGIN EXCLUSIVE");
	raw_exec(db, "INSERT INTO mentions (kind, source, target, source_norm,"
	    " target_norm, title, excerpt, status, client_ip, received_at)"
	    " VALUES ('pingback', 'x', 'y', 'x', 'y', '', '', 'pending', '',"
	    " '')");

	m = mention("http://a/2", "http://b/post");
	gettimeofday(&t0, NULL);
	ck_assert_int_eq(store_insert(st, &m, &id, &cause), STORE_BUSY);
	gettimeofday(&t1, NULL);
	ck_assert_ptr_null(cause);
	ck_assert_int_eq(id, -1);
	/* It did not wait for the lock. */
	ck_assert_int_lt((t1.tv_sec - t0.tv_sec) * 1000000 +
	    (t1.tv_usec - t0.tv_usec), 500000);
	/* Readers still work (WAL), and do not see the open transaction. */
	ck_assert_int_eq(store_exists(st, "http://a/1", "http://b/post",
	    &cause), 1);
	ck_assert_int_eq(store_exists(st, "x", "y", &cause), 0);
	ck_assert_int_eq(store_sources(st, "http://b/post", &list, &n,
	    &cause), 0);
	ck_assert_uint_eq(n, 1);
	store_free_list(list, n);

	/* Once the other writer is done, the retry succeeds. */
	raw_exec(db, "COMMIT");
	ck_assert_int_eq(store_insert(st, &m, &id, &cause), STORE_OK);
	ck_assert_int_eq(id, 3);
	ck_assert_int_eq(store_exists(st, "x", "y", NULL), 1);
	sqlite3_close(db);
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
	tcase_add_test(tc, busy);
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
