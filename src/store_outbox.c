/*
 * The outbox: table deliveries, one row per mention and configured
 * sink, with its state (pending, delivered, failed), the attempts made,
 * when to try next and the last error.  sink.c reads the due rows and
 * queues their new state through store_outbox_mark, which goes into the
 * same batched transactions as new mentions (store.c).  A mention and
 * its delivery rows are written in one transaction, so a mention that
 * was acknowledged always has them.
 */
#include <sys/queue.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "pbd.h"
#include "store_int.h"
#include "xmalloc.h"

const char store_outbox_schema[] =
	"CREATE TABLE IF NOT EXISTS deliveries ("
	" mention_id INTEGER NOT NULL"
	"  REFERENCES mentions(id) ON DELETE CASCADE,"
	" sink TEXT NOT NULL,"
	" state TEXT NOT NULL"
	"  CHECK(state IN ('pending','delivered','failed')),"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" next_attempt INTEGER NOT NULL,"
	" last_error TEXT,"
	" delivered_at TEXT,"
	" PRIMARY KEY(mention_id, sink));"
	"CREATE INDEX IF NOT EXISTS deliveries_due"
	" ON deliveries(state, next_attempt);";

/*
 * OR REPLACE: a mention id may be reused after the row with the highest
 * id was deleted by a client that left foreign keys off, which leaves
 * its deliveries behind; they are the old mention's, not the new one's.
 */
static const char store_sql_delivery[] =
	"INSERT OR REPLACE INTO deliveries (mention_id, sink, state,"
	" attempts, next_attempt) VALUES (?1, ?2, 'pending', 0, ?3)";
static const char store_sql_mark[] =
	"UPDATE deliveries SET state = ?3, attempts = ?4, next_attempt = ?5,"
	" last_error = ?6, delivered_at = ?7"
	" WHERE mention_id = ?1 AND sink = ?2 AND state = 'pending'";
static const char store_sql_due[] =
	"SELECT d.mention_id, d.attempts,"
	" CAST(strftime('%s', m.received_at) AS INTEGER),"
	" m.kind, m.source, m.target, m.source_norm, m.target_norm,"
	" m.title, m.excerpt, m.status, m.client_ip, m.received_at"
	" FROM deliveries d JOIN mentions m ON m.id = d.mention_id"
	" WHERE d.state = 'pending' AND d.sink = ?1 AND d.next_attempt <= ?2"
	" ORDER BY d.next_attempt, d.mention_id LIMIT ?3";
static const char store_sql_count[] =
	"SELECT count(*) FROM deliveries WHERE sink = ?1 AND state = ?2";

static const char *const store_outbox_states[] = {
	"pending", "delivered", "failed"
};

int
store_outbox_prepare(struct store *st, char **cause)
{
	if (store_prepare(st, store_sql_delivery, &st->st_delivery,
	    cause) == -1 ||
	    store_prepare(st, store_sql_mark, &st->st_mark, cause) == -1 ||
	    store_prepare(st, store_sql_due, &st->st_due, cause) == -1 ||
	    store_prepare(st, store_sql_count, &st->st_count, cause) == -1)
		return (-1);
	return (0);
}

void
store_outbox_finalize(struct store *st)
{
	sqlite3_finalize(st->st_delivery);
	sqlite3_finalize(st->st_mark);
	sqlite3_finalize(st->st_due);
	sqlite3_finalize(st->st_count);
}

int
store_outbox_create(struct store *st, int64_t id, time_t now)
{
	sqlite3_stmt	*s = st->st_delivery;
	size_t		 i;
	int		 rc;

	for (i = 0; i < st->nsinks; i++) {
		if ((rc = sqlite3_bind_int64(s, 1, id)) != SQLITE_OK ||
		    (rc = store_bind(s, 2, st->sinks[i])) != SQLITE_OK ||
		    (rc = sqlite3_bind_int64(s, 3, now)) != SQLITE_OK) {
			store_done(s);
			return (rc);
		}
		rc = sqlite3_step(s);
		store_done(s);
		if (rc != SQLITE_DONE)
			return (rc);
	}
	return (SQLITE_OK);
}

int
store_outbox_apply(struct store *st, struct store_job *j)
{
	sqlite3_stmt	*s = st->st_mark;
	char		 ts[32];
	int		 rc;

	store_time(j->when, ts, sizeof(ts));
	if ((rc = sqlite3_bind_int64(s, 1, j->mention_id)) != SQLITE_OK ||
	    (rc = store_bind(s, 2, j->sink)) != SQLITE_OK ||
	    (rc = store_bind(s, 3, store_outbox_states[j->state])) !=
	    SQLITE_OK ||
	    (rc = sqlite3_bind_int64(s, 4, j->attempts)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(s, 5, j->when)) != SQLITE_OK ||
	    (rc = j->error != NULL && j->state != DELIVERY_DELIVERED ?
	    store_bind(s, 6, j->error) : sqlite3_bind_null(s, 6)) !=
	    SQLITE_OK ||
	    (rc = j->state == DELIVERY_DELIVERED ? store_bind(s, 7, ts) :
	    sqlite3_bind_null(s, 7)) != SQLITE_OK) {
		store_done(s);
		return (rc);
	}
	rc = sqlite3_step(s);
	store_done(s);
	if (rc == SQLITE_DONE) {
		j->rc = sqlite3_changes(st->db) > 0 ? STORE_OK :
		    STORE_DUPLICATE;
		return (SQLITE_OK);
	}
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		j->rc = STORE_ERROR;
		store_cause(&j->cause, st->path, st->db, "update");
		return (SQLITE_OK);
	}
	return (rc);
}

struct store_job *
store_outbox_mark(struct store *st, int64_t mention_id, const char *sink,
    enum delivery_state state, long attempts, time_t when, const char *error,
    store_done_cb cb, void *arg)
{
	struct store_job	*j;

	j = store_job_new(st, STORE_JOB_MARK, cb, arg);
	j->mention_id = mention_id;
	j->sink = xstrdup(sink);
	j->state = state;
	j->attempts = attempts;
	j->when = when;
	j->error = error != NULL ? xstrdup(error) : NULL;
	store_job_queue(j);
	return (j);
}

/* Column i as a new string; "" for NULL. */
static char *
store_outbox_text(sqlite3_stmt *s, int i)
{
	const unsigned char	*v = sqlite3_column_text(s, i);

	return (xstrdup(v != NULL ? (const char *)v : ""));
}

int
store_outbox_due(struct store *st, const char *sink, time_t now,
    size_t limit, struct delivery **out, size_t *n, char **cause)
{
	sqlite3_stmt	*s = st->st_due;
	struct delivery	*list = NULL, *d;
	size_t		 count = 0;
	int		 rc = SQLITE_DONE;

	if (cause != NULL)
		*cause = NULL;
	*out = NULL;
	*n = 0;
	if (limit == 0)
		return (0);
	if (store_bind(s, 1, sink) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, now) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 3, (sqlite3_int64)limit) != SQLITE_OK) {
		store_cause(cause, st->path, st->db, "bind");
		store_done(s);
		return (-1);
	}
	list = xreallocarray(NULL, limit, sizeof(*list));
	while (count < limit && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		d = &list[count++];
		d->mention_id = sqlite3_column_int64(s, 0);
		d->attempts = (long)sqlite3_column_int64(s, 1);
		d->received_at = (time_t)sqlite3_column_int64(s, 2);
		d->kind = store_outbox_text(s, 3);
		d->source = store_outbox_text(s, 4);
		d->target = store_outbox_text(s, 5);
		d->source_norm = store_outbox_text(s, 6);
		d->target_norm = store_outbox_text(s, 7);
		d->title = store_outbox_text(s, 8);
		d->excerpt = store_outbox_text(s, 9);
		d->status = store_outbox_text(s, 10);
		d->client_ip = store_outbox_text(s, 11);
		d->received = store_outbox_text(s, 12);
	}
	if (count < limit && rc != SQLITE_DONE) {
		store_cause(cause, st->path, st->db, "select");
		store_done(s);
		store_outbox_free(list, count);
		return (-1);
	}
	store_done(s);
	if (count == 0) {
		free(list);
		list = NULL;
	}
	*out = list;
	*n = count;
	return (0);
}

void
store_outbox_free(struct delivery *list, size_t n)
{
	size_t	 i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(list[i].kind);
		free(list[i].source);
		free(list[i].target);
		free(list[i].source_norm);
		free(list[i].target_norm);
		free(list[i].title);
		free(list[i].excerpt);
		free(list[i].status);
		free(list[i].client_ip);
		free(list[i].received);
	}
	free(list);
}

int
store_outbox_count(struct store *st, const char *sink,
    enum delivery_state state, uint64_t *n, char **cause)
{
	sqlite3_stmt	*s = st->st_count;
	int		 rc;

	if (cause != NULL)
		*cause = NULL;
	*n = 0;
	if (store_bind(s, 1, sink) != SQLITE_OK ||
	    store_bind(s, 2, store_outbox_states[state]) != SQLITE_OK) {
		store_cause(cause, st->path, st->db, "bind");
		store_done(s);
		return (-1);
	}
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		store_cause(cause, st->path, st->db, "select");
		store_done(s);
		return (-1);
	}
	*n = (uint64_t)sqlite3_column_int64(s, 0);
	store_done(s);
	return (0);
}
