/*
 * The XML-RPC front: decode a pingback request body into a struct xr_call
 * and serialise responses and faults.  This is the only file that
 * includes xmlrpc-c.
 *
 * Everything an attacker sends is checked before xmlrpc-c sees it:
 * DOCTYPE and ENTITY declarations (the bundled expat expands entities:
 * billion laughs), invalid UTF-8, NUL bytes, element nesting deeper than
 * any pingback needs (xmlrpc-c builds and frees its element tree
 * recursively) and <i8> elements (xmlrpc-c 1.33 crashes on a malformed
 * one: a format string with two %s and one argument in parseI8).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xmlrpc-c/base.h>

#include "log.h"
#include "pbd.h"
#include "xmalloc.h"

#define XR_FAULT_BYTES	200	/* longest fault string from xr_decode */
#define XR_NAME_CHARS	64	/* method name quoted in a fault */
/* Elements deeper than this are refused before parsing. */
#define XR_MAX_DEPTH	(4 * PBD_XMLRPC_NESTING + 16)

#define XR_FAULT_CACHE	8	/* serialised fault documents kept */
#define XR_FAULT_CACHE_MSG_BYTES 256	/* longer messages are not kept */

#define XR_CLEAN_MSG	0x1	/* fault text: no controls at all, no C1 */
#define XR_CLEAN_ASCII	0x2	/* printable ASCII only */

/*
 * Fault documents already serialised, by (code, message): the daemon
 * answers the same few constant faults over and over, and the document
 * is a pure function of the two.  Replaced round-robin.
 */
struct xr_fault_doc {
	int		 code;
	char		*message;	/* NULL: slot unused */
	char		*doc;
	size_t		 len;
};
static struct xr_fault_doc	xr_faults[XR_FAULT_CACHE];
static size_t			xr_faults_next;

/* Free a string xmlrpc-c returned as const char * (it is malloc'd). */
static void
xr_free_const(const char *s)
{
	free((char *)(uintptr_t)s);
}

/*
 * Length of the well-formed UTF-8 sequence at s (n bytes available), or
 * 0 if there is none: no overlong forms, surrogates or code points
 * above U+10FFFF.
 */
static size_t
xr_utf8_len(const unsigned char *s, size_t n)
{
	size_t	 len, i;

	if (s[0] < 0x80)
		return (1);
	else if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return (0);
	if (n < len)
		return (0);
	for (i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return (0);
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
		return (0);
	return (len);
}

/* Return 1 if s[0..n) is valid UTF-8 without NUL bytes. */
static int
xr_utf8_valid(const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, len;

	while (i < n) {
		if (p[i] == '\0' || (len = xr_utf8_len(p + i, n - i)) == 0)
			return (0);
		i += len;
	}
	return (1);
}

/*
 * Copy s into a new string of at most max bytes (0: no limit) that is
 * valid UTF-8 and a legal XML character sequence: bad bytes and
 * controls become '?' (or ' ' for line breaks in fault text).  A cut
 * falls on a character boundary and is marked with "...".
 */
static char *
xr_clean(const char *s, size_t max, int flags)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = strlen(s), i = 0, off = 0, len;
	char			*out, repl;
	int			 cut = 0;

	if (max == 0 || max > n)
		max = n;
	out = xmalloc(max + 1);
	while (i < n) {
		repl = '\0';
		if ((len = xr_utf8_len(p + i, n - i)) == 0) {
			len = 1;
			repl = '?';
		} else if (len == 1 && (p[i] < 0x20 || p[i] == 0x7f)) {
			if (p[i] == '\t' || p[i] == '\n' || p[i] == '\r')
				repl = (flags & XR_CLEAN_MSG) ? ' ' : '\0';
			else
				repl = '?';
		} else if (len > 1 && (flags & XR_CLEAN_ASCII))
			repl = '?';
		else if (len == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0 &&
		    (flags & XR_CLEAN_MSG))
			repl = '?';	/* C1 control */
		else if (len == 3 && p[i] == 0xef && p[i + 1] == 0xbf &&
		    p[i + 2] >= 0xbe)
			repl = '?';	/* U+FFFE, U+FFFF: not XML */
		if (off + (repl != '\0' ? 1 : len) > max) {
			cut = 1;
			break;
		}
		if (repl != '\0')
			out[off++] = repl;
		else {
			memcpy(out + off, p + i, len);
			off += len;
		}
		i += len;
	}
	if (cut && max >= 3) {
		/* Back up to a character boundary with room for "...". */
		if (off > max - 3) {
			off = max - 3;
			while (off > 0 && (out[off] & 0xc0) == 0x80)
				off--;
		}
		memcpy(out + off, "...", 3);
		off += 3;
	}
	out[off] = '\0';
	return (out);
}

/* Return 1 if p[0..n) is the lower-case ASCII word, in any case. */
static int
xr_word_nocase(const char *p, size_t n, const char *word, size_t m)
{
	size_t	 j;
	char	 c;

	if (n < m)
		return (0);
	for (j = 0; j < m; j++) {
		c = p[j];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != word[j])
			return (0);
	}
	return (1);
}

/*
 * Return 1 if "<!DOCTYPE" or "<!ENTITY" (in any case) occurs anywhere
 * in body[0..n): one pass, from one '<' to the next.
 */
static int
xr_has_decl(const char *body, size_t n)
{
	const char	*p = body, *end = body + n;

	while ((p = memchr(p, '<', (size_t)(end - p))) != NULL) {
		p++;
		if (xr_word_nocase(p, (size_t)(end - p), "!doctype", 8) ||
		    xr_word_nocase(p, (size_t)(end - p), "!entity", 7))
			return (1);
	}
	return (0);
}

/* Return 1 if the tag name at p (up to end) is exactly name. */
static int
xr_tag_is(const char *p, const char *end, const char *name)
{
	size_t	 n = strlen(name);

	if ((size_t)(end - p) < n || memcmp(p, name, n) != 0)
		return (0);
	p += n;
	return (p == end || strchr(" \t\r\n/>", *p) != NULL);
}

/*
 * Walk the markup (body is valid UTF-8 without NUL) and refuse what
 * xmlrpc-c handles badly: element nesting beyond XR_MAX_DEPTH and <i8>
 * elements.  Comments, CDATA sections and processing instructions are
 * skipped.  Return NULL or a static reason.
 */
static const char *
xr_prescan(const char *body, size_t len)
{
	const char	*p = body, *end = body + len, *q;
	char		 quote;
	int		 depth = 0;

	while ((p = memchr(p, '<', (size_t)(end - p))) != NULL) {
		if (end - p >= 4 && memcmp(p, "<!--", 4) == 0)
			q = memmem(p + 4, (size_t)(end - p - 4), "-->", 3);
		else if (end - p >= 9 && memcmp(p, "<![CDATA[", 9) == 0)
			q = memmem(p + 9, (size_t)(end - p - 9), "]]>", 3);
		else if (end - p >= 2 && p[1] == '?')
			q = memmem(p + 2, (size_t)(end - p - 2), "?>", 2);
		else if (end - p >= 2 && p[1] == '/') {
			if (depth > 0)
				depth--;
			q = p + 1;
		} else {
			if (xr_tag_is(p + 1, end, "i8") ||
			    xr_tag_is(p + 1, end, "ex:i8"))
				return ("i8 values are not accepted");
			quote = '\0';
			for (q = p + 1; q < end && (quote != '\0' || *q != '>');
			    q++) {
				if (quote != '\0' && *q == quote)
					quote = '\0';
				else if (quote == '\0' && (*q == '"' ||
				    *q == '\''))
					quote = *q;
			}
			if (q >= end || q[-1] != '/')
				if (++depth > XR_MAX_DEPTH)
					return ("XML nesting is too deep");
		}
		if (q == NULL || q >= end)
			break;
		p = q + 1;
	}
	return (NULL);
}

/* Set a fault from a format; the text is cleaned and bounded. */
static int
xr_fail(int *fault_code, char **fault_string, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
xr_fail(int *fault_code, char **fault_string, const char *fmt, ...)
{
	va_list	 ap;
	char	*raw;

	va_start(ap, fmt);
	if (vasprintf(&raw, fmt, ap) == -1)
		fatal("xr_fail");
	va_end(ap);
	*fault_code = PB_FAULT_GENERIC;
	*fault_string = xr_clean(raw, XR_FAULT_BYTES, XR_CLEAN_MSG);
	free(raw);
	return (-1);
}

/*
 * Read the string parameters of a call into out[0..n): exactly n
 * parameters, each an XML-RPC string without NUL.  Return 0, or -1 if
 * the parameters do not fit (out is then untouched).
 */
static int
xr_read_strings(xmlrpc_value *params, char **out, size_t n)
{
	xmlrpc_env	 env;
	xmlrpc_value	*item;
	const char	*s;
	size_t		 i, j, slen;
	int		 size, rc = -1;

	xmlrpc_env_init(&env);
	size = xmlrpc_array_size(&env, params);
	if (env.fault_occurred || size < 0 || (size_t)size != n)
		goto done;
	for (i = 0; i < n; i++) {
		xmlrpc_array_read_item(&env, params, (unsigned int)i, &item);
		if (env.fault_occurred)
			goto fail;
		s = NULL;
		if (xmlrpc_value_type(item) == XMLRPC_TYPE_STRING)
			xmlrpc_read_string_lp(&env, item, &slen, &s);
		xmlrpc_DECREF(item);
		if (s == NULL || env.fault_occurred)
			goto fail;
		if (memchr(s, '\0', slen) != NULL || !xr_utf8_valid(s, slen)) {
			xr_free_const(s);
			goto fail;
		}
		out[i] = xstrndup(s, slen);
		xr_free_const(s);
	}
	rc = 0;
	goto done;
fail:
	for (j = 0; j < i; j++) {
		free(out[j]);
		out[j] = NULL;
	}
done:
	xmlrpc_env_clean(&env);
	return (rc);
}

/* Map a parsed method and its parameters onto call. */
static int
xr_dispatch(const char *method, xmlrpc_value *params, struct xr_call *call,
    int *fault_code, char **fault_string)
{
	xmlrpc_env	 env;
	char		*v[2] = { NULL, NULL }, *name;
	int		 size, rc;

	if (strcmp(method, "pingback.ping") == 0) {
		if (xr_read_strings(params, v, 2) == -1)
			return (xr_fail(fault_code, fault_string,
			    "pingback.ping takes 2 string parameters "
			    "(sourceURI, targetURI)"));
		call->method = XR_PING;
		call->source = v[0];
		call->target = v[1];
		return (0);
	}
	if (strcmp(method, "pingback.extensions.getPingbacks") == 0) {
		if (xr_read_strings(params, v, 1) == -1)
			return (xr_fail(fault_code, fault_string,
			    "pingback.extensions.getPingbacks takes 1 string "
			    "parameter (url)"));
		call->method = XR_GET_PINGBACKS;
		call->url = v[0];
		return (0);
	}
	if (strcmp(method, "system.listMethods") == 0) {
		xmlrpc_env_init(&env);
		size = xmlrpc_array_size(&env, params);
		rc = env.fault_occurred || size != 0;
		xmlrpc_env_clean(&env);
		if (rc)
			return (xr_fail(fault_code, fault_string,
			    "system.listMethods takes no parameters"));
		call->method = XR_LIST_METHODS;
		return (0);
	}
	if (strcmp(method, "system.multicall") == 0)
		return (xr_fail(fault_code, fault_string,
		    "system.multicall is not supported"));
	name = xr_clean(method, XR_NAME_CHARS, XR_CLEAN_MSG | XR_CLEAN_ASCII);
	xr_fail(fault_code, fault_string, "unknown method \"%s\"", name);
	free(name);
	return (-1);
}

void
xr_init(size_t max_body)
{
	xmlrpc_limit_set(XMLRPC_NESTING_LIMIT_ID, PBD_XMLRPC_NESTING);
	xmlrpc_limit_set(XMLRPC_XML_SIZE_LIMIT_ID, max_body);
}

int
xr_decode(const char *body, size_t len, struct xr_call *call,
    int *fault_code, char **fault_string)
{
	xmlrpc_env	 env;
	xmlrpc_value	*params = NULL;
	const char	*method = NULL, *why;
	int		 rc;

	memset(call, 0, sizeof(*call));
	*fault_code = PB_FAULT_GENERIC;
	*fault_string = NULL;

	if (body == NULL || len == 0)
		return (xr_fail(fault_code, fault_string,
		    "empty request body"));
	if (xr_has_decl(body, len))
		return (xr_fail(fault_code, fault_string,
		    "DOCTYPE and ENTITY declarations are not accepted"));
	if (!xr_utf8_valid(body, len))
		return (xr_fail(fault_code, fault_string,
		    "request is not valid UTF-8"));
	if ((why = xr_prescan(body, len)) != NULL)
		return (xr_fail(fault_code, fault_string,
		    "request is not an XML-RPC methodCall: %s", why));

	xmlrpc_env_init(&env);
	xmlrpc_parse_call(&env, body, len, &method, &params);
	if (env.fault_occurred) {
		rc = xr_fail(fault_code, fault_string,
		    "request is not an XML-RPC methodCall: %s",
		    env.fault_string != NULL ? env.fault_string : "?");
		xmlrpc_env_clean(&env);
		return (rc);
	}
	xmlrpc_env_clean(&env);
	rc = xr_dispatch(method, params, call, fault_code, fault_string);
	xr_free_const(method);
	xmlrpc_DECREF(params);
	return (rc);
}

void
xr_call_free(struct xr_call *call)
{
	if (call == NULL)
		return;
	free(call->source);
	free(call->target);
	free(call->url);
	call->source = call->target = call->url = NULL;
}

/*
 * Serialise a methodResponse carrying v, or a fault if fault is set,
 * into a new NUL-terminated buffer.  Inputs are cleaned beforehand, so
 * xmlrpc-c fails only when out of memory, which is fatal as in xmalloc.
 */
static char *
xr_serialize(xmlrpc_value *v, const xmlrpc_env *fault, size_t *len)
{
	xmlrpc_env		 env;
	xmlrpc_mem_block	*mb;
	char			*out;
	size_t			 n;

	xmlrpc_env_init(&env);
	mb = xmlrpc_mem_block_new(&env, 0);
	if (!env.fault_occurred) {
		if (fault != NULL)
			xmlrpc_serialize_fault(&env, mb, fault);
		else
			xmlrpc_serialize_response2(&env, mb, v,
			    xmlrpc_dialect_i8);
	}
	if (env.fault_occurred)
		fatalx("xmlrpc-c serialisation failed: %s", env.fault_string);
	n = xmlrpc_mem_block_size(mb);
	out = xmalloc(n + 1);
	memcpy(out, xmlrpc_mem_block_contents(mb), n);
	out[n] = '\0';
	xmlrpc_mem_block_free(mb);
	xmlrpc_env_clean(&env);
	if (len != NULL)
		*len = n;
	return (out);
}

/* A new xmlrpc-c string value holding a cleaned copy of s. */
static xmlrpc_value *
xr_string_value(const char *s)
{
	xmlrpc_env	 env;
	xmlrpc_value	*v;
	char		*clean;

	clean = xr_clean(s != NULL ? s : "", 0, 0);
	xmlrpc_env_init(&env);
	v = xmlrpc_string_new(&env, clean);
	if (env.fault_occurred)
		fatalx("xmlrpc_string_new: %s", env.fault_string);
	xmlrpc_env_clean(&env);
	free(clean);
	return (v);
}

char *
xr_encode_string(const char *value, size_t *len)
{
	xmlrpc_value	*v;
	char		*out;

	v = xr_string_value(value);
	out = xr_serialize(v, NULL, len);
	xmlrpc_DECREF(v);
	return (out);
}

char *
xr_encode_strings(char *const *values, size_t n, size_t *len)
{
	xmlrpc_env	 env;
	xmlrpc_value	*array, *v;
	char		*out;
	size_t		 i;

	xmlrpc_env_init(&env);
	array = xmlrpc_array_new(&env);
	if (env.fault_occurred)
		fatalx("xmlrpc_array_new: %s", env.fault_string);
	for (i = 0; i < n; i++) {
		v = xr_string_value(values[i]);
		xmlrpc_array_append_item(&env, array, v);
		xmlrpc_DECREF(v);
		if (env.fault_occurred)
			fatalx("xmlrpc_array_append_item: %s",
			    env.fault_string);
	}
	xmlrpc_env_clean(&env);
	out = xr_serialize(array, NULL, len);
	xmlrpc_DECREF(array);
	return (out);
}

/* A new copy of the n bytes of doc, NUL-terminated. */
static char *
xr_copy_doc(const char *doc, size_t n, size_t *len)
{
	char	*out;

	out = xmalloc(n + 1);
	memcpy(out, doc, n + 1);
	if (len != NULL)
		*len = n;
	return (out);
}

char *
xr_encode_fault(int code, const char *message, size_t *len)
{
	struct xr_fault_doc	*f;
	xmlrpc_env		 fault;
	char			*clean, *out;
	size_t			 i, n;

	if (message == NULL)
		message = "";
	for (i = 0; i < XR_FAULT_CACHE; i++) {
		f = &xr_faults[i];
		if (f->message != NULL && f->code == code &&
		    strcmp(f->message, message) == 0)
			return (xr_copy_doc(f->doc, f->len, len));
	}
	clean = xr_clean(message, 0, XR_CLEAN_MSG);
	xmlrpc_env_init(&fault);
	xmlrpc_env_set_fault(&fault, code, clean);
	out = xr_serialize(NULL, &fault, &n);
	xmlrpc_env_clean(&fault);
	free(clean);
	if (strlen(message) <= XR_FAULT_CACHE_MSG_BYTES) {
		f = &xr_faults[xr_faults_next];
		xr_faults_next = (xr_faults_next + 1) % XR_FAULT_CACHE;
		free(f->message);
		free(f->doc);
		f->code = code;
		f->message = xstrdup(message);
		f->doc = xr_copy_doc(out, n, NULL);
		f->len = n;
	}
	if (len != NULL)
		*len = n;
	return (out);
}
