/*
 * Fetching source pages: libcurl's multi-socket interface on the daemon's
 * libevent loop (the hiperfifo shape), the SSRF guard on every connection
 * curl opens (redirects included), and the [fetch] limits.
 *
 * A fetch is a GET (fetch_start) or a POST (fetch_post, for the webhook
 * sink: a copied body and extra headers, its own timeout, no redirects).
 *
 * A fetch is QUEUED (no easy handle yet), ACTIVE (in a multi), FINISHED
 * (result known, done comes from the event loop) or DELIVERING (done is
 * running), and on the context's list for that state.  fetch_free is the
 * only place a fetch is freed, never from inside a libcurl callback.
 *
 * A generation is a multi handle (so a connection cache) with the limits
 * of the transfers in it.  fetch_ctx_set_limits starts a new one; the old
 * one lives until its last transfer ends, so a connection the guard let
 * through under an old allow list is never reused under a new one.  A
 * queued fetch takes the generation current when it leaves the queue.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/queue.h>

#include <netinet/in.h>

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <curl/curl.h>

#include "log.h"
#include "pbd.h"
#include "xmalloc.h"

#define FETCH_CONNECT_TIMEOUT_S	5
#define FETCH_BUF_MIN_BYTES	16384
#define FETCH_DRAIN_MAX		16	/* done fetches delivered per loop turn */
#define FETCH_ACCEPT	"Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"

enum fetch_state {
	FETCH_S_QUEUED,
	FETCH_S_ACTIVE,
	FETCH_S_FINISHED,
	FETCH_S_DELIVERING
};

/* A multi handle and the limits of the transfers that run in it. */
struct fetch_gen {
	struct fetch_ctx	*ctx;
	struct event_base	*base;
	int			 refs;
	CURLM			*multi;
	struct event		*timer;
	LIST_HEAD(, fetch_sock)	 socks;

	long			 timeout_s;
	size_t			 max_bytes;
	long			 max_redirects;
	char			*user_agent;
	struct cidr		*allow;
	size_t			 nallow;
};

/* A socket curl asked us to watch. */
struct fetch_sock {
	struct fetch_gen	*gen;
	curl_socket_t		 fd;
	struct event		*ev;
	LIST_ENTRY(fetch_sock)	 entry;
};

/* Active transfers to one host[:port]; exists while active > 0. */
struct fetch_host {
	char			*key;
	long			 active;
	LIST_ENTRY(fetch_host)	 entry;
};

TAILQ_HEAD(fetch_list, fetch);

struct fetch_ctx {
	struct event_base	*base;
	struct fetch_gen	*gen;		/* for transfers starting now */
	long			 max_concurrent;
	long			 max_per_host;

	struct fetch_list	 queued;
	struct fetch_list	 active;
	struct fetch_list	 finished;
	size_t			 nqueued;
	size_t			 nactive;
	size_t			 nfinished;
	LIST_HEAD(, fetch_host)	 hosts;

	struct event		*drain;		/* delivers finished fetches */
	int			 busy;		/* inside fetch_drain */
	int			 dead;		/* fetch_ctx_free while busy */
};

struct fetch {
	struct fetch_ctx	*ctx;
	enum fetch_state	 state;
	TAILQ_ENTRY(fetch)	 entry;
	char			*url;
	char			*hostkey;	/* lower-cased host:port */
	int			 flags;
	fetch_done_cb		 done;
	void			*arg;

	int			 post;		/* else a GET */
	char			*body;		/* POST: copied, NUL added */
	size_t			 bodylen;
	long			 timeout_s;	/* > 0: not the limits' */

	struct fetch_gen	*gen;		/* from activation on */
	struct fetch_host	*host;		/* while ACTIVE */
	CURL			*easy;
	struct curl_slist	*headers;
	char			*buf;
	size_t			 len;
	size_t			 cap;
	int			 too_large;
	const char		*refused;	/* ng_check's reason */

	int			 curl_done;	/* rc is curl's verdict */
	CURLcode		 rc;
	enum fetch_status	 status;	/* else: decided by us */
	char			 errbuf[CURL_ERROR_SIZE];
	char			 error[CURL_ERROR_SIZE + 64];
};

static void	fetch_schedule(struct fetch_ctx *);
static void	fetch_drain(struct fetch_ctx *);
static void	fetch_drain_later(struct fetch_ctx *);
static void	fetch_event_cb(evutil_socket_t, short, void *);

/* For the debug log, indexed by enum fetch_status. */
static const char *const fetch_status_names[] = {
	"ok", "http_error", "refused", "too_large", "timeout", "failed"
};

static void fetch_seterror(struct fetch *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Set the error string a result carries, for logs. */
static void
fetch_seterror(struct fetch *f, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(f->error, sizeof(f->error), fmt, ap);
	va_end(ap);
}

/* Find the host entry for key, creating it if create is set. */
static struct fetch_host *
fetch_host_find(struct fetch_ctx *ctx, const char *key, int create)
{
	struct fetch_host	*h;

	LIST_FOREACH(h, &ctx->hosts, entry)
		if (strcmp(h->key, key) == 0)
			return (h);
	if (!create)
		return (NULL);
	h = xcalloc(1, sizeof(*h));
	h->key = xstrdup(key);
	LIST_INSERT_HEAD(&ctx->hosts, h, entry);
	return (h);
}

/* Give back the slot an active fetch holds. */
static void
fetch_release_slot(struct fetch *f)
{
	struct fetch_ctx	*ctx = f->ctx;

	TAILQ_REMOVE(&ctx->active, f, entry);
	ctx->nactive--;
	if (f->host != NULL && --f->host->active <= 0) {
		LIST_REMOVE(f->host, entry);
		free(f->host->key);
		free(f->host);
	}
	f->host = NULL;
}

static void
fetch_sock_free(struct fetch_sock *fs)
{
	LIST_REMOVE(fs, entry);
	if (fs->ev != NULL)
		event_free(fs->ev);
	free(fs);
}

/* Drop a reference to a generation; the last one tears it down. */
static void
fetch_gen_unref(struct fetch_gen *gen)
{
	if (gen == NULL || --gen->refs > 0)
		return;
	/* curl_multi_cleanup may still call fetch_sock_cb: gen stays valid. */
	if (gen->multi != NULL)
		curl_multi_cleanup(gen->multi);
	while (!LIST_EMPTY(&gen->socks))
		fetch_sock_free(LIST_FIRST(&gen->socks));
	if (gen->timer != NULL)
		event_free(gen->timer);
	free(gen->user_agent);
	free(gen->allow);
	free(gen);
}

/* Free a fetch in any state without calling back. */
static void
fetch_free(struct fetch *f)
{
	struct fetch_ctx	*ctx = f->ctx;

	switch (f->state) {
	case FETCH_S_QUEUED:
		TAILQ_REMOVE(&ctx->queued, f, entry);
		ctx->nqueued--;
		break;
	case FETCH_S_ACTIVE:
		curl_multi_remove_handle(f->gen->multi, f->easy);
		fetch_release_slot(f);
		break;
	case FETCH_S_FINISHED:
		TAILQ_REMOVE(&ctx->finished, f, entry);
		ctx->nfinished--;
		break;
	case FETCH_S_DELIVERING:
		break;
	}
	if (f->easy != NULL)
		curl_easy_cleanup(f->easy);
	curl_slist_free_all(f->headers);
	fetch_gen_unref(f->gen);
	free(f->buf);
	free(f->body);
	free(f->hostkey);
	free(f->url);
	free(f);
}

/* Decide a fetch's outcome ourselves; done follows from the event loop. */
static void
fetch_finish_later(struct fetch *f, enum fetch_status status,
    const char *error)
{
	struct fetch_ctx	*ctx = f->ctx;

	f->status = status;
	fetch_seterror(f, "%s", error);
	f->state = FETCH_S_FINISHED;
	TAILQ_INSERT_TAIL(&ctx->finished, f, entry);
	ctx->nfinished++;
	fetch_drain_later(ctx);
}

/* CURLMOPT_SOCKETFUNCTION: watch fd for what curl wants. */
static int
fetch_sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
    void *socketp)
{
	struct fetch_gen	*gen = userp;
	struct fetch_sock	*fs = socketp;
	short			 kind;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (fs != NULL)
			fetch_sock_free(fs);
		return (0);
	}
	kind = EV_PERSIST;
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (fs == NULL) {
		fs = xcalloc(1, sizeof(*fs));
		fs->gen = gen;
		fs->fd = fd;
		LIST_INSERT_HEAD(&gen->socks, fs, entry);
		curl_multi_assign(gen->multi, fd, fs);
	}
	if (fs->ev != NULL) {
		if (event_get_events(fs->ev) == kind)
			return (0);
		/* Safe inside the event's own callback, as in hiperfifo. */
		event_del(fs->ev);
		event_assign(fs->ev, gen->base, fd, kind,
		    fetch_event_cb, fs);
	} else
		fs->ev = event_new(gen->base, fd, kind,
		    fetch_event_cb, fs);
	if (fs->ev == NULL || event_add(fs->ev, NULL) == -1)
		log_warnx("fetch: cannot watch socket %d", (int)fd);
	return (0);
}

/* CURLMOPT_TIMERFUNCTION: (re)arm or stop the generation's one timer. */
static int
fetch_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct fetch_gen	*gen = userp;
	struct timeval		 tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(gen->timer);
		return (0);
	}
	/* Zero too: curl must not be called back from inside curl. */
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(gen->timer, &tv);
	return (0);
}

/*
 * Take finished transfers out of the multi (we are outside every curl
 * callback here); fetch_drain delivers them from the next loop turn.
 */
static void
fetch_check_multi_info(struct fetch_gen *gen)
{
	struct fetch_ctx	*ctx = gen->ctx;
	struct fetch		*f;
	CURLMsg			*msg;
	char			*priv;
	int			 left;

	gen->refs++;	/* held while we walk the multi */
	while ((msg = curl_multi_info_read(gen->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		priv = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		if ((f = (struct fetch *)(void *)priv) == NULL)
			continue;
		f->rc = msg->data.result;
		f->curl_done = 1;
		curl_multi_remove_handle(gen->multi, f->easy);
		fetch_release_slot(f);
		f->state = FETCH_S_FINISHED;
		TAILQ_INSERT_TAIL(&ctx->finished, f, entry);
		ctx->nfinished++;
	}
	if (ctx->nfinished > 0)
		fetch_drain_later(ctx);
	fetch_gen_unref(gen);
}

/* A watched socket is ready. */
static void
fetch_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fetch_sock	*fs = arg;
	struct fetch_gen	*gen = fs->gen;	/* fs may go in socket_action */
	int			 action = 0, running;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(gen->multi, fd, action, &running);
	fetch_check_multi_info(gen);
}

/* The generation's timer fired. */
static void
fetch_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fetch_gen	*gen = arg;
	int			 running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(gen->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	fetch_check_multi_info(gen);
}

/*
 * CURLOPT_WRITEFUNCTION: append to the body, at most max_bytes of it.
 * The buffer grows geometrically but never beyond max_bytes + 1 (the
 * NUL).  Chunked bodies have no Content-Length for CURLOPT_MAXFILESIZE
 * to see, so this is the limit that holds.
 */
static size_t
fetch_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct fetch	*f = arg;
	size_t		 n = size * nmemb, max = f->gen->max_bytes, cap;

	if (n > max - f->len) {
		f->too_large = 1;
		return (0);	/* not n: curl aborts with CURLE_WRITE_ERROR */
	}
	if (f->len + n + 1 > f->cap) {
		cap = f->cap > 0 ? f->cap : FETCH_BUF_MIN_BYTES;
		while (cap < f->len + n + 1)
			cap *= 2;
		if (cap > max + 1)
			cap = max + 1;
		f->buf = xreallocarray(f->buf, cap, 1);
		f->cap = cap;
	}
	memcpy(f->buf + f->len, ptr, n);
	f->len += n;
	f->buf[f->len] = '\0';
	return (n);
}

/*
 * CURLOPT_OPENSOCKETFUNCTION: the SSRF guard.  curl calls it for every
 * address of every connection it opens, redirects included, after DNS
 * and before connect, so what is checked is what is connected to.
 */
static curl_socket_t
fetch_opensocket_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct fetch		*f = arg;
	struct sockaddr_storage	 ss;
	const char		*why = NULL;
	int			 fd;

	if (purpose != CURLSOCKTYPE_IPCXN)
		why = "socket type";
	else if (a->addrlen > sizeof(ss) || a->addrlen < sizeof(sa_family_t))
		why = "address length";
	else if (!(f->flags & FETCH_TRUSTED)) {
		memset(&ss, 0, sizeof(ss));
		memcpy(&ss, &a->addr, a->addrlen);
		why = ng_check((struct sockaddr *)&ss, f->gen->allow,
		    f->gen->nallow);
	}
	if (why != NULL) {
		f->refused = why;
		return (CURL_SOCKET_BAD);
	}
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	return (fd == -1 ? CURL_SOCKET_BAD : fd);
}

/* Turn what curl says about a finished transfer into a result. */
static void
fetch_result_curl(struct fetch *f, struct fetch_result *res)
{
	char	*url = NULL, *ctype = NULL;
	long	 code = 0;

	curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(f->easy, CURLINFO_EFFECTIVE_URL, &url);
	curl_easy_getinfo(f->easy, CURLINFO_CONTENT_TYPE, &ctype);
	res->http_code = code;
	res->final_url = url != NULL ? url : f->url;
	res->content_type = ctype;
	res->error = f->error;

	res->body = "";
	if (f->rc == CURLE_OK) {
		if (f->buf != NULL)
			res->body = f->buf;
		res->len = f->len;
		res->status = code >= 200 && code <= 299 ? FETCH_OK :
		    FETCH_HTTP_ERROR;
		if (res->status == FETCH_OK)
			res->error = NULL;
		else
			fetch_seterror(f, "http %ld", code);
	} else if (f->too_large || f->rc == CURLE_FILESIZE_EXCEEDED) {
		res->status = FETCH_TOO_LARGE;
		fetch_seterror(f, "too large: over %zu bytes",
		    f->gen->max_bytes);
	} else if (f->rc == CURLE_OPERATION_TIMEDOUT) {
		res->status = FETCH_TIMEOUT;
		fetch_seterror(f, "timeout: %s", f->errbuf);
	} else if (f->refused != NULL) {
		res->status = FETCH_REFUSED;
		fetch_seterror(f, "refused: %s", f->refused);
	} else if (f->rc == CURLE_UNSUPPORTED_PROTOCOL) {
		res->status = FETCH_REFUSED;
		fetch_seterror(f, "refused: scheme");
	} else {
		res->status = FETCH_FAILED;
		fetch_seterror(f, "%s", f->errbuf[0] != '\0' ? f->errbuf :
		    curl_easy_strerror(f->rc));
	}
}

/* Call done for a finished fetch, then free it. */
static void
fetch_deliver(struct fetch *f)
{
	struct fetch_result	 res;
	char			 code[32];
	char			 url[PBD_MAX_URL_BYTES + 8];
	char			 final[PBD_MAX_URL_BYTES + 8];

	memset(&res, 0, sizeof(res));
	if (f->curl_done)
		fetch_result_curl(f, &res);
	else {
		res.status = f->status;
		res.final_url = f->url;
		res.body = "";
		res.error = f->error;
	}
	(void)snprintf(code, sizeof(code), "%ld", res.http_code);
	log_event(LOG_DEBUG, "fetch.done", "method", f->post ? "POST" : "GET",
	    "url", url_redact(f->url, url, sizeof(url)),
	    "final_url", url_redact(res.final_url, final, sizeof(final)),
	    "status", fetch_status_names[res.status], "code", code,
	    "error", res.error, NULL);
	f->done(&res, f->arg);
	fetch_free(f);
}

/*
 * Deliver the fetches that are finished now, at most FETCH_DRAIN_MAX
 * of them, then fill the free slots.  The rest wait for the next turn
 * of the loop, so that thousands of sources answering at once do not
 * hold it (and new requests) for seconds.  A done callback may start,
 * cancel, or free the whole context.
 */
static void
fetch_drain(struct fetch_ctx *ctx)
{
	struct fetch	*f;
	size_t		 n = ctx->nfinished;

	if (n > FETCH_DRAIN_MAX)
		n = FETCH_DRAIN_MAX;
	ctx->busy++;
	while (n-- > 0 && (f = TAILQ_FIRST(&ctx->finished)) != NULL) {
		TAILQ_REMOVE(&ctx->finished, f, entry);
		ctx->nfinished--;
		f->state = FETCH_S_DELIVERING;
		fetch_deliver(f);
	}
	if (!ctx->dead)
		fetch_schedule(ctx);
	if (--ctx->busy > 0)
		return;
	if (ctx->dead) {
		event_free(ctx->drain);
		free(ctx);
	} else if (ctx->nfinished > 0)
		fetch_drain_later(ctx);
}

/*
 * Run fetch_drain from the next turn of the loop: a zero timer, not
 * event_active, so that the loop polls for I/O in between.
 */
static void
fetch_drain_later(struct fetch_ctx *ctx)
{
	struct timeval	 tv = { 0, 0 };

	if (!evtimer_pending(ctx->drain, NULL))
		evtimer_add(ctx->drain, &tv);
}

static void
fetch_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	fetch_drain(arg);
}

#define FETCH_SETOPT(e, rc, opt, val) do {				\
	if ((rc) == CURLE_OK)						\
		(rc) = curl_easy_setopt((e), (opt), (val));		\
} while (0)

/* Set up the easy handle of f under generation gen. */
static CURLcode
fetch_setup_easy(struct fetch *f, struct fetch_gen *gen)
{
	CURL		*e = f->easy;
	CURLcode	 rc = CURLE_OK;
	long		 timeout_s, timeout_ms, connect_ms;

	timeout_s = f->timeout_s > 0 && f->timeout_s < LONG_MAX / 1000 ?
	    f->timeout_s : gen->timeout_s;
	timeout_ms = timeout_s * 1000;
	connect_ms = timeout_s < FETCH_CONNECT_TIMEOUT_S ?
	    timeout_ms : FETCH_CONNECT_TIMEOUT_S * 1000;
	FETCH_SETOPT(e, rc, CURLOPT_PRIVATE, f);
	FETCH_SETOPT(e, rc, CURLOPT_ERRORBUFFER, f->errbuf);
	FETCH_SETOPT(e, rc, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	FETCH_SETOPT(e, rc, CURLOPT_PROTOCOLS_STR, "http,https");
	FETCH_SETOPT(e, rc, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	FETCH_SETOPT(e, rc, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	FETCH_SETOPT(e, rc, CURLOPT_REDIR_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	/* "" overrides http_proxy, https_proxy and ALL_PROXY. */
	FETCH_SETOPT(e, rc, CURLOPT_PROXY, "");
	if (f->post) {
		/* A 3xx answer to a POST is final: FETCH_HTTP_ERROR. */
		FETCH_SETOPT(e, rc, CURLOPT_FOLLOWLOCATION, 0L);
		FETCH_SETOPT(e, rc, CURLOPT_POST, 1L);
		FETCH_SETOPT(e, rc, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)f->bodylen);
		FETCH_SETOPT(e, rc, CURLOPT_POSTFIELDS, f->body);
	} else {
		FETCH_SETOPT(e, rc, CURLOPT_FOLLOWLOCATION, 1L);
		FETCH_SETOPT(e, rc, CURLOPT_MAXREDIRS, gen->max_redirects);
	}
	FETCH_SETOPT(e, rc, CURLOPT_TIMEOUT_MS, timeout_ms);
	FETCH_SETOPT(e, rc, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	FETCH_SETOPT(e, rc, CURLOPT_USERAGENT, gen->user_agent);
	FETCH_SETOPT(e, rc, CURLOPT_HTTPHEADER, f->headers);
	FETCH_SETOPT(e, rc, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)gen->max_bytes);
	FETCH_SETOPT(e, rc, CURLOPT_WRITEFUNCTION, fetch_write_cb);
	FETCH_SETOPT(e, rc, CURLOPT_WRITEDATA, f);
	FETCH_SETOPT(e, rc, CURLOPT_OPENSOCKETFUNCTION, fetch_opensocket_cb);
	FETCH_SETOPT(e, rc, CURLOPT_OPENSOCKETDATA, f);
	/*
	 * A trusted fetch opens connections the guard never saw: keep
	 * them out of the pool, so an untrusted fetch cannot reuse them.
	 */
	if (f->flags & FETCH_TRUSTED)
		FETCH_SETOPT(e, rc, CURLOPT_FORBID_REUSE, 1L);
	return (rc);
}

/* Move a fetch that left the queue into the current multi. */
static void
fetch_activate(struct fetch *f)
{
	struct fetch_ctx	*ctx = f->ctx;
	struct fetch_gen	*gen = ctx->gen;
	CURLcode		 rc;

	f->gen = gen;
	gen->refs++;
	/* A POST has its headers from fetch_post. */
	if ((f->easy = curl_easy_init()) == NULL || (!f->post &&
	    (f->headers = curl_slist_append(NULL, FETCH_ACCEPT)) == NULL)) {
		fetch_finish_later(f, FETCH_FAILED, "out of memory");
		return;
	}
	if (curl_easy_setopt(f->easy, CURLOPT_URL, f->url) != CURLE_OK) {
		fetch_finish_later(f, FETCH_REFUSED, "refused: bad url");
		return;
	}
	if ((rc = fetch_setup_easy(f, gen)) != CURLE_OK ||
	    curl_multi_add_handle(gen->multi, f->easy) != CURLM_OK) {
		fetch_finish_later(f, FETCH_FAILED, rc != CURLE_OK ?
		    curl_easy_strerror(rc) : "curl_multi_add_handle failed");
		return;
	}
	f->host = fetch_host_find(ctx, f->hostkey, 1);
	f->host->active++;
	f->state = FETCH_S_ACTIVE;
	TAILQ_INSERT_TAIL(&ctx->active, f, entry);
	ctx->nactive++;
}

/*
 * Start queued fetches while there are free slots, oldest first.  A
 * fetch whose host is at max_per_host stays queued and lets others
 * overtake it.
 */
static void
fetch_schedule(struct fetch_ctx *ctx)
{
	struct fetch		*f, *next;
	struct fetch_host	*h;

	for (f = TAILQ_FIRST(&ctx->queued); f != NULL; f = next) {
		next = TAILQ_NEXT(f, entry);
		if (ctx->max_concurrent > 0 &&
		    ctx->nactive >= (size_t)ctx->max_concurrent)
			break;
		h = fetch_host_find(ctx, f->hostkey, 0);
		if (h != NULL && ctx->max_per_host > 0 &&
		    h->active >= ctx->max_per_host)
			continue;
		TAILQ_REMOVE(&ctx->queued, f, entry);
		ctx->nqueued--;
		fetch_activate(f);
	}
}

/*
 * Check that url is an absolute http or https URL with a host, and
 * make its lower-cased host:port key (the port filled in by default).
 * Return 0, or -1 with *cause set.
 */
static int
fetch_parse_url(const char *url, char **hostkey, const char **cause)
{
	CURLU		*u;
	char		*host = NULL, *port = NULL, *p;
	int		 ret = -1;

	*cause = "bad url";
	if (strlen(url) > PBD_MAX_URL_BYTES) {
		*cause = "url too long";
		return (-1);
	}
	/* No guessing: curl would take "//host/" or "host/" as http. */
	if (strncasecmp(url, "http://", 7) != 0 &&
	    strncasecmp(url, "https://", 8) != 0) {
		*cause = strstr(url, "://") != NULL ||
		    strncasecmp(url, "file:", 5) == 0 ? "scheme" : "bad url";
		return (-1);
	}
	if ((u = curl_url()) == NULL) {
		*cause = "out of memory";
		return (-1);
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    *host == '\0' ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK)
		goto done;
	xasprintf(hostkey, "%s:%s", host, port);
	for (p = *hostkey; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	ret = 0;
done:
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return (ret);
}

/* Make a generation: a multi handle with its timer, and the limits. */
static struct fetch_gen *
fetch_gen_new(struct fetch_ctx *ctx, const struct fetch_limits *l)
{
	struct fetch_gen	*gen;

	gen = xcalloc(1, sizeof(*gen));
	gen->ctx = ctx;
	gen->base = ctx->base;
	gen->refs = 1;
	LIST_INIT(&gen->socks);
	gen->timeout_s = l->timeout_s > 0 && l->timeout_s < LONG_MAX / 1000 ?
	    l->timeout_s : 10;
	gen->max_bytes = l->max_bytes < SIZE_MAX / 4 ? l->max_bytes :
	    SIZE_MAX / 4;
	gen->max_redirects = l->max_redirects > 0 ? l->max_redirects : 0;
	gen->user_agent = xstrdup(l->user_agent != NULL ? l->user_agent :
	    "pingbackd");
	if (l->nallow_networks > 0 && l->allow_networks != NULL) {
		gen->allow = xreallocarray(NULL, l->nallow_networks,
		    sizeof(*gen->allow));
		memcpy(gen->allow, l->allow_networks,
		    l->nallow_networks * sizeof(*gen->allow));
		gen->nallow = l->nallow_networks;
	}
	if ((gen->timer = evtimer_new(ctx->base, fetch_timeout_cb, gen)) ==
	    NULL)
		fatalx("%s: evtimer_new", __func__);
	if ((gen->multi = curl_multi_init()) == NULL) {
		fetch_gen_unref(gen);
		return (NULL);
	}
	curl_multi_setopt(gen->multi, CURLMOPT_SOCKETFUNCTION, fetch_sock_cb);
	curl_multi_setopt(gen->multi, CURLMOPT_SOCKETDATA, gen);
	curl_multi_setopt(gen->multi, CURLMOPT_TIMERFUNCTION, fetch_timer_cb);
	curl_multi_setopt(gen->multi, CURLMOPT_TIMERDATA, gen);
	return (gen);
}

struct fetch_ctx *
fetch_ctx_new(struct event_base *base, const struct fetch_limits *l)
{
	struct fetch_ctx	*ctx;

	ctx = xcalloc(1, sizeof(*ctx));
	ctx->base = base;
	TAILQ_INIT(&ctx->queued);
	TAILQ_INIT(&ctx->active);
	TAILQ_INIT(&ctx->finished);
	LIST_INIT(&ctx->hosts);
	ctx->max_concurrent = l->max_concurrent;
	ctx->max_per_host = l->max_per_host;
	if ((ctx->drain = event_new(base, -1, 0, fetch_drain_cb, ctx)) == NULL)
		fatalx("%s: event_new", __func__);
	if ((ctx->gen = fetch_gen_new(ctx, l)) == NULL) {
		event_free(ctx->drain);
		free(ctx);
		return (NULL);
	}
	return (ctx);
}

void
fetch_ctx_set_limits(struct fetch_ctx *ctx, const struct fetch_limits *l)
{
	struct fetch_gen	*gen;

	if (ctx->dead)
		return;
	if ((gen = fetch_gen_new(ctx, l)) == NULL) {
		log_warnx("fetch: cannot apply new limits, keeping the old");
		return;
	}
	fetch_gen_unref(ctx->gen);
	ctx->gen = gen;
	ctx->max_concurrent = l->max_concurrent;
	ctx->max_per_host = l->max_per_host;
	fetch_schedule(ctx);
}

/*
 * Cancel everything without calling back.  From inside a done callback
 * the context itself goes when fetch_drain unwinds.
 */
void
fetch_ctx_free(struct fetch_ctx *ctx)
{
	if (ctx == NULL || ctx->dead)
		return;
	ctx->dead = 1;
	while (!TAILQ_EMPTY(&ctx->queued))
		fetch_free(TAILQ_FIRST(&ctx->queued));
	while (!TAILQ_EMPTY(&ctx->active))
		fetch_free(TAILQ_FIRST(&ctx->active));
	while (!TAILQ_EMPTY(&ctx->finished))
		fetch_free(TAILQ_FIRST(&ctx->finished));
	fetch_gen_unref(ctx->gen);
	ctx->gen = NULL;
	if (ctx->busy > 0)
		return;
	event_free(ctx->drain);
	free(ctx);
}

size_t
fetch_ctx_active(const struct fetch_ctx *ctx)
{
	return (ctx->nactive);
}

size_t
fetch_ctx_queued(const struct fetch_ctx *ctx)
{
	return (ctx->nqueued);
}

/* A new fetch of url, not yet on any list. */
static struct fetch *
fetch_new(struct fetch_ctx *ctx, const char *url, int flags,
    fetch_done_cb done, void *arg)
{
	struct fetch	*f;

	f = xcalloc(1, sizeof(*f));
	f->ctx = ctx;
	f->url = xstrdup(url != NULL ? url : "");
	f->flags = flags;
	f->done = done;
	f->arg = arg;
	return (f);
}

/* Queue f if its URL is fine, else finish it as refused. */
static void
fetch_enqueue(struct fetch *f)
{
	struct fetch_ctx	*ctx = f->ctx;
	const char		*cause;
	char			 error[64];

	if (fetch_parse_url(f->url, &f->hostkey, &cause) == -1) {
		(void)snprintf(error, sizeof(error), "refused: %s", cause);
		fetch_finish_later(f, FETCH_REFUSED, error);
		return;
	}
	f->state = FETCH_S_QUEUED;
	TAILQ_INSERT_TAIL(&ctx->queued, f, entry);
	ctx->nqueued++;
	fetch_schedule(ctx);
}

/*
 * Start or queue a GET of url.  A URL that is not absolute http(s)
 * with a host, or longer than PBD_MAX_URL_BYTES, still gets a fetch:
 * its done is called with FETCH_REFUSED from the event loop, so callers
 * have one code path.  NULL only for a context being freed.
 */
struct fetch *
fetch_start(struct fetch_ctx *ctx, const char *url, int flags,
    fetch_done_cb done, void *arg)
{
	struct fetch	*f;

	if (ctx == NULL || ctx->dead || done == NULL)
		return (NULL);
	f = fetch_new(ctx, url, flags, done, arg);
	fetch_enqueue(f);
	return (f);
}

/* Return 1 if h is a header line curl may send: "Name: value", one line. */
static int
fetch_header_ok(const char *h)
{
	size_t	 n;

	n = strcspn(h, ":;");
	if (n == 0 || h[n] == '\0' || strpbrk(h, "\r\n") != NULL)
		return (0);
	return (strcspn(h, " \t") >= n);	/* no blanks in the name */
}

/*
 * Start or queue a POST of body (len bytes, copied) to url with the
 * extra request headers ("Name: value", copied; they replace curl's own
 * of the same name, e.g. User-Agent or Content-Type).  Redirects are
 * not followed.  timeout_s > 0 replaces the limits' timeout.  Otherwise
 * as fetch_start: the same queue, guard, schemes and result rules; a
 * bad URL or a header with CR, LF or no colon gives FETCH_REFUSED.
 */
struct fetch *
fetch_post(struct fetch_ctx *ctx, const char *url, const char *body,
    size_t len, char *const *headers, size_t nheaders, long timeout_s,
    int flags, fetch_done_cb done, void *arg)
{
	struct fetch		*f;
	struct curl_slist	*l;
	size_t			 i;
	int			 expect = 0;

	if (ctx == NULL || ctx->dead || done == NULL || len == SIZE_MAX)
		return (NULL);
	f = fetch_new(ctx, url, flags, done, arg);
	f->post = 1;
	f->timeout_s = timeout_s;
	f->body = xmalloc(len + 1);
	if (len > 0)
		memcpy(f->body, body, len);
	f->body[len] = '\0';
	f->bodylen = len;
	for (i = 0; i < nheaders; i++) {
		if (headers[i] == NULL || !fetch_header_ok(headers[i])) {
			fetch_finish_later(f, FETCH_REFUSED,
			    "refused: bad header");
			return (f);
		}
		if (strncasecmp(headers[i], "Expect", 6) == 0 &&
		    (headers[i][6] == ':' || headers[i][6] == ';'))
			expect = 1;
		if ((l = curl_slist_append(f->headers, headers[i])) == NULL)
			goto nomem;
		f->headers = l;
	}
	/* No "Expect: 100-continue" round trip before a large body. */
	if (!expect) {
		if ((l = curl_slist_append(f->headers, "Expect:")) == NULL)
			goto nomem;
		f->headers = l;
	}
	fetch_enqueue(f);
	return (f);
nomem:
	fetch_finish_later(f, FETCH_FAILED, "out of memory");
	return (f);
}

/* Abandon f: done is not called.  Any state, even a pending result. */
void
fetch_cancel(struct fetch *f)
{
	struct fetch_ctx	*ctx;
	int			 was_active;

	/* While done runs, the fetch is freed when it returns. */
	if (f == NULL || f->state == FETCH_S_DELIVERING)
		return;
	ctx = f->ctx;
	was_active = f->state == FETCH_S_ACTIVE;
	fetch_free(f);
	if (was_active && !ctx->dead)
		fetch_schedule(ctx);
}
