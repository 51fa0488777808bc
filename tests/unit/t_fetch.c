/*
 * Unit tests for fetch.c against real HTTP servers on loopback (libevent
 * evhttp on the same event_base, port 0): results, limits, the SSRF
 * guard, proxies, schemes, concurrency, cancellation, and POST.
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
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <curl/curl.h>
#include <check.h>

#include "pbd.h"
#include "loop.h"

int	main(void);

#define PAGE	"<!DOCTYPE html><html><head><title>t</title></head>" \
		"<body><a href=\"http://blog.example/\">x</a></body></html>\n"
#define HTML	"text/html; charset=utf-8"

#define SRV_MAX_HEADERS	32

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

	/* The last request seen. */
	enum evhttp_cmd_type	 method;
	char			*body;
	size_t			 bodylen;
	char			 hname[SRV_MAX_HEADERS][64];
	char			 hvalue[SRV_MAX_HEADERS][256];
	int			 nh;
};

/* What one done callback saw. */
struct got {
	struct fetch		*f;
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
static struct fetch_limits	 L;		/* for new_ctx() */
static struct cidr		 lo8, lo32;	/* 127.0.0.0/8, 127.0.0.1/32 */
static struct got		 G[16];
static int			 ng, ndone, want;

#define STATUS(g, st)	ck_assert_int_eq((g)->status, (st))

static void
srv_reply(struct evhttp_request *req, int code,
    const char *ctype, const char *body, size_t len)
{
	struct evbuffer	*b = evbuffer_new();

	if (ctype != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Type", ctype);
	evbuffer_add(b, body, len);
	evhttp_send_reply(req, code, code == 200 ? "OK" : "X", b);
	evbuffer_free(b);
}

static void
srv_redirect(struct evhttp_request *req, const char *to)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Location",
	    to);
	srv_reply(req, 302, "text/plain", "moved", 5);
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
	srv_reply(p->req, 200, HTML, "slow", 4);
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

/* Remember the method, headers and body of req. */
static void
srv_record(struct srv *s, struct evhttp_request *req)
{
	struct evkeyvalq	*h = evhttp_request_get_input_headers(req);
	struct evbuffer		*in = evhttp_request_get_input_buffer(req);
	struct evkeyval		*kv;

	s->method = evhttp_request_get_command(req);
	free(s->body);
	s->bodylen = evbuffer_get_length(in);
	s->body = malloc(s->bodylen + 1);
	ck_assert_ptr_nonnull(s->body);
	evbuffer_copyout(in, s->body, s->bodylen);
	s->body[s->bodylen] = '\0';
	s->nh = 0;
	TAILQ_FOREACH(kv, h, next) {
		if (s->nh == SRV_MAX_HEADERS)
			break;
		snprintf(s->hname[s->nh], sizeof(s->hname[0]), "%s", kv->key);
		snprintf(s->hvalue[s->nh], sizeof(s->hvalue[0]), "%s",
		    kv->value);
		s->nh++;
	}
}

/* The value of header name in the last request, or NULL. */
static const char *
srv_header(const struct srv *s, const char *name)
{
	int	 i;

	for (i = 0; i < s->nh; i++)
		if (strcasecmp(s->hname[i], name) == 0)
			return (s->hvalue[i]);
	return (NULL);
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
	srv_record(s, req);
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
		srv_reply(req, 400, NULL, "", 0);
	else if (strcmp(path, "/ok") == 0)
		srv_reply(req, 200, HTML, PAGE, strlen(PAGE));
	else if (strcmp(path, "/echo") == 0)
		srv_reply(req, 200, "text/plain", s->body, s->bodylen);
	else if (strcmp(path, "/count") == 0) {
		char	 num[32];

		snprintf(num, sizeof(num), "%zu", s->bodylen);
		srv_reply(req, 200, "text/plain", num, strlen(num));
	}
	else if (strcmp(path, "/r1") == 0)
		srv_redirect(req, "/r2");
	else if (strcmp(path, "/r2") == 0)
		srv_redirect(req, "/ok");
	else if (strcmp(path, "/loop") == 0)
		srv_redirect(req, "/loop");
	else if (strcmp(path, "/go") == 0)
		srv_redirect(req, s->location);
	else if (strcmp(path, "/bytes") == 0) {
		body = malloc(n + 1);
		ck_assert_ptr_nonnull(body);
		memset(body, 'x', n);
		srv_reply(req, 200, HTML, body, n);
		free(body);
	} else
		srv_reply(req, 404, HTML, "not found", 9);
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
	free(s->body);
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
	memset(G, 0, sizeof(G));
	ng = ndone = want = 0;
	ctx = NULL;
	/* Small and quick; loopback allowed unless a test says otherwise. */
	memset(&L, 0, sizeof(L));
	L.timeout_s = 5;
	L.max_bytes = 65536;
	L.max_redirects = 5;
	L.max_concurrent = 16;
	L.max_per_host = 4;
	L.user_agent = "pingbackd-test";
	L.allow_networks = &lo8;
	L.nallow_networks = 1;
}

static void
teardown(void)
{
	int	 i;

	fetch_ctx_free(ctx);
	srv_free(s1);
	srv_free(s2);
	event_base_free(base);
	for (i = 0; i < ng; i++)
		free(G[i].body);
}

static void
new_ctx(void)
{
	ctx = fetch_ctx_new(base, &L);
	ck_assert_ptr_nonnull(ctx);
}

/* Allow only n networks from allow (n may be 0). */
static void
allow(const struct cidr *a, size_t n)
{
	L.allow_networks = a;
	L.nallow_networks = n;
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

/* Run the loop until n callbacks in all, or secs pass. */
static void
run(int n, double secs)
{
	want = n;
	tl_run(base, &ndone, n, secs);
}

/* Start a fetch of path (relative to s unless s is NULL) into a new slot. */
static struct got *
start(struct srv *s, const char *path, int flags, fetch_done_cb cb)
{
	struct got	*g;
	char		 url[512];

	ck_assert_int_lt(ng, (int)(sizeof(G) / sizeof(G[0])));
	g = &G[ng++];
	snprintf(url, sizeof(url), "%s%s", s != NULL ? s->base : "", path);
	g->f = fetch_start(ctx, url, flags, cb != NULL ? cb : got_cb, g);
	ck_assert_ptr_nonnull(g->f);
	ck_assert_int_eq(g->n, 0);	/* never from inside fetch_start */
	return (g);
}

/* Fetch and wait for the one callback. */
static struct got *
get(struct srv *s, const char *path, int flags)
{
	struct got	*g = start(s, path, flags, NULL);

	run(ndone + 1, 8);
	ck_assert_msg(g->n == 1, "%s: no callback", path);
	return (g);
}

START_TEST(test_ok_redirect)
{
	struct got	*g;
	char		 url[128];

	new_ctx();
	g = get(s1, "/r1", 0);
	STATUS(g, FETCH_OK);
	ck_assert_int_eq(g->code, 200);
	ck_assert_str_eq(g->ctype, HTML);
	ck_assert_str_eq(g->body, PAGE);	/* no redirect bodies in it */
	ck_assert_uint_eq(g->len, strlen(PAGE));
	ck_assert_str_eq(g->error, "");
	snprintf(url, sizeof(url), "%s/ok", s1->base);
	ck_assert_str_eq(g->url, url);
	ck_assert_int_eq(s1->hits, 3);
	ck_assert_uint_eq(fetch_ctx_active(ctx), 0);
}
END_TEST

START_TEST(test_http_error)
{
	struct got	*g;

	new_ctx();
	g = get(s1, "/nothing-here", 0);
	STATUS(g, FETCH_HTTP_ERROR);
	ck_assert_int_eq(g->code, 404);
	ck_assert_str_eq(g->error, "http 404");
	ck_assert_str_eq(g->body, "not found");
}
END_TEST

START_TEST(test_connect_failed)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	char			 url[128];
	int			 fd;

	/* A port nobody listens on: bind one, learn it, close it. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	new_ctx();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", ntohs(sin.sin_port));
	STATUS(get(NULL, url, 0), FETCH_FAILED);
}
END_TEST

START_TEST(test_redirect_limit)
{
	L.max_redirects = 3;
	new_ctx();
	STATUS(get(s1, "/loop", 0), FETCH_FAILED);
	ck_assert_int_eq(s1->hits, 4);
	L.max_redirects = 1;
	fetch_ctx_set_limits(ctx, &L);
	STATUS(get(s1, "/r1", 0), FETCH_FAILED);
	L.max_redirects = 2;
	fetch_ctx_set_limits(ctx, &L);
	STATUS(get(s1, "/r1", 0), FETCH_OK);
}
END_TEST

START_TEST(test_too_large_stream)
{
	struct got	*g;
	double		 t0 = tl_now();

	L.timeout_s = 8;
	new_ctx();
	g = get(s1, "/stream", 0);
	STATUS(g, FETCH_TOO_LARGE);
	ck_assert_uint_eq(g->len, 0);
	ck_assert_msg(tl_now() - t0 < 4, "took %.1f s", tl_now() - t0);
}
END_TEST

START_TEST(test_too_large_length)
{
	struct got	*g;

	new_ctx();
	STATUS(get(s1, "/bytes?262144", 0), FETCH_TOO_LARGE);
	STATUS(get(s1, "/bytes?65537", 0), FETCH_TOO_LARGE);
	/* Exactly max_bytes is fine. */
	g = get(s1, "/bytes?65536", 0);
	STATUS(g, FETCH_OK);
	ck_assert_uint_eq(g->len, 65536);
	ck_assert_int_eq(g->body[65535], 'x');
	g = get(s1, "/bytes?0", 0);
	STATUS(g, FETCH_OK);
	ck_assert_str_eq(g->body, "");
}
END_TEST

START_TEST(test_timeout)
{
	double	 t0 = tl_now(), dt;

	L.timeout_s = 1;
	new_ctx();
	STATUS(get(s1, "/slow?3000", 0), FETCH_TIMEOUT);
	dt = tl_now() - t0;
	ck_assert_msg(dt > 0.8 && dt < 2.5, "took %.2f s", dt);
}
END_TEST

START_TEST(test_guard_default)
{
	struct got	*g;
	char		 url[128];

	allow(NULL, 0);
	new_ctx();
	g = get(s1, "/ok", 0);
	STATUS(g, FETCH_REFUSED);
	ck_assert_str_eq(g->error, "refused: loopback");
	snprintf(url, sizeof(url), "http://localhost:%d/ok", s1->port);
	STATUS(get(NULL, url, 0), FETCH_REFUSED);
	snprintf(url, sizeof(url), "http://[::1]:%d/ok", s1->port);
	g = get(NULL, url, 0);
	STATUS(g, FETCH_REFUSED);
	ck_assert_str_eq(g->error, "refused: loopback");
	snprintf(url, sizeof(url), "http://0.0.0.0:%d/ok", s1->port);
	g = get(NULL, url, 0);
	STATUS(g, FETCH_REFUSED);
	ck_assert_str_eq(g->error, "refused: unspecified");
	/* Only a v6 network allowed: 127.0.0.1 stays refused. */
	ck_assert_int_eq(ng_parse_cidr("::1/128", &lo32), 0);
	allow(&lo32, 1);
	fetch_ctx_set_limits(ctx, &L);
	STATUS(get(s1, "/ok", 0), FETCH_REFUSED);
	ck_assert_int_eq(s1->hits, 0);
}
END_TEST

START_TEST(test_guard_allow)
{
	new_ctx();
	STATUS(get(s1, "/ok", 0), FETCH_OK);
	STATUS(get(s2, "/ok", 0), FETCH_OK);
	ck_assert_int_eq(s1->hits, 1);
	ck_assert_int_eq(s2->hits, 1);
}
END_TEST

START_TEST(test_guard_redirect)
{
	struct got	*g;

	snprintf(s1->location, sizeof(s1->location), "%s/ok", s2->base);
	allow(&lo32, 1);
	new_ctx();
	g = get(s1, "/go", 0);
	STATUS(g, FETCH_REFUSED);
	ck_assert_str_eq(g->error, "refused: loopback");
	ck_assert_int_eq(s1->hits, 1);
	ck_assert_int_eq(s2->hits, 0);
	/* The same redirect is followed when 127.0.0.2 is allowed. */
	allow(&lo8, 1);
	fetch_ctx_set_limits(ctx, &L);
	STATUS(get(s1, "/go", 0), FETCH_OK);
	ck_assert_int_eq(s2->hits, 1);
}
END_TEST

START_TEST(test_proxy_env_ignored)
{
	static const char *vars[] = {
		"http_proxy", "HTTP_PROXY", "https_proxy", "ALL_PROXY",
		"all_proxy"
	};
	size_t	 i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		setenv(vars[i], s2->base, 1);
	new_ctx();
	STATUS(get(s1, "/ok", 0), FETCH_OK);
	ck_assert_int_eq(s1->hits, 1);
	ck_assert_int_eq(s2->hits, 0);
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}
END_TEST

START_TEST(test_schemes)
{
	static const char *bad[] = {
		"ftp://127.0.0.1:PORT/", "file:///etc/passwd",
		"file://localhost/etc/passwd", "gopher://127.0.0.1:PORT/_GET",
		"dict://127.0.0.1:PORT/info", "127.0.0.1:PORT/ok",
		"//127.0.0.1:PORT/", "", "http://", "http://:80/",
		"not a url", "javascript:alert(1)",
	};
	struct got	*g;
	char		 url[128];
	const char	*p;
	size_t		 i;

	new_ctx();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if ((p = strstr(bad[i], "PORT")) != NULL)
			snprintf(url, sizeof(url), "%.*s%d%s", (int)(p - bad[i]),
			    bad[i], s1->port, p + 4);
		else
			snprintf(url, sizeof(url), "%s", bad[i]);
		g = get(NULL, url, 0);
		ck_assert_msg(g->status == FETCH_REFUSED, "%s: status %d", url,
		    g->status);
		ck_assert_msg(strncmp(g->error, "refused: ", 9) == 0, "%s: %s",
		    url, g->error);
	}
	g = &G[ng++];
	ck_assert_ptr_nonnull(fetch_start(ctx, NULL, 0, got_cb, g));
	run(ndone + 1, 2);
	STATUS(g, FETCH_REFUSED);
	ck_assert_int_eq(s1->hits, 0);
	/* Redirects to other schemes are refused too. */
	snprintf(s1->location, sizeof(s1->location), "file:///etc/passwd");
	g = get(s1, "/go", 0);
	STATUS(g, FETCH_REFUSED);
	ck_assert_ptr_null(strstr(g->body, "root"));
	snprintf(s1->location, sizeof(s1->location), "ftp://127.0.0.1:%d/",
	    s2->port);
	STATUS(get(s1, "/go", 0), FETCH_REFUSED);
	ck_assert_int_eq(s2->hits, 0);
}
END_TEST

START_TEST(test_trusted)
{
	allow(NULL, 0);
	new_ctx();
	STATUS(get(s1, "/ok", FETCH_TRUSTED), FETCH_OK);
	/* The trusted fetch's connection is not reused by others. */
	STATUS(get(s1, "/ok", 0), FETCH_REFUSED);
	ck_assert_int_eq(s1->hits, 1);
}
END_TEST

START_TEST(test_set_limits)
{
	struct got	*g;

	new_ctx();
	STATUS(get(s1, "/ok", 0), FETCH_OK);	/* a connection in the pool */
	/* A running fetch keeps the limits it started with. */
	g = start(s1, "/slow?200", 0, NULL);
	allow(NULL, 0);
	L.user_agent = NULL;
	fetch_ctx_set_limits(ctx, &L);
	run(ndone + 1, 4);
	STATUS(g, FETCH_OK);
	/* New fetches get the new ones, and no old connection. */
	STATUS(get(s1, "/ok", 0), FETCH_REFUSED);
	ck_assert_int_eq(s1->hits, 2);
}
END_TEST

START_TEST(test_per_host)
{
	int	 i;

	L.max_per_host = 2;
	new_ctx();
	for (i = 0; i < 6; i++)
		start(s1, "/slow?300", 0, NULL);
	ck_assert_uint_eq(fetch_ctx_active(ctx), 2);
	ck_assert_uint_eq(fetch_ctx_queued(ctx), 4);
	run(6, 8);
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(G[i].n, 1);
		STATUS(&G[i], FETCH_OK);
	}
	ck_assert_int_eq(s1->hits, 6);
	ck_assert_int_le(s1->maxinflight, 2);
	ck_assert_int_ge(s1->maxinflight, 1);
	ck_assert_uint_eq(fetch_ctx_active(ctx), 0);
	ck_assert_uint_eq(fetch_ctx_queued(ctx), 0);
}
END_TEST

START_TEST(test_per_host_overtake)
{
	struct got	*b;
	int		 i;

	L.max_per_host = 1;
	new_ctx();
	for (i = 0; i < 3; i++)
		start(s1, "/slow?200", 0, NULL);
	/* Another host is not held up behind the queue. */
	b = start(s2, "/slow?200", 0, NULL);
	ck_assert_uint_eq(fetch_ctx_active(ctx), 2);
	ck_assert_uint_eq(fetch_ctx_queued(ctx), 2);
	run(4, 8);
	for (i = 0; i < 4; i++)
		STATUS(&G[i], FETCH_OK);
	ck_assert_int_eq(s1->maxinflight, 1);
	ck_assert_int_le(b->order, 2);
}
END_TEST

START_TEST(test_max_concurrent)
{
	int	 i;

	L.max_concurrent = 1;
	new_ctx();
	for (i = 0; i < 3; i++)
		start(i == 1 ? s2 : s1, "/slow?100", 0, NULL);
	ck_assert_uint_eq(fetch_ctx_active(ctx), 1);
	ck_assert_uint_eq(fetch_ctx_queued(ctx), 2);
	run(3, 8);
	for (i = 0; i < 3; i++) {
		STATUS(&G[i], FETCH_OK);
		ck_assert_int_eq(G[i].order, i + 1);	/* FIFO */
	}
	ck_assert_int_eq(s1->maxinflight + s2->maxinflight, 2);
}
END_TEST

START_TEST(test_cancel)
{
	struct got	*a, *b, *c;

	L.max_concurrent = 1;
	new_ctx();
	a = start(s1, "/slow?300", 0, NULL);	/* active */
	b = start(s1, "/slow?300", 0, NULL);	/* queued */
	c = start(NULL, "ftp://127.0.0.1/", 0, NULL);	/* result pending */
	ck_assert_uint_eq(fetch_ctx_active(ctx), 1);
	ck_assert_uint_eq(fetch_ctx_queued(ctx), 1);
	fetch_cancel(b->f);
	fetch_cancel(c->f);
	fetch_cancel(a->f);
	ck_assert_uint_eq(fetch_ctx_active(ctx), 0);
	ck_assert_uint_eq(fetch_ctx_queued(ctx), 0);
	run(1, 0.8);
	ck_assert_int_eq(a->n + b->n + c->n, 0);
	/* The context still works. */
	STATUS(get(s1, "/ok", 0), FETCH_OK);
}
END_TEST

static void
cancel_next_cb(const struct fetch_result *res, void *arg)
{
	struct got	*g = arg;

	fetch_cancel(g[1].f);
	got_cb(res, arg);
}

static void
free_ctx_cb(const struct fetch_result *res, void *arg)
{
	got_cb(res, arg);
	fetch_ctx_free(ctx);
	ctx = NULL;
}

static void
start_more_cb(const struct fetch_result *res, void *arg)
{
	got_cb(res, arg);
	start(s2, "/ok", 0, NULL);
}

START_TEST(test_cancel_in_done)
{
	new_ctx();
	start(s1, "/ok", 0, cancel_next_cb);
	start(s1, "/slow?500", 0, NULL);
	run(1, 5);
	run(2, 0.8);			/* the slow one would be back */
	ck_assert_int_eq(G[0].n, 1);
	ck_assert_int_eq(G[1].n, 0);
	ck_assert_uint_eq(fetch_ctx_active(ctx), 0);
}
END_TEST

START_TEST(test_free_in_done)
{
	L.max_concurrent = 2;
	new_ctx();
	start(s1, "/ok", 0, free_ctx_cb);
	start(s1, "/slow?300", 0, NULL);	/* active */
	start(s1, "/slow?300", 0, NULL);	/* queued */
	run(1, 5);
	run(2, 0.5);
	ck_assert_int_eq(G[0].n, 1);
	ck_assert_int_eq(G[1].n + G[2].n, 0);
	ck_assert_ptr_null(ctx);
}
END_TEST

START_TEST(test_free_in_deferred_done)
{
	L.max_concurrent = 1;
	new_ctx();
	start(NULL, "gopher://x/", 0, free_ctx_cb);
	start(NULL, "file:///", 0, NULL);	/* in the same drain */
	start(s1, "/slow?300", 0, NULL);	/* active */
	start(s1, "/slow?300", 0, NULL);	/* queued */
	run(1, 5);
	run(2, 0.5);
	ck_assert_int_eq(G[0].n, 1);
	STATUS(&G[0], FETCH_REFUSED);
	ck_assert_int_eq(G[1].n + G[2].n + G[3].n, 0);
	ck_assert_ptr_null(ctx);
}
END_TEST

START_TEST(test_free_with_work)
{
	int	 i;

	L.max_concurrent = 1;
	new_ctx();
	start(s1, "/slow?500", 0, NULL);
	start(s1, "/slow?500", 0, NULL);
	for (i = 0; i < 50 && s1->hits == 0; i++)
		run(1, 0.1);		/* until connected, request sent */
	ck_assert_int_eq(s1->hits, 1);
	start(NULL, "file:///", 0, NULL);
	fetch_ctx_free(ctx);
	ctx = NULL;
	run(1, 0.5);
	ck_assert_int_eq(G[0].n + G[1].n + G[2].n, 0);
}
END_TEST

START_TEST(test_start_in_done)
{
	new_ctx();
	start(s1, "/ok", 0, start_more_cb);
	run(2, 4);
	STATUS(&G[0], FETCH_OK);
	STATUS(&G[1], FETCH_OK);
	ck_assert_int_eq(s2->hits, 1);
}
END_TEST

/* Start a POST of body to path on s (s NULL: path is the URL). */
static struct got *
post_start(struct srv *s, const char *path, const char *body, size_t len,
    char *const *h, size_t nh, long timeout_s, int flags)
{
	struct got	*g;
	char		 url[512];

	ck_assert_int_lt(ng, (int)(sizeof(G) / sizeof(G[0])));
	g = &G[ng++];
	snprintf(url, sizeof(url), "%s%s", s != NULL ? s->base : "", path);
	g->f = fetch_post(ctx, url, body, len, h, nh, timeout_s, flags,
	    got_cb, g);
	ck_assert_ptr_nonnull(g->f);
	ck_assert_int_eq(g->n, 0);
	return (g);
}

static struct got *
post(struct srv *s, const char *path, const char *body, size_t len,
    char *const *h, size_t nh, long timeout_s, int flags)
{
	struct got	*g;

	g = post_start(s, path, body, len, h, nh, timeout_s, flags);
	run(ndone + 1, 8);
	ck_assert_msg(g->n == 1, "POST %s: no callback", path);
	return (g);
}

START_TEST(test_post)
{
	static const char	 data[] = "{\"a\":1}\0tail\n\xc3\xa9";
	static char		 h0[] = "Content-Type: application/json";
	static char		 h1[] = "X-Test: one two";
	static char		 h2[] = "User-Agent: ua-post";
	char			*h[] = { h0, h1, h2 };
	char			*body;
	struct got		*g;
	size_t			 len = sizeof(data) - 1;

	new_ctx();
	body = malloc(len);
	ck_assert_ptr_nonnull(body);
	memcpy(body, data, len);
	g = post_start(s1, "/echo", body, len, h, 3, 0, 0);
	memset(body, 'z', len);		/* copied by fetch_post */
	free(body);
	run(ndone + 1, 8);
	ck_assert_int_eq(g->n, 1);
	STATUS(g, FETCH_OK);
	ck_assert_int_eq(g->code, 200);
	ck_assert_str_eq(g->error, "");
	ck_assert_int_eq(s1->method, EVHTTP_REQ_POST);
	ck_assert_uint_eq(s1->bodylen, len);
	ck_assert_mem_eq(s1->body, data, len);
	ck_assert_uint_eq(g->len, len);		/* the answer, echoed */
	ck_assert_mem_eq(g->body, data, len);
	ck_assert_str_eq(srv_header(s1, "Content-Type"), "application/json");
	ck_assert_str_eq(srv_header(s1, "X-Test"), "one two");
	ck_assert_str_eq(srv_header(s1, "User-Agent"), "ua-post");
	ck_assert_ptr_null(srv_header(s1, "Expect"));
	ck_assert_ptr_null(srv_header(s1, "Accept-Encoding"));
	ck_assert_int_eq(s1->hits, 1);
	/* No headers, empty body: curl's own defaults. */
	g = post(s1, "/count", NULL, 0, NULL, 0, 0, 0);
	STATUS(g, FETCH_OK);
	ck_assert_str_eq(g->body, "0");
	ck_assert_str_eq(srv_header(s1, "User-Agent"), "pingbackd-test");
	/* GETs are unchanged: GET, the Accept header, no body. */
	STATUS(get(s1, "/ok", 0), FETCH_OK);
	ck_assert_int_eq(s1->method, EVHTTP_REQ_GET);
	ck_assert_ptr_nonnull(strstr(srv_header(s1, "Accept"), "text/html"));
}
END_TEST

START_TEST(test_post_large)
{
	struct got	*g;
	char		*body;
	size_t		 len = 300000;
	double		 t0;

	new_ctx();
	body = malloc(len);
	ck_assert_ptr_nonnull(body);
	memset(body, 'y', len);
	t0 = tl_now();
	g = post(s1, "/count", body, len, NULL, 0, 0, 0);
	free(body);
	STATUS(g, FETCH_OK);
	ck_assert_str_eq(g->body, "300000");
	ck_assert_uint_eq(s1->bodylen, len);
	ck_assert_ptr_null(srv_header(s1, "Expect"));
	ck_assert_msg(tl_now() - t0 < 0.9, "took %.2f s", tl_now() - t0);
}
END_TEST

START_TEST(test_post_no_redirect)
{
	struct got	*g;

	new_ctx();
	g = post(s1, "/r1", "x", 1, NULL, 0, 0, 0);
	STATUS(g, FETCH_HTTP_ERROR);
	ck_assert_int_eq(g->code, 302);
	ck_assert_str_eq(g->error, "http 302");
	ck_assert_int_eq(s1->hits, 1);
	g = post(s1, "/nothing-here", "x", 1, NULL, 0, 0, 0);
	STATUS(g, FETCH_HTTP_ERROR);
	ck_assert_str_eq(g->error, "http 404");
}
END_TEST

START_TEST(test_post_timeout)
{
	double	 t0, dt;

	/* timeout_s > 0 wins over the limits' ... */
	L.timeout_s = 8;
	new_ctx();
	t0 = tl_now();
	STATUS(post(s1, "/slow?3000", "x", 1, NULL, 0, 1, 0), FETCH_TIMEOUT);
	dt = tl_now() - t0;
	ck_assert_msg(dt > 0.8 && dt < 2.5, "took %.2f s", dt);
	/* ... and 0 means the limits' one. */
	L.timeout_s = 1;
	fetch_ctx_set_limits(ctx, &L);
	t0 = tl_now();
	STATUS(post(s1, "/slow?3000", "x", 1, NULL, 0, 0, 0), FETCH_TIMEOUT);
	dt = tl_now() - t0;
	ck_assert_msg(dt > 0.8 && dt < 2.5, "took %.2f s", dt);
}
END_TEST

START_TEST(test_post_guard)
{
	struct got	*g;
	char		 url[128];

	allow(NULL, 0);
	new_ctx();
	g = post(s1, "/echo", "x", 1, NULL, 0, 0, 0);
	STATUS(g, FETCH_REFUSED);
	ck_assert_str_eq(g->error, "refused: loopback");
	ck_assert_int_eq(s1->hits, 0);
	snprintf(url, sizeof(url), "ftp://127.0.0.1:%d/", s1->port);
	STATUS(post(NULL, url, "x", 1, NULL, 0, 0, FETCH_TRUSTED),
	    FETCH_REFUSED);
	STATUS(post(NULL, "file:///etc/passwd", "x", 1, NULL, 0, 0,
	    FETCH_TRUSTED), FETCH_REFUSED);
	ck_assert_int_eq(s1->hits, 0);
	/* FETCH_TRUSTED as for a GET; its connection is not reused. */
	STATUS(post(s1, "/echo", "x", 1, NULL, 0, 0, FETCH_TRUSTED), FETCH_OK);
	STATUS(post(s1, "/echo", "x", 1, NULL, 0, 0, 0), FETCH_REFUSED);
	ck_assert_int_eq(s1->hits, 1);
	/* Allowed by allow_networks. */
	allow(&lo32, 1);
	fetch_ctx_set_limits(ctx, &L);
	STATUS(post(s1, "/echo", "x", 1, NULL, 0, 0, 0), FETCH_OK);
	ck_assert_int_eq(s1->hits, 2);
}
END_TEST

START_TEST(test_post_bad_header)
{
	static char	 b0[] = "X-A: b\r\nX-Injected: 1", b1[] = "X-A: b\n";
	static char	 b2[] = "NoColon", b3[] = ": x", b4[] = "Bad Name: x";
	static char	 ok[] = "X-Ok: 1";
	char		*bad[] = { b0, b1, b2, b3, b4 };
	char		*good[] = { ok, NULL };
	struct got	*g;
	size_t		 i;

	new_ctx();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		good[1] = bad[i];
		g = post(s1, "/echo", "x", 1, good, 2, 0, 0);
		ck_assert_msg(g->status == FETCH_REFUSED, "%s", bad[i]);
		ck_assert_str_eq(g->error, "refused: bad header");
	}
	g = post(s1, "/echo", "x", 1, good, 1, 0, 0);
	STATUS(g, FETCH_OK);
	ck_assert_int_eq(s1->hits, 1);
	ck_assert_ptr_null(srv_header(s1, "X-Injected"));
}
END_TEST

START_TEST(test_post_too_large)
{
	struct got	*g;

	new_ctx();
	g = post(s1, "/bytes?262144", "x", 1, NULL, 0, 0, 0);
	STATUS(g, FETCH_TOO_LARGE);
	ck_assert_int_eq(g->code, 200);
}
END_TEST

START_TEST(test_post_cancel)
{
	struct got	*a, *b;

	L.max_concurrent = 1;
	new_ctx();
	a = post_start(s1, "/slow?300", "x", 1, NULL, 0, 0, 0);
	b = post_start(s1, "/slow?300", "y", 1, NULL, 0, 0, 0);
	ck_assert_uint_eq(fetch_ctx_active(ctx), 1);
	ck_assert_uint_eq(fetch_ctx_queued(ctx), 1);
	fetch_cancel(b->f);
	fetch_cancel(a->f);
	run(1, 0.8);
	ck_assert_int_eq(a->n + b->n, 0);
	STATUS(post(s1, "/echo", "z", 1, NULL, 0, 0, 0), FETCH_OK);
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
	tcase_add_test(tc, test_connect_failed);
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

	tc = tcase_create("post");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, test_post);
	tcase_add_test(tc, test_post_large);
	tcase_add_test(tc, test_post_no_redirect);
	tcase_add_test(tc, test_post_timeout);
	tcase_add_test(tc, test_post_guard);
	tcase_add_test(tc, test_post_bad_header);
	tcase_add_test(tc, test_post_too_large);
	tcase_add_test(tc, test_post_cancel);
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
