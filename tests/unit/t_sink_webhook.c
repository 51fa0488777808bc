/*
 * Unit tests for the webhook sink against a real HTTP server on
 * loopback (libevent evhttp on the same event_base, port 0) that
 * records what it receives: body, headers, the HMAC signature (RFC 4231
 * vectors and an HMAC computed here), failures, the SSRF guard, close
 * with deliveries in flight.
 */
#include "config.h"

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
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <check.h>

#include "log.h"
#include "pbd.h"
#include "loop.h"
#include "sink.h"

int	main(void);

#define MAX_HEADERS	32
#define SECRET		"s3cr3t-never-logged"
#define JSON		"{\"kind\":\"pingback\"," \
			"\"source\":\"https://a.example/p?x=1\"," \
			"\"target\":\"https://blog.example/post\"," \
			"\"title\":\"Caf\xc3\xa9 \\\"quoted\\\"\"," \
			"\"excerpt\":\"line1\\nline2\"," \
			"\"received_at\":\"2024-05-01T12:00:00Z\"," \
			"\"id\":\"7f3a-1\"}\n"

/* A request answered later. */
struct pending {
	struct evhttp_request	*req;
	struct event		*ev;
	TAILQ_ENTRY(pending)	 entry;
};

/* The server and the last request it saw. */
struct srv {
	struct evhttp		*http;
	char			 base[64];
	int			 hits;
	TAILQ_HEAD(, pending)	 pending;
	enum evhttp_cmd_type	 method;
	char			 uri[256];
	char			*body;
	size_t			 bodylen;
	char			 hname[MAX_HEADERS][64];
	char			 hvalue[MAX_HEADERS][256];
	int			 nh;
};

/* What one done callback saw. */
struct got {
	int			 n;
	int			 ok;
	char			 error[256];
	int			 close_sink;	/* close the sink from done */
};

static struct event_base	*base;
static struct srv		*srv;
static struct fetch_ctx		*ctx;
static struct fetch_limits	 L;
static struct cidr		 lo8, v6lo;
static struct sink_conf		 conf;
static struct sink		 sink;
static char			 url[256];
/* sink_conf has char *, string literals are const. */
static char			 s_name[] = "hook", s_type[] = "webhook";
static char			 s_secret[] = SECRET, s_empty[] = "";
static char			 s_ftp[] = "ftp://example.org/";
static struct got		 G[16];
static int			 ng, ndone, want;

static void
srv_reply(struct evhttp_request *req, int code, const char *body,
    size_t len)
{
	struct evbuffer	*b = evbuffer_new();

	evbuffer_add(b, body, len);
	evhttp_send_reply(req, code, code == 200 ? "OK" : "X", b);
	evbuffer_free(b);
}

static void
pending_free(struct pending *p)
{
	TAILQ_REMOVE(&srv->pending, p, entry);
	event_free(p->ev);
	free(p);
}

static void
srv_slow_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pending	*p = arg;

	(void)fd;
	(void)what;
	srv_reply(p->req, 200, "late", 4);
	pending_free(p);
}

static void
srv_record(struct evhttp_request *req)
{
	struct evkeyvalq	*h = evhttp_request_get_input_headers(req);
	struct evbuffer		*in = evhttp_request_get_input_buffer(req);
	struct evkeyval		*kv;

	srv->method = evhttp_request_get_command(req);
	snprintf(srv->uri, sizeof(srv->uri), "%s", evhttp_request_get_uri(req));
	free(srv->body);
	srv->bodylen = evbuffer_get_length(in);
	srv->body = malloc(srv->bodylen + 1);
	ck_assert_ptr_nonnull(srv->body);
	evbuffer_copyout(in, srv->body, srv->bodylen);
	srv->body[srv->bodylen] = '\0';
	srv->nh = 0;
	TAILQ_FOREACH(kv, h, next) {
		if (srv->nh == MAX_HEADERS)
			break;
		snprintf(srv->hname[srv->nh], sizeof(srv->hname[0]), "%s",
		    kv->key);
		snprintf(srv->hvalue[srv->nh], sizeof(srv->hvalue[0]), "%s",
		    kv->value);
		srv->nh++;
	}
}

static const char *
srv_header(const char *name)
{
	int	 i;

	for (i = 0; i < srv->nh; i++)
		if (strcasecmp(srv->hname[i], name) == 0)
			return (srv->hvalue[i]);
	return (NULL);
}

/* /hook: 200; /fail: 500; /moved: 302; /big: 200 with a large body. */
static void
srv_cb(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri	*u = evhttp_request_get_evhttp_uri(req);
	const char		*path = evhttp_uri_get_path(u);
	const char		*q = evhttp_uri_get_query(u);
	struct pending		*p;
	struct timeval		 tv;
	char			*big;
	long			 ms = q != NULL ? atol(q) : 0;

	(void)arg;
	srv->hits++;
	srv_record(req);
	if (path == NULL)
		srv_reply(req, 400, "", 0);
	else if (strcmp(path, "/hook") == 0)
		srv_reply(req, 200, "thanks", 6);
	else if (strcmp(path, "/fail") == 0)
		srv_reply(req, 500, "oops", 4);
	else if (strcmp(path, "/moved") == 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Location", "/hook");
		srv_reply(req, 302, "", 0);
	} else if (strcmp(path, "/big") == 0) {
		big = malloc(200000);
		ck_assert_ptr_nonnull(big);
		memset(big, 'b', 200000);
		srv_reply(req, 200, big, 200000);
		free(big);
	} else if (strcmp(path, "/slow") == 0) {
		p = calloc(1, sizeof(*p));
		ck_assert_ptr_nonnull(p);
		p->req = req;
		p->ev = evtimer_new(base, srv_slow_cb, p);
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		evtimer_add(p->ev, &tv);
		TAILQ_INSERT_TAIL(&srv->pending, p, entry);
	} else
		srv_reply(req, 404, "no", 2);
}

static void
srv_start(void)
{
	struct evhttp_bound_socket	*bs;
	struct sockaddr_in		 sin;
	socklen_t			 len = sizeof(sin);

	srv = calloc(1, sizeof(*srv));
	ck_assert_ptr_nonnull(srv);
	TAILQ_INIT(&srv->pending);
	srv->http = evhttp_new(base);
	ck_assert_ptr_nonnull(srv->http);
	evhttp_set_gencb(srv->http, srv_cb, NULL);
	bs = evhttp_bind_socket_with_handle(srv->http, "127.0.0.1", 0);
	ck_assert_ptr_nonnull(bs);
	ck_assert_int_eq(getsockname(evhttp_bound_socket_get_fd(bs),
	    (struct sockaddr *)&sin, &len), 0);
	snprintf(srv->base, sizeof(srv->base), "http://127.0.0.1:%d",
	    ntohs(sin.sin_port));
}

static void
srv_free(void)
{
	struct pending	*p;

	while ((p = TAILQ_FIRST(&srv->pending)) != NULL) {
		evhttp_send_reply(p->req, 503, "gone", NULL);
		pending_free(p);
	}
	evhttp_free(srv->http);
	free(srv->body);
	free(srv);
}

static void
setup(void)
{
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	srv_start();
	ck_assert_int_eq(ng_parse_cidr("127.0.0.0/8", &lo8), 0);
	ck_assert_int_eq(ng_parse_cidr("::1/128", &v6lo), 0);
	memset(&L, 0, sizeof(L));
	L.timeout_s = 5;
	L.max_bytes = 65536;
	L.max_redirects = 5;
	L.max_concurrent = 16;
	L.max_per_host = 8;
	L.user_agent = "pingbackd-fetch";
	L.allow_networks = &lo8;
	L.nallow_networks = 1;
	ctx = NULL;
	memset(G, 0, sizeof(G));
	ng = ndone = want = 0;
	memset(&conf, 0, sizeof(conf));
	conf.name = s_name;
	conf.type = s_type;
	conf.timeout = 5;
	conf.url = url;
	snprintf(url, sizeof(url), "%s/hook", srv->base);
	memset(&sink, 0, sizeof(sink));
	sink.ops = &sink_webhook_ops;
	sink.conf = &conf;
	sink.base = base;
}

static void
teardown(void)
{
	sink_webhook_ops.close(&sink);
	fetch_ctx_free(ctx);
	srv_free();
	event_base_free(base);
}

/* Make the fetch context from L and open the sink. */
static void
open_sink(void)
{
	char	*cause = NULL;

	ctx = fetch_ctx_new(base, &L);
	ck_assert_ptr_nonnull(ctx);
	sink.fetch = ctx;
	ck_assert_msg(sink_webhook_ops.open(&sink, &cause) == 0, "open: %s",
	    cause);
	ck_assert_ptr_nonnull(sink.priv);
}

static void
done_cb(struct sink *s, int ok, const char *error, void *arg)
{
	struct got	*g = arg;

	ck_assert_ptr_eq(s, &sink);
	g->n++;
	g->ok = ok;
	if (ok)
		ck_assert_ptr_null(error);
	else
		ck_assert_ptr_nonnull(error);
	snprintf(g->error, sizeof(g->error), "%s", error ? error : "");
	ndone++;
	if (g->close_sink)
		sink_webhook_ops.close(&sink);
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

/* Start one delivery of body under key. */
static struct got *
start(const char *key, const char *body, size_t len)
{
	struct sink_item	 item;
	struct got		*g;

	ck_assert_int_lt(ng, (int)(sizeof(G) / sizeof(G[0])));
	g = &G[ng++];
	memset(&item, 0, sizeof(item));
	item.mention_id = ng;
	item.key = key;
	item.json = body;
	item.len = len;
	ck_assert_int_eq(sink_webhook_ops.deliver(&sink, &item, done_cb, g),
	    0);
	ck_assert_int_eq(g->n, 0);	/* never from inside deliver */
	return (g);
}

static struct got *
deliver(const char *key, const char *body, size_t len)
{
	struct got	*g = start(key, body, len);

	run(ndone + 1, 8);
	ck_assert_msg(g->n == 1, "no callback");
	return (g);
}

/* "sha256=" and the hex HMAC, computed here with OpenSSL. */
static void
hmac_hex(const char *key, const char *data, size_t len, char *out)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0, i;

	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key, (int)strlen(key),
	    (const unsigned char *)data, len, md, &mdlen));
	ck_assert_uint_eq(mdlen, 32);
	strcpy(out, "sha256=");
	for (i = 0; i < mdlen; i++)
		sprintf(out + 7 + 2 * i, "%02x", md[i]);
}

START_TEST(test_deliver)
{
	struct got	*g;
	char		 sig[80], ua[64];

	conf.secret = s_secret;
	open_sink();
	g = deliver("7f3a-1", JSON, strlen(JSON));
	ck_assert_int_eq(g->ok, 1);
	ck_assert_str_eq(g->error, "");
	ck_assert_int_eq(srv->hits, 1);
	ck_assert_int_eq(srv->method, EVHTTP_REQ_POST);
	ck_assert_str_eq(srv->uri, "/hook");
	ck_assert_uint_eq(srv->bodylen, strlen(JSON));
	ck_assert_mem_eq(srv->body, JSON, strlen(JSON));
	ck_assert_str_eq(srv_header("Content-Type"), "application/json");
	snprintf(ua, sizeof(ua), "pingbackd/%s", PACKAGE_VERSION);
	ck_assert_str_eq(srv_header("User-Agent"), ua);
	ck_assert_str_eq(srv_header("X-Pingbackd-Id"), "7f3a-1");
	hmac_hex(SECRET, JSON, strlen(JSON), sig);
	ck_assert_str_eq(srv_header("X-Pingbackd-Signature"), sig);
	ck_assert_ptr_null(srv_header("Expect"));
	/* A URL with a query string is posted to as it is. */
	snprintf(url, sizeof(url), "%s/hook?token=abc", srv->base);
	sink_webhook_ops.close(&sink);
	ck_assert_ptr_null(sink.priv);
	ck_assert_int_eq(sink_webhook_ops.open(&sink, NULL), 0);
	g = deliver("7f3a-2", "{}", 2);
	ck_assert_int_eq(g->ok, 1);
	ck_assert_str_eq(srv->uri, "/hook?token=abc");
	ck_assert_str_eq(srv_header("X-Pingbackd-Id"), "7f3a-2");
	hmac_hex(SECRET, "{}", 2, sig);
	ck_assert_str_eq(srv_header("X-Pingbackd-Signature"), sig);
}
END_TEST

START_TEST(test_signature_vectors)
{
	/* RFC 4231 test cases 1, 2, 3, 6 and 7 (HMAC-SHA-256). */
	static const struct {
		unsigned char	 kbyte;		/* key: klen of these */
		size_t		 klen;
		const char	*key;		/* or this */
		unsigned char	 dbyte;		/* data: dlen of these */
		size_t		 dlen;
		const char	*data;		/* or this */
		const char	*mac;
	} tv[] = {
		{ 0x0b, 20, NULL, 0, 0, "Hi There",
		  "b0344c61d8db38535ca8afceaf0bf12b"
		  "881dc200c9833da726e9376c2e32cff7" },
		{ 0, 0, "Jefe", 0, 0, "what do ya want for nothing?",
		  "5bdcc146bf60754e6a042426089575c7"
		  "5a003f089d2739839dec58b964ec3843" },
		{ 0xaa, 20, NULL, 0xdd, 50, NULL,
		  "773ea91e36800e46854db8ebd09181a7"
		  "2959098b3ef8c122d9635514ced565fe" },
		{ 0xaa, 131, NULL, 0, 0,
		  "Test Using Larger Than Block-Size Key - Hash Key First",
		  "60e431591ee0b67f0d8a26aacbf5b77f"
		  "8e0bc6213728c5140546040f0ee37f54" },
		{ 0xaa, 131, NULL, 0, 0,
		  "This is a test using a larger than block-size key and a "
		  "larger than block-size data. The key needs to be hashed "
		  "before being used by the HMAC algorithm.",
		  "9b09ffa71b942fcb27635fbcd5b0e944"
		  "bfdc63644f0713938a7f51535c3a35e2" },
	};
	char		 key[200], data[200], want_sig[80];
	struct got	*g;
	size_t		 i, dlen;

	ctx = fetch_ctx_new(base, &L);
	ck_assert_ptr_nonnull(ctx);
	sink.fetch = ctx;
	for (i = 0; i < sizeof(tv) / sizeof(tv[0]); i++) {
		if (tv[i].key != NULL)
			snprintf(key, sizeof(key), "%s", tv[i].key);
		else {
			memset(key, tv[i].kbyte, tv[i].klen);
			key[tv[i].klen] = '\0';
		}
		if (tv[i].data != NULL) {
			dlen = strlen(tv[i].data);
			memcpy(data, tv[i].data, dlen);
		} else {
			dlen = tv[i].dlen;
			memset(data, tv[i].dbyte, dlen);
		}
		conf.secret = key;
		ck_assert_int_eq(sink_webhook_ops.open(&sink, NULL), 0);
		g = deliver("vector", data, dlen);
		ck_assert_int_eq(g->ok, 1);
		ck_assert_uint_eq(srv->bodylen, dlen);
		ck_assert_mem_eq(srv->body, data, dlen);
		snprintf(want_sig, sizeof(want_sig), "sha256=%s", tv[i].mac);
		ck_assert_str_eq(srv_header("X-Pingbackd-Signature"),
		    want_sig);
		sink_webhook_ops.close(&sink);
	}
}
END_TEST

START_TEST(test_unsigned)
{
	struct got	*g;

	open_sink();
	g = deliver("k", JSON, strlen(JSON));
	ck_assert_int_eq(g->ok, 1);
	ck_assert_ptr_null(srv_header("X-Pingbackd-Signature"));
	ck_assert_str_eq(srv_header("X-Pingbackd-Id"), "k");
	/* An empty body is still a POST with the headers. */
	g = deliver("k2", "", 0);
	ck_assert_int_eq(g->ok, 1);
	ck_assert_uint_eq(srv->bodylen, 0);
	ck_assert_int_eq(srv->method, EVHTTP_REQ_POST);
}
END_TEST

START_TEST(test_http_errors)
{
	struct got	*g;

	snprintf(url, sizeof(url), "%s/fail", srv->base);
	open_sink();
	g = deliver("k", JSON, strlen(JSON));
	ck_assert_int_eq(g->ok, 0);
	ck_assert_str_eq(g->error, "http 500");
	sink_webhook_ops.close(&sink);
	/* A redirect is an answer, not followed. */
	snprintf(url, sizeof(url), "%s/moved", srv->base);
	ck_assert_int_eq(sink_webhook_ops.open(&sink, NULL), 0);
	g = deliver("k", JSON, strlen(JSON));
	ck_assert_int_eq(g->ok, 0);
	ck_assert_str_eq(g->error, "http 302");
	ck_assert_int_eq(srv->hits, 2);
	sink_webhook_ops.close(&sink);
	snprintf(url, sizeof(url), "%s/nowhere", srv->base);
	ck_assert_int_eq(sink_webhook_ops.open(&sink, NULL), 0);
	g = deliver("k", JSON, strlen(JSON));
	ck_assert_str_eq(g->error, "http 404");
	sink_webhook_ops.close(&sink);
	/* A 2xx with a body over fetch.max_bytes is still delivered. */
	snprintf(url, sizeof(url), "%s/big", srv->base);
	ck_assert_int_eq(sink_webhook_ops.open(&sink, NULL), 0);
	g = deliver("k", JSON, strlen(JSON));
	ck_assert_int_eq(g->ok, 1);
}
END_TEST

START_TEST(test_connect_failed)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	struct got		*g;
	int			 fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook",
	    ntohs(sin.sin_port));
	open_sink();
	g = deliver("k", JSON, strlen(JSON));
	ck_assert_int_eq(g->ok, 0);
	ck_assert_str_ne(g->error, "");
}
END_TEST

START_TEST(test_timeout)
{
	struct got	*g;
	double		 t0, dt;

	L.timeout_s = 8;	/* the sink's own timeout wins */
	conf.timeout = 1;
	snprintf(url, sizeof(url), "%s/slow?3000", srv->base);
	open_sink();
	t0 = tl_now();
	g = deliver("k", JSON, strlen(JSON));
	dt = tl_now() - t0;
	ck_assert_int_eq(g->ok, 0);
	ck_assert_str_eq(g->error, "timeout");
	ck_assert_msg(dt > 0.8 && dt < 2.5, "took %.2f s", dt);
}
END_TEST

START_TEST(test_ssrf_refused)
{
	struct got	*g;

	L.allow_networks = &v6lo;	/* 127.0.0.1 not in it */
	open_sink();
	g = deliver("k", JSON, strlen(JSON));
	ck_assert_int_eq(g->ok, 0);
	ck_assert_str_eq(g->error, "refused: loopback");
	ck_assert_int_eq(srv->hits, 0);
	sink_webhook_ops.close(&sink);
	L.allow_networks = NULL;
	L.nallow_networks = 0;
	fetch_ctx_set_limits(ctx, &L);
	/* A name that resolves to loopback, no allow list at all. */
	snprintf(url, sizeof(url), "http://localhost:1/hook");
	ck_assert_int_eq(sink_webhook_ops.open(&sink, NULL), 0);
	g = deliver("k", JSON, strlen(JSON));
	ck_assert_int_eq(g->ok, 0);
	ck_assert_str_eq(g->error, "refused: loopback");
	ck_assert_int_eq(srv->hits, 0);
}
END_TEST

START_TEST(test_ssrf_allowed)
{
	struct got	*g;

	/* Listed in fetch.allow_networks: delivered. */
	open_sink();
	g = deliver("k", JSON, strlen(JSON));
	ck_assert_int_eq(g->ok, 1);
	ck_assert_int_eq(srv->hits, 1);
}
END_TEST

START_TEST(test_close_inflight)
{
	int	 i;

	snprintf(url, sizeof(url), "%s/slow?800", srv->base);
	open_sink();
	start("a", JSON, strlen(JSON));
	start("b", JSON, strlen(JSON));
	for (i = 0; i < 50 && srv->hits < 2; i++)
		run(1, 0.05);	/* until the server has both */
	ck_assert_int_eq(srv->hits, 2);
	start("c", JSON, strlen(JSON));		/* not even connected */
	sink_webhook_ops.close(&sink);
	ck_assert_ptr_null(sink.priv);
	sink_webhook_ops.close(&sink);		/* idempotent */
	ck_assert_uint_eq(fetch_ctx_active(ctx), 0);
	ck_assert_uint_eq(fetch_ctx_queued(ctx), 0);
	run(1, 1.5);
	ck_assert_int_eq(G[0].n + G[1].n + G[2].n, 0);
	/* The fetch context is fine afterwards. */
	snprintf(url, sizeof(url), "%s/hook", srv->base);
	ck_assert_int_eq(sink_webhook_ops.open(&sink, NULL), 0);
	ck_assert_int_eq(deliver("d", "{}", 2)->ok, 1);
}
END_TEST

START_TEST(test_close_in_done)
{
	struct got	*a, *b;

	open_sink();
	a = start("a", JSON, strlen(JSON));
	a->close_sink = 1;
	b = start("b", JSON, strlen(JSON));
	run(1, 5);
	ck_assert_int_eq(a->n, 1);
	run(2, 0.5);
	ck_assert_int_eq(b->n, 0);	/* even if answered in the same drain */
	ck_assert_ptr_null(sink.priv);
	ck_assert_uint_eq(fetch_ctx_active(ctx), 0);
}
END_TEST

START_TEST(test_concurrency)
{
	struct sink_item	 item;
	struct got		 extra;
	int			 i;

	conf.concurrency = 2;
	snprintf(url, sizeof(url), "%s/slow?200", srv->base);
	open_sink();
	start("a", "{}", 2);
	start("b", "{}", 2);
	memset(&item, 0, sizeof(item));
	item.key = "c";
	item.json = "{}";
	item.len = 2;
	memset(&extra, 0, sizeof(extra));
	ck_assert_int_eq(sink_webhook_ops.deliver(&sink, &item, done_cb,
	    &extra), -1);
	run(2, 5);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(G[i].ok, 1);
	ck_assert_int_eq(extra.n, 0);
	ck_assert_int_eq(deliver("c", "{}", 2)->ok, 1);
}
END_TEST

START_TEST(test_open_errors)
{
	char	*cause = NULL;

	ctx = fetch_ctx_new(base, &L);
	sink.fetch = ctx;
	conf.url = NULL;
	ck_assert_int_eq(sink_webhook_ops.open(&sink, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	free(cause);
	conf.url = s_ftp;
	ck_assert_int_eq(sink_webhook_ops.open(&sink, &cause), -1);
	free(cause);
	conf.url = url;
	conf.secret = s_empty;
	ck_assert_int_eq(sink_webhook_ops.open(&sink, &cause), -1);
	free(cause);
	conf.secret = NULL;
	sink.fetch = NULL;
	ck_assert_int_eq(sink_webhook_ops.open(&sink, &cause), -1);
	free(cause);
	ck_assert_ptr_null(sink.priv);
	sink.fetch = ctx;
	ck_assert_int_eq(sink_webhook_ops.open(&sink, &cause), 0);
	ck_assert_int_eq(sink_webhook_ops.open(&sink, &cause), -1);
	free(cause);
	ck_assert_ptr_nonnull(sink.priv);
}
END_TEST

START_TEST(test_secret_not_logged)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*fp;

	fp = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(fp);
	log_setstream(fp);
	log_setlevel(LOG_DEBUG);
	conf.secret = s_secret;
	open_sink();
	ck_assert_int_eq(deliver("k1", JSON, strlen(JSON))->ok, 1);
	sink_webhook_ops.close(&sink);
	snprintf(url, sizeof(url), "%s/fail", srv->base);
	ck_assert_int_eq(sink_webhook_ops.open(&sink, NULL), 0);
	ck_assert_int_eq(deliver("k2", JSON, strlen(JSON))->ok, 0);
	sink_webhook_ops.close(&sink);
	/* Credentials in the webhook URL are not logged either. */
	snprintf(url, sizeof(url), "http://user:pa55word@%s/hook",
	    srv->base + 7);
	ck_assert_int_eq(sink_webhook_ops.open(&sink, NULL), 0);
	ck_assert_int_eq(deliver("k3", JSON, strlen(JSON))->ok, 1);
	ck_assert_str_eq(srv_header("Authorization"),
	    "Basic dXNlcjpwYTU1d29yZA==");
	fflush(fp);
	log_setstream(NULL);
	log_setlevel(LOG_INFO);
	fclose(fp);
	ck_assert_ptr_nonnull(strstr(buf, "sink.webhook.done"));
	ck_assert_ptr_nonnull(strstr(buf, "http 500"));
	ck_assert_ptr_null(strstr(buf, SECRET));
	ck_assert_ptr_null(strstr(buf, "pa55word"));
	free(buf);
}
END_TEST

static Suite *
webhook_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("sink_webhook");
	tc = tcase_create("deliver");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, test_deliver);
	tcase_add_test(tc, test_signature_vectors);
	tcase_add_test(tc, test_unsigned);
	tcase_add_test(tc, test_http_errors);
	tcase_add_test(tc, test_connect_failed);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_ssrf_refused);
	tcase_add_test(tc, test_ssrf_allowed);
	suite_add_tcase(s, tc);

	tc = tcase_create("lifecycle");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, test_close_inflight);
	tcase_add_test(tc, test_close_in_done);
	tcase_add_test(tc, test_concurrency);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_secret_not_logged);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return (99);
	sr = srunner_create(webhook_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return (failed == 0 ? 0 : 1);
}
