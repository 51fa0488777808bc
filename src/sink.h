/*
 * Sinks: where verified mentions go after the store.  The SQLite store
 * is the durable record and the outbox: each mention gets one delivery
 * row per configured sink, and sink.c delivers them with retries,
 * exponential backoff with jitter and a maximum age, resuming after a
 * restart.  Delivery is at least once: a sink may see a mention twice
 * (after a crash between its success and our record of it), always with
 * the same idempotency key.
 *
 * One ops table per sink type (sink_webhook.c, sink_exec.c), each file
 * exporting exactly its const struct sink_ops and keeping the rest
 * static, in the manner of OpenSMTPD's table backends.
 */
#ifndef PBD_SINK_H
#define PBD_SINK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct conf;
struct delivery;
struct event_base;
struct fetch_ctx;
struct sink;
struct store;

/* One sink's configuration: a [sink.NAME] section. */
struct sink_conf {
	char		*name;		/* NAME of [sink.NAME] */
	char		*type;		/* "webhook" or "exec" */
	long		 max_age;	/* s after received_at: then failed */
	long		 retry_base;	/* s before the first retry */
	long		 retry_max;	/* s, the longest backoff */
	long		 concurrency;	/* deliveries in flight at once */
	long		 timeout;	/* s per delivery attempt */
	char		*url;		/* webhook */
	char		*secret;	/* webhook: HMAC-SHA256 key */
	char		**argv;		/* exec: program and arguments, */
	size_t		 argc;		/* NULL-terminated; argv[0] absolute */
};

/* One delivery: the mention as the JSON document sinks receive. */
struct sink_item {
	int64_t		 mention_id;
	const char	*key;		/* idempotency key */
	const char	*json;		/* the documented payload */
	size_t		 len;
};

/*
 * ok: delivered.  error: why not (for the log), borrowed.  Called
 * exactly once per deliver that returned 0, later, from the event loop.
 */
typedef void	(*sink_done_cb)(struct sink *, int ok, const char *error,
		    void *arg);

struct sink_ops {
	const char	*type;
	/* Set up priv from conf; -1 with *cause (caller frees) on error. */
	int		(*open)(struct sink *, char **cause);
	/* Start one delivery; -1 if it cannot even start (retried). */
	int		(*deliver)(struct sink *, const struct sink_item *,
			    sink_done_cb, void *arg);
	/* Abandon every delivery in flight without calling back, free priv. */
	void		(*close)(struct sink *);
};

struct sink {
	const struct sink_ops	*ops;
	const struct sink_conf	*conf;		/* sink.c's copy, until close */
	struct event_base	*base;
	struct fetch_ctx	*fetch;		/* for HTTP sinks */
	void			*priv;
};

extern const struct sink_ops sink_webhook_ops;
extern const struct sink_ops sink_exec_ops;

/* sink.c: the registry. */
const struct sink_ops *sink_ops_lookup(const char *type);

/*
 * sink.c: the delivery scheduler.  It opens every [sink.NAME] of the
 * configuration, tells the store to create a delivery row per sink for
 * each new mention, and delivers the due rows (up to each sink's
 * concurrency) from a timer and whenever the store commits new ones.
 */
struct sinks;
struct sinks_counts {
	uint64_t	 pending;	/* in the store, now (in flight too) */
	uint64_t	 inflight;	/* deliveries running */
	uint64_t	 delivered;	/* since the daemon started */
	uint64_t	 failed;	/* since the daemon started: max_age */
};
/* Test hooks; a NULL member (or NULL hooks) is the production one. */
struct sinks_hooks {
	const struct sink_ops *(*lookup)(const char *type);
	time_t		(*now)(void);		/* wall clock, seconds */
	double		(*jitter)(void);	/* in [0.5, 1.0] */
};

/* Open every configured sink; NULL with *cause (caller frees) if one fails. */
struct sinks	*sinks_new(struct event_base *, struct store *,
		    struct fetch_ctx *, const struct conf *, char **cause);
struct sinks	*sinks_new_hooks(struct event_base *, struct store *,
		    struct fetch_ctx *, const struct conf *,
		    const struct sinks_hooks *, char **cause);
/*
 * SIGHUP, in two steps so that a reload can be refused as a whole:
 * prepare opens what the new configuration (and store, if it changed)
 * needs and changes nothing; commit switches to it, closing the sinks
 * that are gone or changed (their deliveries in flight are abandoned:
 * they stay pending in the store and are retried); abort drops what
 * prepare opened.  Unchanged sinks on the same store are kept, with
 * their deliveries in flight.  sinks_reload is prepare, then commit.
 */
int		 sinks_reload_prepare(struct sinks *, const struct conf *,
		    struct store *, char **cause);
void		 sinks_reload_commit(struct sinks *);
void		 sinks_reload_abort(struct sinks *);
int		 sinks_reload(struct sinks *, const struct conf *,
		    struct store *, char **cause);
/* Look for due deliveries soon (the store does this after a commit). */
void		 sinks_kick(struct sinks *);
void		 sinks_counts(const struct sinks *, struct sinks_counts *);
/* Close every sink, abandoning deliveries in flight; before store_close. */
void		 sinks_free(struct sinks *);
/* The JSON document for a delivery (doc/SINKS.md); caller frees. */
char		*sink_payload(const struct delivery *, size_t *len);
/* Its idempotency key: 64 hex digits; buf has at least 65 bytes. */
void		 sink_key(const struct delivery *, char *buf, size_t len);

#endif
