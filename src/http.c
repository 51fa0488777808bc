/*
 * The HTTP front: evhttp listeners, limits and routing.  POSTs on
 * server.xmlrpc_path go to pingback.c; everything else gets a short
 * text answer here.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <systemd/sd-daemon.h>

#include "pbd.h"
#include "daemon.h"
#include "log.h"
#include "xmalloc.h"

#define HTTP_MAX_SOCKS_PER_SPEC	8
#define HTTP_BODY_SLACK_BYTES	(64 * 1024)

struct http_listener {
	char				*spec;
	struct evhttp_bound_socket	*socks[HTTP_MAX_SOCKS_PER_SPEC];
	size_t				 nsocks;
	char				*unix_path;	/* unlinked on close */
};

/* A listening socket passed by the service manager (LISTEN_FDS). */
struct http_activated {
	struct evhttp_bound_socket	*sock;
	struct sockaddr_storage		 ss;
	socklen_t			 sslen;
	int				 fd;
};

struct http {
	struct pbd		*pbd;
	struct evhttp		*evh;
	struct conns		*conns;
	long			 max_headers;
	struct http_listener	*listeners;
	size_t			 nlisteners;
	struct http_activated	*activated;	/* kept across reloads */
	size_t			 nactivated;
	char			*xmlrpc_path;
	size_t			 max_body;
};

static void	http_request_cb(struct evhttp_request *, void *);
static void	http_pause_cb(void *, int);

struct http *
http_new(struct pbd *pbd)
{
	struct http	*h;

	h = xcalloc(1, sizeof(*h));
	h->pbd = pbd;
	if ((h->evh = evhttp_new(pbd->base)) == NULL)
		fatalx("evhttp_new failed");
	evhttp_set_allowed_methods(h->evh, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_max_headers_size(h->evh, PBD_MAX_HEADERS_BYTES);
	evhttp_set_default_content_type(h->evh, "text/plain; charset=utf-8");
	evhttp_set_gencb(h->evh, http_request_cb, h);
	h->conns = conns_new(pbd->base, http_pause_cb, h);
	evhttp_set_bevcb(h->evh, conns_bev_cb, h->conns);
	http_apply(h, pbd->conf);
	return (h);
}

/* Apply the limits and paths of a (new) configuration. */
void
http_apply(struct http *h, const struct conf *conf)
{
	int	 timeout;

	free(h->xmlrpc_path);
	h->xmlrpc_path = xstrdup(conf->xmlrpc_path);
	h->max_body = conf->max_body;
	h->max_headers = conf->max_headers;
	conns_set_limits(h->conns, conf->max_connections, conf->read_timeout,
	    conf->keepalive_timeout);
	/*
	 * Bodies up to 64 KiB over the limit are read and refused here,
	 * with a log line; larger ones (or a larger Content-Length)
	 * libevent refuses itself, at once, with a 413 of its own.
	 */
	evhttp_set_max_body_size(h->evh, (ev_ssize_t)conf->max_body +
	    HTTP_BODY_SLACK_BYTES);
	/*
	 * The connection timeout must outlast the slowest answer: a target
	 * check and a source fetch, each up to fetch.timeout, plus store
	 * retries.
	 */
	timeout = (int)conf->fetch_timeout * 2 + 15;
	evhttp_set_timeout(h->evh, timeout);
}

/* Format a bound socket's address as host:port or [v6]:port. */
static void
http_sockname(evutil_socket_t fd, char *buf, size_t len)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	char			 host[INET6_ADDRSTRLEN];
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_un	*sun = (struct sockaddr_un *)&ss;
	size_t			 plen;

	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1) {
		snprintf(buf, len, "?");
		return;
	}
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
	} else if (ss.ss_family == AF_UNIX &&
	    sl > offsetof(struct sockaddr_un, sun_path)) {
		/* An abstract socket's name starts with a NUL: show "@". */
		plen = sl - offsetof(struct sockaddr_un, sun_path);
		if (sun->sun_path[0] == '\0')
			snprintf(buf, len, "unix:@%.*s", (int)plen - 1,
			    sun->sun_path + 1);
		else
			snprintf(buf, len, "unix:%.*s",
			    (int)strnlen(sun->sun_path, plen), sun->sun_path);
	} else
		snprintf(buf, len, "unix");
}

/* Create a listening socket for one address; -1 with *cause set. */
static int
http_socket(const struct addrinfo *ai, char **cause)
{
	int	 fd, one = 1;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		goto fail;
	if (ai->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) == -1)
		goto fail;
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1)
		goto fail;
	if (listen(fd, 511) == -1)
		goto fail;
	return (fd);
fail:
	xasprintf(cause, "%s", strerror(errno));
	if (fd != -1)
		close(fd);
	return (-1);
}

/* Bind a unix:/path listener, replacing a stale socket file. */
static int
http_unix_socket(const char *path, char **cause)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		xasprintf(cause, "socket path too long");
		return (-1);
	}
	strncpy(sun.sun_path, path, sizeof(sun.sun_path) - 1);
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(fd, 511) == -1) {
		xasprintf(cause, "%s", strerror(errno));
		if (fd != -1)
			close(fd);
		return (-1);
	}
	return (fd);
}

/* Split "host:port" or "[v6]:port" into its parts (modifies buf). */
static int
http_split(char *buf, char **host, char **port)
{
	char	*p;

	if (buf[0] == '[') {
		if ((p = strchr(buf, ']')) == NULL || p[1] != ':')
			return (-1);
		*p = '\0';
		*host = buf + 1;
		*port = p + 2;
		return (0);
	}
	if ((p = strrchr(buf, ':')) == NULL)
		return (-1);
	*p = '\0';
	*host = buf;
	*port = p + 1;
	return (0);
}

/* Adopt one passed descriptor as a listener, or close it. */
static void
http_adopt_one(struct http *h, int fd, const char *fdname)
{
	struct http_activated	*a = &h->activated[h->nactivated];
	char			 name[sizeof(struct sockaddr_un) + 8], nfd[16];
	int			 r;

	snprintf(nfd, sizeof(nfd), "%d", fd);
	if (fdname != NULL && strcmp(fdname, "unknown") == 0)
		fdname = NULL;
	if ((r = sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1)) <= 0) {
		log_event(LOG_WARNING, "listen.ignored", "fd", nfd,
		    "name", fdname, "reason", r < 0 ? strerror(-r) :
		    "not a listening stream socket", NULL);
		close(fd);
		return;
	}
	if (evutil_make_socket_nonblocking(fd) == -1 ||
	    evutil_make_socket_closeonexec(fd) == -1)
		fatal("activated socket %d", fd);
	a->sslen = sizeof(a->ss);
	if (getsockname(fd, (struct sockaddr *)&a->ss, &a->sslen) == -1)
		fatal("getsockname on activated socket %d", fd);
	if ((a->sock = evhttp_accept_socket_with_handle(h->evh, fd)) == NULL)
		fatalx("evhttp_accept_socket failed on activated socket %d",
		    fd);
	a->fd = fd;
	h->nactivated++;
	http_sockname(fd, name, sizeof(name));
	log_event(LOG_INFO, "listening", "addr", name, "fd", nfd,
	    "activated", "yes", "name", fdname, NULL);
}

/*
 * Is sa served by an activated socket already: the same address and
 * port, or the wildcard address of its family on that port, or the
 * same unix socket path?  Binding it again would fail with EADDRINUSE.
 */
static const struct http_activated *
http_activated_find(const struct http *h, const struct sockaddr *sa)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;
	const struct sockaddr_un	*au, *bu;
	const struct sockaddr		*b;
	size_t				 i;

	for (i = 0; i < h->nactivated; i++) {
		b = (const struct sockaddr *)(const void *)&h->activated[i].ss;
		if (b->sa_family != sa->sa_family)
			continue;
		switch (sa->sa_family) {
		case AF_INET:
			a4 = (const struct sockaddr_in *)(const void *)sa;
			b4 = (const struct sockaddr_in *)(const void *)b;
			if (a4->sin_port != 0 && a4->sin_port == b4->sin_port &&
			    (a4->sin_addr.s_addr == b4->sin_addr.s_addr ||
			    b4->sin_addr.s_addr == htonl(INADDR_ANY)))
				return (&h->activated[i]);
			break;
		case AF_INET6:
			a6 = (const struct sockaddr_in6 *)(const void *)sa;
			b6 = (const struct sockaddr_in6 *)(const void *)b;
			if (a6->sin6_port != 0 &&
			    a6->sin6_port == b6->sin6_port &&
			    (IN6_IS_ADDR_UNSPECIFIED(&b6->sin6_addr) ||
			    memcmp(&a6->sin6_addr, &b6->sin6_addr,
			    sizeof(a6->sin6_addr)) == 0))
				return (&h->activated[i]);
			break;
		case AF_UNIX:
			au = (const struct sockaddr_un *)(const void *)sa;
			bu = (const struct sockaddr_un *)(const void *)b;
			if (au->sun_path[0] != '\0' && strncmp(au->sun_path,
			    bu->sun_path, sizeof(au->sun_path)) == 0)
				return (&h->activated[i]);
			break;
		}
	}
	return (NULL);
}

/* Log that a listen address is left to the activated socket fd. */
static void
http_log_covered(const char *addr, const struct http_activated *a)
{
	char	 fd[16];

	snprintf(fd, sizeof(fd), "%d", a->fd);
	log_event(LOG_INFO, "listen.covered", "addr", addr, "fd", fd, NULL);
}

static void
http_listener_close(struct http *h, struct http_listener *l)
{
	size_t	 i;

	for (i = 0; i < l->nsocks; i++)
		evhttp_del_accept_socket(h->evh, l->socks[i]);
	l->nsocks = 0;
	if (l->unix_path != NULL)
		unlink(l->unix_path);
	free(l->unix_path);
	free(l->spec);
	memset(l, 0, sizeof(*l));
}

/* Bind every address of one listen spec. */
static int
http_listener_open(struct http *h, const char *spec, struct http_listener *l,
    char **cause)
{
	struct addrinfo			 hints, *res = NULL, *ai;
	struct sockaddr_un		 sun;
	const struct http_activated	*a;
	char				*buf, *host, *port, *why = NULL;
	char				 name[sizeof(sun.sun_path) + 8];
	int				 fd, rc;

	memset(l, 0, sizeof(*l));
	l->spec = xstrdup(spec);
	buf = xstrdup(spec);
	if (strncmp(spec, "unix:", 5) == 0) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		strncpy(sun.sun_path, spec + 5, sizeof(sun.sun_path) - 1);
		if ((a = http_activated_find(h, (struct sockaddr *)&sun)) !=
		    NULL) {
			http_log_covered(spec, a);
			free(buf);
			return (0);
		}
		if ((fd = http_unix_socket(spec + 5, &why)) == -1)
			goto fail;
		l->unix_path = xstrdup(spec + 5);
		l->socks[l->nsocks++] = evhttp_accept_socket_with_handle(h->evh,
		    fd);
		log_event(LOG_INFO, "listening", "addr", spec, NULL);
		free(buf);
		return (0);
	}
	if (http_split(buf, &host, &port) == -1) {
		why = xstrdup("not host:port");
		goto fail;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(*host == '\0' ? NULL : host, port, &hints,
	    &res)) != 0) {
		why = xstrdup(gai_strerror(rc));
		goto fail;
	}
	for (ai = res; ai != NULL && l->nsocks < HTTP_MAX_SOCKS_PER_SPEC;
	    ai = ai->ai_next) {
		if ((a = http_activated_find(h, ai->ai_addr)) != NULL) {
			http_log_covered(spec, a);
			continue;
		}
		if ((fd = http_socket(ai, &why)) == -1)
			goto fail;
		l->socks[l->nsocks] = evhttp_accept_socket_with_handle(h->evh,
		    fd);
		if (l->socks[l->nsocks] == NULL) {
			close(fd);
			why = xstrdup("evhttp_accept_socket failed");
			goto fail;
		}
		l->nsocks++;
		http_sockname(fd, name, sizeof(name));
		log_event(LOG_INFO, "listening", "addr", name, NULL);
	}
	freeaddrinfo(res);
	free(buf);
	return (0);
fail:
	xasprintf(cause, "listen %s: %s", spec, why != NULL ? why : "failed");
	free(why);
	if (res != NULL)
		freeaddrinfo(res);
	free(buf);
	http_listener_close(h, l);
	return (-1);
}

int
http_set_listeners(struct http *h, char *const *specs, size_t n,
    char **cause)
{
	struct http_listener	*nl;
	size_t			 i, j;
	int			*kept, *moved;

	if (n == 0 && h->nactivated == 0) {
		xasprintf(cause, "no listener: server.listen is empty and "
		    "no socket was passed by the service manager");
		return (-1);
	}
	nl = xcalloc(n + 1, sizeof(*nl));
	kept = xcalloc(h->nlisteners + 1, sizeof(*kept));
	moved = xcalloc(n + 1, sizeof(*moved));
	for (i = 0; i < n; i++) {
		for (j = 0; j < h->nlisteners; j++) {
			if (!kept[j] && strcmp(h->listeners[j].spec,
			    specs[i]) == 0)
				break;
		}
		if (j < h->nlisteners) {
			nl[i] = h->listeners[j];
			kept[j] = moved[i] = 1;
			continue;
		}
		if (http_listener_open(h, specs[i], &nl[i], cause) == 0)
			continue;
		/* Undo: close what was opened; what was kept stays. */
		while (i-- > 0)
			if (!moved[i])
				http_listener_close(h, &nl[i]);
		free(nl);
		free(kept);
		free(moved);
		return (-1);
	}
	for (j = 0; j < h->nlisteners; j++)
		if (!kept[j])
			http_listener_close(h, &h->listeners[j]);
	free(h->listeners);
	free(kept);
	free(moved);
	h->listeners = nl;
	h->nlisteners = n;
	return (0);
}

/*
 * Adopt the sockets the service manager passed (LISTEN_FDS) that are
 * listening stream sockets; return how many.  The environment is
 * cleared so that programs started later (exec sinks) do not see it.
 */
int
http_adopt_activated(struct http *h)
{
	char	**names = NULL;
	int	 n, i;

	if ((n = sd_listen_fds_with_names(1, &names)) < 0)
		fatalx("socket activation: %s", strerror(-n));
	if (n > 0)
		h->activated = xcalloc((size_t)n, sizeof(*h->activated));
	for (i = 0; i < n; i++) {
		http_adopt_one(h, SD_LISTEN_FDS_START + i,
		    names != NULL ? names[i] : NULL);
		if (names != NULL)
			free(names[i]);
	}
	free(names);
	return ((int)h->nactivated);
}

/* At the connection cap: stop (or resume) accepting. */
static void
http_pause_cb(void *arg, int paused)
{
	struct http		*h = arg;
	struct evconnlistener	*lev;
	size_t			 i, j;

	for (i = 0; i < h->nlisteners; i++) {
		for (j = 0; j < h->listeners[i].nsocks; j++) {
			lev = evhttp_bound_socket_get_listener(
			    h->listeners[i].socks[j]);
			if (paused)
				evconnlistener_disable(lev);
			else
				evconnlistener_enable(lev);
		}
	}
	for (i = 0; i < h->nactivated; i++) {
		lev = evhttp_bound_socket_get_listener(h->activated[i].sock);
		if (paused)
			evconnlistener_disable(lev);
		else
			evconnlistener_enable(lev);
	}
}

/*
 * Close every listener: no new connections (SIGTERM).  An activated
 * socket lives on in the service manager, which queues what arrives
 * for the next start.
 */
void
http_stop_accepting(struct http *h)
{
	size_t	 i;

	for (i = 0; i < h->nlisteners; i++)
		http_listener_close(h, &h->listeners[i]);
	h->nlisteners = 0;
	for (i = 0; i < h->nactivated; i++)
		evhttp_del_accept_socket(h->evh, h->activated[i].sock);
	h->nactivated = 0;
}

/* Log a limit once per client a minute. */
void
http_log_limit(struct http *h, const char *limit, const char *client)
{
	conns_log_limit(h->conns, limit, client);
}

/* Bytes of answers not yet written to their clients. */
size_t
http_unsent(const struct http *h)
{
	return (conns_unsent(h->conns));
}

size_t
http_connections(const struct http *h)
{
	return (conns_count(h->conns));
}

void
http_free(struct http *h)
{
	if (h == NULL)
		return;
	http_stop_accepting(h);
	free(h->listeners);
	free(h->activated);
	if (h->evh != NULL)
		evhttp_free(h->evh);
	conns_free(h->conns);
	free(h->xmlrpc_path);
	free(h);
}

/* An answer has been written out: the keep-alive deadline starts. */
static void
http_complete_cb(struct evhttp_request *req, void *arg)
{
	struct pbd	*pbd = arg;

	conns_idle(pbd->http->conns, req);
}

static void
http_send(struct pbd *pbd, struct evhttp_request *req, int code,
    const char *reason, struct evbuffer *buf)
{
	/* A request whose client is gone is freed by the send itself. */
	if (evhttp_request_get_connection(req) != NULL)
		evhttp_request_set_on_complete_cb(req, http_complete_cb, pbd);
	evhttp_send_reply(req, code, reason, buf);
	evbuffer_free(buf);
}

void
http_send_text(struct pbd *pbd, struct evhttp_request *req, int code,
    const char *reason, const char *body)
{
	struct evbuffer	*buf;

	if ((buf = evbuffer_new()) == NULL)
		fatalx("evbuffer_new failed");
	evbuffer_add_printf(buf, "%s\n", body);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; charset=utf-8");
	http_send(pbd, req, code, reason, buf);
}

void
http_send_xml_take(struct pbd *pbd, struct evhttp_request *req, char *doc,
    size_t len)
{
	struct evbuffer	*buf;

	if ((buf = evbuffer_new()) == NULL)
		fatalx("evbuffer_new failed");
	evbuffer_add(buf, doc, len);
	free(doc);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/xml; charset=utf-8");
	http_send(pbd, req, 200, "OK", buf);
}

/* The peer's address as text ("unix" for a unix socket). */
static void
http_peer(struct evhttp_request *req, char *buf, size_t len)
{
	struct evhttp_connection	*evcon;
	const struct sockaddr		*sa;
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	snprintf(buf, len, "unknown");
	if ((evcon = evhttp_request_get_connection(req)) == NULL ||
	    (sa = evhttp_connection_get_addr(evcon)) == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, buf, len);
	} else if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, buf, len);
	} else if (sa->sa_family == AF_UNIX)
		snprintf(buf, len, "unix");
}

static void
http_refuse(struct http *h, struct evhttp_request *req, const char *client,
    int code,
    const char *reason, const char *body)
{
	const char	*uri = evhttp_request_get_uri(req);
	char		 status[8];

	snprintf(status, sizeof(status), "%d", code);
	log_event(LOG_INFO, "http.refused", "status", status, "client", client,
	    "uri", uri, NULL);
	http_send_text(h->pbd, req, code, reason, body);
}

static long
http_count_headers(struct evhttp_request *req)
{
	struct evkeyvalq	*hdrs = evhttp_request_get_input_headers(req);
	struct evkeyval		*kv;
	long			 n = 0;

	TAILQ_FOREACH(kv, hdrs, next)
		n++;
	return (n);
}

static void
http_request_cb(struct evhttp_request *req, void *arg)
{
	struct http		*h = arg;
	struct evbuffer		*in;
	const struct evhttp_uri	*uri;
	const char		*path;
	char			 client[INET6_ADDRSTRLEN + 8];
	size_t			 len;
	unsigned char		*body;
	int			 limited;

	conns_busy(h->conns, req);
	http_peer(req, client, sizeof(client));
	if (http_count_headers(req) > h->max_headers) {
		conns_log_limit(h->conns, "max_headers", client);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Connection", "close");
		http_refuse(h, req, client, 431,
		    "Request Header Fields Too Large", "too many header lines");
		return;
	}
	if (h->pbd->stopping) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Connection", "close");
		http_refuse(h, req, client, 503, "Service Unavailable",
		    "pingbackd is shutting down");
		return;
	}
	limited = !rl_take(h->pbd->rl, client, pingback_now());
	uri = evhttp_request_get_evhttp_uri(req);
	path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (limited && (path == NULL || strcmp(path, h->xmlrpc_path) != 0)) {
		conns_log_limit(h->conns, "client_rate", client);
		http_send_text(h->pbd, req, 429, "Too Many Requests",
		    "too many requests; try again later");
		return;
	}
	if (path == NULL || strcmp(path, h->xmlrpc_path) != 0) {
		http_refuse(h, req, client, 404, "Not Found",
		    "not found: the XML-RPC endpoint is elsewhere");
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "POST");
		http_refuse(h, req, client, 405, "Method Not Allowed",
		    "XML-RPC server accepts POST requests only.");
		return;
	}
	in = evhttp_request_get_input_buffer(req);
	len = evbuffer_get_length(in);
	if (len > h->max_body) {
		http_refuse(h, req, client, 413, "Payload Too Large",
		    "request body too large");
		return;
	}
	if ((body = evbuffer_pullup(in, -1)) == NULL && len > 0)
		fatalx("evbuffer_pullup failed");
	pingback_handle(h->pbd, req, (const char *)body, len, client, limited);
}
