/*
 * One XML-RPC request from arrival to answer.  A pingback.ping walks
 * received -> admitted -> (target check) -> fetching -> verified ->
 * stored -> answered; any step may end it with a fault.  The HTTP
 * request stays unanswered (and the loop free) while a fetch runs.
 */
#include "config.h"

#include <sys/random.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>

#include "pbd.h"
#include "daemon.h"
#include "log.h"
#include "xmalloc.h"

#define MSG_SOURCE	"The source URI does not exist or could not be fetched."
#define MSG_NO_LINK	"The source URI does not contain a link to the target " \
			"URI, and so cannot be used as a source."
#define MSG_NO_TARGET	"The specified target URI does not exist."
#define MSG_BAD_TARGET	"The specified target URI cannot be used as a target."
#define MSG_SAME	"The source URI and the target URI cannot be the same."
#define MSG_DUPLICATE	"The pingback has already been registered."
#define MSG_DENIED	"Access denied: too many requests from this address; " \
			"try again later."
#define MSG_BLOCKED	"Access denied: this source or target is blocked."
#define MSG_BUSY_HOST	"Access denied: too many pingbacks from this source " \
			"site; try again later."
#define MSG_STORE	"The comment store failed; try again later."

struct pingback {
	TAILQ_ENTRY(pingback)	 entry;
	struct pbd		*pbd;
	struct evhttp_request	*req;
	char			 id[17];
	char			 client[64];
	struct timespec		 start;
	time_t			 received_at;

	struct xr_call		 call;
	int			 decoded;	/* call is valid */
	int			 quiet;		/* outcome logged elsewhere */
	char			*source_norm;
	char			*target_norm;
	char			*default_status;
	struct fetch		*fetch;
	struct store_job	*job;		/* queued for the store */
	struct verify_result	 vr;
};

double
pingback_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + ts.tv_nsec / 1e9);
}

/* The fetch-cache key of a no-link outcome: source and target. */
static char *
pingback_pair_key(const struct pingback *pb)
{
	char	*key;

	xasprintf(&key, "%s\n%s", pb->source_norm, pb->target_norm);
	return (key);
}

/*
 * Write the next request id into id (16 hex digits and a NUL).  The id
 * is a log correlation id, not a secret: a seed drawn once per run, and
 * then a counter through splitmix64's finaliser.  Each step of that is
 * a bijection of 64-bit integers, so ids do not repeat within a run,
 * and they are unrelated from one run to the next.
 */
static void
pingback_next_id(char *id)
{
	static const char	 hex[] = "0123456789abcdef";
	static uint64_t		 seed, counter;
	static int		 seeded;
	uint64_t		 z;
	int			 i;

	if (!seeded) {
		if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
			fatal("getrandom");
		seeded = 1;
	}
	z = seed + 0x9e3779b97f4a7c15ULL * ++counter;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	for (i = 15; i >= 0; i--, z >>= 4)
		id[i] = hex[z & 0xf];
	id[16] = '\0';
}

static struct pingback *
pingback_new(struct pbd *pbd, struct evhttp_request *req, const char *client)
{
	struct pingback	*pb;

	pb = xcalloc(1, sizeof(*pb));
	pb->pbd = pbd;
	pb->req = req;
	pingback_next_id(pb->id);
	snprintf(pb->client, sizeof(pb->client), "%s", client);
	clock_gettime(CLOCK_MONOTONIC, &pb->start);
	pb->received_at = time(NULL);
	TAILQ_INSERT_TAIL(&pbd->pingbacks, pb, entry);
	pbd->ninflight++;
	return (pb);
}

/* The single destructor: cancels whatever is pending, from any state. */
static void
pingback_free(struct pingback *pb)
{
	struct pbd	*pbd = pb->pbd;

	if (pb->fetch != NULL)
		fetch_cancel(pb->fetch);
	store_cancel(pb->job);
	TAILQ_REMOVE(&pbd->pingbacks, pb, entry);
	pbd->ninflight--;
	xr_call_free(&pb->call);
	verify_result_free(&pb->vr);
	free(pb->source_norm);
	free(pb->target_norm);
	free(pb->default_status);
	free(pb);
	if (pbd->stopping && pbd->idle_cb != NULL)
		pbd->idle_cb(pbd);
}

void
pingback_free_all(struct pbd *pbd)
{
	struct pingback	*pb;

	while ((pb = TAILQ_FIRST(&pbd->pingbacks)) != NULL) {
		if (pb->req != NULL)
			http_send_text(pbd, pb->req, 503, "Service Unavailable",
			    "pingbackd is shutting down");
		pb->req = NULL;
		pingback_free(pb);
	}
}

static const char *
pingback_method(const struct pingback *pb)
{
	if (!pb->decoded)
		return (NULL);
	switch (pb->call.method) {
	case XR_PING:
		return ("pingback.ping");
	case XR_GET_PINGBACKS:
		return ("pingback.extensions.getPingbacks");
	case XR_LIST_METHODS:
		return ("system.listMethods");
	}
	return ("unknown");
}

static void
pingback_ms(const struct pingback *pb, char *buf, size_t len)
{
	struct timespec	 now;
	long long	 ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(now.tv_sec - pb->start.tv_sec) * 1000 +
	    (now.tv_nsec - pb->start.tv_nsec) / 1000000;
	snprintf(buf, len, "%lld", ms);
}

/* Answer with a serialised document (taken) and log the outcome. */
static void
pingback_answer(struct pingback *pb, char *doc, size_t len)
{
	if (pb->req != NULL)
		http_send_xml_take(pb->pbd, pb->req, doc, len);
	else
		free(doc);
	pb->req = NULL;
	pingback_free(pb);
}

/* End with a fault: one log line, then the answer. */
static void
pingback_fault(struct pingback *pb, int code, const char *msg,
    const char *reason)
{
	char	*doc, ms[24], fault[12], src[PBD_MAX_URL_BYTES + 8];
	char	 tgt[PBD_MAX_URL_BYTES + 8];
	size_t	 len;

	pingback_ms(pb, ms, sizeof(ms));
	snprintf(fault, sizeof(fault), "%d", code);
	pb->pbd->rejected++;
	if (!pb->quiet)
		log_event(LOG_INFO, pb->decoded && pb->call.method == XR_PING ?
		    "pingback.rejected" : "xmlrpc.fault", "id", pb->id,
		    "method", pingback_method(pb),
		    "source", url_redact(pb->call.source, src, sizeof(src)),
		    "target", url_redact(pb->call.target, tgt, sizeof(tgt)),
		    "url", pb->call.url, "client", pb->client, "fault", fault,
		    "reason", reason, "ms", ms, NULL);
	doc = xr_encode_fault(code, msg, &len);
	pingback_answer(pb, doc, len);
}

static void
pingback_succeed(struct pingback *pb, int64_t row)
{
	char	*doc, *msg, ms[24], rowid[24];
	size_t	 len;

	pingback_ms(pb, ms, sizeof(ms));
	snprintf(rowid, sizeof(rowid), "%lld", (long long)row);
	pb->pbd->accepted++;
	log_event(LOG_INFO, "pingback.accepted", "id", pb->id,
	    "method", "pingback.ping", "source", pb->call.source,
	    "target", pb->call.target, "client", pb->client,
	    "title", pb->vr.title, "ms", ms, "row", rowid, NULL);
	xasprintf(&msg, "Pingback from %s to %s registered. "
	    "Keep the web talking! :-)", pb->call.source, pb->call.target);
	doc = xr_encode_string(msg, &len);
	free(msg);
	pingback_answer(pb, doc, len);
}

/* The store's answer, once the batch with our mention has committed. */
static void
pingback_stored_cb(enum store_rc rc, int64_t row, const char *cause,
    void *arg)
{
	struct pingback	*pb = arg;
	char		 reason[160];

	pb->job = NULL;
	switch (rc) {
	case STORE_OK:
		pingback_succeed(pb, row);
		break;
	case STORE_DUPLICATE:
		pingback_fault(pb, PB_FAULT_ALREADY_REGISTERED, MSG_DUPLICATE,
		    "duplicate");
		break;
	case STORE_ERROR:
		snprintf(reason, sizeof(reason), "store: %s",
		    cause != NULL ? cause : "error");
		log_event(LOG_ERR, "store.error", "id", pb->id,
		    "path", pb->pbd->conf->store_path, "error", cause, NULL);
		pingback_fault(pb, PB_FAULT_UPSTREAM, MSG_STORE, reason);
		break;
	}
}

/* Queue the verified mention; pingback_stored_cb answers. */
static void
pingback_store(struct pingback *pb)
{
	struct mention	 m;

	memset(&m, 0, sizeof(m));
	m.kind = "pingback";
	m.source = pb->call.source;
	m.target = pb->call.target;
	m.source_norm = pb->source_norm;
	m.target_norm = pb->target_norm;
	m.title = pb->vr.title != NULL ? pb->vr.title : "";
	m.excerpt = pb->vr.excerpt != NULL ? pb->vr.excerpt : "";
	m.status = pb->default_status;
	m.client_ip = pb->client;
	m.received_at = pb->received_at;
	pb->job = store_submit(pb->pbd->store, &m, pingback_stored_cb, pb);
}

/* Map a failed fetch to a reason for the log; clients see one message. */
static void
pingback_fetch_reason(const struct fetch_result *res, char *buf, size_t len)
{
	switch (res->status) {
	case FETCH_HTTP_ERROR:
		snprintf(buf, len, "http %ld", res->http_code);
		break;
	case FETCH_TIMEOUT:
		snprintf(buf, len, "timeout");
		break;
	case FETCH_TOO_LARGE:
		snprintf(buf, len, "too large");
		break;
	default:
		snprintf(buf, len, "%s", res->error != NULL ? res->error :
		    "fetch failed");
		break;
	}
}

static void
pingback_source_cb(const struct fetch_result *res, void *arg)
{
	struct pingback	*pb = arg;
	const char	*cause = NULL;
	char		 reason[160];

	char		*key;

	pb->fetch = NULL;
	if (res->status != FETCH_OK)
		pingback_fetch_reason(res, reason, sizeof(reason));
	else if (!verify_is_html(res->content_type))
		snprintf(reason, sizeof(reason), "not html");
	else if (verify_page(res->body, res->len, res->content_type,
	    res->final_url, pb->target_norm, &pb->vr, &cause) == -1)
		snprintf(reason, sizeof(reason), "unparseable: %s",
		    cause != NULL ? cause : "?");
	else if (!pb->vr.linked) {
		key = pingback_pair_key(pb);
		fc_put(pb->pbd->fc, key, PB_FAULT_NO_LINK, pingback_now());
		free(key);
		pingback_fault(pb, PB_FAULT_NO_LINK, MSG_NO_LINK, "no link");
		return;
	} else {
		pingback_store(pb);
		return;
	}
	fc_put(pb->pbd->fc, pb->source_norm, PB_FAULT_SOURCE_UNREACHABLE,
	    pingback_now());
	pingback_fault(pb, PB_FAULT_SOURCE_UNREACHABLE, MSG_SOURCE, reason);
}

/*
 * Fetch the source unless a recent fetch already gave the answer, or
 * the source host has had its fetches for this minute.
 */
static void
pingback_fetch_source(struct pingback *pb)
{
	struct pbd	*pbd = pb->pbd;
	char		*key, *host;
	int		 cached, allowed;

	if (fc_get(pbd->fc, pb->source_norm, pingback_now()) ==
	    PB_FAULT_SOURCE_UNREACHABLE) {
		pingback_fault(pb, PB_FAULT_SOURCE_UNREACHABLE, MSG_SOURCE,
		    "cached failure");
		return;
	}
	key = pingback_pair_key(pb);
	cached = fc_get(pbd->fc, key, pingback_now());
	free(key);
	if (cached == PB_FAULT_NO_LINK) {
		pingback_fault(pb, PB_FAULT_NO_LINK, MSG_NO_LINK,
		    "cached no link");
		return;
	}
	host = url_host(pb->source_norm);
	allowed = rl_take(pbd->hostrl, host != NULL ? host : "",
	    pingback_now());
	free(host);
	if (!allowed) {
		pingback_fault(pb, PB_FAULT_ACCESS_DENIED, MSG_BUSY_HOST,
		    "source host budget");
		return;
	}
	pb->fetch = fetch_start(pb->pbd->fetch, pb->call.source, 0,
	    pingback_source_cb, pb);
	if (pb->fetch == NULL)
		pingback_fault(pb, PB_FAULT_SOURCE_UNREACHABLE, MSG_SOURCE,
		    "bad url");
}

static void
pingback_target_cb(const struct fetch_result *res, void *arg)
{
	struct pingback	*pb = arg;
	char		 reason[160];

	pb->fetch = NULL;
	if (res->status != FETCH_OK) {
		pingback_fetch_reason(res, reason, sizeof(reason));
		pingback_fault(pb, PB_FAULT_TARGET_MISSING, MSG_NO_TARGET,
		    reason);
		return;
	}
	pingback_fetch_source(pb);
}

/* Admission of pingback.ping: everything that needs no fetch. */
static void
pingback_ping(struct pingback *pb)
{
	struct pbd	*pbd = pb->pbd;
	const char	*cause = NULL;
	char		*err = NULL, reason[160];
	int		 rc;

	pb->target_norm = url_normalize(pb->call.target, &cause);
	if (pb->target_norm == NULL) {
		snprintf(reason, sizeof(reason), "bad target: %s", cause);
		pingback_fault(pb, PB_FAULT_TARGET_INVALID, MSG_BAD_TARGET,
		    reason);
		return;
	}
	if (!conf_target_allowed(pbd->conf, pb->target_norm)) {
		pingback_fault(pb, PB_FAULT_TARGET_INVALID, MSG_BAD_TARGET,
		    "target not allowed");
		return;
	}
	pb->source_norm = url_normalize(pb->call.source, &cause);
	if (pb->source_norm == NULL) {
		snprintf(reason, sizeof(reason), "bad source: %s", cause);
		pingback_fault(pb, PB_FAULT_SOURCE_UNREACHABLE, MSG_SOURCE,
		    reason);
		return;
	}
	if (strcmp(pb->source_norm, pb->target_norm) == 0) {
		pingback_fault(pb, PB_FAULT_TARGET_INVALID, MSG_SAME,
		    "source is target");
		return;
	}
	if (conf_blocked(pbd->conf->block_sources, pbd->conf->nblock_sources,
	    pb->source_norm) || conf_blocked(pbd->conf->block_targets,
	    pbd->conf->nblock_targets, pb->target_norm)) {
		pingback_fault(pb, PB_FAULT_ACCESS_DENIED, MSG_BLOCKED,
		    "blocked");
		return;
	}
	rc = store_exists(pbd->store, pb->source_norm, pb->target_norm, &err);
	if (rc != 0) {
		if (rc == 1)
			pingback_fault(pb, PB_FAULT_ALREADY_REGISTERED,
			    MSG_DUPLICATE, "duplicate");
		else {
			log_event(LOG_ERR, "store.error", "id", pb->id,
			    "error", err, NULL);
			pingback_fault(pb, PB_FAULT_UPSTREAM, MSG_STORE,
			    "store error");
		}
		free(err);
		return;
	}
	pb->default_status = xstrdup(pbd->conf->default_status);
	if (!pbd->conf->require_existing) {
		pingback_fetch_source(pb);
		return;
	}
	pb->fetch = fetch_start(pbd->fetch, pb->target_norm, FETCH_TRUSTED,
	    pingback_target_cb, pb);
	if (pb->fetch == NULL)
		pingback_fault(pb, PB_FAULT_TARGET_MISSING, MSG_NO_TARGET,
		    "bad url");
}

static void
pingback_list_methods(struct pingback *pb)
{
	static char	 m_ping[] = "pingback.ping";
	static char	 m_get[] = "pingback.extensions.getPingbacks";
	static char	 m_list[] = "system.listMethods";
	static char	*const methods[] = { m_ping, m_get, m_list };
	char	*doc, ms[24];
	size_t	 len;

	pingback_ms(pb, ms, sizeof(ms));
	log_event(LOG_INFO, "xmlrpc.ok", "id", pb->id, "method",
	    pingback_method(pb), "client", pb->client, "ms", ms, NULL);
	doc = xr_encode_strings(methods, sizeof(methods) / sizeof(methods[0]),
	    &len);
	pingback_answer(pb, doc, len);
}

static void
pingback_get_pingbacks(struct pingback *pb)
{
	const char	*cause = NULL;
	char		*norm, *err = NULL, **list = NULL, *doc, ms[24], n[24];
	size_t		 nlist = 0, len;

	norm = url_normalize(pb->call.url, &cause);
	if (norm == NULL || !conf_target_allowed(pb->pbd->conf, norm)) {
		free(norm);
		pingback_fault(pb, PB_FAULT_TARGET_INVALID, MSG_BAD_TARGET,
		    "target not allowed");
		return;
	}
	if (store_sources(pb->pbd->store, norm, &list, &nlist, &err) == -1) {
		log_event(LOG_ERR, "store.error", "id", pb->id, "error", err,
		    NULL);
		free(err);
		free(norm);
		pingback_fault(pb, PB_FAULT_UPSTREAM, MSG_STORE, "store error");
		return;
	}
	free(norm);
	pingback_ms(pb, ms, sizeof(ms));
	snprintf(n, sizeof(n), "%zu", nlist);
	log_event(LOG_INFO, "xmlrpc.ok", "id", pb->id, "method",
	    pingback_method(pb), "url", pb->call.url, "client", pb->client,
	    "count", n, "ms", ms, NULL);
	doc = xr_encode_strings(list, nlist, &len);
	store_free_list(list, nlist);
	pingback_answer(pb, doc, len);
}

void
pingback_handle(struct pbd *pbd, struct evhttp_request *req,
    const char *body, size_t len, const char *client, int limited)
{
	struct pingback	*pb;
	char		*msg = NULL;
	int		 code;

	pb = pingback_new(pbd, req, client);
	if (limited) {
		/* A flood is logged once per client a minute, not per request. */
		http_log_limit(pbd->http, "client_rate", client);
		pb->quiet = 1;
		pingback_fault(pb, PB_FAULT_ACCESS_DENIED, MSG_DENIED,
		    "rate limited");
		return;
	}
	if (xr_decode(body, len, &pb->call, &code, &msg) == -1) {
		pingback_fault(pb, code, msg, msg);
		free(msg);
		return;
	}
	pb->decoded = 1;
	switch (pb->call.method) {
	case XR_PING:
		pingback_ping(pb);
		break;
	case XR_GET_PINGBACKS:
		pingback_get_pingbacks(pb);
		break;
	case XR_LIST_METHODS:
		pingback_list_methods(pb);
		break;
	}
}
