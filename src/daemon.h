/*
 * The daemon proper: the state shared by main.c, http.c and pingback.c.
 * Library modules (fetch, verify, store, ...) know nothing of it.
 */
#ifndef PBD_DAEMON_H
#define PBD_DAEMON_H

#include <sys/queue.h>

#include <stdint.h>

struct evhttp_request;
struct pingback;

TAILQ_HEAD(pingback_list, pingback);

struct pbd {
	struct event_base	*base;
	struct conf		*conf;
	struct http		*http;
	struct fetch_ctx	*fetch;
	struct store		*store;
	struct ratelimit	*rl;		/* per client address */
	struct ratelimit	*hostrl;	/* fetches per source host */
	struct fcache		*fc;		/* recent fetch outcomes */
	struct sinks		*sinks;		/* the outbox's deliveries */
	struct pingback_list	 pingbacks;	/* in flight */
	size_t			 ninflight;
	int			 stopping;
	void			(*idle_cb)(struct pbd *); /* checks both */

	/* counters, for status lines */
	uint64_t		 accepted;
	uint64_t		 rejected;
};

/* http.c */
struct http	*http_new(struct pbd *);
/*
 * Adopt the listening sockets passed by systemd (LISTEN_FDS); return
 * how many.  Call once, before http_set_listeners; they are kept as
 * they are across reloads.
 */
int		 http_adopt_activated(struct http *);
/*
 * Make the listeners exactly specs[]: keep those already bound, bind
 * the new ones, then close the rest.  An address an activated socket
 * serves is not bound again.  With no spec and no activated socket
 * there would be no listener at all: refused.  On failure nothing
 * changes.
 */
int		 http_set_listeners(struct http *, char *const *specs,
		    size_t n, char **cause);
void		 http_apply(struct http *, const struct conf *);
void		 http_stop_accepting(struct http *);
size_t		 http_connections(const struct http *);	/* open now */
void		 http_free(struct http *);
size_t		 http_unsent(const struct http *);
void		 http_log_limit(struct http *, const char *limit,
		    const char *client);
/* Send an HTTP error with a short text body. */
void		 http_send_text(struct pbd *, struct evhttp_request *, int code,
		    const char *reason, const char *body);
/* Send a 200 text/xml XML-RPC response; takes ownership of doc. */
void		 http_send_xml_take(struct pbd *, struct evhttp_request *,
		    char *doc,
		    size_t len);

/* conn.c */
struct conns;
struct bufferevent;
typedef void	(*conns_pause_cb)(void *arg, int paused);
struct conns	*conns_new(struct event_base *, conns_pause_cb, void *);
void		 conns_set_limits(struct conns *, long max, long read_timeout,
		    long keepalive_timeout);
struct bufferevent *conns_bev_cb(struct event_base *, void *);
void		 conns_busy(struct conns *, struct evhttp_request *);
void		 conns_idle(struct conns *, struct evhttp_request *);
void		 conns_log_limit(struct conns *, const char *limit,
		    const char *client);
size_t		 conns_count(const struct conns *);
size_t		 conns_unsent(const struct conns *);
void		 conns_free(struct conns *);

/* pingback.c */
/*
 * Handle one XML-RPC POST; the request is answered later.  limited:
 * the client is over its rate limit (answered with fault 49).
 */
void		 pingback_handle(struct pbd *, struct evhttp_request *,
		    const char *body, size_t len, const char *client,
		    int limited);
/* Seconds on the monotonic clock. */
double		 pingback_now(void);
/* Free every request in flight without answering (teardown). */
void		 pingback_free_all(struct pbd *);

#endif
