/*
 * Accepted HTTP connections: the cap on how many are open, and the
 * deadline each must meet to deliver a whole request (headers and
 * body), so a client sending one byte a second cannot hold a slot.
 *
 * libevent 2.1's evhttp has neither, and no hook at accept time but
 * the bufferevent callback, so we create each connection's bufferevent
 * ourselves and keep a reference to it.  evhttp frees it when the
 * connection ends (its callbacks are cleared then), and our reference
 * keeps the memory valid until the sweep notices and lets it go.  A
 * connection past its deadline is shut down; evhttp sees the end of
 * file and frees it as for any client that went away.
 */
#include "config.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "pbd.h"
#include "daemon.h"
#include "log.h"
#include "xmalloc.h"

#define CONN_SWEEP_MS		250
#define CONN_MIN_BUCKETS	256

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct conn		*hnext;
	struct conns		*conns;
	struct bufferevent	*bev;		/* our reference */
	double			 deadline;	/* 0: serving a request */
	int			 closing;
};
TAILQ_HEAD(conn_list, conn);

struct conns {
	struct event_base	*base;
	struct event		*sweep;
	struct conn_list	 all;
	struct conn		**buckets;
	size_t			 nbuckets;
	size_t			 n;
	long			 max;
	double			 read_timeout;
	double			 keepalive_timeout;
	conns_pause_cb		 pause;
	void			*arg;
	int			 paused;
	struct ratelimit	*logrl;		/* one line per client a minute */
};

static size_t
conns_hash(const struct conns *c, const struct bufferevent *bev)
{
	uintptr_t	 p = (uintptr_t)bev;

	p ^= p >> 17;
	p *= 0x9e3779b97f4a7c15ULL;
	return ((size_t)(p >> 20) & (c->nbuckets - 1));
}

static void
conns_rehash(struct conns *c, size_t nbuckets)
{
	struct conn	*cn;
	size_t		 h;

	free(c->buckets);
	c->nbuckets = nbuckets;
	c->buckets = xcalloc(nbuckets, sizeof(*c->buckets));
	TAILQ_FOREACH(cn, &c->all, entry) {
		h = conns_hash(c, cn->bev);
		cn->hnext = c->buckets[h];
		c->buckets[h] = cn;
	}
}

static struct conn *
conns_find(struct conns *c, const struct bufferevent *bev)
{
	struct conn	*cn;

	for (cn = c->buckets[conns_hash(c, bev)]; cn != NULL; cn = cn->hnext)
		if (cn->bev == bev)
			return (cn);
	return (NULL);
}

static void
conns_unlink(struct conns *c, struct conn *cn)
{
	struct conn	**pp;

	for (pp = &c->buckets[conns_hash(c, cn->bev)]; *pp != NULL;
	    pp = &(*pp)->hnext) {
		if (*pp == cn) {
			*pp = cn->hnext;
			break;
		}
	}
	TAILQ_REMOVE(&c->all, cn, entry);
	c->n--;
}

/*
 * Has evhttp let go of this connection?  bufferevent_free clears all
 * three callbacks; evhttp clears only the read callback while it writes
 * an answer, so one NULL callback alone proves nothing.
 */
static int
conns_released(const struct conn *cn)
{
	bufferevent_data_cb	 rcb = NULL, wcb = NULL;
	bufferevent_event_cb	 ecb = NULL;

	bufferevent_getcb(cn->bev, &rcb, &wcb, &ecb, NULL);
	return (rcb == NULL && wcb == NULL && ecb == NULL);
}

/* The peer of a connection, for a log line. */
static void
conns_peer(const struct conn *cn, char *buf, size_t len)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	evutil_socket_t		 fd = bufferevent_getfd(cn->bev);

	snprintf(buf, len, "unknown");
	if (fd == -1 || getpeername(fd, (struct sockaddr *)&ss, &sl) == -1)
		return;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, buf,
		    len);
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    buf, len);
	else if (ss.ss_family == AF_UNIX)
		snprintf(buf, len, "unix");
}

/* Log a limit once per client (or key) a minute, not once a request. */
void
conns_log_limit(struct conns *c, const char *limit, const char *client)
{
	char	 key[128];

	snprintf(key, sizeof(key), "%s %s", limit, client);
	if (rl_take(c->logrl, key, pingback_now()))
		log_event(LOG_NOTICE, "http.limit", "limit", limit,
		    "client", client, NULL);
}

static void	conns_input_cb(struct evbuffer *,
		    const struct evbuffer_cb_info *, void *);

static void
conns_set_paused(struct conns *c, int paused)
{
	if (c->paused == paused)
		return;
	c->paused = paused;
	if (paused)
		conns_log_limit(c, "max_connections", "*");
	if (c->pause != NULL)
		c->pause(c->arg, paused);
}

/* Drop what evhttp released; shut down what is past its deadline. */
static void
conns_sweep_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct conns	*c = arg;
	struct conn	*cn, *next;
	double		 now = pingback_now();
	char		 peer[64];

	(void)fd;
	(void)ev;
	for (cn = TAILQ_FIRST(&c->all); cn != NULL; cn = next) {
		next = TAILQ_NEXT(cn, entry);
		if (conns_released(cn)) {
			conns_unlink(c, cn);
			evbuffer_remove_cb(bufferevent_get_input(cn->bev),
			    conns_input_cb, cn);
			bufferevent_decref(cn->bev);
			free(cn);
			continue;
		}
		if (cn->deadline == 0 || cn->closing || now < cn->deadline)
			continue;
		conns_peer(cn, peer, sizeof(peer));
		conns_log_limit(c, "read_timeout", peer);
		cn->closing = 1;
		if (bufferevent_getfd(cn->bev) != -1)
			shutdown(bufferevent_getfd(cn->bev), SHUT_RDWR);
	}
	if (c->n < (size_t)c->max)
		conns_set_paused(c, 0);
	/* Nothing left to watch: sleep until the next accept. */
	if (c->n == 0)
		event_del(c->sweep);
}

/* Run the sweep while there are connections (conns_bev_cb arms it). */
static void
conns_arm_sweep(struct conns *c)
{
	struct timeval	 tv = { 0, CONN_SWEEP_MS * 1000 };

	if (!event_pending(c->sweep, EV_TIMEOUT, NULL) &&
	    event_add(c->sweep, &tv) == -1)
		fatalx("conns: cannot add the sweep timer");
}

/*
 * Data arrived: if evhttp has already let go of this connection, stop
 * reading, so nothing piles up before the sweep frees it.
 */
static void
conns_input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct conn	*cn = arg;

	if (info->n_added == 0 || !conns_released(cn))
		return;
	bufferevent_disable(cn->bev, EV_READ | EV_WRITE);
	evbuffer_drain(buf, evbuffer_get_length(buf));
}

struct conns *
conns_new(struct event_base *base, conns_pause_cb pause, void *arg)
{
	struct conns	*c;

	c = xcalloc(1, sizeof(*c));
	c->base = base;
	c->pause = pause;
	c->arg = arg;
	c->max = 1024;
	c->read_timeout = 10;
	c->keepalive_timeout = 15;
	TAILQ_INIT(&c->all);
	conns_rehash(c, CONN_MIN_BUCKETS);
	c->logrl = rl_new(1.0 / 60, 1);
	if ((c->sweep = event_new(base, -1, EV_PERSIST, conns_sweep_cb,
	    c)) == NULL)
		fatalx("conns: cannot create the sweep timer");
	return (c);
}

void
conns_set_limits(struct conns *c, long max, long read_timeout,
    long keepalive_timeout)
{
	c->max = max;
	c->read_timeout = read_timeout;
	c->keepalive_timeout = keepalive_timeout;
	conns_set_paused(c, c->n >= (size_t)c->max);
}

/* evhttp's bufferevent callback: a connection was accepted. */
struct bufferevent *
conns_bev_cb(struct event_base *base, void *arg)
{
	struct conns	*c = arg;
	struct conn	*cn;
	size_t		 h;

	cn = xcalloc(1, sizeof(*cn));
	cn->conns = c;
	cn->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (cn->bev == NULL)
		fatalx("bufferevent_socket_new failed");
	bufferevent_incref(cn->bev);
	evbuffer_add_cb(bufferevent_get_input(cn->bev), conns_input_cb, cn);
	cn->deadline = pingback_now() + c->read_timeout;
	TAILQ_INSERT_TAIL(&c->all, cn, entry);
	c->n++;
	if (c->n > c->nbuckets)
		conns_rehash(c, c->nbuckets * 2);
	else {
		h = conns_hash(c, cn->bev);
		cn->hnext = c->buckets[h];
		c->buckets[h] = cn;
	}
	if (c->n >= (size_t)c->max)
		conns_set_paused(c, 1);
	conns_arm_sweep(c);
	return (cn->bev);
}

static struct conn *
conns_of(struct conns *c, struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;

	if ((evcon = evhttp_request_get_connection(req)) == NULL)
		return (NULL);
	return (conns_find(c, evhttp_connection_get_bufferevent(evcon)));
}

/* A whole request has arrived: no deadline while it is served. */
void
conns_busy(struct conns *c, struct evhttp_request *req)
{
	struct conn	*cn;

	if ((cn = conns_of(c, req)) != NULL)
		cn->deadline = 0;
}

/* The answer is out: the next request must come within keepalive. */
void
conns_idle(struct conns *c, struct evhttp_request *req)
{
	struct conn	*cn;

	if ((cn = conns_of(c, req)) != NULL)
		cn->deadline = pingback_now() + c->keepalive_timeout;
}

size_t
conns_count(const struct conns *c)
{
	return (c->n);
}

/* Bytes queued for writing on the connections evhttp still holds. */
size_t
conns_unsent(const struct conns *c)
{
	const struct conn	*cn;
	size_t			 n = 0;

	TAILQ_FOREACH(cn, &c->all, entry)
		if (!conns_released(cn))
			n += evbuffer_get_length(bufferevent_get_output(
			    cn->bev));
	return (n);
}

/* After evhttp_free: let go of every connection still referenced. */
void
conns_free(struct conns *c)
{
	struct conn	*cn;

	if (c == NULL)
		return;
	while ((cn = TAILQ_FIRST(&c->all)) != NULL) {
		conns_unlink(c, cn);
		evbuffer_remove_cb(bufferevent_get_input(cn->bev),
		    conns_input_cb, cn);
		bufferevent_decref(cn->bev);
		free(cn);
	}
	event_free(c->sweep);
	rl_free(c->logrl);
	free(c->buckets);
	free(c);
}
