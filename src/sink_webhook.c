/*
 * The webhook sink: each delivery is one POST of the mention's JSON
 * document to [sink.NAME] url, through fetch_post on the daemon's
 * libcurl multi, so it never blocks the event loop.  Only a 2xx answer
 * counts as delivered.  The SSRF guard applies as to source pages: the
 * webhook's address must be public or inside fetch.allow_networks.
 *
 * Request headers:
 *	Content-Type: application/json
 *	User-Agent: pingbackd/VERSION
 *	X-Pingbackd-Id: <idempotency key>
 *	X-Pingbackd-Signature: sha256=<hex HMAC-SHA256(secret, body)>
 * the last one only with a secret; hex is lower-case, the body is the
 * exact bytes sent.  The secret is never logged.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "log.h"
#include "pbd.h"
#include "sink.h"
#include "xmalloc.h"

#define WEBHOOK_NHEADERS	4
#define WEBHOOK_SIG_PREFIX	"sha256="
#define WEBHOOK_SHA256_BYTES	32

struct webhook;

/* One POST in flight. */
struct webhook_req {
	struct webhook			*wh;
	struct fetch			*f;
	sink_done_cb			 done;
	void				*arg;
	char				*key;
	TAILQ_ENTRY(webhook_req)	 entry;
};

/* A sink's priv: its configuration, copied at open, and its POSTs. */
struct webhook {
	struct sink			*sink;
	char				*name;
	char				*url;
	char				*secret;	/* NULL: unsigned */
	size_t				 secretlen;
	long				 timeout;	/* s; 0: fetch's */
	long				 concurrency;	/* 0: no cap */
	TAILQ_HEAD(, webhook_req)	 reqs;
	size_t				 nreqs;
};

/*
 * Write "sha256=" and the lower-case hex HMAC-SHA256 of data under key
 * to out (at least sizeof(WEBHOOK_SIG_PREFIX) + 64 bytes).  Return 0,
 * or -1 if OpenSSL fails.
 */
static int
sink_webhook_sign(const char *key, size_t keylen, const char *data,
    size_t len, char *out, size_t outlen)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0, i;
	size_t			 plen = sizeof(WEBHOOK_SIG_PREFIX) - 1;

	if (outlen < plen + 2 * WEBHOOK_SHA256_BYTES + 1)
		return (-1);
	if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)data,
	    len, md, &mdlen) == NULL || mdlen != WEBHOOK_SHA256_BYTES)
		return (-1);
	memcpy(out, WEBHOOK_SIG_PREFIX, plen);
	for (i = 0; i < mdlen; i++) {
		out[plen + 2 * i] = hex[md[i] >> 4];
		out[plen + 2 * i + 1] = hex[md[i] & 0xf];
	}
	out[plen + 2 * mdlen] = '\0';
	OPENSSL_cleanse(md, sizeof(md));
	return (0);
}

static void
sink_webhook_req_free(struct webhook_req *r)
{
	TAILQ_REMOVE(&r->wh->reqs, r, entry);
	r->wh->nreqs--;
	free(r->key);
	free(r);
}

/*
 * fetch_post is done: turn the result into ok/error.  The request is
 * off the list and freed before done runs, so done may deliver again
 * or close the sink.
 */
static void
sink_webhook_done_cb(const struct fetch_result *res, void *arg)
{
	struct webhook_req	*r = arg;
	struct webhook		*wh = r->wh;
	struct sink		*sink = wh->sink;
	sink_done_cb		 done = r->done;
	void			*done_arg = r->arg;
	const char		*error = NULL;
	char			 buf[256], code[32];
	int			 ok = 0, is2xx;

	is2xx = res->http_code >= 200 && res->http_code <= 299;
	switch (res->status) {
	case FETCH_OK:
		ok = 1;
		break;
	case FETCH_TOO_LARGE:
		/* The answer's body does not matter, its status does. */
		if (is2xx)
			ok = 1;
		else if (res->http_code > 0) {
			(void)snprintf(buf, sizeof(buf), "http %ld",
			    res->http_code);
			error = buf;
		} else
			error = res->error;
		break;
	case FETCH_TIMEOUT:
		error = "timeout";
		break;
	case FETCH_HTTP_ERROR:
	case FETCH_REFUSED:
	case FETCH_FAILED:
		error = res->error;
		break;
	}
	if (!ok && error == NULL)
		error = "failed";
	(void)snprintf(code, sizeof(code), "%ld", res->http_code);
	log_event(LOG_DEBUG, "sink.webhook.done", "sink", wh->name,
	    "key", r->key, "code", code, "error", ok ? NULL : error, NULL);
	sink_webhook_req_free(r);
	done(sink, ok, ok ? NULL : error, done_arg);
}

/* Copy what we need from sink->conf: a reload may replace it. */
static int
sink_webhook_open(struct sink *sink, char **cause)
{
	const struct sink_conf	*conf = sink->conf;
	struct webhook		*wh;

	if (sink->priv != NULL) {
		xasprintf(cause, "webhook: already open");
		return (-1);
	}
	if (conf == NULL || conf->url == NULL ||
	    (strncasecmp(conf->url, "http://", 7) != 0 &&
	    strncasecmp(conf->url, "https://", 8) != 0)) {
		xasprintf(cause, "webhook: url must be http:// or https://");
		return (-1);
	}
	if (conf->secret != NULL && conf->secret[0] == '\0') {
		xasprintf(cause, "webhook: secret is empty");
		return (-1);
	}
	if (sink->fetch == NULL) {
		xasprintf(cause, "webhook: no fetch context");
		return (-1);
	}
	wh = xcalloc(1, sizeof(*wh));
	wh->sink = sink;
	wh->name = xstrdup(conf->name != NULL ? conf->name : "webhook");
	wh->url = xstrdup(conf->url);
	if (conf->secret != NULL) {
		wh->secret = xstrdup(conf->secret);
		wh->secretlen = strlen(wh->secret);
	}
	wh->timeout = conf->timeout > 0 ? conf->timeout : 0;
	wh->concurrency = conf->concurrency > 0 ? conf->concurrency : 0;
	TAILQ_INIT(&wh->reqs);
	sink->priv = wh;
	return (0);
}

/* POST item->json; -1 at the concurrency cap or for a dying context. */
static int
sink_webhook_deliver(struct sink *sink, const struct sink_item *item,
    sink_done_cb done, void *arg)
{
	struct webhook		*wh = sink->priv;
	struct webhook_req	*r;
	char			*h[WEBHOOK_NHEADERS];
	char			 sig[sizeof(WEBHOOK_SIG_PREFIX) +
				    2 * WEBHOOK_SHA256_BYTES];
	const char		*json = item->json != NULL ? item->json : "";
	size_t			 nh = 0, i, len = item->json != NULL ?
				    item->len : 0;
	int			 ret = -1;

	if (wh == NULL || done == NULL || item->key == NULL ||
	    strpbrk(item->key, "\r\n") != NULL)
		return (-1);
	if (wh->concurrency > 0 && wh->nreqs >= (size_t)wh->concurrency)
		return (-1);
	if (wh->secret != NULL && sink_webhook_sign(wh->secret,
	    wh->secretlen, json, len, sig, sizeof(sig)) == -1) {
		log_warnx("sink %s: cannot compute the signature", wh->name);
		return (-1);
	}
	h[nh++] = xstrdup("Content-Type: application/json");
	xasprintf(&h[nh++], "User-Agent: pingbackd/%s", PACKAGE_VERSION);
	xasprintf(&h[nh++], "X-Pingbackd-Id: %s", item->key);
	if (wh->secret != NULL)
		xasprintf(&h[nh++], "X-Pingbackd-Signature: %s", sig);

	r = xcalloc(1, sizeof(*r));
	r->wh = wh;
	r->done = done;
	r->arg = arg;
	r->key = xstrdup(item->key);
	r->f = fetch_post(sink->fetch, wh->url, json, len, h, nh, wh->timeout,
	    0, sink_webhook_done_cb, r);
	if (r->f == NULL) {
		free(r->key);
		free(r);
	} else {
		TAILQ_INSERT_TAIL(&wh->reqs, r, entry);
		wh->nreqs++;
		log_event(LOG_DEBUG, "sink.webhook.post", "sink", wh->name,
		    "key", item->key, NULL);
		ret = 0;
	}
	for (i = 0; i < nh; i++) {
		OPENSSL_cleanse(h[i], strlen(h[i]));
		free(h[i]);
	}
	OPENSSL_cleanse(sig, sizeof(sig));
	return (ret);
}

/* Cancel every POST in flight without calling back; free priv. */
static void
sink_webhook_close(struct sink *sink)
{
	struct webhook		*wh = sink->priv;
	struct webhook_req	*r;

	if (wh == NULL)
		return;
	while ((r = TAILQ_FIRST(&wh->reqs)) != NULL) {
		fetch_cancel(r->f);
		sink_webhook_req_free(r);
	}
	if (wh->secret != NULL) {
		OPENSSL_cleanse(wh->secret, wh->secretlen);
		free(wh->secret);
	}
	free(wh->url);
	free(wh->name);
	free(wh);
	sink->priv = NULL;
}

const struct sink_ops sink_webhook_ops = {
	.type = "webhook",
	.open = sink_webhook_open,
	.deliver = sink_webhook_deliver,
	.close = sink_webhook_close,
};
