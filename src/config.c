/*
 * The configuration file: INI, parsed by inih.
 *
 * inih does the lexing; a reader function of ours feeds it one line at
 * a time, so we always know the current line number (the Debian build
 * of inih passes none to the handler) and can report every error as
 * "file:line: message".  The reader also classifies each line the way
 * inih will, which lets us report unknown or malformed section headers
 * and all syntax errors, not only the first one inih returns.  Errors
 * are collected and parsing goes on; the load fails at the end if there
 * was any, so a new configuration is never half-applied.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "config_int.h"
#include "log.h"
#include "pbd.h"
#include "sink.h"
#include "xmalloc.h"

#define CONF_LISTEN_DEFAULT	"127.0.0.1:8080"
#define CONF_MAX_STRING		1024	/* user_agent, xmlrpc_path */
#define CONF_IP_BUFSZ		(INET6_ADDRSTRLEN + 2)	/* "[v6]" and NUL */
#define CONF_MAX_HOST		253	/* a domain name, in bytes */
#define CONF_MAX_LABEL		63

/* Record "file:line: message" (or "file: message" for line 0). */
void
conf_error(struct conf_parse *p, int line, const char *fmt, ...)
{
	struct conf_err	*e;
	char		 msg[1024];
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->errs = xreallocarray(p->errs, p->nerrs + 1, sizeof(*p->errs));
	e = &p->errs[p->nerrs++];
	e->line = line;
	if (line > 0)
		xasprintf(&e->text, "%s:%d: %s", p->file, line, msg);
	else
		xasprintf(&e->text, "%s: %s", p->file, msg);
}

/* Copy a value for an error message, controls replaced by '?'. */
const char *
conf_vis(char *buf, size_t len, const char *s)
{
	size_t	 i;

	for (i = 0; i + 1 < len && s[i] != '\0'; i++)
		buf[i] = iscntrl((unsigned char)s[i]) ? '?' : s[i];
	buf[i] = '\0';
	return (buf);
}

/* The section of k as written: "sink.NAME" for a sink's keys. */
static const char *
conf_section(const struct conf_parse *p, const struct conf_key *k)
{
	return (k->sink != CONF_SINK_NONE ? p->sink_section : k->section);
}

static void conf_badv(struct conf_parse *, int, const struct conf_key *,
    const char *, const char *, va_list)
    __attribute__((format(printf, 5, 0)));

static void
conf_badv(struct conf_parse *p, int line, const struct conf_key *k,
    const char *v, const char *fmt, va_list ap)
{
	char	 msg[1024], vis[256];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (v == NULL)
		conf_error(p, line, "[%s] %s: %s", conf_section(p, k), k->name,
		    msg);
	else
		conf_error(p, line, "[%s] %s: \"%s\" %s", conf_section(p, k),
		    k->name, conf_vis(vis, sizeof(vis), v), msg);
}

/*
 * Record an error about key k: "[section] key: message", or with a
 * value, "[section] key: "value" message".
 */
void
conf_bad(struct conf_parse *p, const struct conf_key *k, const char *v,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	conf_badv(p, p->lineno, k, v, fmt, ap);
	va_end(ap);
}

/* The same about an earlier line. */
void
conf_bad_line(struct conf_parse *p, int line, const struct conf_key *k,
    const char *v, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	conf_badv(p, line, k, v, fmt, ap);
	va_end(ap);
}

/* The field k sets: in struct conf, or in the current sink_conf. */
static char *
conf_field(struct conf_parse *p, const struct conf_key *k)
{
	if (k->sink != CONF_SINK_NONE)
		return (conf_sink_field(p, k));
	return ((char *)p->conf + k->off);
}

/* Return 1 if s has a control character. */
int
conf_has_cntrl(const char *s)
{
	for (; *s != '\0'; s++)
		if (iscntrl((unsigned char)*s))
			return (1);
	return (0);
}

/* Set a long or size_t field to a whole decimal in min..max (strtonum). */
void
conf_set_num(struct conf_parse *p, const struct conf_key *k, const char *v)
{
	char		*end, *field = conf_field(p, k);
	long long	 n;

	if (*v == '\0') {
		conf_bad(p, k, NULL, "empty value (expected a number in "
		    "%lld..%lld)", k->min, k->max);
		return;
	}
	/* Digits, with an optional '-' so that "-1" is out of range. */
	errno = 0;
	n = strtoll(v, &end, 10);
	if (!isdigit((unsigned char)v[v[0] == '-']) || *end != '\0') {
		conf_bad(p, k, v, "is not a number");
		return;
	}
	if (errno == ERANGE || n < k->min || n > k->max) {
		conf_bad(p, k, v, "is out of range %lld..%lld", k->min, k->max);
		return;
	}
	if (k->size)
		*(size_t *)(void *)field = (size_t)n;
	else
		*(long *)(void *)field = (long)n;
}

static void
conf_set_bool(struct conf_parse *p, const struct conf_key *k, const char *v)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	int		*field = (int *)(void *)conf_field(p, k);
	size_t		 i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
			*field = strcasecmp(v, yes[i]) == 0;
			return;
		}
	}
	conf_bad(p, k, v, "is not a boolean (yes/no, true/false, on/off, "
	    "1/0)");
}

/* Set a string field: not empty, no control characters. */
static void
conf_set_string(struct conf_parse *p, const struct conf_key *k,
    const char *v)
{
	char	**field = (char **)(void *)conf_field(p, k);

	if (*v == '\0')
		conf_bad(p, k, NULL, "empty value");
	else if (strlen(v) > CONF_MAX_STRING)
		conf_bad(p, k, NULL, "the value is too long");
	else if (conf_has_cntrl(v))
		conf_bad(p, k, NULL, "the value has control characters");
	else {
		free(*field);
		*field = xstrdup(v);
	}
}

/* Return why s is not a valid listen address, or NULL. */
static const char *
conf_listen_check(const char *s)
{
	struct sockaddr_un	 sun;
	struct in6_addr		 in6;
	char			 host[INET6_ADDRSTRLEN + 1];
	const char		*port, *end;
	size_t			 len, i;
	long			 n;

	if (strncmp(s, "unix:", 5) == 0) {
		if (s[5] != '/')
			return ("the socket path must be absolute");
		if (strlen(s + 5) >= sizeof(sun.sun_path))
			return ("the socket path is too long");
		return (NULL);
	}
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return ("no closing ']'");
		len = end - (s + 1);
		if (len == 0 || len >= sizeof(host))
			return ("bad IPv6 address");
		memcpy(host, s + 1, len);
		host[len] = '\0';
		if (inet_pton(AF_INET6, host, &in6) != 1)
			return ("bad IPv6 address");
		if (end[1] != ':')
			return ("no port (expected [v6]:port)");
		port = end + 2;
	} else {
		if ((port = strrchr(s, ':')) == NULL)
			return ("no port (expected host:port, [v6]:port or "
			    "unix:/path)");
		if (port == s)
			return ("empty host");
		if (memchr(s, ':', port - s) != NULL)
			return ("an IPv6 address must be in brackets");
		for (i = 0; s + i < port; i++)
			if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
			    s[i] != '-')
				return ("bad character in host name");
		port++;
	}
	if (*port == '\0')
		return ("empty port");
	for (n = 0, i = 0; port[i] != '\0'; i++) {
		if (!isdigit((unsigned char)port[i]))
			return ("the port is not a number");
		if ((n = n * 10 + (port[i] - '0')) > 65535)
			return ("the port is out of range 0..65535");
	}
	return (NULL);
}

/* Call fn on each space-separated word of v; return the word count. */
static size_t
conf_words(struct conf_parse *p, const struct conf_key *k, const char *v,
    conf_set_cb fn)
{
	char	*copy, *word, *last;
	size_t	 n = 0;

	copy = xstrdup(v);
	for (word = strtok_r(copy, " \t", &last); word != NULL;
	    word = strtok_r(NULL, " \t", &last)) {
		fn(p, k, word);
		n++;
	}
	free(copy);
	return (n);
}

/* Append s to a string list, unless it is there; 0 if it was. */
static int
conf_list_add(char ***list, size_t *n, const char *s)
{
	size_t	 i;

	for (i = 0; i < *n; i++)
		if (strcmp((*list)[i], s) == 0)
			return (0);
	*list = xreallocarray(*list, *n + 1, sizeof(**list));
	(*list)[(*n)++] = xstrdup(s);
	return (1);
}

static void
conf_list_free(char **list, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static void
conf_add_listen(struct conf_parse *p, const struct conf_key *k,
    const char *word)
{
	const char	*why;

	if ((why = conf_listen_check(word)) != NULL)
		conf_bad(p, k, word, "is not a valid address: %s", why);
	else if (!conf_list_add(&p->conf->listen, &p->conf->nlisten, word))
		conf_bad(p, k, word, "is given twice");
}

/*
 * The first listen replaces the default.  An empty value adds nothing,
 * so "listen =" alone leaves none: the sockets then come from systemd.
 */
static void
conf_set_listen(struct conf_parse *p, const struct conf_key *k, const char *v)
{
	struct conf	*c = p->conf;

	if (!p->listen_set) {
		conf_list_free(c->listen, c->nlisten);
		c->listen = NULL;
		c->nlisten = 0;
		p->listen_set = 1;
	}
	conf_words(p, k, v, conf_add_listen);
}

/*
 * Normalise v if it is an absolute http or https URL; otherwise return
 * NULL after recording the error.
 */
char *
conf_url(struct conf_parse *p, const struct conf_key *k, const char *v)
{
	const char	*cause = NULL;
	char		*norm;

	if (strncasecmp(v, "http://", 7) != 0 &&
	    strncasecmp(v, "https://", 8) != 0) {
		conf_bad(p, k, v, "is not an absolute http(s) URL");
		return (NULL);
	}
	if ((norm = url_normalize(v, &cause)) == NULL) {
		conf_bad(p, k, v, "is not an absolute http(s) URL (%s)",
		    cause != NULL ? cause : "bad URL");
		return (NULL);
	}
	return (norm);
}

static void
conf_set_public_url(struct conf_parse *p, const struct conf_key *k,
    const char *v)
{
	char	*norm, *s;
	size_t	 len;

	if ((norm = conf_url(p, k, v)) == NULL)
		return;
	free(norm);
	if (strpbrk(v, "?# \t") != NULL) {
		conf_bad(p, k, v, "must have no query, fragment or spaces");
		return;
	}
	/* Stored without trailing '/': xmlrpc_path is appended to it. */
	s = xstrdup(v);
	for (len = strlen(s); len > 0 && s[len - 1] == '/'; len--)
		s[len - 1] = '\0';
	free(p->conf->public_url);
	p->conf->public_url = s;
}

static void
conf_set_xmlrpc_path(struct conf_parse *p, const struct conf_key *k,
    const char *v)
{
	if (v[0] != '/')
		conf_bad(p, k, v, "does not start with '/'");
	else if (strpbrk(v, " \t?#") != NULL || conf_has_cntrl(v))
		conf_bad(p, k, v, "must be a path without spaces, query or "
		    "fragment");
	else
		conf_set_string(p, k, v);
}

static void
conf_add_allow(struct conf_parse *p, const struct conf_key *k,
    const char *word)
{
	char	*norm;

	if ((norm = conf_url(p, k, word)) != NULL) {
		conf_list_add(&p->conf->allow, &p->conf->nallow, norm);
		free(norm);
	}
}

/* Lists: an empty value adds nothing (no target, no exempt network). */
static void
conf_set_allow(struct conf_parse *p, const struct conf_key *k, const char *v)
{
	conf_words(p, k, v, conf_add_allow);
}

static void
conf_add_network(struct conf_parse *p, const struct conf_key *k,
    const char *word)
{
	struct conf	*c = p->conf;
	struct cidr	 net;

	memset(&net, 0, sizeof(net));
	if (ng_parse_cidr(word, &net) == -1) {
		conf_bad(p, k, word, "is not a network (address/prefix)");
		return;
	}
	c->allow_networks = xreallocarray(c->allow_networks,
	    c->nallow_networks + 1, sizeof(*c->allow_networks));
	c->allow_networks[c->nallow_networks++] = net;
}

static void
conf_set_networks(struct conf_parse *p, const struct conf_key *k,
    const char *v)
{
	conf_words(p, k, v, conf_add_network);
}

static void
conf_set_status(struct conf_parse *p, const struct conf_key *k,
    const char *v)
{
	if (strcmp(v, "pending") != 0 && strcmp(v, "approved") != 0)
		conf_bad(p, k, v, "is not pending or approved");
	else
		conf_set_string(p, k, v);
}

/*
 * A decimal (digits, optional fraction) in (0, 100000], parsed by hand
 * so that neither the locale nor hex floats or exponents matter.
 */
static void
conf_set_rate(struct conf_parse *p, const struct conf_key *k, const char *v)
{
	const char	*s;
	double		 n = 0, scale = 1;
	int		 digits = 0, dot = 0;

	for (s = v; *s != '\0'; s++) {
		if (*s == '.' && !dot) {
			dot = 1;
			continue;
		}
		if (!isdigit((unsigned char)*s) || n > 1e9)
			break;
		digits++;
		if (dot)
			n += (*s - '0') * (scale /= 10);
		else
			n = n * 10 + (*s - '0');
	}
	if (*v == '\0')
		conf_bad(p, k, NULL, "empty value (expected a number > 0 and "
		    "<= 100000)");
	else if (*s != '\0' || digits == 0)
		conf_bad(p, k, v, "is not a number");
	else if (n <= 0 || n > 100000)
		conf_bad(p, k, v, "is out of range: must be > 0 and "
		    "<= 100000");
	else
		p->conf->client_rate = n;
}

/*
 * Write the canonical form of the IP literal s (len bytes) to buf: an
 * IPv4 address as a dotted quad, an IPv6 address (brackets optional)
 * in brackets as inet_ntop writes it, and an IPv4-mapped IPv6 address
 * as the IPv4 address it carries.  Return buf, or NULL if s is none.
 */
static char *
conf_ip_canon(const char *s, size_t len, char *buf, size_t bufsz)
{
	struct in_addr	 in4;
	struct in6_addr	 in6;
	char		 tmp[INET6_ADDRSTRLEN + 1], out[INET6_ADDRSTRLEN];
	int		 v6only = 0;

	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
		v6only = 1;
	}
	if (len == 0 || len >= sizeof(tmp))
		return (NULL);
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (!v6only && inet_pton(AF_INET, tmp, &in4) == 1) {
		if (inet_ntop(AF_INET, &in4, out, sizeof(out)) == NULL)
			return (NULL);
		snprintf(buf, bufsz, "%s", out);
		return (buf);
	}
	if (inet_pton(AF_INET6, tmp, &in6) != 1)
		return (NULL);
	if (IN6_IS_ADDR_V4MAPPED(&in6)) {
		memcpy(&in4, &in6.s6_addr[12], sizeof(in4));
		if (inet_ntop(AF_INET, &in4, out, sizeof(out)) == NULL)
			return (NULL);
		snprintf(buf, bufsz, "%s", out);
	} else {
		if (inet_ntop(AF_INET6, &in6, out, sizeof(out)) == NULL)
			return (NULL);
		snprintf(buf, bufsz, "[%s]", out);
	}
	return (buf);
}

/*
 * Return 1 if s is a host name: dot-separated labels of letters,
 * digits, '-' and '_'.  A last label that is a number (decimal or 0x
 * hex) is refused: curl reads such a name as an IPv4 address.
 */
static int
conf_host_name(const char *s)
{
	const char	*p, *label = s;

	if (*s == '\0' || strlen(s) > CONF_MAX_HOST)
		return (0);
	for (p = s;; p++) {
		if (*p == '.' || *p == '\0') {
			if (p == label || p - label > CONF_MAX_LABEL)
				return (0);
			if (*p == '\0')
				break;
			label = p + 1;
		} else if (!isalnum((unsigned char)*p) && *p != '-' &&
		    *p != '_')
			return (0);
	}
	if (label[strspn(label, "0123456789")] == '\0')
		return (0);
	if (label[0] == '0' && (label[1] == 'x' || label[1] == 'X') &&
	    label[2 + strspn(label + 2, "0123456789abcdefABCDEF")] == '\0')
		return (0);
	return (1);
}

/*
 * Find the host of url ("scheme://[userinfo@]host[:port]/..."): set
 * *off and *len and return 0, or return -1 if url has no "://".
 */
static int
conf_url_host(const char *url, size_t *off, size_t *len)
{
	const char	*h, *end, *at, *e;

	if ((h = strstr(url, "://")) == NULL)
		return (-1);
	h += 3;
	end = h + strcspn(h, "/?#");
	for (at = h; at < end; at++)
		if (*at == '@')
			h = at + 1;
	if (*h == '[') {
		if ((e = memchr(h, ']', end - h)) == NULL)
			e = end;
		else
			e++;
	} else if ((e = memchr(h, ':', end - h)) == NULL)
		e = end;
	*off = h - url;
	*len = e - h;
	return (0);
}

/*
 * Return a copy of url with its host in the form the block lists are
 * compared in: lower-cased, without trailing dots ("example.com." is
 * example.com to DNS), an IP literal canonical (conf_ip_canon).  Set
 * *hoff and *hlen to the host in the copy.  NULL if url has no "://".
 */
static char *
conf_block_canon(const char *url, size_t *hoff, size_t *hlen)
{
	char	 ip[CONF_IP_BUFSZ], *out, *o;
	size_t	 off, len, i;

	if (conf_url_host(url, &off, &len) == -1)
		return (NULL);
	out = xmalloc(strlen(url) + sizeof(ip) + 1);
	memcpy(out, url, off);
	o = out + off;
	if (conf_ip_canon(url + off, len, ip, sizeof(ip)) != NULL)
		o += snprintf(o, sizeof(ip), "%s", ip);
	else {
		for (i = 0; i < len; i++)
			*o++ = (char)tolower((unsigned char)url[off + i]);
		while (o > out + off && o[-1] == '.')
			o--;
	}
	*hoff = off;
	*hlen = o - (out + off);
	strcpy(o, url + off + len);
	return (out);
}

/*
 * Add an entry to a block list: with "://", a URL prefix (normalised);
 * otherwise an IP literal, or a domain name (lower-cased, without a
 * leading "*." or "." and a trailing ".").
 */
static void
conf_block_add(struct conf_parse *p, const struct conf_key *k,
    const char *word, char ***list, size_t *n)
{
	char		 ip[CONF_IP_BUFSZ], *norm, *s, *c;
	const char	*d = word;
	size_t		 off, len;

	if (strstr(word, "://") != NULL) {
		if ((norm = conf_url(p, k, word)) == NULL)
			return;
		if ((s = conf_block_canon(norm, &off, &len)) != NULL)
			conf_list_add(list, n, s);
		free(s);
		free(norm);
		return;
	}
	if (conf_ip_canon(word, strlen(word), ip, sizeof(ip)) != NULL) {
		conf_list_add(list, n, ip);
		return;
	}
	if (strncmp(d, "*.", 2) == 0)
		d += 2;
	else if (*d == '.')
		d++;
	s = xstrdup(d);
	for (c = s; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	if (c > s && c[-1] == '.')
		c[-1] = '\0';
	if (conf_host_name(s))
		conf_list_add(list, n, s);
	else if (strchr(word, '/') != NULL)
		conf_bad(p, k, word, "is not a domain or IP address (a URL "
		    "prefix starts with http:// or https://)");
	else
		conf_bad(p, k, word, "is not a domain or IP address");
	free(s);
}

static void
conf_add_block_source(struct conf_parse *p, const struct conf_key *k,
    const char *word)
{
	conf_block_add(p, k, word, &p->conf->block_sources,
	    &p->conf->nblock_sources);
}

static void
conf_add_block_target(struct conf_parse *p, const struct conf_key *k,
    const char *word)
{
	conf_block_add(p, k, word, &p->conf->block_targets,
	    &p->conf->nblock_targets);
}

static void
conf_set_block_sources(struct conf_parse *p, const struct conf_key *k,
    const char *v)
{
	conf_words(p, k, v, conf_add_block_source);
}

static void
conf_set_block_targets(struct conf_parse *p, const struct conf_key *k,
    const char *v)
{
	conf_words(p, k, v, conf_add_block_target);
}

static void
conf_set_level(struct conf_parse *p, const struct conf_key *k, const char *v)
{
	int	 level;

	if ((level = log_level_parse(v)) == -1)
		conf_bad(p, k, v, "is not one of debug, info, notice, warning, "
		    "err");
	else
		p->conf->log_level = level;
}

static void
conf_set_format(struct conf_parse *p, const struct conf_key *k,
    const char *v)
{
	if (strcmp(v, "logfmt") == 0)
		p->conf->log_format = LOG_FORMAT_LOGFMT;
	else if (strcmp(v, "json") == 0)
		p->conf->log_format = LOG_FORMAT_JSON;
	else
		conf_bad(p, k, v, "is not logfmt or json");
}

#define CONF_NUM(s, n, lo, hi, field) \
	{ s, n, conf_set_num, 0, 0, lo, hi, offsetof(struct conf, field), \
	    CONF_SINK_NONE }
#define CONF_SIZE(s, n, lo, hi, field) \
	{ s, n, conf_set_num, 0, 1, lo, hi, offsetof(struct conf, field), \
	    CONF_SINK_NONE }
#define CONF_FN(s, n, fn, list, field) \
	{ s, n, fn, list, 0, 0, 0, offsetof(struct conf, field), \
	    CONF_SINK_NONE }

static const struct conf_key conf_keys[] = {
	CONF_FN("server", "listen", conf_set_listen, 1, listen),
	CONF_FN("server", "public_url", conf_set_public_url, 0, public_url),
	CONF_FN("server", "xmlrpc_path", conf_set_xmlrpc_path, 0,
	    xmlrpc_path),
	CONF_SIZE("server", "max_body", PBD_MIN_BODY_BYTES,
	    PBD_MAX_BODY_LIMIT_BYTES, max_body),
	CONF_NUM("server", "max_connections", 1, 1000000, max_connections),
	CONF_NUM("server", "max_headers", 8, 1000, max_headers),
	CONF_NUM("server", "read_timeout", 1, 3600, read_timeout),
	CONF_NUM("server", "keepalive_timeout", 1, 3600, keepalive_timeout),
	CONF_FN("targets", "allow", conf_set_allow, 1, allow),
	CONF_FN("targets", "require_existing", conf_set_bool, 0,
	    require_existing),
	CONF_NUM("fetch", "timeout", 1, 300, fetch_timeout),
	CONF_SIZE("fetch", "max_bytes", 1024, 67108864, fetch_max_bytes),
	CONF_NUM("fetch", "max_redirects", 0, 20, fetch_max_redirects),
	CONF_FN("fetch", "allow_networks", conf_set_networks, 1,
	    allow_networks),
	CONF_NUM("fetch", "max_concurrent", 1, 100000, fetch_max_concurrent),
	CONF_NUM("fetch", "max_per_host", 1, 10000, fetch_max_per_host),
	CONF_FN("fetch", "user_agent", conf_set_string, 0, user_agent),
	CONF_FN("store", "path", conf_set_string, 0, store_path),
	CONF_FN("store", "default_status", conf_set_status, 0,
	    default_status),
	CONF_FN("limits", "client_rate", conf_set_rate, 0, client_rate),
	CONF_NUM("limits", "client_burst", 0, 1000000, client_burst),
	CONF_NUM("limits", "source_host_per_minute", 0, 100000,
	    source_host_per_minute),
	CONF_NUM("limits", "fetch_cache_ttl", 0, 86400, fetch_cache_ttl),
	CONF_SIZE("limits", "fetch_cache_size", 16, 1000000,
	    fetch_cache_size),
	CONF_FN("limits", "block_sources", conf_set_block_sources, 1,
	    block_sources),
	CONF_FN("limits", "block_targets", conf_set_block_targets, 1,
	    block_targets),
	CONF_FN("log", "level", conf_set_level, 0, log_level),
	CONF_FN("log", "format", conf_set_format, 0, log_format),
};
#define CONF_NKEYS	(sizeof(conf_keys) / sizeof(conf_keys[0]))

/* Return 1 if name is one of our sections. */
static int
conf_known_section(const char *name, size_t len)
{
	size_t	 i;

	for (i = 0; i < CONF_NKEYS; i++)
		if (strlen(conf_keys[i].section) == len &&
		    strncmp(conf_keys[i].section, name, len) == 0)
			return (1);
	return (0);
}

/*
 * inih's ini_find_chars_or_comment: the first of chars, or an inline
 * comment (';' after white space), or the end.
 */
static const char *
conf_find(const char *s, const char *chars)
{
	int	 was_space = 0;

	while (*s != '\0' && strchr(chars, *s) == NULL &&
	    !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return (s);
}

/*
 * Look at a line before inih does, following its rules: record syntax
 * errors and unknown sections, and note whether the line continues the
 * previous key's value.
 */
static void
conf_classify(struct conf_parse *p, const char *line)
{
	const char	*start = line, *end;
	char		 vis[256];
	size_t		 len;

	p->continuation = 0;
	if (p->lineno == 1 && strncmp(start, "\xEF\xBB\xBF", 3) == 0)
		start += 3;
	while (isspace((unsigned char)*start))
		start++;
	if (*start == '\0' || *start == ';' || *start == '#')
		return;
	if (p->has_prev && start > line) {
		p->continuation = 1;
		return;
	}
	for (len = strlen(start); len > 0 &&
	    isspace((unsigned char)start[len - 1]); len--)
		;
	snprintf(vis, sizeof(vis), "%.*s", (int)len, start);
	conf_vis(vis, sizeof(vis), vis);
	if (*start == '[') {
		end = conf_find(start + 1, "]");
		if (*end != ']') {
			conf_error(p, p->lineno, "syntax error: \"%s\": no "
			    "closing ']'", vis);
			p->skip = 1;
			return;
		}
		p->has_prev = 0;
		p->cursink = -1;
		len = end - start - 1;
		switch (conf_sink_section(p, start + 1, len)) {
		case 1:
			p->skip = 0;
			return;
		case 0:
			p->skip = 1;
			return;
		}
		p->skip = !conf_known_section(start + 1, len);
		if (p->skip)
			conf_error(p, p->lineno, "unknown section [%.*s]",
			    (int)len, vis + 1);
		return;
	}
	end = conf_find(start, "=:");
	if (*end != '=' && *end != ':') {
		conf_error(p, p->lineno, "syntax error: \"%s\": expected "
		    "key = value", vis);
		return;
	}
	p->has_prev = 1;
}

/*
 * The ini_reader: fgets for inih, one whole line per call.  A line too
 * long for inih's buffer is an error and reaches inih as an empty line,
 * so that inih's line count stays ours.
 */
static char *
conf_read_line(char *str, int num, void *arg)
{
	struct conf_parse	*p = arg;
	ssize_t			 n;
	size_t			 len;

	if ((n = getline(&p->buf, &p->bufsz, p->fp)) == -1) {
		if (ferror(p->fp))
			p->read_errno = errno;
		return (NULL);
	}
	p->lineno++;
	len = n;
	while (len > 0 && (p->buf[len - 1] == '\n' || p->buf[len - 1] == '\r'))
		len--;
	p->buf[len] = '\0';
	if (memchr(p->buf, '\0', len) != NULL) {
		conf_error(p, p->lineno, "NUL byte in line");
		p->buf[0] = '\0';
	} else if (num < 3 || len > (size_t)num - 3) {
		conf_error(p, p->lineno, "line too long (more than %d bytes)",
		    num - 3);
		/* Keys after a lost section header would land elsewhere. */
		if (p->buf[strspn(p->buf, " \t")] == '[')
			p->skip = 1;
		p->buf[0] = '\0';
	}
	snprintf(str, num, "%s\n", p->buf);
	conf_classify(p, str);
	return (str);
}

/* The ini_handler: validate one key; always go on (errors are ours). */
static int
conf_handler(void *arg, const char *section, const char *name,
    const char *value)
{
	struct conf_parse	*p = arg;
	const struct conf_key	*k = NULL;
	char			 vis[256], *copy, *end;
	size_t			 i;

	if (p->skip || (p->continuation && p->prev_ignored))
		return (1);
	p->prev_ignored = 1;
	conf_vis(vis, sizeof(vis), name);
	if (*section == '\0') {
		conf_error(p, p->lineno, "key \"%s\" is outside any section",
		    vis);
		return (1);
	}
	if (*name == '\0') {
		conf_error(p, p->lineno, "missing key name in [%s]", section);
		return (1);
	}
	if (p->cursink >= 0)
		k = conf_sink_key(name);
	for (i = 0; p->cursink < 0 && i < CONF_NKEYS; i++) {
		if (strcmp(conf_keys[i].section, section) == 0 &&
		    strcmp(conf_keys[i].name, name) == 0) {
			k = &conf_keys[i];
			break;
		}
	}
	if (k == NULL) {
		conf_error(p, p->lineno, "unknown key \"%s\" in [%s]", vis,
		    section);
		return (1);
	}
	p->prev_ignored = 0;
	if (!p->continuation) {
		if (k->sink == CONF_SINK_NONE || conf_sink_allowed(p, k))
			k->set(p, k, value);
		return (1);
	}
	/* inih 55 leaves inline comments in continuation lines. */
	copy = xstrdup(value);
	end = copy + (conf_find(copy, "") - copy);
	while (end > copy && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';
	if (k->list)
		k->set(p, k, copy);
	else
		conf_bad(p, k, NULL, "unexpected indented line \"%s\" (only "
		    "lists continue on indented lines)",
		    conf_vis(vis, sizeof(vis), copy));
	free(copy);
	return (1);
}

/* Return 1 if an error was recorded for line. */
static int
conf_has_error(const struct conf_parse *p, int line)
{
	size_t	 i;

	for (i = 0; i < p->nerrs; i++)
		if (p->errs[i].line == line)
			return (1);
	return (0);
}

struct conf *
conf_default(void)
{
	struct conf	*c;

	c = xcalloc(1, sizeof(*c));
	conf_list_add(&c->listen, &c->nlisten, CONF_LISTEN_DEFAULT);
	c->public_url = xstrdup("http://127.0.0.1:8080");
	c->xmlrpc_path = xstrdup("/xmlrpc");
	c->max_body = 65536;
	c->max_connections = 1024;
	c->max_headers = 64;
	c->read_timeout = 10;
	c->keepalive_timeout = 15;
	c->fetch_timeout = 10;
	c->fetch_max_bytes = 1048576;
	c->fetch_max_redirects = 5;
	c->fetch_max_concurrent = 256;
	c->fetch_max_per_host = 4;
	c->user_agent = xstrdup("pingbackd/" PACKAGE_VERSION);
	c->store_path = xstrdup("/var/lib/pingbackd/mentions.sqlite");
	c->default_status = xstrdup("pending");
	c->client_rate = 1;
	c->client_burst = 20;
	c->source_host_per_minute = 30;
	c->fetch_cache_ttl = 600;
	c->fetch_cache_size = 10000;
	c->log_level = LOG_INFO;
	c->log_format = LOG_FORMAT_LOGFMT;
	return (c);
}

void
conf_free(struct conf *c)
{
	size_t	 i;

	if (c == NULL)
		return;
	free(c->path);
	conf_list_free(c->listen, c->nlisten);
	free(c->public_url);
	free(c->xmlrpc_path);
	conf_list_free(c->allow, c->nallow);
	free(c->allow_networks);
	free(c->user_agent);
	free(c->store_path);
	free(c->default_status);
	conf_list_free(c->block_sources, c->nblock_sources);
	conf_list_free(c->block_targets, c->nblock_targets);
	for (i = 0; i < c->nsinks; i++)
		conf_sink_clear(&c->sinks[i]);
	free(c->sinks);
	free(c);
}

/* Join the recorded errors into one newline-separated string. */
static char *
conf_join_errors(const struct conf_parse *p)
{
	char	*s, *next;
	size_t	 i;

	s = xstrdup(p->errs[0].text);
	for (i = 1; i < p->nerrs; i++) {
		xasprintf(&next, "%s\n%s", s, p->errs[i].text);
		free(s);
		s = next;
	}
	return (s);
}

struct conf *
conf_load(const char *path, char **errors)
{
	struct conf_parse	 p;
	size_t			 i;
	int			 rc;

	if (errors != NULL)
		*errors = NULL;
	memset(&p, 0, sizeof(p));
	p.file = path;
	p.cursink = -1;
	if ((p.fp = fopen(path, "r")) == NULL)
		conf_error(&p, 0, "cannot open: %s", strerror(errno));
	else {
		p.conf = conf_default();
		p.conf->path = xstrdup(path);
		rc = ini_parse_stream(conf_read_line, &p, conf_handler, &p);
		if (p.read_errno != 0)
			conf_error(&p, 0, "cannot read: %s",
			    strerror(p.read_errno));
		else if (rc > 0 && !conf_has_error(&p, rc))
			conf_error(&p, rc, "syntax error");
		else if (rc < 0)
			conf_error(&p, 0, "cannot parse (inih error %d)", rc);
		if (p.read_errno == 0)
			conf_sink_finish(&p);
		if (p.read_errno == 0 && p.conf->nallow == 0)
			conf_error(&p, 0, "[targets] allow is required");
		fclose(p.fp);
	}
	free(p.buf);
	free(p.sinkst);
	if (p.nerrs > 0) {
		if (errors != NULL)
			*errors = conf_join_errors(&p);
		for (i = 0; i < p.nerrs; i++)
			free(p.errs[i].text);
		free(p.errs);
		conf_free(p.conf);
		return (NULL);
	}
	return (p.conf);
}

int
conf_target_allowed(const struct conf *c, const char *url_norm)
{
	size_t	 i;

	if (c == NULL || url_norm == NULL)
		return (0);
	/*
	 * Normalised prefixes always have a path, so "https://a.example/"
	 * cannot match "https://a.example.evil/"; a prefix with a partial
	 * path segment ("/a") does match "/ab", as URL prefixes do.
	 */
	for (i = 0; i < c->nallow; i++)
		if (strncmp(url_norm, c->allow[i], strlen(c->allow[i])) == 0)
			return (1);
	return (0);
}

int
conf_blocked(char *const *list, size_t n, const char *url_norm)
{
	const char	*host;
	char		*canon;
	size_t		 i, hoff, hlen, elen;
	int		 hit = 0;

	if (list == NULL || n == 0 || url_norm == NULL)
		return (0);
	if ((canon = conf_block_canon(url_norm, &hoff, &hlen)) == NULL)
		return (0);
	host = canon + hoff;
	for (i = 0; i < n && !hit; i++) {
		if (strstr(list[i], "://") != NULL) {
			hit = strncmp(canon, list[i], strlen(list[i])) == 0;
			continue;
		}
		/* The domain itself, or a subdomain: a '.' before it. */
		elen = strlen(list[i]);
		hit = elen <= hlen &&
		    memcmp(host + hlen - elen, list[i], elen) == 0 &&
		    (elen == hlen || host[hlen - elen - 1] == '.');
	}
	free(canon);
	return (hit);
}
