/*
 * The embedded comment store: one SQLite database with the documented
 * table mentions (DESIGN.md, "Store contract") and the outbox table
 * deliveries (store_outbox.c).
 *
 * The daemon runs one thread on an event loop and must never block, so
 * the busy timeout is 0 and writes are not made where they are asked
 * for: store_submit and store_outbox_mark queue a job, and a flush on
 * a zero-delay event (at once when PBD_STORE_BATCH_MAX are queued)
 * writes the whole queue in one BEGIN IMMEDIATE ... COMMIT.  With
 * synchronous=FULL in WAL mode that costs one fsync per batch, not one
 * per pingback, and a job's callback runs only after COMMIT returned:
 * what has been acknowledged survives a crash or a power loss.
 *
 * A database locked by another writer makes the batch roll back and
 * try again from a timer, every PBD_STORE_BUSY_RETRY_MS; a job that
 * found the lock PBD_STORE_BUSY_TRIES times fails ("store locked").
 * Any other failure (disk full, read-only, I/O error) rolls the batch
 * back and fails each of its jobs with the cause; the next batch simply
 * tries again, so the store recovers by itself when space returns.
 * WAL mode keeps readers (store_exists, store_sources, the outbox's
 * store_outbox_due) working while someone else writes.
 *
 * Error messages go out through char **cause: every function sets
 * *cause to NULL on entry and, on error, to a malloc'd string naming the
 * database path, which the caller frees.  cause may be NULL.
 */
#include <sys/queue.h>

#include <errno.h>
#include <stdarg.h>
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
#include "store_int.h"
#include "xmalloc.h"

#define STORE_SCHEMA_VERSION	2
#define STORE_OPEN_BUSY_MS	2000	/* setup and close only; 0 otherwise */

/* Version 1: the mentions table.  Version 2 adds store_outbox_schema. */
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

static void	store_flush(struct store *, int);

/* Set *cause from a format, if the caller wants it. */
void
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
void
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

/*
 * Create the schema in a fresh database, migrate an older one in place
 * (version 1 had no deliveries), or check that it is ours.
 */
static int
store_schema_init(struct store *st, char **cause)
{
	char		 buf[32], *end, sql[64];
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
	/* Every statement is IF NOT EXISTS: a race to create is harmless. */
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    STORE_SCHEMA_VERSION);
	if (store_exec(st, "BEGIN IMMEDIATE", cause) == -1)
		return (-1);
	if (store_exec(st, store_schema, cause) == -1 ||
	    store_exec(st, store_outbox_schema, cause) == -1 ||
	    store_exec(st, sql, cause) == -1 ||
	    store_exec(st, "COMMIT", cause) == -1) {
		store_exec(st, "ROLLBACK", NULL);
		return (-1);
	}
	if (version > 0) {
		snprintf(buf, sizeof(buf), "%lld", version);
		snprintf(sql, sizeof(sql), "%d", STORE_SCHEMA_VERSION);
		log_event(LOG_NOTICE, "store.migrated", "path", st->path,
		    "from", buf, "to", sql, NULL);
	}
	return (0);
}

/* Prepare one of the statements kept for the store's lifetime. */
int
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

static void
store_flush_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	store_flush(arg, 0);
}

static void
store_retry_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct store	*st = arg;

	(void)fd;
	(void)ev;
	st->retrying = 0;
	store_flush(st, 0);
}

/*
 * Is the file (or, if it does not exist yet, its directory) on a
 * read-only file system?  SQLite's own message for that case names the
 * last errno of its fallback, which misleads.
 */
static int
store_readonly(const char *path)
{
	char	*dir, *slash;
	int	 ro;

	if (access(path, W_OK) == 0)
		return (0);
	if (errno == EROFS)
		return (1);
	if (errno != ENOENT)
		return (0);
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) == NULL)
		ro = access(".", W_OK) == -1 && errno == EROFS;
	else {
		slash[slash == dir ? 1 : 0] = '\0';
		ro = access(dir, W_OK) == -1 && errno == EROFS;
	}
	free(dir);
	return (ro);
}

struct store *
store_open(const char *path, struct event_base *base, char **cause)
{
	struct store	*st;
	char		 mode[16];
	int		 rc;

	if (cause != NULL)
		*cause = NULL;
	st = xcalloc(1, sizeof(*st));
	st->path = xstrdup(path);
	st->base = base;
	TAILQ_INIT(&st->queue);
	TAILQ_INIT(&st->done);
	if ((st->ev_flush = evtimer_new(base, store_flush_cb, st)) == NULL ||
	    (st->ev_retry = evtimer_new(base, store_retry_cb, st)) == NULL)
		fatalx("store: evtimer_new failed");
	if (store_readonly(path)) {
		store_causef(cause, "%s: cannot open: the store's file system "
		    "is read-only (%s)", path, strerror(EROFS));
		goto fail;
	}
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
	    store_prepare(st, store_sql_sources, &st->st_sources,
	    cause) == -1 || store_outbox_prepare(st, cause) == -1)
		goto fail;
	sqlite3_busy_timeout(st->db, 0);
	return (st);
fail:
	store_close(st);
	return (NULL);
}

static void
store_job_free(struct store_job *j)
{
	size_t	 i;

	for (i = 0; i < sizeof(j->s) / sizeof(j->s[0]); i++)
		free(j->s[i]);
	free(j->sink);
	free(j->error);
	free(j->cause);
	free(j);
}

void
store_close(struct store *st)
{
	struct store_job	*j;
	size_t			 i;

	if (st == NULL)
		return;
	/* The last batches may wait for a lock, as at startup. */
	if (st->db != NULL && !TAILQ_EMPTY(&st->queue)) {
		sqlite3_busy_timeout(st->db, STORE_OPEN_BUSY_MS);
		while (!TAILQ_EMPTY(&st->queue))
			store_flush(st, 1);
	}
	while ((j = TAILQ_FIRST(&st->queue)) != NULL) {
		TAILQ_REMOVE(&st->queue, j, entry);
		store_job_free(j);
	}
	if (st->ev_flush != NULL)
		event_free(st->ev_flush);
	if (st->ev_retry != NULL)
		event_free(st->ev_retry);
	sqlite3_finalize(st->st_insert);
	sqlite3_finalize(st->st_exists);
	sqlite3_finalize(st->st_sources);
	store_outbox_finalize(st);
	if (st->db != NULL && sqlite3_close(st->db) != SQLITE_OK)
		log_warnx("%s: close: %s", st->path, sqlite3_errmsg(st->db));
	for (i = 0; i < st->nsinks; i++)
		free(st->sinks[i]);
	free(st->sinks);
	free(st->path);
	free(st);
}

void
store_set_sinks(struct store *st, char *const *names, size_t n)
{
	size_t	 i;

	for (i = 0; i < st->nsinks; i++)
		free(st->sinks[i]);
	free(st->sinks);
	st->sinks = n > 0 ? xreallocarray(NULL, n, sizeof(*st->sinks)) : NULL;
	for (i = 0; i < n; i++)
		st->sinks[i] = xstrdup(names[i]);
	st->nsinks = n;
}

void
store_set_commit_cb(struct store *st, store_commit_cb cb, void *arg)
{
	st->commit_cb = cb;
	st->commit_arg = arg;
}

/* Make a statement ready for its next use. */
void
store_done(sqlite3_stmt *stmt)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

/* Bind a text parameter; strings outlive the statement's use. */
int
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
void
store_time(time_t t, char *buf, size_t len)
{
	struct tm	 tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "1970-01-01T00:00:00Z");
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

/* A new job for st, not queued yet. */
struct store_job *
store_job_new(struct store *st, enum store_job_kind kind, store_done_cb cb,
    void *arg)
{
	struct store_job	*j;

	j = xcalloc(1, sizeof(*j));
	j->st = st;
	j->kind = kind;
	j->cb = cb;
	j->arg = arg;
	return (j);
}

/*
 * Schedule a flush: a zero-delay timer gathers what the rest of this
 * turn of the loop submits; a full batch goes at once.  While a lock
 * is waited out, the retry timer flushes.
 */
static void
store_schedule(struct store *st)
{
	struct timeval	 tv = { 0, 0 };

	if (st->retrying || st->nqueued == 0)
		return;
	if (st->nqueued >= PBD_STORE_BATCH_MAX)
		event_active(st->ev_flush, EV_TIMEOUT, 1);
	else if (!evtimer_pending(st->ev_flush, NULL))
		evtimer_add(st->ev_flush, &tv);
}

void
store_job_queue(struct store_job *j)
{
	struct store	*st = j->st;

	j->where = STORE_JOB_QUEUED;
	TAILQ_INSERT_TAIL(&st->queue, j, entry);
	st->nqueued++;
	store_schedule(st);
}

struct store_job *
store_submit(struct store *st, const struct mention *m, store_done_cb cb,
    void *arg)
{
	struct store_job	*j;
	const char		*v[9];
	size_t			 i;

	j = store_job_new(st, STORE_JOB_MENTION, cb, arg);
	v[0] = m->kind;
	v[1] = m->source;
	v[2] = m->target;
	v[3] = m->source_norm;
	v[4] = m->target_norm;
	v[5] = m->title;
	v[6] = m->excerpt;
	v[7] = m->status;
	v[8] = m->client_ip;
	for (i = 0; i < 9; i++)
		j->s[i] = xstrdup(v[i] != NULL ? v[i] : "");
	j->received_at = m->received_at;
	store_job_queue(j);
	return (j);
}

void
store_cancel(struct store_job *j)
{
	struct store	*st;

	if (j == NULL)
		return;
	st = j->st;
	switch (j->where) {
	case STORE_JOB_QUEUED:
		TAILQ_REMOVE(&st->queue, j, entry);
		st->nqueued--;
		store_job_free(j);
		break;
	case STORE_JOB_DONE:
		TAILQ_REMOVE(&st->done, j, entry);
		store_job_free(j);
		break;
	case STORE_JOB_CALLING:
		/* From its own callback: freed when that returns. */
		j->cb = NULL;
		break;
	}
}

void
store_forget(struct store_job *j)
{
	if (j == NULL)
		return;
	j->cb = NULL;
	j->arg = NULL;
}

static int
store_locked(int rc)
{
	return ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED);
}

/* Roll back if a transaction is open (a failure may have ended it). */
static void
store_rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/*
 * Insert a mention and its deliveries.  A constraint that fails (the
 * uniqueness rule, a CHECK) is this job's outcome and the batch goes
 * on; any other failure is returned, for the whole batch.
 */
static int
store_write_mention(struct store *st, struct store_job *j, time_t now)
{
	sqlite3_stmt	*s = st->st_insert;
	char		 ts[32];
	int		 rc, i;

	store_time(j->received_at, ts, sizeof(ts));
	for (i = 0; i < 9; i++)
		if (store_bind(s, i + 1, j->s[i]) != SQLITE_OK)
			break;
	if (i < 9 || store_bind(s, 10, ts) != SQLITE_OK) {
		rc = sqlite3_extended_errcode(st->db);
		store_done(s);
		return (rc == SQLITE_OK ? SQLITE_ERROR : rc);
	}
	rc = sqlite3_step(s);
	store_done(s);
	if (rc == SQLITE_DONE) {
		j->rc = STORE_OK;
		j->id = sqlite3_last_insert_rowid(st->db);
		return (store_outbox_create(st, j->id, now));
	}
	if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		j->rc = STORE_DUPLICATE;
		return (SQLITE_OK);
	}
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		j->rc = STORE_ERROR;
		store_cause(&j->cause, st->path, st->db, "insert");
		return (SQLITE_OK);
	}
	return (rc);
}

/*
 * Write a batch in one transaction.  Return 0 when it committed (each
 * job's rc set), 1 when the database was locked, or -1 with *cause
 * set; in both last cases nothing was written.
 */
static int
store_batch(struct store *st, struct store_job **batch, size_t n,
    size_t *nmentions, char **cause)
{
	struct store_job	*j;
	time_t			 now = time(NULL);
	const char		*what = "begin";
	size_t			 i;
	int			 rc;

	*nmentions = 0;
	rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	for (i = 0; rc == SQLITE_OK && i < n; i++) {
		j = batch[i];
		j->rc = STORE_OK;
		j->id = 0;
		free(j->cause);
		j->cause = NULL;
		if (j->kind == STORE_JOB_MENTION) {
			what = "insert";
			rc = store_write_mention(st, j, now);
			if (rc == SQLITE_OK && j->rc == STORE_OK)
				(*nmentions)++;
		} else {
			what = "update";
			rc = store_outbox_apply(st, j);
		}
	}
	if (rc == SQLITE_OK) {
		what = "commit";
		rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK)
		return (0);
	if (!store_locked(rc))
		store_cause(cause, st->path, st->db, what);
	store_rollback(st);
	return (store_locked(rc) ? 1 : -1);
}

/* Give job its outcome and put it on the list of those to call back. */
static void
store_job_finish(struct store_job *j, enum store_rc rc, const char *cause)
{
	struct store	*st = j->st;

	if (cause != NULL) {
		j->rc = rc;
		free(j->cause);
		j->cause = xstrdup(cause);
	}
	j->where = STORE_JOB_DONE;
	TAILQ_INSERT_TAIL(&st->done, j, entry);
}

/*
 * Call back every finished job, in order.  A callback may submit,
 * cancel (itself or others) or forget; the job is freed after it.
 */
static void
store_call_back(struct store *st)
{
	struct store_job	*j;

	while ((j = TAILQ_FIRST(&st->done)) != NULL) {
		TAILQ_REMOVE(&st->done, j, entry);
		j->where = STORE_JOB_CALLING;
		if (j->cb != NULL)
			j->cb(j->rc, j->id, j->cause, j->arg);
		store_job_free(j);
	}
}

/*
 * Write the first batch of the queue.  final (store_close): a lock
 * fails the batch at once instead of waiting on a timer.
 */
static void
store_flush(struct store *st, int final)
{
	struct store_job	*batch[PBD_STORE_BATCH_MAX], *j;
	struct timeval		 tv = { 0, PBD_STORE_BUSY_RETRY_MS * 1000 };
	char			*cause = NULL, *locked = NULL;
	size_t			 n = 0, i, nmentions = 0;
	int			 rc;

	if (st->flushing)
		return;
	while (n < PBD_STORE_BATCH_MAX &&
	    (j = TAILQ_FIRST(&st->queue)) != NULL) {
		TAILQ_REMOVE(&st->queue, j, entry);
		st->nqueued--;
		batch[n++] = j;
	}
	if (n == 0)
		return;
	st->flushing = 1;
	rc = store_batch(st, batch, n, &nmentions, &cause);
	if (rc == 0) {
		st->commits++;
		for (i = 0; i < n; i++)
			store_job_finish(batch[i], STORE_OK, NULL);
	} else if (rc == -1) {
		for (i = 0; i < n; i++)
			store_job_finish(batch[i], STORE_ERROR,
			    cause != NULL ? cause : "store error");
	} else {
		xasprintf(&locked, "%s: store locked: database is locked by "
		    "another writer", st->path);
		for (i = 0; i < n; i++)
			if (final || ++batch[i]->tries >= PBD_STORE_BUSY_TRIES)
				store_job_finish(batch[i], STORE_ERROR, locked);
		/* The others go back to the head of the queue, in order. */
		for (i = n; i-- > 0;) {
			if (batch[i]->where != STORE_JOB_QUEUED)
				continue;
			TAILQ_INSERT_HEAD(&st->queue, batch[i], entry);
			st->nqueued++;
		}
	}
	free(cause);
	free(locked);
	st->flushing = 0;
	if (rc == 1 && !final && st->nqueued > 0 && !st->retrying) {
		st->retrying = 1;
		evtimer_add(st->ev_retry, &tv);
	}
	store_call_back(st);
	if (nmentions > 0 && st->commit_cb != NULL)
		st->commit_cb(nmentions, st->commit_arg);
	store_schedule(st);
}

uint64_t
store_commits(const struct store *st)
{
	return (st->commits);
}

size_t
store_queued(const struct store *st)
{
	return (st->nqueued);
}

int
store_test_exec(struct store *st, const char *sql, char **cause)
{
	if (cause != NULL)
		*cause = NULL;
	return (store_exec(st, sql, cause));
}
