/*
 * The embedded comment store: one SQLite database with the documented
 * table mentions (DESIGN.md, "Store contract").
 *
 * The daemon runs one thread on an event loop and must never block, so
 * the busy timeout is 0: a database locked by another writer makes
 * store_insert return STORE_BUSY at once and the caller retries from a
 * timer.  WAL mode keeps readers (store_exists, store_sources) working
 * while someone else writes, and synchronous=FULL makes a row that has
 * been acknowledged survive a crash or a power loss: a single INSERT in
 * autocommit mode is durable when sqlite3_step returns SQLITE_DONE.
 *
 * Error messages go out through char **cause: every function sets
 * *cause to NULL on entry and, on error, to a malloc'd string naming the
 * database path, which the caller frees.  cause may be NULL.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "log.h"
#include "pbd.h"
#include "xmalloc.h"

#define STORE_SCHEMA_VERSION	1
#define STORE_OPEN_BUSY_MS	2000	/* setup only; 0 afterwards */

struct store {
	sqlite3		*db;
	char		*path;
	sqlite3_stmt	*st_insert;
	sqlite3_stmt	*st_exists;
	sqlite3_stmt	*st_sources;
};

static const char store_schema[] =
	"CREATE TABLE IF NOT EXISTS mentions ("
	" id INTEGER PRIMARY KEY,"
	" kind TEXT NOT NULL"
	"  CHECK(kind IN ('pingback','trackback','webmention')),"
	" source TEXT NOT NULL,"
	" target TEXT NOT NULL,"
	" source_norm TEXT NOT NULL,"
	" target_norm TEXT NOT NULL,"
	" title TEXT NOT NULL,"
	" excerpt TEXT NOT NULL,"
	" status TEXT NOT NULL"
	"  CHECK(status IN ('pending','approved','spam','deleted')),"
	" client_ip TEXT NOT NULL,"
	" received_at TEXT NOT NULL,"
	" UNIQUE(source_norm, target_norm));"
	"CREATE INDEX IF NOT EXISTS mentions_target_norm"
	" ON mentions(target_norm);";

static const char store_sql_insert[] =
	"INSERT INTO mentions (kind, source, target, source_norm,"
	" target_norm, title, excerpt, status, client_ip, received_at)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
static const char store_sql_exists[] =
	"SELECT 1 FROM mentions WHERE source_norm = ?1 AND target_norm = ?2";
static const char store_sql_sources[] =
	"SELECT source FROM mentions WHERE target_norm = ?1"
	" AND status NOT IN ('spam', 'deleted') ORDER BY id";

/* Set *cause from a format, if the caller wants it. */
static void
store_causef(char **cause, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
store_causef(char **cause, const char *fmt, ...)
{
	va_list	 ap;

	if (cause == NULL)
		return;
	free(*cause);
	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		fatal("store_causef");
	va_end(ap);
}

/* Set *cause to "path: what: sqlite's message (errno text)". */
static void
store_cause(char **cause, const char *path, sqlite3 *db, const char *what)
{
	const char	*msg = db != NULL ? sqlite3_errmsg(db) : "no memory";
	int		 code = db != NULL ? sqlite3_errcode(db) & 0xff : 0;
	int		 sys = 0;

	/* errno means something only after a failed system call. */
	if (code == SQLITE_CANTOPEN || code == SQLITE_IOERR ||
	    code == SQLITE_FULL)
		sys = sqlite3_system_errno(db);
	if (sys != 0)
		store_causef(cause, "%s: %s: %s (%s)", path, what, msg,
		    strerror(sys));
	else
		store_causef(cause, "%s: %s: %s", path, what, msg);
}

/* Run sql, which returns no rows, or one row we ignore. */
static int
store_exec(struct store *st, const char *sql, char **cause)
{
	char	*err = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		store_causef(cause, "%s: %s", st->path,
		    err != NULL ? err : sqlite3_errmsg(st->db));
		sqlite3_free(err);
		return (-1);
	}
	return (0);
}

/* Run a PRAGMA that returns one value; copy it as text into buf. */
static int
store_pragma(struct store *st, const char *sql, char *buf, size_t len,
    char **cause)
{
	sqlite3_stmt		*stmt = NULL;
	const unsigned char	*v;
	int			 rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		store_cause(cause, st->path, st->db, sql);
		return (-1);
	}
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_cause(cause, st->path, st->db, sql);
		sqlite3_finalize(stmt);
		return (-1);
	}
	buf[0] = '\0';
	if (rc == SQLITE_ROW && (v = sqlite3_column_text(stmt, 0)) != NULL)
		snprintf(buf, len, "%s", (const char *)v);
	sqlite3_finalize(stmt);
	return (0);
}

/* Create the schema in a fresh database, or check an existing one. */
static int
store_schema_init(struct store *st, char **cause)
{
	char		 buf[32], *end;
	long long	 version;

	if (store_pragma(st, "PRAGMA user_version", buf, sizeof(buf),
	    cause) == -1)
		return (-1);
	errno = 0;
	version = strtoll(buf, &end, 10);
	if (buf[0] == '\0' || *end != '\0' || errno != 0 || version < 0) {
		store_causef(cause, "%s: bad user_version \"%s\"", st->path,
		    buf);
		return (-1);
	}
	if (version == STORE_SCHEMA_VERSION)
		return (0);
	if (version > STORE_SCHEMA_VERSION) {
		store_causef(cause, "%s: schema version %lld is newer than "
		    "this pingbackd supports (%d)", st->path, version,
		    STORE_SCHEMA_VERSION);
		return (-1);
	}
	if (store_exec(st, "BEGIN IMMEDIATE", cause) == -1)
		return (-1);
	if (store_exec(st, store_schema, cause) == -1 ||
	    store_exec(st, "PRAGMA user_version = 1", cause) == -1 ||
	    store_exec(st, "COMMIT", cause) == -1) {
		store_exec(st, "ROLLBACK", NULL);
		return (-1);
	}
	return (0);
}

/* Prepare one of the statements kept for the store's lifetime. */
static int
store_prepare(struct store *st, const char *sql, sqlite3_stmt **stmt,
    char **cause)
{
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    stmt, NULL) != SQLITE_OK) {
		store_cause(cause, st->path, st->db, "prepare");
		return (-1);
	}
	return (0);
}

struct store *
store_open(const char *path, char **cause)
{
	struct store	*st;
	char		 mode[16];
	int		 rc;

	if (cause != NULL)
		*cause = NULL;
	st = xcalloc(1, sizeof(*st));
	st->path = xstrdup(path);
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		store_cause(cause, path, st->db, "cannot open");
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	/*
	 * Setting up may wait a little for another writer (this runs at
	 * startup or on SIGHUP); requests never wait.
	 */
	sqlite3_busy_timeout(st->db, STORE_OPEN_BUSY_MS);
	if (store_pragma(st, "PRAGMA journal_mode = WAL", mode, sizeof(mode),
	    cause) == -1)
		goto fail;
	if (strcmp(mode, "wal") != 0)
		log_warnx("%s: journal_mode is %s, not wal", path, mode);
	if (store_exec(st, "PRAGMA synchronous = FULL", cause) == -1 ||
	    store_exec(st, "PRAGMA foreign_keys = ON", cause) == -1 ||
	    store_schema_init(st, cause) == -1)
		goto fail;
	if (store_prepare(st, store_sql_insert, &st->st_insert, cause) == -1 ||
	    store_prepare(st, store_sql_exists, &st->st_exists, cause) == -1 ||
	    store_prepare(st, store_sql_sources, &st->st_sources, cause) == -1)
		goto fail;
	sqlite3_busy_timeout(st->db, 0);
	return (st);
fail:
	store_close(st);
	return (NULL);
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	sqlite3_finalize(st->st_insert);
	sqlite3_finalize(st->st_exists);
	sqlite3_finalize(st->st_sources);
	if (st->db != NULL && sqlite3_close(st->db) != SQLITE_OK)
		log_warnx("%s: close: %s", st->path, sqlite3_errmsg(st->db));
	free(st->path);
	free(st);
}

/* Make a statement ready for its next use. */
static void
store_done(sqlite3_stmt *stmt)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

/* Bind a text parameter; strings outlive the statement's use. */
static int
store_bind(sqlite3_stmt *stmt, int i, const char *s)
{
	return (sqlite3_bind_text(stmt, i, s != NULL ? s : "", -1,
	    SQLITE_STATIC));
}

int
store_exists(struct store *st, const char *source_norm,
    const char *target_norm, char **cause)
{
	int	 rc, ret;

	if (cause != NULL)
		*cause = NULL;
	if (store_bind(st->st_exists, 1, source_norm) != SQLITE_OK ||
	    store_bind(st->st_exists, 2, target_norm) != SQLITE_OK) {
		store_cause(cause, st->path, st->db, "bind");
		store_done(st->st_exists);
		return (-1);
	}
	rc = sqlite3_step(st->st_exists);
	if (rc == SQLITE_ROW)
		ret = 1;
	else if (rc == SQLITE_DONE)
		ret = 0;
	else {
		store_cause(cause, st->path, st->db, "select");
		ret = -1;
	}
	store_done(st->st_exists);
	return (ret);
}

/* Format t as RFC 3339 UTC, e.g. 2026-12-01T08:30:00Z. */
static void
store_time(time_t t, char *buf, size_t len)
{
	struct tm	 tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "1970-01-01T00:00:00Z");
}

enum store_rc
store_insert(struct store *st, const struct mention *m, int64_t *id,
    char **cause)
{
	sqlite3_stmt	*s = st->st_insert;
	char		 ts[32];
	int		 rc;
	enum store_rc	 ret;

	if (cause != NULL)
		*cause = NULL;
	store_time(m->received_at, ts, sizeof(ts));
	if (store_bind(s, 1, m->kind) != SQLITE_OK ||
	    store_bind(s, 2, m->source) != SQLITE_OK ||
	    store_bind(s, 3, m->target) != SQLITE_OK ||
	    store_bind(s, 4, m->source_norm) != SQLITE_OK ||
	    store_bind(s, 5, m->target_norm) != SQLITE_OK ||
	    store_bind(s, 6, m->title) != SQLITE_OK ||
	    store_bind(s, 7, m->excerpt) != SQLITE_OK ||
	    store_bind(s, 8, m->status) != SQLITE_OK ||
	    store_bind(s, 9, m->client_ip) != SQLITE_OK ||
	    store_bind(s, 10, ts) != SQLITE_OK) {
		store_cause(cause, st->path, st->db, "bind");
		store_done(s);
		return (STORE_ERROR);
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		if (id != NULL)
			*id = sqlite3_last_insert_rowid(st->db);
		ret = STORE_OK;
	} else if (rc == SQLITE_CONSTRAINT_UNIQUE)
		ret = STORE_DUPLICATE;
	else if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		ret = STORE_BUSY;
	else {
		store_cause(cause, st->path, st->db, "insert");
		ret = STORE_ERROR;
	}
	store_done(s);
	return (ret);
}

int
store_sources(struct store *st, const char *target_norm, char ***sources,
    size_t *n, char **cause)
{
	sqlite3_stmt		*s = st->st_sources;
	const unsigned char	*v;
	char			**list = NULL;
	size_t			 count = 0, size = 0;
	int			 rc;

	if (cause != NULL)
		*cause = NULL;
	*sources = NULL;
	*n = 0;
	if (store_bind(s, 1, target_norm) != SQLITE_OK) {
		store_cause(cause, st->path, st->db, "bind");
		store_done(s);
		return (-1);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((v = sqlite3_column_text(s, 0)) == NULL)
			continue;
		if (count == size) {
			size = size == 0 ? 8 : size * 2;
			list = xreallocarray(list, size, sizeof(*list));
		}
		list[count++] = xstrdup((const char *)v);
	}
	if (rc != SQLITE_DONE) {
		store_cause(cause, st->path, st->db, "select");
		store_done(s);
		store_free_list(list, count);
		return (-1);
	}
	store_done(s);
	*sources = list;
	*n = count;
	return (0);
}

void
store_free_list(char **list, size_t n)
{
	size_t	 i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}
