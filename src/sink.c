/*
 * Sinks: the registry of sink types, and the scheduler that drains the
 * outbox into them.
 *
 * The store is the outbox: each mention stored gets a pending row in
 * deliveries for every configured sink, in the same transaction.  A
 * timer (every second, and soon after each commit) asks the store for
 * each sink's due rows, up to the sink's concurrency, builds the JSON
 * document and hands it to the sink's deliver.  Its outcome is queued
 * back to the store as a mark: delivered, failed (older than max_age),
 * or pending again with the next attempt after an exponential backoff
 * with jitter.  Because the state lives in the store, delivery resumes
 * after a restart; a delivery whose outcome was not recorded (a crash,
 * a sink closed on reload) is simply made again: at least once, with
 * the same idempotency key.
 *
 * A delivery is a job from its start until its mark has committed, so
 * that a due row is never started twice; jobs count against the sink's
 * concurrency.  If the store cannot record a mark (disk full), the job
 * holds its outcome and the mark is tried again every tick, rather than
 * the delivery being made again and again.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/random.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "log.h"
#include "pbd.h"
#include "sink.h"
#include "xmalloc.h"

#define SINKS_TICK_S	1

static const struct sink_ops *const sink_registry[] = {
	&sink_webhook_ops,
	&sink_exec_ops,
	NULL
};

enum sinks_job_state {
	SINKS_JOB_DELIVERING,	/* ops->deliver runs */
	SINKS_JOB_MARKING,	/* its outcome is queued for the store */
	SINKS_JOB_HELD		/* the store failed to record it: again */
};

struct sinks_sink;

struct sinks_job {
	TAILQ_ENTRY(sinks_job)	 entry;
	struct sinks_sink	*ss;
	enum sinks_job_state	 state;
	int64_t			 mention_id;
	long			 attempts;	/* this one included */
	time_t			 received_at;
	char			*source;	/* for the log */
	char			*target;
	char			*json;
	size_t			 len;
	char			 key[65];
	enum delivery_state	 result;
	time_t			 when;
	char			*error;
	int			 held_logged;
	struct store_job	*mark;
};
TAILQ_HEAD(sinks_jobs, sinks_job);

struct sinks_sink {
	TAILQ_ENTRY(sinks_sink)	 entry;
	struct sinks		*sinks;
	struct sink		 sink;
	struct sink_conf	 conf;		/* a copy: conf may be freed */
	struct sinks_jobs	 jobs;
	size_t			 njobs;
	size_t			 ndelivering;
	uint64_t		 pending;	/* rows pending in the store */
	char			*read_error;	/* logged once */
	int			 listed;	/* on sinks->list */
};
TAILQ_HEAD(sinks_list, sinks_sink);

struct sinks {
	struct event_base	*base;
	struct store		*store;
	struct fetch_ctx	*fetch;
	struct sinks_hooks	 hooks;
	struct sinks_list	 list;
	struct event		*tick;
	struct event		*kick;
	uint64_t		 delivered;
	uint64_t		 failed;

	/* What sinks_reload_prepare opened, for commit or abort. */
	struct sinks_sink	**next;
	size_t			 nnext;
	struct store		*next_store;
	int			 prepared;
};

static void	sinks_marked_cb(enum store_rc, int64_t, const char *, void *);

const struct sink_ops *
sink_ops_lookup(const char *type)
{
	size_t	 i;

	for (i = 0; sink_registry[i] != NULL; i++)
		if (strcmp(sink_registry[i]->type, type) == 0)
			return (sink_registry[i]);
	return (NULL);
}

static time_t
sinks_now(void)
{
	return (time(NULL));
}

/* A random factor in [0.5, 1.0]. */
static double
sinks_jitter(void)
{
	uint32_t	 r;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		fatal("getrandom");
	return (0.5 + 0.5 * (r / 4294967295.0));
}

/* A growing output buffer. */
struct sinks_buf {
	char		*p;
	size_t		 len;
	size_t		 size;
};

static void
sinks_buf_add(struct sinks_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->size) {
		while (b->len + n + 1 > b->size)
			b->size = b->size == 0 ? 512 : b->size * 2;
		b->p = xreallocarray(b->p, 1, b->size);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* The length of the valid UTF-8 sequence at p, or 0 (RFC 3629). */
static size_t
sink_utf8_len(const unsigned char *p)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	size_t		 n, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;	/* no surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;	/* at most U+10FFFF */
	} else
		return (0);
	if (p[1] < lo || p[1] > hi)
		return (0);
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return (0);
	return (n);
}

/*
 * Append s as a JSON string: '"' and '\' escaped with '\', control
 * characters (and DEL) as \u00XX, bytes that are not UTF-8 as \ufffd.
 */
static void
sink_json_string(struct sinks_buf *b, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	char			 esc[8];
	size_t			 n;

	sinks_buf_add(b, "\"", 1);
	while (*p != '\0') {
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p++;
			sinks_buf_add(b, esc, 2);
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", *p++);
			sinks_buf_add(b, esc, 6);
		} else if (*p < 0x80) {
			sinks_buf_add(b, (const char *)p++, 1);
		} else if ((n = sink_utf8_len(p)) == 0) {
			sinks_buf_add(b, "\\ufffd", 6);
			p++;
		} else {
			sinks_buf_add(b, (const char *)p, n);
			p += n;
		}
	}
	sinks_buf_add(b, "\"", 1);
}

/* Append ,"name":"value" (or without the comma, first). */
static void
sink_json_member(struct sinks_buf *b, const char *name, const char *value)
{
	sinks_buf_add(b, ",\"", 2);
	sinks_buf_add(b, name, strlen(name));
	sinks_buf_add(b, "\":", 2);
	sink_json_string(b, value != NULL ? value : "");
}

void
sink_key(const struct delivery *d, char *buf, size_t len)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0, i;
	char		*in;
	int		 n;

	n = xasprintf(&in, "%s\n%s", d->source_norm, d->target_norm);
	if (EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1)
		fatalx("sink_key: EVP_Digest failed");
	free(in);
	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < mdlen && 2 * i + 2 < len; i++)
		snprintf(buf + 2 * i, 3, "%02x", md[i]);
}

char *
sink_payload(const struct delivery *d, size_t *len)
{
	struct sinks_buf	 b;
	char			 num[32], key[65];

	memset(&b, 0, sizeof(b));
	snprintf(num, sizeof(num), "{\"id\":%lld", (long long)d->mention_id);
	sinks_buf_add(&b, num, strlen(num));
	sink_key(d, key, sizeof(key));
	sink_json_member(&b, "idempotency_key", key);
	sink_json_member(&b, "kind", d->kind);
	sink_json_member(&b, "source", d->source);
	sink_json_member(&b, "target", d->target);
	sink_json_member(&b, "title", d->title);
	sink_json_member(&b, "excerpt", d->excerpt);
	sink_json_member(&b, "status", d->status);
	sink_json_member(&b, "client_ip", d->client_ip);
	sink_json_member(&b, "received_at", d->received);
	sinks_buf_add(&b, "}", 1);
	*len = b.len;
	return (b.p);
}

static void
sinks_job_free(struct sinks_job *job)
{
	struct sinks_sink	*ss = job->ss;

	TAILQ_REMOVE(&ss->jobs, job, entry);
	ss->njobs--;
	if (job->state == SINKS_JOB_DELIVERING)
		ss->ndelivering--;
	store_forget(job->mark);
	free(job->source);
	free(job->target);
	free(job->json);
	free(job->error);
	free(job);
}

/* Queue the job's outcome for the store. */
static void
sinks_job_mark(struct sinks_job *job)
{
	struct sinks_sink	*ss = job->ss;

	job->state = SINKS_JOB_MARKING;
	job->mark = store_outbox_mark(ss->sinks->store, job->mention_id,
	    ss->conf.name, job->result, job->attempts, job->when, job->error,
	    sinks_marked_cb, job);
}

/* The backoff before the next attempt, after attempts that failed. */
static time_t
sinks_backoff(struct sinks_sink *ss, long attempts)
{
	double	 d = (double)ss->conf.retry_base;
	long	 i;
	time_t	 t;

	for (i = 1; i < attempts && d < ss->conf.retry_max; i++)
		d *= 2;
	if (d > ss->conf.retry_max)
		d = (double)ss->conf.retry_max;
	d *= ss->sinks->hooks.jitter();
	t = (time_t)(d + 0.5);
	return (t < 1 ? 1 : t);
}

/* A delivery ended: log it once, then queue its new state. */
static void
sinks_finish(struct sinks_job *job, int ok, const char *error)
{
	struct sinks_sink	*ss = job->ss;
	time_t			 now = ss->sinks->hooks.now(), delay;
	char			 id[24], n[24], in[24];

	job->state = SINKS_JOB_MARKING;
	ss->ndelivering--;
	free(job->json);
	job->json = NULL;
	snprintf(id, sizeof(id), "%lld", (long long)job->mention_id);
	snprintf(n, sizeof(n), "%ld", job->attempts);
	if (!ok && (error == NULL || *error == '\0'))
		error = "failed";
	job->when = now;
	if (ok) {
		job->result = DELIVERY_DELIVERED;
		log_event(LOG_INFO, "sink.delivered", "sink", ss->conf.name,
		    "id", id, "attempts", n, "source", job->source,
		    "target", job->target, NULL);
	} else if (now - job->received_at > ss->conf.max_age) {
		job->result = DELIVERY_FAILED;
		job->error = xstrdup(error);
		log_event(LOG_WARNING, "sink.failed", "sink", ss->conf.name,
		    "id", id, "attempts", n, "source", job->source,
		    "target", job->target, "error", error, NULL);
	} else {
		job->result = DELIVERY_PENDING;
		job->error = xstrdup(error);
		delay = sinks_backoff(ss, job->attempts);
		job->when = now + delay;
		snprintf(in, sizeof(in), "%lld", (long long)delay);
		log_event(LOG_WARNING, "sink.retry", "sink", ss->conf.name,
		    "id", id, "attempts", n, "source", job->source,
		    "target", job->target, "error", error, "retry_in", in,
		    NULL);
	}
	sinks_job_mark(job);
}

/* The sink's answer: called once per deliver that returned 0. */
static void
sinks_done_cb(struct sink *sink, int ok, const char *error, void *arg)
{
	struct sinks_job	*job = arg;

	(void)sink;
	if (job->state == SINKS_JOB_DELIVERING)
		sinks_finish(job, ok, error);
}

/* The store recorded (or failed to record) a job's outcome. */
static void
sinks_marked_cb(enum store_rc rc, int64_t row, const char *cause, void *arg)
{
	struct sinks_job	*job = arg;
	struct sinks_sink	*ss = job->ss;
	struct sinks		*s = ss->sinks;
	char			 id[24];

	(void)row;
	job->mark = NULL;
	if (rc == STORE_ERROR) {
		/* Hold the outcome; the tick tries the mark again. */
		job->state = SINKS_JOB_HELD;
		if (!job->held_logged) {
			snprintf(id, sizeof(id), "%lld",
			    (long long)job->mention_id);
			log_event(LOG_WARNING, "sink.store_error", "sink",
			    ss->conf.name, "id", id, "error", cause, NULL);
			job->held_logged = 1;
		}
		return;
	}
	if (rc == STORE_OK && job->result != DELIVERY_PENDING) {
		if (ss->pending > 0)
			ss->pending--;
		if (job->result == DELIVERY_DELIVERED)
			s->delivered++;
		else
			s->failed++;
	}
	sinks_job_free(job);
	sinks_kick(s);
}

static int
sinks_busy(const struct sinks_sink *ss, int64_t mention_id)
{
	const struct sinks_job	*job;

	TAILQ_FOREACH(job, &ss->jobs, entry)
		if (job->mention_id == mention_id)
			return (1);
	return (0);
}

/* Start one delivery of d. */
static void
sinks_start(struct sinks_sink *ss, const struct delivery *d)
{
	struct sinks_job	*job;
	struct sink_item	 item;

	job = xcalloc(1, sizeof(*job));
	job->ss = ss;
	job->state = SINKS_JOB_DELIVERING;
	job->mention_id = d->mention_id;
	job->attempts = d->attempts + 1;
	job->received_at = d->received_at;
	job->source = xstrdup(d->source);
	job->target = xstrdup(d->target);
	job->json = sink_payload(d, &job->len);
	sink_key(d, job->key, sizeof(job->key));
	TAILQ_INSERT_TAIL(&ss->jobs, job, entry);
	ss->njobs++;
	ss->ndelivering++;
	memset(&item, 0, sizeof(item));
	item.mention_id = job->mention_id;
	item.key = job->key;
	item.json = job->json;
	item.len = job->len;
	if (ss->sink.ops->deliver(&ss->sink, &item, sinks_done_cb, job) == -1 &&
	    job->state == SINKS_JOB_DELIVERING)
		sinks_finish(job, 0, "the delivery could not be started");
}

/* Start what is due for one sink, as far as its concurrency allows. */
static void
sinks_fill(struct sinks_sink *ss, time_t now)
{
	struct sinks_job	*job;
	struct delivery		*d = NULL;
	size_t			 n = 0, i, conc = (size_t)ss->conf.concurrency;
	char			*cause = NULL;

	TAILQ_FOREACH(job, &ss->jobs, entry)
		if (job->state == SINKS_JOB_HELD)
			sinks_job_mark(job);
	if (ss->njobs >= conc)
		return;
	/*
	 * Rows of our own jobs are still pending in the store and come back
	 * too; conc rows always hold conc - njobs others, if there are any.
	 */
	if (store_outbox_due(ss->sinks->store, ss->conf.name, now,
	    conc, &d, &n, &cause) == -1) {
		if (ss->read_error == NULL ||
		    strcmp(ss->read_error, cause) != 0) {
			log_event(LOG_WARNING, "sink.store_error", "sink",
			    ss->conf.name, "error", cause, NULL);
			free(ss->read_error);
			ss->read_error = cause;
		} else
			free(cause);
		return;
	}
	free(ss->read_error);
	ss->read_error = NULL;
	for (i = 0; i < n && ss->njobs < conc; i++)
		if (!sinks_busy(ss, d[i].mention_id))
			sinks_start(ss, &d[i]);
	store_outbox_free(d, n);
}

static void
sinks_run(struct sinks *s)
{
	struct sinks_sink	*ss;
	time_t			 now = s->hooks.now();

	TAILQ_FOREACH(ss, &s->list, entry)
		sinks_fill(ss, now);
}

static void
sinks_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	sinks_run(arg);
}

void
sinks_kick(struct sinks *s)
{
	struct timeval	 tv = { 0, 0 };

	if (s != NULL && !evtimer_pending(s->kick, NULL))
		evtimer_add(s->kick, &tv);
}

/* The store committed new mentions: each has a row for every sink. */
static void
sinks_committed_cb(size_t nmentions, void *arg)
{
	struct sinks		*s = arg;
	struct sinks_sink	*ss;

	TAILQ_FOREACH(ss, &s->list, entry)
		ss->pending += nmentions;
	sinks_kick(s);
}

/* Open one sink of the configuration on store; NULL with *cause. */
static struct sinks_sink *
sinks_open(struct sinks *s, const struct sink_conf *sc, struct store *store,
    char **cause)
{
	struct sinks_sink	*ss;
	const struct sink_ops	*ops;
	char			*err = NULL;

	if ((ops = s->hooks.lookup(sc->type)) == NULL) {
		xasprintf(cause, "[sink.%s] type %s: not in this pingbackd",
		    sc->name, sc->type);
		return (NULL);
	}
	ss = xcalloc(1, sizeof(*ss));
	ss->sinks = s;
	TAILQ_INIT(&ss->jobs);
	conf_sink_copy(&ss->conf, sc);
	ss->sink.ops = ops;
	ss->sink.conf = &ss->conf;
	ss->sink.base = s->base;
	ss->sink.fetch = s->fetch;
	if (ops->open(&ss->sink, &err) == -1) {
		xasprintf(cause, "[sink.%s] %s", sc->name,
		    err != NULL ? err : "cannot open");
		free(err);
		conf_sink_clear(&ss->conf);
		free(ss);
		return (NULL);
	}
	if (store_outbox_count(store, sc->name, DELIVERY_PENDING,
	    &ss->pending, &err) == -1) {
		log_event(LOG_WARNING, "sink.store_error", "sink", sc->name,
		    "error", err, NULL);
		free(err);
	}
	return (ss);
}

/*
 * Close a sink: the ops abandon what is in flight without calling back.
 * Outcomes queued for the store are still written, without us.
 */
static void
sinks_close(struct sinks_sink *ss)
{
	struct sinks_job	*job;

	ss->sink.ops->close(&ss->sink);
	while ((job = TAILQ_FIRST(&ss->jobs)) != NULL)
		sinks_job_free(job);
	conf_sink_clear(&ss->conf);
	free(ss->read_error);
	free(ss);
}

struct sinks *
sinks_new_hooks(struct event_base *base, struct store *store,
    struct fetch_ctx *fetch, const struct conf *conf,
    const struct sinks_hooks *hooks, char **cause)
{
	struct sinks	*s;
	struct timeval	 tv = { SINKS_TICK_S, 0 };

	*cause = NULL;
	s = xcalloc(1, sizeof(*s));
	s->base = base;
	s->fetch = fetch;
	TAILQ_INIT(&s->list);
	if (hooks != NULL)
		s->hooks = *hooks;
	if (s->hooks.lookup == NULL)
		s->hooks.lookup = sink_ops_lookup;
	if (s->hooks.now == NULL)
		s->hooks.now = sinks_now;
	if (s->hooks.jitter == NULL)
		s->hooks.jitter = sinks_jitter;
	if ((s->tick = event_new(base, -1, EV_PERSIST, sinks_tick_cb,
	    s)) == NULL ||
	    (s->kick = evtimer_new(base, sinks_tick_cb, s)) == NULL)
		fatalx("sinks: event_new failed");
	evtimer_add(s->tick, &tv);
	if (sinks_reload(s, conf, store, cause) == -1) {
		sinks_free(s);
		return (NULL);
	}
	return (s);
}

struct sinks *
sinks_new(struct event_base *base, struct store *store,
    struct fetch_ctx *fetch, const struct conf *conf, char **cause)
{
	return (sinks_new_hooks(base, store, fetch, conf, NULL, cause));
}

int
sinks_reload_prepare(struct sinks *s, const struct conf *conf,
    struct store *store, char **cause)
{
	struct sinks_sink	*ss;
	size_t			 i;

	*cause = NULL;
	sinks_reload_abort(s);
	s->next = xcalloc(conf->nsinks + 1, sizeof(*s->next));
	s->next_store = store;
	s->prepared = 1;
	for (i = 0; i < conf->nsinks; i++) {
		/* Mention ids belong to a store: keep sinks only on it. */
		TAILQ_FOREACH(ss, &s->list, entry)
			if (store == s->store &&
			    conf_sink_equal(&ss->conf, &conf->sinks[i]))
				break;
		if (ss == NULL)
			ss = sinks_open(s, &conf->sinks[i], store, cause);
		if (ss == NULL) {
			sinks_reload_abort(s);
			return (-1);
		}
		s->next[s->nnext++] = ss;
	}
	return (0);
}

void
sinks_reload_abort(struct sinks *s)
{
	size_t	 i;

	if (!s->prepared)
		return;
	for (i = 0; i < s->nnext; i++)
		if (!s->next[i]->listed)
			sinks_close(s->next[i]);
	free(s->next);
	s->next = NULL;
	s->nnext = 0;
	s->next_store = NULL;
	s->prepared = 0;
}

void
sinks_reload_commit(struct sinks *s)
{
	struct sinks_sink	*ss;
	char			**names;
	size_t			 i;

	if (!s->prepared)
		return;
	while ((ss = TAILQ_FIRST(&s->list)) != NULL) {
		TAILQ_REMOVE(&s->list, ss, entry);
		for (i = 0; i < s->nnext && s->next[i] != ss; i++)
			;
		if (i == s->nnext)
			sinks_close(ss);
	}
	names = xcalloc(s->nnext + 1, sizeof(*names));
	for (i = 0; i < s->nnext; i++) {
		s->next[i]->listed = 1;
		TAILQ_INSERT_TAIL(&s->list, s->next[i], entry);
		names[i] = s->next[i]->conf.name;
	}
	if (s->store != NULL && s->store != s->next_store)
		store_set_commit_cb(s->store, NULL, NULL);
	s->store = s->next_store;
	store_set_sinks(s->store, names, s->nnext);
	store_set_commit_cb(s->store, sinks_committed_cb, s);
	free(names);
	free(s->next);
	s->next = NULL;
	s->nnext = 0;
	s->next_store = NULL;
	s->prepared = 0;
	sinks_kick(s);
}

int
sinks_reload(struct sinks *s, const struct conf *conf, struct store *store,
    char **cause)
{
	if (sinks_reload_prepare(s, conf, store, cause) == -1)
		return (-1);
	sinks_reload_commit(s);
	return (0);
}

void
sinks_counts(const struct sinks *s, struct sinks_counts *c)
{
	const struct sinks_sink	*ss;

	memset(c, 0, sizeof(*c));
	if (s == NULL)
		return;
	TAILQ_FOREACH(ss, &s->list, entry) {
		c->pending += ss->pending;
		c->inflight += ss->ndelivering;
	}
	c->delivered = s->delivered;
	c->failed = s->failed;
}

void
sinks_free(struct sinks *s)
{
	struct sinks_sink	*ss;

	if (s == NULL)
		return;
	sinks_reload_abort(s);
	while ((ss = TAILQ_FIRST(&s->list)) != NULL) {
		TAILQ_REMOVE(&s->list, ss, entry);
		sinks_close(ss);
	}
	if (s->store != NULL)
		store_set_commit_cb(s->store, NULL, NULL);
	if (s->tick != NULL)
		event_free(s->tick);
	if (s->kick != NULL)
		event_free(s->kick);
	free(s);
}
