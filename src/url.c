/*
 * URL normalisation and resolution on libcurl's URL API.
 *
 * curl parses and resolves (dot segments, numeric IPv4 forms, relative
 * references); the canonical string is then built here from the parts,
 * so that the rules of DESIGN.md hold whatever curl's version does with
 * case, ports and escapes.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "pbd.h"
#include "xmalloc.h"

#define URL_NORM_PASSES	3	/* re-parses to reach the normal form */

static const char url_hex[] = "0123456789ABCDEF";

/* Return 1 for RFC 3986 unreserved characters. */
static int
url_unreserved(unsigned char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~');
}

/* Return 1 for characters that may stay literal in a path or query. */
static int
url_literal(unsigned char c)
{
	if (url_unreserved(c))
		return (1);
	return (c != '\0' && strchr("!$&'()*+,;=:@/?", c) != NULL);
}

static int
url_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/*
 * Return 1 if the output between start and out ends in a '%' that
 * starts no escape, alone or with one hex digit after it: another hex
 * digit would make it an escape.  Escapes are written whole, so such a
 * '%' is always one that was kept as it was.
 */
static int
url_open_escape(const char *start, const char *out)
{
	if (out - start >= 1 && out[-1] == '%')
		return (1);
	return (out - start >= 2 && out[-2] == '%' &&
	    url_hexval((unsigned char)out[-1]) != -1);
}

/*
 * Append s to out with escapes normalised: %XX of an unreserved
 * character decoded, other escapes in upper-case hex, and bytes that
 * may not appear literally (controls, space, non-ASCII, ...) escaped.
 * A '%' that starts no escape is kept, and an escaped hex digit right
 * after it stays escaped ("%a%31" is not "%a1"), so that normalising
 * twice changes nothing.  out has room for 3 * strlen(s).
 */
static char *
url_escape_norm(char *out, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	const char		*start = out;
	int			 hi, lo, v;

	for (; *p != '\0'; p++) {
		if (*p == '%' && (hi = url_hexval(p[1])) != -1 &&
		    (lo = url_hexval(p[2])) != -1) {
			v = hi * 16 + lo;
			if (url_unreserved((unsigned char)v) &&
			    !(url_hexval((unsigned char)v) != -1 &&
			    url_open_escape(start, out)))
				*out++ = (char)v;
			else {
				*out++ = '%';
				*out++ = url_hex[hi];
				*out++ = url_hex[lo];
			}
			p += 2;
		} else if (*p == '%' || url_literal(*p))
			*out++ = (char)*p;
		else {
			*out++ = '%';
			*out++ = url_hex[*p >> 4];
			*out++ = url_hex[*p & 0xf];
		}
	}
	return (out);
}

/* Check the scheme by hand: curl would accept ftp:, file:, ... too. */
static const char *
url_check_scheme(const char *url)
{
	size_t	 n;

	n = strspn(url, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
	if (n == 0 || url[n] != ':' || !isalpha((unsigned char)url[0]))
		return ("not an absolute URL");
	if (!(n == 4 && strncasecmp(url, "http", 4) == 0) &&
	    !(n == 5 && strncasecmp(url, "https", 5) == 0))
		return ("unsupported URL scheme");
	url += n + 1;
	/* curl takes "http:///x" as host x; we do not. */
	if (strncmp(url, "//", 2) == 0 &&
	    (url[2] == '\0' || strchr("/\\?#", url[2]) != NULL))
		return ("empty host in URL");
	return (NULL);
}

/* Get one part of h, or NULL if it is not set. */
static char *
url_part(CURLU *h, CURLUPart what)
{
	char	*s = NULL;

	if (curl_url_get(h, what, &s, 0) != CURLUE_OK)
		return (NULL);
	return (s);
}

/* Build the canonical string of a parsed http(s) URL in h. */
static char *
url_build(CURLU *h, const char **cause)
{
	char		*scheme = NULL, *host = NULL, *port = NULL;
	char		*path = NULL, *query = NULL, *s, *zone;
	char		*out = NULL, *o;
	size_t		 need;
	int		 https;

	if ((s = url_part(h, CURLUPART_USER)) != NULL ||
	    (s = url_part(h, CURLUPART_PASSWORD)) != NULL) {
		curl_free(s);
		*cause = "credentials in URL";
		goto done;
	}
	if ((zone = url_part(h, CURLUPART_ZONEID)) != NULL) {
		curl_free(zone);
		*cause = "IPv6 zone id in URL";
		goto done;
	}
	scheme = url_part(h, CURLUPART_SCHEME);
	host = url_part(h, CURLUPART_HOST);
	port = url_part(h, CURLUPART_PORT);
	path = url_part(h, CURLUPART_PATH);
	query = url_part(h, CURLUPART_QUERY);
	if (scheme == NULL || (strcasecmp(scheme, "http") != 0 &&
	    strcasecmp(scheme, "https") != 0)) {
		*cause = "unsupported URL scheme";
		goto done;
	}
	if (host == NULL || *host == '\0') {
		*cause = "empty host in URL";
		goto done;
	}
	https = strcasecmp(scheme, "https") == 0;
	if (port != NULL && strcmp(port, https ? "443" : "80") == 0) {
		curl_free(port);
		port = NULL;
	}
	need = strlen("https://") + strlen(host) + 1 +
	    (port != NULL ? strlen(port) : 0) + 1 +
	    3 * (path != NULL ? strlen(path) : 0) + 1 +
	    3 * (query != NULL ? strlen(query) : 0) + 1;
	o = out = xmalloc(need);
	o += snprintf(o, need, "%s://", https ? "https" : "http");
	for (s = host; *s != '\0'; s++)
		*o++ = (char)tolower((unsigned char)*s);
	if (port != NULL)
		o += sprintf(o, ":%s", port);
	if (path == NULL || *path == '\0')
		*o++ = '/';
	else
		o = url_escape_norm(o, path);
	if (query != NULL && *query != '\0') {
		*o++ = '?';
		o = url_escape_norm(o, query);
	}
	*o = '\0';
	if (strlen(out) > PBD_MAX_URL_BYTES) {
		free(out);
		out = NULL;
		*cause = "URL too long";
	}
done:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	return (out);
}

/* Parse an absolute URL into a new handle, or NULL with *cause. */
static CURLU *
url_parse(const char *url, const char **cause)
{
	CURLU		*h;
	CURLUcode	 rc;

	if (strlen(url) > PBD_MAX_URL_BYTES) {
		*cause = "URL too long";
		return (NULL);
	}
	if ((*cause = url_check_scheme(url)) != NULL)
		return (NULL);
	if ((h = curl_url()) == NULL) {
		*cause = "out of memory";
		return (NULL);
	}
	if ((rc = curl_url_set(h, CURLUPART_URL, url, 0)) != CURLUE_OK) {
		*cause = curl_url_strerror(rc);
		curl_url_cleanup(h);
		return (NULL);
	}
	return (h);
}

/*
 * Normalise what h holds.  One pass is not always enough: decoding
 * escapes can reveal dot segments ("/a/%2e%2e/b"), and curl reads a
 * host it has decoded differently on the next parse ("http://%31/"
 * has host "1", which is then 0.0.0.1).  So the result is parsed again
 * until it stays the same, and the normal form is a fixed point.
 */
static char *
url_normalize_handle(CURLU *h, const char **cause)
{
	CURLU		*h2;
	char		*out, *again;
	int		 i;

	if ((out = url_build(h, cause)) == NULL)
		return (NULL);
	for (i = 0; i < URL_NORM_PASSES; i++) {
		if ((h2 = url_parse(out, cause)) == NULL) {
			free(out);
			return (NULL);
		}
		again = url_build(h2, cause);
		curl_url_cleanup(h2);
		if (again != NULL && strcmp(again, out) == 0) {
			free(again);
			return (out);
		}
		free(out);
		if ((out = again) == NULL)
			return (NULL);
	}
	free(out);
	*cause = "URL has no stable normal form";
	return (NULL);
}

char *
url_normalize(const char *url, const char **cause)
{
	CURLU		*h;
	const char	*dummy;
	char		*out;

	if (cause == NULL)
		cause = &dummy;
	if (url == NULL) {
		*cause = "no URL";
		return (NULL);
	}
	if ((h = url_parse(url, cause)) == NULL)
		return (NULL);
	out = url_normalize_handle(h, cause);
	curl_url_cleanup(h);
	return (out);
}

/* Copy ref without leading/trailing ASCII whitespace or inner TAB/CR/LF. */
static char *
url_strip(const char *ref)
{
	const char	*end;
	char		*out, *o;

	while (*ref != '\0' && strchr(" \t\n\f\r", *ref) != NULL)
		ref++;
	end = ref + strlen(ref);
	while (end > ref && strchr(" \t\n\f\r", end[-1]) != NULL)
		end--;
	o = out = xmalloc(end - ref + 1);
	for (; ref < end; ref++) {
		if (*ref != '\t' && *ref != '\n' && *ref != '\r')
			*o++ = *ref;
	}
	*o = '\0';
	return (out);
}

/* Set the (stripped, non-empty) reference r on h, then normalise. */
static char *
url_apply(CURLU *h, const char *r, const char **cause)
{
	CURLUcode	 rc;
	const char	*why;

	if ((rc = curl_url_set(h, CURLUPART_URL, r, 0)) != CURLUE_OK) {
		*cause = curl_url_strerror(rc);
		return (NULL);
	}
	/* An absolute reference must pass the same scheme checks. */
	why = url_check_scheme(r);
	if (why == NULL || strcmp(why, "not an absolute URL") == 0)
		return (url_normalize_handle(h, cause));
	*cause = why;
	return (NULL);
}

char *
url_resolve(const char *base, const char *ref, const char **cause)
{
	CURLU		*h = NULL;
	const char	*dummy;
	char		*r = NULL, *out = NULL;

	if (cause == NULL)
		cause = &dummy;
	if (base == NULL || ref == NULL) {
		*cause = "no URL";
		return (NULL);
	}
	r = url_strip(ref);
	/*
	 * An empty reference or a bare fragment is the base itself; curl
	 * 7.88 gets these wrong (it drops the last path segment).
	 */
	if (*r == '\0' || *r == '#') {
		out = url_normalize(base, cause);
		goto done;
	}
	if (strlen(r) > PBD_MAX_URL_BYTES) {
		*cause = "URL too long";
		goto done;
	}
	if ((h = url_parse(base, cause)) == NULL)
		goto done;
	out = url_apply(h, r, cause);
done:
	if (h != NULL)
		curl_url_cleanup(h);
	free(r);
	return (out);
}

/*
 * A parsed base URL, so that a page's links are resolved without
 * parsing the base again for each of them.
 */
struct url_base {
	CURLU	*h;
};

struct url_base *
url_base_new(const char *base, const char **cause)
{
	struct url_base	*b;
	CURLU		*h;
	const char	*dummy;

	if (cause == NULL)
		cause = &dummy;
	if (base == NULL) {
		*cause = "no URL";
		return (NULL);
	}
	if ((h = url_parse(base, cause)) == NULL)
		return (NULL);
	b = xmalloc(sizeof(*b));
	b->h = h;
	return (b);
}

/* Like url_resolve(base, ref), on a copy of the parsed base. */
char *
url_base_resolve(const struct url_base *b, const char *ref,
    const char **cause)
{
	CURLU		*h = NULL;
	const char	*dummy;
	char		*r = NULL, *out = NULL;

	if (cause == NULL)
		cause = &dummy;
	if (b == NULL || ref == NULL) {
		*cause = "no URL";
		return (NULL);
	}
	r = url_strip(ref);
	if (*r != '\0' && *r != '#' && strlen(r) > PBD_MAX_URL_BYTES) {
		*cause = "URL too long";
		goto done;
	}
	if ((h = curl_url_dup(b->h)) == NULL) {
		*cause = "out of memory";
		goto done;
	}
	/* As in url_resolve: an empty reference or a fragment is the base. */
	if (*r == '\0' || *r == '#')
		out = url_normalize_handle(h, cause);
	else
		out = url_apply(h, r, cause);
done:
	if (h != NULL)
		curl_url_cleanup(h);
	free(r);
	return (out);
}

void
url_base_free(struct url_base *b)
{
	if (b == NULL)
		return;
	curl_url_cleanup(b->h);
	free(b);
}

char *
url_host(const char *url)
{
	CURLU	*h;
	char	*host, *out, *p;

	if (url == NULL || (h = curl_url()) == NULL)
		return (NULL);
	if (curl_url_set(h, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) !=
	    CURLUE_OK || (host = url_part(h, CURLUPART_HOST)) == NULL) {
		curl_url_cleanup(h);
		return (NULL);
	}
	out = xstrdup(host);
	for (p = out; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	curl_free(host);
	curl_url_cleanup(h);
	return (out);
}

/*
 * Copy url for a log line with any user:password@ replaced by ***@, so
 * credentials never reach the logs.  Return url itself if it has none,
 * else buf.
 */
const char *
url_redact(const char *url, char *buf, size_t len)
{
	const char	*auth, *end, *at;

	if (url == NULL || (auth = strstr(url, "://")) == NULL)
		return (url);
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	for (at = end; at > auth && at[-1] != '@'; at--)
		;
	if (at == auth)
		return (url);
	(void)snprintf(buf, len, "%.*s***@%s", (int)(auth - url), url, at);
	return (buf);
}
