/*
 * Unit tests for fetch.c against real HTTP servers on loopback (libevent
 * evhttp on the same event_base, port 0): results, limits, the SSRF
 * guard, proxies, schemes, concurrency, cancellation.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <sys/time.h>

#include <netinet/in.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <curl/curl.h>
#include <check.h>

#include "pbd.h"

int	main(void);

#define PAGE	"<!DOCTYPE html><html><head><title>t</title></head>" \
		"<body><a href=\"http://blog.example/\">x</a></body></html>\n"
#define HTML	"text/html; charset=utf-8"

/* A request the server answers later (slow) or piece by piece (stream). */
struct pending {
	struct srv		*srv;
	struct evhttp_request	*req;
	struct event		*ev;
	int			 stream;
	size_t			 sent;
	TAILQ_ENTRY(pending)	 entry;
};

struct srv {
	struct evhttp		*http;
	int			 port;
	char			 base[64];	/* http://addr:port */
	int			 hits;
	int			 inflight;
	int			 maxinflight;
	char			 location[256];	/* where /go redirects */
	TAILQ_HEAD(, pending)	 pending;
};

/* What one done callback saw. */
struct got {
	int			 n;
	int			 order;
	enum fetch_status	 status;
	long			 code;
	char			 url[512];
	char			 ctype[128];
	char			 error[256];
	char			*body;
	size_t			 len;
};

static struct event_base	*base;
static struct srv		*s1, *s2;	/* 127.0.0.1 and 127.0.0.2 */
static struct fetch_ctx		*ctx;
static struct cidr		 lo8, lo32;	/* 127.0.0.0/8, 127.0.0.1/32 */
static int			 ndone, want, timed_out;

static void
srv_reply(struct srv *s, struct evhttp_request *req, int code,
    const char *ctype, const char *body, size_t len)
{
	struct evbuffer	*b = evbuffer_new();

	if (ctype != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Type", ctype);
	evbuffer_add(b, body, len);
	evhttp_send_reply(req, code, code == 200 ? "OK" : "X", b);
	evbuffer_free(b);
	(void)s;
}

static void
srv_redirect(struct srv *s, struct evhttp_request *req, const char *to)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Location",
	    to);
	srv_reply(s, req, 302, "text/plain", "moved", 5);
}

static void
pending_free(struct pending *p)
{
	TAILQ_REMOVE(&p->srv->pending, p, entry);
	event_free(p->ev);
	p->srv->inflight--;
	free(p);
}

static void
srv_slow_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pending	*p = arg;

	(void)fd;
	(void)what;
	srv_reply(p->srv, p->req, 200, HTML, "slow", 4);
	pending_free(p);
}

/* Send a chunk every few ms until the client goes away (or 32 MB). */
static void
srv_stream_cb(evutil_socket_t fd, short what, void *arg)
{
	static char	 chunk[16384];
	struct pending	*p = arg;
	struct evbuffer	*b;

	(void)fd;
	(void)what;
	if (evhttp_request_get_connection(p->req) == NULL ||
	    p->sent > 32 * 1024 * 1024) {
		evhttp_send_reply_end(p->req);
		pending_free(p);
		return;
	}
	memset(chunk, 'x', sizeof(chunk));
	b = evbuffer_new();
	evbuffer_add(b, chunk, sizeof(chunk));
	evhttp_send_reply_chunk(p->req, b);
	evbuffer_free(b);
	p->sent += sizeof(chunk);
}

static void
srv_later(struct srv *s, struct evhttp_request *req, int stream, long ms)
{
	struct pending	*p;
	struct timeval	 tv;

	p = calloc(1, sizeof(*p));
	ck_assert_ptr_nonnull(p);
	p->srv = s;
	p->req = req;
	p->stream = stream;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (stream) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Type", HTML);
		evhttp_send_reply_start(req, 200, "OK");
		p->ev = event_new(base, -1, EV_PERSIST, srv_stream_cb, p);
	} else
		p->ev = evtimer_new(base, srv_slow_cb, p);
	event_add(p->ev, &tv);
	TAILQ_INSERT_TAIL(&s->pending, p, entry);
}

static void
srv_cb(struct evhttp_request *req, void *arg)
{
	struct srv			*s = arg;
	const struct evhttp_uri		*u = evhttp_request_get_evhttp_uri(req);
	const char			*path = evhttp_uri_get_path(u);
	const char			*q = evhttp_uri_get_query(u);
	char				*body;
	long				 n = q != NULL ? atol(q) : 0;

	s->hits++;
	if (++s->inflight > s->maxinflight)
		s->maxinflight = s->inflight;
	if (path != NULL && strcmp(path, "/slow") == 0) {
		srv_later(s, req, 0, n);
		return;		/* in flight until pending_free */
	}
	if (path != NULL && strcmp(path, "/stream") == 0) {
		srv_later(s, req, 1, 5);
		return;
	}
	s->inflight--;
	if (path == NULL)
		srv_reply(s, req, 400, NULL, "", 0);
	else if (strcmp(path, "/ok") == 0)
		srv_reply(s, req, 200, HTML, PAGE, strlen(PAGE));
	else if (strcmp(path, "/r1") == 0)
		srv_redirect(s, req, "/r2");
	else if (strcmp(path, "/r2") == 0)
		srv_redirect(s, req, "/ok");
	else if (strcmp(path, "/loop") == 0)
		srv_redirect(s, req, "/loop");
	else if (strcmp(path, "/go") == 0)
		srv_redirect(s, req, s->location);
	else if (strcmp(path, "/bytes") == 0) {
		body = malloc(n + 1);
		ck_assert_ptr_nonnull(body);
		memset(body, 'x', n);
		srv_reply(s, req, 200, HTML, body, n);
		free(body);
	} else
		srv_reply(s, req, 404, HTML, "not found", 9);
}

static struct srv *
srv_start(const char *addr)
{
	struct srv			*s;
	struct evhttp_bound_socket	*bs;
	struct sockaddr_in		 sin;
	socklen_t			 len = sizeof(sin);

	s = calloc(1, sizeof(*s));
	ck_assert_ptr_nonnull(s);
	TAILQ_INIT(&s->pending);
	s->http = evhttp_new(base);
	ck_assert_ptr_nonnull(s->http);
	evhttp_set_gencb(s->http, srv_cb, s);
	bs = evhttp_bind_socket_with_handle(s->http, addr, 0);
	ck_assert_msg(bs != NULL, "cannot bind %s", addr);
	ck_assert_int_eq(getsockname(evhttp_bound_socket_get_fd(bs),
	    (struct sockaddr *)&sin, &len), 0);
	s->port = ntohs(sin.sin_port);
	snprintf(s->base, sizeof(s->base), "http://%s:%d", addr, s->port);
	return (s);
}

/* Answer what is still pending, then free the server. */
static void
srv_free(struct srv *s)
{
	struct pending	*p;

	while ((p = TAILQ_FIRST(&s->pending)) != NULL) {
		if (p->stream)
			evhttp_send_reply_end(p->req);
		else
			evhttp_send_reply(p->req, 503, "gone", NULL);
		pending_free(p);
	}
	evhttp_free(s->http);
	free(s);
}

static void
setup(void)
{
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	s1 = srv_start("127.0.0.1");
	s2 = srv_start("127.0.0.2");
	ck_assert_int_eq(ng_parse_cidr("127.0.0.0/8", &lo8), 0);
	ck_assert_int_eq(ng_parse_cidr("127.0.0.1/32", &lo32), 0);
	ndone = want = timed_out = 0;
	ctx = NULL;
}

static void
teardown(void)
{
	fetch_ctx_free(ctx);
	srv_free(s1);
	srv_free(s2);
	event_base_free(base);
}

/* Limits for tests: small and quick, loopback allowed unless said. */
static struct fetch_limits
limits(const struct cidr *allow, size_t nallow)
{
	struct fetch_limits	 l;

	memset(&l, 0, sizeof(l));
	l.timeout_s = 5;
	l.max_bytes = 65536;
	l.max_redirects = 5;
	l.max_concurrent = 16;
	l.max_per_host = 4;
	l.user_agent = "pingbackd-test";
	l.allow_networks = allow;
	l.nallow_networks = nallow;
	return (l);
}

static void
new_ctx(const struct fetch_limits *l)
{
	ctx = fetch_ctx_new(base, l);
	ck_assert_ptr_nonnull(ctx);
}

static void
got_cb(const struct fetch_result *res, void *arg)
{
	struct got	*g = arg;

	g->n++;
	g->order = ++ndone;
	g->status = res->status;
	g->code = res->http_code;
	snprintf(g->url, sizeof(g->url), "%s",
	    res->final_url ? res->final_url : "");
	snprintf(g->ctype, sizeof(g->ctype), "%s",
	    res->content_type ? res->content_type : "");
	snprintf(g->error, sizeof(g->error), "%s", res->error ? res->error : "");
	ck_assert_ptr_nonnull(res->body);
	ck_assert_int_eq(res->body[res->len], '\0');
	free(g->body);
	g->body = malloc(res->len + 1);
	ck_assert_ptr_nonnull(g->body);
	memcpy(g->body, res->body, res->len + 1);
	g->len = res->len;
	if (ndone >= want)
		event_base_loopbreak(base);
}

static void
safety_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	timed_out = 1;
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

/* Run the loop until n callbacks in all, or secs pass. */
static void
run(int n, double secs)
{
	struct event	*t;
	struct timeval	 tv;

	want = n;
	timed_out = 0;
	tv.tv_sec = (long)secs;
	tv.tv_usec = (long)((secs - (long)secs) * 1e6);
	t = evtimer_new(base, safety_cb, NULL);
	evtimer_add(t, &tv);
	while (ndone < want && !timed_out)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
}

/* Fetch one URL (relative to s's base unless s is NULL) and wait. */
static void
fetch1(struct srv *s, const char *path, int flags, struct got *g)
{
	char	 url[512];

	memset(g, 0, sizeof(*g));
	snprintf(url, sizeof(url), "%s%s", s != NULL ? s->base : "", path);
	ck_assert_ptr_nonnull(fetch_start(ctx, url, flags, got_cb, g));
	ck_assert_int_eq(g->n, 0);	/* never from inside fetch_start */
	run(ndone + 1, 8);
	ck_assert_msg(g->n == 1, "%s: no callback", url);
}

static void
got_free(struct got *g, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(g[i].body);
}

START_TEST(test_ok_redirect)
{
	struct fetch_limits	 l = limits(&lo8, 1);
	struct got		 g;
	char			 want_url[128];

	new_ctx(&l);
	fetch1(s1, "/r1", 0, &g);
	ck_assert_int_eq(g.status, FETCH_OK);
	ck_assert_int_eq(g.code, 200);
	ck_assert_str_eq(g.ctype, HTML);
	ck_assert_str_eq(g.body, PAGE);	/* no redirect bodies in it */
	ck_assert_uint_eq(g.len, strlen(PAGE));
	ck_assert_str_eq(g.error, "");
	snprintf(want_url, sizeof(want_url), "%s/ok", s1->base);
	ck_assert_str_eq(g.url, want_url);
	ck_assert_int_eq(s1->hits, 3);
	ck_assert_uint_eq(fetch_ctx_active(ctx), 0);
	got_free(&g, 1);
}
END_TEST

START_TEST(test_http_error)
{
	struct fetch_limits	 l = limits(&lo8, 1);
	struct got		 g;

	new_ctx(&l);
	fetch1(s1, "/nothing-here", 0, &g);
	ck_assert_int_eq(g.status, FETCH_HTTP_ERROR);
	ck_assert_int_eq(g.code, 404);
	ck_assert_str_eq(g.error, "http 404");
	got_free(&g, 1);
}
END_TEST

START_TEST(test_redirect_limit)
{
	struct fetch_limits	 l = limits(&lo8, 1);
	struct got		 g;

	l.max_redirects = 3;
	new_ctx(&l);
	fetch1(s1, "/loop", 0, &g);
	ck_assert_int_eq(g.status, FETCH_FAILED);
	ck_assert_int_eq(s1->hits, 4);
	got_free(&g, 1);

	l.max_redirects = 1;
	fetch_ctx_set_limits(ctx, &l);
	fetch1(s1, "/r1", 0, &g);
	ck_assert_int_eq(g.status, FETCH_FAILED);
	got_free(&g, 1);

	l.max_redirects = 2;
	fetch_ctx_set_limits(ctx, &l);
	fetch1(s1, "/r1", 0, &g);
	ck_assert_int_eq(g.status, FETCH_OK);
	got_free(&g, 1);
}
END_TEST

START_TEST(test_too_large_stream)
{
	struct fetch_limits	 l = limits(&lo8, 1);
	struct got		 g;
	double			 t0 = now();

	l.timeout_s = 8;
	new_ctx(&l);
	fetch1(s1, "/stream", 0, &g);
	ck_assert_int_eq(g.status, FETCH_TOO_LARGE);
	ck_assert_uint_eq(g.len, 0);
	ck_assert_msg(now() - t0 < 4, "took %.1f s", now() - t0);
	got_free(&g, 1);
}
END_TEST

START_TEST(test_too_large_length)
{
	struct fetch_limits	 l = limits(&lo8, 1);
	struct got		 g;

	new_ctx(&l);
	fetch1(s1, "/bytes?262144", 0, &g);
	ck_assert_int_eq(g.status, FETCH_TOO_LARGE);
	got_free(&g, 1);
	fetch1(s1, "/bytes?65537", 0, &g);
	ck_assert_int_eq(g.status, FETCH_TOO_LARGE);
	got_free(&g, 1);
	/* Exactly max_bytes is fine. */
	fetch1(s1, "/bytes?65536", 0, &g);
	ck_assert_int_eq(g.status, FETCH_OK);
	ck_assert_uint_eq(g.len, 65536);
	ck_assert_int_eq(g.body[65535], 'x');
	got_free(&g, 1);
	fetch1(s1, "/bytes?0", 0, &g);
	ck_assert_int_eq(g.status, FETCH_OK);
	ck_assert_uint_eq(g.len, 0);
	ck_assert_str_eq(g.body, "");
	got_free(&g, 1);
}
END_TEST

START_TEST(test_timeout)
{
	struct fetch_limits	 l = limits(&lo8, 1);
	struct got		 g;
	double			 t0 = now(), dt;

	l.timeout_s = 1;
	new_ctx(&l);
	fetch1(s1, "/slow?3000", 0, &g);
	dt = now() - t0;
	ck_assert_int_eq(g.status, FETCH_TIMEOUT);
	ck_assert_msg(dt > 0.8 && dt < 2.5, "took %.2f s", dt);
	got_free(&g, 1);
}
END_TEST

START_TEST(test_guard_default)
{
	struct fetch_limits	 l = limits(NULL, 0);
	struct got		 g;
	char			 url[128];

	new_ctx(&l);
	fetch1(s1, "/ok", 0, &g);
	ck_assert_int_eq(g.status, FETCH_REFUSED);
	ck_assert_str_eq(g.error, "refused: loopback");
	got_free(&g, 1);
	snprintf(url, sizeof(url), "http://localhost:%d/ok", s1->port);
	fetch1(NULL, url, 0, &g);
	ck_assert_int_eq(g.status, FETCH_REFUSED);
	got_free(&g, 1);
	snprintf(url, sizeof(url), "http://[::1]:%d/ok", s1->port);
	fetch1(NULL, url, 0, &g);
	ck_assert_int_eq(g.status, FETCH_REFUSED);
	ck_assert_str_eq(g.error, "refused: loopback");
	got_free(&g, 1);
	snprintf(url, sizeof(url), "http://0.0.0.0:%d/ok", s1->port);
	fetch1(NULL, url, 0, &g);
	ck_assert_int_eq(g.status, FETCH_REFUSED);
	ck_assert_str_eq(g.error, "refused: unspecified");
	got_free(&g, 1);
	/* Only a v6 network allowed: 127.0.0.1 stays refused. */
	ck_assert_int_eq(ng_parse_cidr("::1/128", &lo32), 0);
	l = limits(&lo32, 1);
	fetch_ctx_set_limits(ctx, &l);
	fetch1(s1, "/ok", 0, &g);
	ck_assert_int_eq(g.status, FETCH_REFUSED);
	got_free(&g, 1);
	ck_assert_int_eq(s1->hits, 0);
}
END_TEST

START_TEST(test_guard_allow)
{
	struct fetch_limits	 l = limits(&lo8, 1);
	struct got		 g;

	new_ctx(&l);
	fetch1(s1, "/ok", 0, &g);
	ck_assert_int_eq(g.status, FETCH_OK);
	ck_assert_int_eq(s1->hits, 1);
	got_free(&g, 1);
	fetch1(s2, "/ok", 0, &g);
	ck_assert_int_eq(g.status, FETCH_OK);
	ck_assert_int_eq(s2->hits, 1);
	got_free(&g, 1);
}
END_TEST

START_TEST(test_guard_redirect)
{
	struct fetch_limits	 l = limits(&lo32, 1);
	struct got		 g;

	snprintf(s1->location, sizeof(s1->location), "%s/ok", s2->base);
	new_ctx(&l);
	fetch1(s1, "/go", 0, &g);
	ck_assert_int_eq(g.status, FETCH_REFUSED);
	ck_assert_str_eq(g.error, "refused: loopback");
	ck_assert_int_eq(s1->hits, 1);
	ck_assert_int_eq(s2->hits, 0);
	got_free(&g, 1);
	/* The same redirect is followed when 127.0.0.2 is allowed. */
	l = limits(&lo8, 1);
	fetch_ctx_set_limits(ctx, &l);
	fetch1(s1, "/go", 0, &g);
	ck_assert_int_eq(g.status, FETCH_OK);
	ck_assert_int_eq(s2->hits, 1);
	got_free(&g, 1);
}
END_TEST

START_TEST(test_proxy_env_ignored)
{
	struct fetch_limits	 l = limits(&lo8, 1);
	struct got		 g;

	setenv("http_proxy", s2->base, 1);
	setenv("HTTP_PROXY", s2->base, 1);
	setenv("https_proxy", s2->base, 1);
	setenv("ALL_PROXY", s2->base, 1);
	setenv("all_proxy", s2->base, 1);
	new_ctx(&l);
	fetch1(s1, "/ok", 0, &g);
	ck_assert_int_eq(g.status, FETCH_OK);
	ck_assert_int_eq(s1->hits, 1);
	ck_assert_int_eq(s2->hits, 0);
	got_free(&g, 1);
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("https_proxy");
	unsetenv("ALL_PROXY");
	unsetenv("all_proxy");
}
END_TEST

START_TEST(test_schemes)
{
	static const char *bad[] = {
		"ftp://127.0.0.1:PORT/", "file:///etc/passwd",
		"file://localhost/etc/passwd", "gopher://127.0.0.1:PORT/_GET",
		"dict://127.0.0.1:PORT/info", "127.0.0.1:PORT/ok",
		"//127.0.0.1:PORT/",
		"", "http://", "http://:80/", "not a url", "javascript:alert(1)",
	};
	struct fetch_limits	 l = limits(&lo8, 1);
	struct got		 g;
	char			 url[128];
	const char		*p;
	size_t			 i;

	new_ctx(&l);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if ((p = strstr(bad[i], "PORT")) != NULL)
			snprintf(url, sizeof(url), "%.*s%d%s", (int)(p - bad[i]),
			    bad[i], s1->port, p + 4);
		else
			snprintf(url, sizeof(url), "%s", bad[i]);
		fetch1(NULL, url, 0, &g);
		ck_assert_msg(g.status == FETCH_REFUSED, "%s: status %d", url,
		    g.status);
		got_free(&g, 1);
	}
	memset(&g, 0, sizeof(g));
	ck_assert_ptr_nonnull(fetch_start(ctx, NULL, 0, got_cb, &g));
	run(ndone + 1, 2);
	ck_assert_int_eq(g.status, FETCH_REFUSED);
	ck_assert_int_eq(s1->hits, 0);
	got_free(&g, 1);
	/* Redirects to other schemes are refused too. */
	snprintf(s1->location, sizeof(s1->location), "file:///etc/passwd");
	fetch1(s1, "/go", 0, &g);
	ck_assert_int_eq(g.status, FETCH_REFUSED);
	ck_assert_ptr_null(strstr(g.body, "root"));
	got_free(&g, 1);
	snprintf(s1->location, sizeof(s1->location), "ftp://127.0.0.1:%d/",
	    s2->port);
	fetch1(s1, "/go", 0, &g);
	ck_assert_int_eq(g.status, FETCH_REFUSED);
	ck_assert_int_eq(s2->hits, 0);
	got_free(&g, 1);
}
END_TEST

START_TEST(test_per_host)
{
	struct fetch_limits	 l = limits(&lo8, 1);
	struct got		 g[6];
	char			 url[128];
	int			 i;

	l.max_per_host = 2;
	new_ctx(&l);
	memset(g, 0, sizeof(g));
	snprintf(url, sizeof(url), "%s/slow?300", s1->base);
	for (i = 0; i < 6; i++)
		ck_assert_ptr_nonnull(fetch_start(ctx, url, 0, got_cb, &g[i]));
	ck_assert_uint_eq(fetch_ctx_active(ctx), 2);
	ck_assert_uint_eq(fetch_ctx_queued(ctx), 4);
	run(6, 8);
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(g[i].n, 1);
		ck_assert_int_eq(g[i].status, FETCH_OK);
	}
	ck_assert_int_eq(s1->hits, 6);
	ck_assert_int_eq(s1->maxinflight, 2);
	ck_assert_uint_eq(fetch_ctx_active(ctx), 0);
	ck_assert_uint_eq(fetch_ctx_queued(ctx), 0);
	got_free(g, 6);
}
END_TEST

START_TEST(test_per_host_overtake)
{
	struct fetch_limits	 l = limits(&lo8, 1);
	struct got		 g[4];
	char			 url[128];
	int			 i;

	l.max_per_host = 1;
	new_ctx(&l);
	memset(g, 0, sizeof(g));
	snprintf(url, sizeof(url), "%s/slow?200", s1->base);
	for (i = 0; i < 3; i++)
		fetch_start(ctx, url, 0, got_cb, &g[i]);
	/* Another host is not held up behind the queue. */
	snprintf(url, sizeof(url), "%s/slow?200", s2->base);
	fetch_start(ctx, url, 0, got_cb, &g[3]);
	ck_assert_uint_eq(fetch_ctx_active(ctx), 2);
	ck_assert_uint_eq(fetch_ctx_queued(ctx), 2);
	run(4, 8);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(g[i].status, FETCH_OK);
	ck_assert_int_eq(s1->maxinflight, 1);
	ck_assert_int_le(g[3].order, 2);
	got_free(g, 4);
}
END_TEST

START_TEST(test_max_concurrent)
{
	struct fetch_limits	 l = limits(&lo8, 1);
	struct got		 g[3];
	char			 url[128];
	int			 i;

	l.max_concurrent = 1;
	new_ctx(&l);
	memset(g, 0, sizeof(g));
	for (i = 0; i < 3; i++) {
		snprintf(url, sizeof(url), "%s/slow?100",
		    i == 1 ? s2->base : s1->base);
		fetch_start(ctx, url, 0, got_cb, &g[i]);
	}
	ck_assert_uint_eq(fetch_ctx_active(ctx), 1);
	ck_assert_uint_eq(fetch_ctx_queued(ctx), 2);
	run(3, 8);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(g[i].status, FETCH_OK);
		ck_assert_int_eq(g[i].order, i + 1);	/* FIFO */
	}
	ck_assert_int_eq(s1->maxinflight + s2->maxinflight, 2);
	got_free(g, 3);
}
END_TEST

START_TEST(test_cancel)
{
	struct fetch_limits	 l = limits(&lo8, 1);
	struct got		 g[4];
	struct fetch		*a, *b, *c;
	char			 url[128];

	l.max_concurrent = 1;
	new_ctx(&l);
	memset(g, 0, sizeof(g));
	snprintf(url, sizeof(url), "%s/slow?300", s1->base);
	a = fetch_start(ctx, url, 0, got_cb, &g[0]);	/* active */
	b = fetch_start(ctx, url, 0, got_cb, &g[1]);	/* queued */
	c = fetch_start(ctx, "ftp://127.0.0.1/", 0, got_cb, &g[2]);
	ck_assert_uint_eq(fetch_ctx_active(ctx), 1);
	ck_assert_uint_eq(fetch_ctx_queued(ctx), 1);
	fetch_cancel(b);
	fetch_cancel(c);	/* its result was pending */
	fetch_cancel(a);
	ck_assert_uint_eq(fetch_ctx_active(ctx), 0);
	ck_assert_uint_eq(fetch_ctx_queued(ctx), 0);
	run(1, 0.8);
	ck_assert_int_eq(g[0].n + g[1].n + g[2].n, 0);
	/* The context still works. */
	fetch1(s1, "/ok", 0, &g[3]);
	ck_assert_int_eq(g[3].status, FETCH_OK);
	got_free(g, 4);
}
END_TEST

static struct fetch	*victim;

static void
cancel_victim_cb(const struct fetch_result *res, void *arg)
{
	fetch_cancel(victim);
	got_cb(res, arg);
}

static void
free_ctx_cb(const struct fetch_result *res, void *arg)
{
	got_cb(res, arg);
	fetch_ctx_free(ctx);
	ctx = NULL;
	ck_assert_ptr_null(fetch_start(NULL, "http://x/", 0, got_cb, arg));
}

static void
start_more_cb(const struct fetch_result *res, void *arg)
{
	struct got	*g = arg;
	char		 url[128];

	got_cb(res, arg);
	snprintf(url, sizeof(url), "%s/ok", s2->base);
	ck_assert_ptr_nonnull(fetch_start(ctx, url, 0, got_cb, g + 1));
}

START_TEST(test_cancel_in_done)
{
	struct fetch_limits	 l = limits(&lo8, 1);
	struct got		 g[2];
	char			 url[128];

	new_ctx(&l);
	memset(g, 0, sizeof(g));
	snprintf(url, sizeof(url), "%s/ok", s1->base);
	fetch_start(ctx, url, 0, cancel_victim_cb, &g[0]);
	snprintf(url, sizeof(url), "%s/slow?500", s1->base);
	victim = fetch_start(ctx, url, 0, got_cb, &g[1]);
	run(2, 1.2);
	ck_assert_int_eq(g[0].n, 1);
	ck_assert_int_eq(g[1].n, 0);
	ck_assert_uint_eq(fetch_ctx_active(ctx), 0);
	got_free(g, 2);
}
END_TEST

START_TEST(test_free_in_done)
{
	struct fetch_limits	 l = limits(&lo8, 1);
	struct got		 g[3];
	char			 url[128];

	l.max_concurrent = 2;
	new_ctx(&l);
	memset(g, 0, sizeof(g));
	snprintf(url, sizeof(url), "%s/ok", s1->base);
	fetch_start(ctx, url, 0, free_ctx_cb, &g[0]);
	snprintf(url, sizeof(url), "%s/slow?300", s1->base);
	fetch_start(ctx, url, 0, got_cb, &g[1]);		/* active */
	fetch_start(ctx, url, 0, got_cb, &g[2]);		/* queued */
	run(2, 1);
	ck_assert_int_eq(g[0].n, 1);
	ck_assert_int_eq(g[1].n + g[2].n, 0);
	ck_assert_ptr_null(ctx);
	got_free(g, 3);
}
END_TEST

START_TEST(test_free_in_deferred_done)
{
	struct fetch_limits	 l = limits(&lo8, 1);
	struct got		 g[4];
	char			 url[128];

	l.max_concurrent = 1;
	new_ctx(&l);
	memset(g, 0, sizeof(g));
	fetch_start(ctx, "gopher://x/", 0, free_ctx_cb, &g[0]);
	fetch_start(ctx, "file:///", 0, got_cb, &g[1]);	/* same drain */
	snprintf(url, sizeof(url), "%s/slow?300", s1->base);
	fetch_start(ctx, url, 0, got_cb, &g[2]);		/* active */
	fetch_start(ctx, url, 0, got_cb, &g[3]);		/* queued */
	run(2, 1);
	ck_assert_int_eq(g[0].n, 1);
	ck_assert_int_eq(g[0].status, FETCH_REFUSED);
	ck_assert_int_eq(g[1].n + g[2].n + g[3].n, 0);
	ck_assert_ptr_null(ctx);
	got_free(g, 4);
}
END_TEST

START_TEST(test_free_with_work)
{
	struct fetch_limits	 l = limits(&lo8, 1);
	struct got		 g[3];
	char			 url[128];

	l.max_concurrent = 1;
	new_ctx(&l);
	memset(g, 0, sizeof(g));
	snprintf(url, sizeof(url), "%s/slow?200", s1->base);
	fetch_start(ctx, url, 0, got_cb, &g[0]);
	fetch_start(ctx, url, 0, got_cb, &g[1]);
	run(1, 0.1);			/* connected, request sent */
	ck_assert_int_eq(s1->hits, 1);
	fetch_start(ctx, "file:///", 0, got_cb, &g[2]);
	fetch_ctx_free(ctx);
	ctx = NULL;
	run(1, 0.5);
	ck_assert_int_eq(g[0].n + g[1].n + g[2].n, 0);
}
END_TEST

START_TEST(test_start_in_done)
{
	struct fetch_limits	 l = limits(&lo8, 1);
	struct got		 g[2];
	char			 url[128];

	new_ctx(&l);
	memset(g, 0, sizeof(g));
	snprintf(url, sizeof(url), "%s/ok", s1->base);
	fetch_start(ctx, url, 0, start_more_cb, &g[0]);
	run(2, 4);
	ck_assert_int_eq(g[0].status, FETCH_OK);
	ck_assert_int_eq(g[1].status, FETCH_OK);
	ck_assert_int_eq(s2->hits, 1);
	got_free(g, 2);
}
END_TEST

START_TEST(test_set_limits)
{
	struct fetch_limits	 l = limits(&lo8, 1);
	struct got		 g[3];
	char			 url[128];

	new_ctx(&l);
	fetch1(s1, "/ok", 0, &g[0]);	/* leaves a connection in the pool */
	ck_assert_int_eq(g[0].status, FETCH_OK);
	/* A running fetch keeps the limits it started with. */
	memset(&g[1], 0, sizeof(g[1]));
	snprintf(url, sizeof(url), "%s/slow?200", s1->base);
	fetch_start(ctx, url, 0, got_cb, &g[1]);
	l = limits(NULL, 0);
	l.user_agent = NULL;
	fetch_ctx_set_limits(ctx, &l);
	run(ndone + 1, 4);
	ck_assert_int_eq(g[1].status, FETCH_OK);
	/* New fetches get the new ones, and no old connection. */
	fetch1(s1, "/ok", 0, &g[2]);
	ck_assert_int_eq(g[2].status, FETCH_REFUSED);
	ck_assert_int_eq(s1->hits, 2);
	got_free(g, 3);
}
END_TEST

START_TEST(test_trusted)
{
	struct fetch_limits	 l = limits(NULL, 0);
	struct got		 g;

	new_ctx(&l);
	fetch1(s1, "/ok", FETCH_TRUSTED, &g);
	ck_assert_int_eq(g.status, FETCH_OK);
	got_free(&g, 1);
	/* The trusted fetch's connection is not reused by others. */
	fetch1(s1, "/ok", 0, &g);
	ck_assert_int_eq(g.status, FETCH_REFUSED);
	ck_assert_int_eq(s1->hits, 1);
	got_free(&g, 1);
}
END_TEST

START_TEST(test_default_limits)
{
	struct got	 g;

	new_ctx(NULL);
	fetch1(s1, "/ok", 0, &g);
	ck_assert_int_eq(g.status, FETCH_REFUSED);
	got_free(&g, 1);
}
END_TEST

static Suite *
fetch_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("fetch");
	tc = tcase_create("results");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, test_ok_redirect);
	tcase_add_test(tc, test_http_error);
	tcase_add_test(tc, test_redirect_limit);
	tcase_add_test(tc, test_too_large_stream);
	tcase_add_test(tc, test_too_large_length);
	tcase_add_test(tc, test_timeout);
	suite_add_tcase(s, tc);

	tc = tcase_create("guard");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, test_guard_default);
	tcase_add_test(tc, test_guard_allow);
	tcase_add_test(tc, test_guard_redirect);
	tcase_add_test(tc, test_proxy_env_ignored);
	tcase_add_test(tc, test_schemes);
	tcase_add_test(tc, test_trusted);
	tcase_add_test(tc, test_set_limits);
	tcase_add_test(tc, test_default_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("scheduling");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, test_per_host);
	tcase_add_test(tc, test_per_host_overtake);
	tcase_add_test(tc, test_max_concurrent);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_cancel_in_done);
	tcase_add_test(tc, test_free_in_done);
	tcase_add_test(tc, test_free_in_deferred_done);
	tcase_add_test(tc, test_free_with_work);
	tcase_add_test(tc, test_start_in_done);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	/* The servers write to sockets the client may have closed. */
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return (99);
	sr = srunner_create(fetch_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return (failed == 0 ? 0 : 1);
}
