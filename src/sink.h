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

struct event_base;
struct fetch_ctx;
struct sink;

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
	char		**argv;		/* exec: program and arguments */
	size_t		 argc;
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
	const struct sink_conf	*conf;		/* owned by struct conf */
	struct event_base	*base;
	struct fetch_ctx	*fetch;		/* for HTTP sinks */
	void			*priv;
};

extern const struct sink_ops sink_webhook_ops;
extern const struct sink_ops sink_exec_ops;

/* sink.c: the registry. */
const struct sink_ops *sink_ops_lookup(const char *type);

#endif
