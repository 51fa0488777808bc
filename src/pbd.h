/*
 * pingbackd: shared types, limits and the prototypes of every module.
 * Types owned by one module are opaque here and defined in its file.
 */
#ifndef PBD_H
#define PBD_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/queue.h>

#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Hard limits; units are in the names. */
#define PBD_MAX_URL_BYTES	2048	/* a source or target URL */
#define PBD_EXCERPT_CHARS	300	/* excerpt length, in characters */
#define PBD_MAX_TITLE_CHARS	300	/* stored title, in characters */
#define PBD_XMLRPC_NESTING	16	/* xmlrpc-c nesting limit */
#define PBD_MAX_HEADERS_BYTES	8192	/* request header block */
#define PBD_MIN_BODY_BYTES	512
#define PBD_MAX_BODY_LIMIT_BYTES (16 * 1024 * 1024)
#define PBD_STORE_BUSY_RETRY_MS	50
#define PBD_STORE_BUSY_TRIES	40	/* 2 s of a locked store, then fault 50 */
#define PBD_STORE_BATCH_MAX	64	/* writes in one transaction */
#define PBD_SHUTDOWN_GRACE_S	5	/* added to fetch.timeout on SIGTERM */

/* Pingback 1.0 fault codes (DESIGN.md). */
#define PB_FAULT_GENERIC		0
#define PB_FAULT_SOURCE_UNREACHABLE	16
#define PB_FAULT_NO_LINK		17
#define PB_FAULT_TARGET_MISSING		32
#define PB_FAULT_TARGET_INVALID		33
#define PB_FAULT_ALREADY_REGISTERED	48
#define PB_FAULT_ACCESS_DENIED		49
#define PB_FAULT_UPSTREAM		50

struct sink_conf;

/* A network in CIDR notation (fetch.allow_networks). */
struct cidr {
	int		family;		/* AF_INET or AF_INET6 */
	uint8_t		addr[16];	/* network order; 4 bytes for v4 */
	int		prefix;
};

/*
 * The parsed configuration.  A new one is built and validated in full
 * before it replaces the running one (SIGHUP); it is never half-applied.
 */
struct conf {
	char		*path;

	/* [server] */
	char		**listen;	/* host:port, [v6]:port, unix:/path */
	size_t		 nlisten;	/* 0: "listen =", socket activation */
	char		*public_url;
	char		*xmlrpc_path;
	size_t		 max_body;	/* bytes */
	long		 max_connections;	/* open at once */
	long		 max_headers;		/* header lines a request */
	long		 read_timeout;		/* s to deliver a request */
	long		 keepalive_timeout;	/* s idle between requests */

	/* [targets] */
	char		**allow;	/* normalised URL prefixes */
	size_t		 nallow;
	int		 require_existing;

	/* [fetch] */
	long		 fetch_timeout;		/* seconds */
	size_t		 fetch_max_bytes;
	long		 fetch_max_redirects;
	struct cidr	*allow_networks;
	size_t		 nallow_networks;
	long		 fetch_max_concurrent;
	long		 fetch_max_per_host;
	char		*user_agent;

	/* [store] */
	char		*store_path;
	char		*default_status;	/* "pending" or "approved" */

	/* [limits] */
	double		 client_rate;		/* requests per second */
	long		 client_burst;		/* bucket size; 0 disables */
	long		 source_host_per_minute; /* per source host; 0: off */
	long		 fetch_cache_ttl;	/* seconds; 0 disables */
	size_t		 fetch_cache_size;	/* entries */
	/*
	 * Block lists, for conf_blocked: an entry with "://" is a
	 * normalised URL prefix, any other a lower-cased domain (matching
	 * it and its subdomains) or an IP literal (v6 in brackets).
	 */
	char		**block_sources;
	size_t		 nblock_sources;
	char		**block_targets;
	size_t		 nblock_targets;

	/* [log] */
	int		 log_level;		/* LOG_DEBUG ... LOG_ERR */
	int		 log_format;		/* enum log_format */

	/* [sink.NAME] sections, in file order (sink.h) */
	struct sink_conf *sinks;
	size_t		 nsinks;
};

/* config.c */
/*
 * Parse and validate path.  On failure return NULL and set *errors to
 * newline-separated "file:line: message" lines (caller frees).
 */
struct conf	*conf_load(const char *path, char **errors);
/* Defaults only, no file (tests). */
struct conf	*conf_default(void);
void		 conf_free(struct conf *);
/* Return 1 if url (normalised) starts with one of targets.allow. */
int		 conf_target_allowed(const struct conf *, const char *url_norm);
/*
 * Return 1 if url_norm (normalised) is matched by a block list: it
 * starts with a prefix entry, or its host (port ignored) is a domain
 * entry or a subdomain of one, or equals an IP entry.
 */
int		 conf_blocked(char *const *list, size_t n,
		    const char *url_norm);

/* config_sink.c: [sink.NAME] sections, and struct sink_conf itself. */
/* Deep copy src into dst (sink.c keeps its own copy). */
void		 conf_sink_copy(struct sink_conf *dst,
		    const struct sink_conf *src);
/* 1 if a and b configure the same sink, key for key. */
int		 conf_sink_equal(const struct sink_conf *,
		    const struct sink_conf *);
/* Free what a sink_conf points to (not the struct itself). */
void		 conf_sink_clear(struct sink_conf *);

/* url.c: URL parsing and normalisation on libcurl's URL API. */
/*
 * Normalise an absolute http or https URL: scheme and host lower-cased,
 * default port dropped, empty path as "/", fragment removed, percent
 * escapes normalised (unreserved characters decoded, hex upper-cased).
 * Return a new string, or NULL with *cause set (static string).
 */
char		*url_normalize(const char *url, const char **cause);
/* Resolve ref against base, then normalise.  NULL if not http(s). */
char		*url_resolve(const char *base, const char *ref,
		    const char **cause);
/*
 * An absolute base URL parsed once (NULL with *cause if it cannot be
 * parsed), to resolve many references against: url_base_resolve(b,
 * ref) returns what url_resolve(base, ref) would.
 */
struct url_base;
struct url_base	*url_base_new(const char *base, const char **cause);
char		*url_base_resolve(const struct url_base *, const char *ref,
		    const char **cause);
void		 url_base_free(struct url_base *);
/* The lower-cased host of an absolute URL, or NULL. */
char		*url_host(const char *url);
/* url with any user:password@ replaced by ***@ (in buf), for logs. */
const char	*url_redact(const char *url, char *buf, size_t len);

/* verify.c: a pure function from a fetched page to a verdict. */
struct verify_result {
	int		 linked;	/* a link to the target was found */
	char		*title;		/* UTF-8, collapsed; host if none */
	char		*excerpt;	/* UTF-8 plain text, <= 300 chars */
};
/*
 * Parse an HTML page fetched from page_url (its final URL, after
 * redirects) with the Content-Type header content_type (may be NULL),
 * and look for an <a> or <area> whose href resolves to target_norm.
 * Return 0 and fill res (linked may be 0), or -1 with *cause set when
 * the page cannot be parsed at all.
 */
int		 verify_page(const char *body, size_t len,
		    const char *content_type, const char *page_url,
		    const char *target_norm, struct verify_result *res,
		    const char **cause);
void		 verify_result_free(struct verify_result *);
/* Return 1 if content_type names an HTML document (or is NULL). */
int		 verify_is_html(const char *content_type);

/* netguard.c: the SSRF guard's address rules. */
int		 ng_parse_cidr(const char *, struct cidr *);
/*
 * Return NULL if sa may be connected to: a public unicast address, or
 * one inside allow[].  Otherwise return why not ("loopback", "private",
 * "link-local", "cgnat", "multicast", "reserved", "unspecified", ...).
 * IPv4-mapped, IPv4-compatible and NAT64 (64:ff9b::/96) IPv6 addresses
 * are judged by the IPv4 address they carry.
 */
const char	*ng_check(const struct sockaddr *sa, const struct cidr *allow,
		    size_t nallow);

/* fetch.c: libcurl multi-socket transfers on the daemon's event loop. */
struct event_base;
struct fetch_ctx;
struct fetch;
struct fetch_limits {
	long		 timeout_s;
	size_t		 max_bytes;
	long		 max_redirects;
	long		 max_concurrent;	/* transfers at once, all hosts */
	long		 max_per_host;		/* beyond it: queued */
	const char	*user_agent;		/* copied */
	const struct cidr *allow_networks;	/* copied */
	size_t		 nallow_networks;
};
enum fetch_status {
	FETCH_OK,		/* 2xx, complete body within max_bytes */
	FETCH_HTTP_ERROR,	/* final answer not 2xx */
	FETCH_REFUSED,		/* SSRF guard or scheme */
	FETCH_TOO_LARGE,
	FETCH_TIMEOUT,
	FETCH_FAILED		/* DNS, connect, TLS, protocol, ... */
};
struct fetch_result {
	enum fetch_status status;
	long		 http_code;
	const char	*final_url;	/* after redirects */
	const char	*content_type;	/* may be NULL */
	const char	*body;		/* NUL-terminated, len bytes */
	size_t		 len;
	const char	*error;		/* for logs only, never for clients */
};
/* All result data is borrowed: valid only during the call. */
typedef void	(*fetch_done_cb)(const struct fetch_result *, void *arg);
#define FETCH_TRUSTED	0x1	/* the blog's own URL: no SSRF guard */

struct fetch_ctx *fetch_ctx_new(struct event_base *,
		    const struct fetch_limits *);
/* New limits for transfers started from now on (SIGHUP). */
void		 fetch_ctx_set_limits(struct fetch_ctx *,
		    const struct fetch_limits *);
/* Cancels every transfer without calling back. */
void		 fetch_ctx_free(struct fetch_ctx *);
size_t		 fetch_ctx_active(const struct fetch_ctx *);
size_t		 fetch_ctx_queued(const struct fetch_ctx *);
/*
 * Start (or queue) a GET of url.  done is called exactly once, later,
 * from the event loop, never from inside fetch_start; the fetch is
 * freed after it returns.  NULL only if url cannot be handed to curl.
 */
struct fetch	*fetch_start(struct fetch_ctx *, const char *url, int flags,
		    fetch_done_cb done, void *arg);
/*
 * Start (or queue) a POST of body (len bytes, copied) with the extra
 * request headers ("Name: value", copied; they replace curl's own of
 * that name), on the same queue and under the same guard and scheme
 * rules as fetch_start.  Redirects are not followed: a 3xx is
 * FETCH_HTTP_ERROR.  timeout_s > 0 replaces the limits' timeout.  The
 * answer's body is capped by max_bytes as for a GET.  A header with CR
 * or LF or without a colon gives FETCH_REFUSED ("refused: bad header").
 */
struct fetch	*fetch_post(struct fetch_ctx *, const char *url,
		    const char *body, size_t len, char *const *headers,
		    size_t nheaders, long timeout_s, int flags,
		    fetch_done_cb done, void *arg);
/* Abandon a transfer: done will not be called. */
void		 fetch_cancel(struct fetch *);

/*
 * store.c: the SQLite comment store and outbox (tables mentions and
 * deliveries).  Writes are queued and committed in batches, one
 * transaction for all that was queued in a turn of the event loop (at
 * most PBD_STORE_BATCH_MAX); each write is answered through its
 * callback only after its transaction has committed, or failed.
 */
struct store;
struct store_job;
struct mention {
	const char	*kind;		/* "pingback" */
	const char	*source;	/* as sent */
	const char	*target;	/* as sent */
	const char	*source_norm;
	const char	*target_norm;
	const char	*title;
	const char	*excerpt;
	const char	*status;	/* "pending" or "approved" */
	const char	*client_ip;
	time_t		 received_at;
};
enum store_rc {
	STORE_OK = 0,
	STORE_DUPLICATE,	/* mention: the normalised pair exists; */
				/* mark: no pending delivery to update */
	STORE_ERROR		/* cause says why: locked, disk full, ... */
};
/*
 * The outcome of a queued write, called once, from the event loop:
 * id is the new mention's row id (STORE_OK), cause (STORE_ERROR) is
 * borrowed.  The job is freed after the call returns.
 */
typedef void	(*store_done_cb)(enum store_rc, int64_t id, const char *cause,
		    void *arg);
/* After a commit that stored nmentions (> 0) new mentions. */
typedef void	(*store_commit_cb)(size_t nmentions, void *arg);

/* base runs the write queue's events; it must outlive the store. */
struct store	*store_open(const char *path, struct event_base *base,
		    char **cause);
/*
 * Commit what is still queued (waiting a little for a lock), call
 * back, then close.  Cancel first the jobs that should not be written.
 */
void		 store_close(struct store *);
/* Sinks that get a delivery row for each mention stored from now on. */
void		 store_set_sinks(struct store *, char *const *names, size_t n);
void		 store_set_commit_cb(struct store *, store_commit_cb, void *);
/* 1 if the normalised pair is registered, 0 if not, -1 on error. */
int		 store_exists(struct store *, const char *source_norm,
		    const char *target_norm, char **cause);
/* Queue the mention (copied) for the next batch; never NULL. */
struct store_job *store_submit(struct store *, const struct mention *,
		    store_done_cb, void *arg);
/* Drop a job not yet written: no write, no callback. */
void		 store_cancel(struct store_job *);
/* Keep the write but drop the callback (the caller goes away). */
void		 store_forget(struct store_job *);
/* Sources registered for target_norm (not deleted or spam), oldest first. */
int		 store_sources(struct store *, const char *target_norm,
		    char ***sources, size_t *n, char **cause);
void		 store_free_list(char **, size_t);
/* Transactions committed so far, jobs waiting for one. */
uint64_t	 store_commits(const struct store *);
size_t		 store_queued(const struct store *);
/* Tests only: run sql on the store's own connection. */
int		 store_test_exec(struct store *, const char *sql, char **cause);

/* store_outbox.c: the deliveries table, read and marked by sink.c. */
enum delivery_state {
	DELIVERY_PENDING,
	DELIVERY_DELIVERED,
	DELIVERY_FAILED
};
/* A due delivery with its mention (strings owned). */
struct delivery {
	int64_t		 mention_id;
	long		 attempts;	/* made so far */
	time_t		 received_at;	/* unix time */
	char		*kind;
	char		*source;
	char		*target;
	char		*source_norm;
	char		*target_norm;
	char		*title;
	char		*excerpt;
	char		*status;
	char		*client_ip;
	char		*received;	/* RFC 3339, as stored */
};
/*
 * The pending deliveries to sink that are due at now, oldest
 * next_attempt first, at most limit.
 */
int		 store_outbox_due(struct store *, const char *sink, time_t now,
		    size_t limit, struct delivery **, size_t *n, char **cause);
void		 store_outbox_free(struct delivery *, size_t n);
/* Deliveries to sink in state. */
int		 store_outbox_count(struct store *, const char *sink,
		    enum delivery_state, uint64_t *n, char **cause);
/*
 * Queue a pending delivery's new state: DELIVERY_DELIVERED (now is
 * its time), DELIVERY_FAILED, or DELIVERY_PENDING again with a new
 * next_attempt; attempts and error (may be NULL) are recorded.  cb
 * (may be NULL) gets STORE_DUPLICATE if the row was not pending.
 */
struct store_job *store_outbox_mark(struct store *, int64_t mention_id,
		    const char *sink, enum delivery_state, long attempts,
		    time_t when, const char *error, store_done_cb, void *arg);

/* xmlrpc.c: the only file that includes xmlrpc-c. */
enum xr_method {
	XR_PING,		/* pingback.ping(source, target) */
	XR_GET_PINGBACKS,	/* pingback.extensions.getPingbacks(url) */
	XR_LIST_METHODS		/* system.listMethods() */
};
struct xr_call {
	enum xr_method	 method;
	char		*source;	/* XR_PING */
	char		*target;	/* XR_PING */
	char		*url;		/* XR_GET_PINGBACKS */
};
/* Called once, at startup: sets xmlrpc-c's nesting and size limits. */
void		 xr_init(size_t max_body);
/*
 * Decode a request body.  A body with <!DOCTYPE or <!ENTITY is refused
 * before it reaches the parser.  On error return -1 and set
 * *fault_code and *fault_string (caller frees).
 */
int		 xr_decode(const char *body, size_t len, struct xr_call *,
		    int *fault_code, char **fault_string);
void		 xr_call_free(struct xr_call *);
/* Serialised methodResponse documents (caller frees; *len set). */
char		*xr_encode_string(const char *value, size_t *len);
char		*xr_encode_strings(char *const *values, size_t n, size_t *len);
char		*xr_encode_fault(int code, const char *message, size_t *len);

/* fcache.c: recent fetch outcomes, so a source is not fetched over and over. */
struct fcache;
struct fcache	*fc_new(long ttl_s, size_t max_entries);
/* New parameters (SIGHUP); shrinking evicts the oldest, ttl 0 empties. */
void		 fc_set(struct fcache *, long ttl_s, size_t max_entries);
void		 fc_free(struct fcache *);
/* Remember outcome (a Pingback fault code, e.g. 16 or 17) for key at now. */
void		 fc_put(struct fcache *, const char *key, int outcome,
		    double now);
/* The remembered outcome for key if younger than ttl, else -1. */
int		 fc_get(struct fcache *, const char *key, double now);
size_t		 fc_size(const struct fcache *);

/* ratelimit.c: token buckets per client address. */
struct ratelimit;
struct ratelimit *rl_new(double rate_per_s, long burst);
void		 rl_set(struct ratelimit *, double rate_per_s, long burst);
void		 rl_free(struct ratelimit *);
/* Take a token for key at time now (seconds); 1 if allowed, 0 if not. */
int		 rl_take(struct ratelimit *, const char *key, double now);
size_t		 rl_size(const struct ratelimit *);

#endif
