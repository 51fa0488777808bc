/*
 * The store's insides, shared by store.c (connection, schema, write
 * queue) and store_outbox.c (the deliveries table).  Nothing else
 * includes this file.
 */
#ifndef PBD_STORE_INT_H
#define PBD_STORE_INT_H

#include <sys/queue.h>

#include <stdint.h>
#include <time.h>

#include <sqlite3.h>

enum store_job_kind {
	STORE_JOB_MENTION,
	STORE_JOB_MARK
};

enum store_job_where {
	STORE_JOB_QUEUED,	/* on st->queue, not written yet */
	STORE_JOB_DONE,		/* on st->done, waiting for its callback */
	STORE_JOB_CALLING	/* its callback runs */
};

/* One queued write; the strings are copies. */
struct store_job {
	TAILQ_ENTRY(store_job)	 entry;
	struct store		*st;
	enum store_job_kind	 kind;
	enum store_job_where	 where;
	int			 tries;		/* batches that found a lock */
	store_done_cb		 cb;
	void			*arg;

	/* STORE_JOB_MENTION */
	char			*s[9];		/* struct mention's strings */
	time_t			 received_at;

	/* STORE_JOB_MARK */
	int64_t			 mention_id;
	char			*sink;
	enum delivery_state	 state;
	long			 attempts;
	time_t			 when;
	char			*error;

	/* the outcome */
	enum store_rc		 rc;
	int64_t			 id;
	char			*cause;
};
TAILQ_HEAD(store_jobs, store_job);

struct event;

struct store {
	sqlite3		*db;
	char		*path;
	struct event_base *base;
	sqlite3_stmt	*st_insert;
	sqlite3_stmt	*st_exists;
	sqlite3_stmt	*st_sources;
	sqlite3_stmt	*st_delivery;	/* store_outbox.c's */
	sqlite3_stmt	*st_mark;
	sqlite3_stmt	*st_due;
	sqlite3_stmt	*st_count;

	char		**sinks;	/* store_set_sinks */
	size_t		 nsinks;
	store_commit_cb	 commit_cb;
	void		*commit_arg;

	struct store_jobs queue;	/* to be written, in order */
	size_t		 nqueued;
	struct store_jobs done;		/* written, to be called back */
	struct event	*ev_flush;	/* zero delay */
	struct event	*ev_retry;	/* after a lock */
	int		 retrying;	/* ev_retry is armed */
	int		 flushing;
	uint64_t	 commits;
};

/* store.c */
void		 store_causef(char **, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
void		 store_cause(char **, const char *path, sqlite3 *,
		    const char *what);
int		 store_prepare(struct store *, const char *, sqlite3_stmt **,
		    char **);
void		 store_done(sqlite3_stmt *);
int		 store_bind(sqlite3_stmt *, int, const char *);
void		 store_time(time_t, char *, size_t);
struct store_job *store_job_new(struct store *, enum store_job_kind,
		    store_done_cb, void *);
void		 store_job_queue(struct store_job *);

/* store_outbox.c */
extern const char store_outbox_schema[];
int		 store_outbox_prepare(struct store *, char **);
void		 store_outbox_finalize(struct store *);
/* Create the new mention's delivery rows; sqlite's code. */
int		 store_outbox_create(struct store *, int64_t id, time_t now);
/* Run a mark job's UPDATE; sqlite's code, job->rc set on success. */
int		 store_outbox_apply(struct store *, struct store_job *);

#endif
