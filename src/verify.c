/*
 * Verification of a fetched page: does it link to the target, and what
 * are its title and the excerpt around the link.  A pure function of
 * its arguments: no global state, no I/O.
 *
 * Charsets follow the WHATWG order: a byte order mark, then the HTTP
 * header's charset, then a <meta> in the first 1024 bytes; pages that
 * declare none are UTF-8 if they are valid UTF-8.  Otherwise libxml2
 * looks for a late <meta> itself.  ISO-8859-1 and US-ASCII are read as
 * windows-1252, as browsers do.  libxml2's tree is UTF-8 either way.
 */
#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/encoding.h>
#include <libxml/tree.h>

#include "pbd.h"
#include "xmalloc.h"

#define VERIFY_PRESCAN_BYTES	1024	/* WHATWG's <meta> prescan */
#define VERIFY_WORD_SLACK	40	/* bytes given up for a word boundary */
#define VERIFY_BAD_CP		0xffffffffU

/* Plain text being collected, whitespace collapsed on the fly. */
struct verify_text {
	char		*buf;
	size_t		 len;
	size_t		 cap;
	int		 space;		/* a space is pending */
	const xmlNode	*link;		/* the link whose text is tracked */
	int		 in_link;
	int		 link_seen;	/* the link has text */
	size_t		 link_s;	/* byte offsets of the link text */
	size_t		 link_e;
};

/* Elements whose content is never a link nor excerpt text. */
static const char *const verify_opaque[] = {
	"script", "style", "template", "textarea", "iframe", "noembed",
	"noframes", "xmp", "title", "svg", "math", NULL
};

/* Elements that end a run of text (and bound the excerpt). */
static const char *const verify_blocks[] = {
	"p", "div", "li", "td", "th", "blockquote", "article", "section",
	"dd", "dt", "h1", "h2", "h3", "h4", "h5", "h6", "body", "pre",
	"main", "aside", "header", "footer", "nav", "figure", "figcaption",
	"address", "caption", "details", "summary", "form", "fieldset",
	"table", "ul", "ol", "dl", "html", NULL
};

/* Labels read as windows-1252 (WHATWG Encoding, "windows-1252"). */
static const char *const verify_1252[] = {
	"ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1",
	"ibm819", "iso-8859-1", "iso-ir-100", "iso8859-1", "iso88591",
	"iso_8859-1", "iso_8859-1:1987", "l1", "latin1", "us-ascii",
	"windows-1252", "x-cp1252", NULL
};

static int
verify_in(const char *name, const char *const *list)
{
	for (; *list != NULL; list++) {
		if (strcasecmp(name, *list) == 0)
			return (1);
	}
	return (0);
}

static int
verify_is(const xmlNode *n, const char *name)
{
	return (n->type == XML_ELEMENT_NODE && n->name != NULL &&
	    strcmp((const char *)n->name, name) == 0);
}

static int
verify_is_in(const xmlNode *n, const char *const *list)
{
	return (n->type == XML_ELEMENT_NODE && n->name != NULL &&
	    verify_in((const char *)n->name, list));
}

/*
 * Decode one UTF-8 sequence of at most n bytes into *cp (VERIFY_BAD_CP
 * if it is invalid) and return its length (1 for an invalid byte).
 */
static size_t
verify_utf8(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t	 c, min;
	size_t		 len, i;

	*cp = VERIFY_BAD_CP;
	if (s[0] < 0x80) {
		*cp = s[0];
		return (1);
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		c = s[0] & 0x07;
		min = 0x10000;
	} else
		return (1);
	if (len > n)
		return (1);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (1);
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return (1);
	*cp = c;
	return (len);
}

/* Encode c as UTF-8 at o; return the length. */
static size_t
verify_enc(char *o, uint32_t c)
{
	if (c < 0x80) {
		o[0] = (char)c;
		return (1);
	}
	if (c < 0x800) {
		o[0] = (char)(0xc0 | (c >> 6));
		o[1] = (char)(0x80 | (c & 0x3f));
		return (2);
	}
	if (c < 0x10000) {
		o[0] = (char)(0xe0 | (c >> 12));
		o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		o[2] = (char)(0x80 | (c & 0x3f));
		return (3);
	}
	o[0] = (char)(0xf0 | (c >> 18));
	o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	o[3] = (char)(0x80 | (c & 0x3f));
	return (4);
}

/* Return 1 if the page is valid UTF-8 throughout. */
static int
verify_valid_utf8(const char *body, size_t len)
{
	const unsigned char	*s = (const unsigned char *)body;
	uint32_t		 cp;
	size_t			 i;

	for (i = 0; i < len; ) {
		i += verify_utf8(s + i, len - i, &cp);
		if (cp == VERIFY_BAD_CP)
			return (0);
	}
	return (1);
}

/*
 * Map a charset label to the name handed to libxml2, or NULL if it is
 * empty or libxml2 (iconv) does not know it.  The result is label
 * (trimmed in place) or a static string.
 */
static const char *
verify_charset(char *label, int from_meta)
{
	xmlCharEncodingHandlerPtr	 h;
	char				*end;

	while (isspace((unsigned char)*label))
		label++;
	end = label + strlen(label);
	while (end > label && isspace((unsigned char)end[-1]))
		*--end = '\0';
	if (*label == '\0')
		return (NULL);
	if (verify_in(label, verify_1252))
		return ("windows-1252");
	if (strcasecmp(label, "utf8") == 0 || strcasecmp(label, "utf-8") == 0 ||
	    (from_meta && strncasecmp(label, "utf-16", 6) == 0))
		return ("UTF-8");
	if (strcasecmp(label, "latin5") == 0 ||
	    strcasecmp(label, "iso-8859-9") == 0)
		return ("windows-1254");
	if (strcasecmp(label, "gb2312") == 0)
		return ("GBK");
	if ((h = xmlFindCharEncodingHandler(label)) == NULL)
		return (NULL);
	xmlCharEncCloseFunc(h);
	return (label);
}

/* Copy a parameter value (quoted or not) from s into out (size n). */
static void
verify_param_value(const char *s, size_t slen, char *out, size_t n)
{
	size_t	 i = 0, o = 0;
	char	 q = '\0';

	while (i < slen && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i < slen && (s[i] == '"' || s[i] == '\''))
		q = s[i++];
	for (; i < slen && o + 1 < n; i++) {
		if (q != '\0' ? s[i] == q : (s[i] == ';' || s[i] == ' ' ||
		    s[i] == '\t' || s[i] == ',' || s[i] == '>'))
			break;
		out[o++] = s[i];
	}
	out[o] = '\0';
}

/*
 * Find "charset=" in s (a Content-Type value or a meta content
 * attribute) and copy its value into out.  Return 1 if found.
 */
static int
verify_find_charset(const char *s, size_t slen, char *out, size_t n)
{
	size_t	 i, j;

	for (i = 0; i + 7 <= slen; i++) {
		if (strncasecmp(s + i, "charset", 7) != 0)
			continue;
		j = i + 7;
		while (j < slen && (s[j] == ' ' || s[j] == '\t'))
			j++;
		if (j >= slen || s[j] != '=')
			continue;
		verify_param_value(s + j + 1, slen - j - 1, out, n);
		return (out[0] != '\0');
	}
	return (0);
}

/*
 * Read one attribute of a tag at s[*i], WHATWG prescan style.  Return
 * 0 at the end of the tag.
 */
static int
verify_attr(const char *s, size_t len, size_t *i, char *name, size_t nn,
    const char **val, size_t *vlen)
{
	size_t	 o = 0;
	char	 q;

	while (*i < len && (isspace((unsigned char)s[*i]) || s[*i] == '/'))
		(*i)++;
	if (*i >= len || s[*i] == '>')
		return (0);
	while (*i < len && s[*i] != '=' && s[*i] != '>' && s[*i] != '/' &&
	    !isspace((unsigned char)s[*i])) {
		if (o + 1 < nn)
			name[o++] = (char)tolower((unsigned char)s[*i]);
		(*i)++;
	}
	name[o] = '\0';
	*val = "";
	*vlen = 0;
	while (*i < len && isspace((unsigned char)s[*i]))
		(*i)++;
	if (*i >= len || s[*i] != '=')
		return (1);
	(*i)++;
	while (*i < len && isspace((unsigned char)s[*i]))
		(*i)++;
	if (*i < len && (s[*i] == '"' || s[*i] == '\'')) {
		q = s[(*i)++];
		*val = s + *i;
		while (*i < len && s[*i] != q)
			(*i)++;
		*vlen = s + *i - *val;
		if (*i < len)
			(*i)++;
	} else {
		*val = s + *i;
		while (*i < len && s[*i] != '>' &&
		    !isspace((unsigned char)s[*i]))
			(*i)++;
		*vlen = s + *i - *val;
	}
	return (1);
}

/* Read the attributes of a <meta> at s[*i]; 1 if it names a charset. */
static int
verify_meta(const char *s, size_t len, size_t *i, char *out, size_t n)
{
	const char	*val;
	char		 name[32], cs[64];
	size_t		 vlen;
	int		 pragma = 0, have = 0;

	out[0] = '\0';
	while (verify_attr(s, len, i, name, sizeof(name), &val, &vlen)) {
		if (strcmp(name, "charset") == 0 && out[0] == '\0')
			verify_param_value(val, vlen, out, n);
		else if (strcmp(name, "http-equiv") == 0 && vlen == 12 &&
		    strncasecmp(val, "content-type", 12) == 0)
			pragma = 1;
		else if (strcmp(name, "content") == 0 && !have)
			have = verify_find_charset(val, vlen, cs, sizeof(cs));
	}
	if (out[0] != '\0')
		return (1);
	if (pragma && have) {
		snprintf(out, n, "%s", cs);
		return (1);
	}
	return (0);
}

/* Look for a <meta> charset declaration in the first bytes of the page. */
static int
verify_prescan(const char *s, size_t len, char *out, size_t n)
{
	const char	*end, *val;
	char		 name[32];
	size_t		 i, vlen;

	if (len > VERIFY_PRESCAN_BYTES)
		len = VERIFY_PRESCAN_BYTES;
	for (i = 0; i + 1 < len; i++) {
		if (s[i] != '<')
			continue;
		if (len - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
			if ((end = memmem(s + i + 4, len - i - 4, "-->", 3)) ==
			    NULL)
				return (0);
			i = end - s + 2;
		} else if (s[i + 1] == '/' || s[i + 1] == '!' ||
		    s[i + 1] == '?') {
			/* End tag, doctype, processing instruction. */
			if ((end = memchr(s + i, '>', len - i)) == NULL)
				return (0);
			i = end - s;
		} else if (len - i >= 6 &&
		    strncasecmp(s + i, "<meta", 5) == 0 &&
		    (isspace((unsigned char)s[i + 5]) || s[i + 5] == '/')) {
			i += 5;
			if (verify_meta(s, len, &i, out, n))
				return (1);
		} else if (isalpha((unsigned char)s[i + 1])) {
			/* Another tag: skip it with its attributes. */
			for (i++; i < len && isalnum((unsigned char)s[i]); i++)
				;
			while (verify_attr(s, len, &i, name, sizeof(name),
			    &val, &vlen))
				;
		}
	}
	return (0);
}

/* Choose the encoding to hand to libxml2; NULL lets it detect. */
static const char *
verify_encoding(const char *body, size_t len, const char *content_type,
    char *label, size_t n)
{
	const char	*enc;

	if (len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0)
		return ("UTF-8");
	if (len >= 2 && (memcmp(body, "\xff\xfe", 2) == 0 ||
	    memcmp(body, "\xfe\xff", 2) == 0))
		return (NULL);
	if (content_type != NULL && verify_find_charset(content_type,
	    strlen(content_type), label, n) &&
	    (enc = verify_charset(label, 0)) != NULL)
		return (enc);
	if (verify_prescan(body, len, label, n) &&
	    (enc = verify_charset(label, 1)) != NULL)
		return (enc);
	if (verify_valid_utf8(body, len))
		return ("UTF-8");
	return (NULL);
}

int
verify_is_html(const char *content_type)
{
	const char	*p = content_type;
	size_t		 n;

	if (p == NULL)
		return (1);
	while (*p == ' ' || *p == '\t')
		p++;
	n = strcspn(p, "; \t");
	if (n == 0)
		return (1);
	if ((n == 9 && strncasecmp(p, "text/html", 9) == 0) ||
	    (n == 21 && strncasecmp(p, "application/xhtml+xml", 21) == 0))
		return (1);
	return (0);
}

/* Step to the next node in document order below top; skip: not down. */
static xmlNode *
verify_next(xmlNode *n, const xmlNode *top, int skip)
{
	if (!skip && n->type == XML_ELEMENT_NODE && n->children != NULL)
		return (n->children);
	while (n != NULL && n != top) {
		if (n->next != NULL)
			return (n->next);
		n = n->parent;
	}
	return (NULL);
}

static void
verify_grow(struct verify_text *t, size_t more)
{
	if (t->len + more + 1 <= t->cap)
		return;
	t->cap = (t->len + more + 1) * 2;
	if (t->cap < 256)
		t->cap = 256;
	t->buf = xreallocarray(t->buf, t->cap, 1);
}

/* Append one code point, collapsing ASCII whitespace and dropping controls. */
static void
verify_putc(struct verify_text *t, uint32_t c)
{
	if (c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r') {
		if (t->len > 0)
			t->space = 1;
		return;
	}
	if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0))
		return;
	if (c == VERIFY_BAD_CP)
		c = 0xfffd;
	verify_grow(t, 5);
	if (t->space) {
		t->buf[t->len++] = ' ';
		t->space = 0;
	}
	if (t->in_link && !t->link_seen) {
		t->link_s = t->len;
		t->link_seen = 1;
	}
	t->len += verify_enc(t->buf + t->len, c);
	t->buf[t->len] = '\0';
	if (t->in_link)
		t->link_e = t->len;
}

/* Append a UTF-8 string; invalid sequences become U+FFFD. */
static void
verify_puts(struct verify_text *t, const xmlChar *s)
{
	size_t		 n, l;
	uint32_t	 c;

	if (s == NULL)
		return;
	for (n = strlen((const char *)s); n > 0; n -= l, s += l) {
		l = verify_utf8(s, n, &c);
		verify_putc(t, c);
	}
}

/* Leave an element while collecting: close the link, end a block. */
static void
verify_leave(struct verify_text *t, const xmlNode *n)
{
	if (n == t->link && t->in_link) {
		t->in_link = 0;
		if (!t->link_seen)
			t->link_s = t->link_e = t->len;
		t->link_seen = 1;
	}
	if (t->len > 0 && (verify_is_in(n, verify_blocks) ||
	    verify_is(n, "br") || verify_is(n, "hr") || verify_is(n, "tr") ||
	    verify_is(n, "img")))
		t->space = 1;
}

/* Collect the plain text below top into t. */
static void
verify_collect(struct verify_text *t, xmlNode *top)
{
	xmlNode	*n;
	int	 down;

	for (n = top->children; n != NULL; ) {
		down = 0;
		if (n->type == XML_TEXT_NODE)
			verify_puts(t, n->content);
		else if (n->type == XML_ELEMENT_NODE &&
		    !verify_is_in(n, verify_opaque)) {
			if (n == t->link)
				t->in_link = 1;
			if (verify_is_in(n, verify_blocks) && t->len > 0)
				t->space = 1;
			down = n->children != NULL;
		}
		if (down) {
			n = n->children;
			continue;
		}
		if (n->type == XML_ELEMENT_NODE)
			verify_leave(t, n);
		while (n != top && n->next == NULL) {
			n = n->parent;
			if (n != top)
				verify_leave(t, n);
		}
		n = n == top ? NULL : n->next;
	}
}

static size_t
verify_fwd(const char *s, size_t len, size_t pos, size_t n)
{
	for (; n > 0 && pos < len; n--) {
		pos++;
		while (pos < len && (s[pos] & 0xc0) == 0x80)
			pos++;
	}
	return (pos);
}

static size_t
verify_back(const char *s, size_t pos, size_t n)
{
	for (; n > 0 && pos > 0; n--) {
		pos--;
		while (pos > 0 && (s[pos] & 0xc0) == 0x80)
			pos--;
	}
	return (pos);
}

static size_t
verify_count(const char *s, size_t a, size_t b)
{
	size_t	 n = 0;

	for (; a < b; a++) {
		if ((s[a] & 0xc0) != 0x80)
			n++;
	}
	return (n);
}

/* Copy s[a..b) with "…" where text was cut on either side. */
static char *
verify_window(const char *s, size_t len, size_t a, size_t b)
{
	char	*out;
	int	 left = a > 0, right = b < len;

	while (a < b && s[a] == ' ')
		a++;
	while (b > a && s[b - 1] == ' ')
		b--;
	xasprintf(&out, "%s%.*s%s", left ? "\xe2\x80\xa6" : "",
	    (int)(b - a), s + a, right ? "\xe2\x80\xa6" : "");
	return (out);
}

/*
 * Cut a window of at most max characters (ellipses included) out of
 * the text, around the link text, centred on it where the text allows,
 * at word boundaries where that costs little.
 */
static char *
verify_excerpt(const struct verify_text *t, size_t max)
{
	const char	*s = t->buf;
	size_t		 len = t->len, w, lc, avl, avr, l, r, a, b, i;

	if (len == 0)
		return (xstrdup(""));
	if (verify_count(s, 0, len) <= max)
		return (verify_window(s, len, 0, len));
	w = max - 2;
	lc = verify_count(s, t->link_s, t->link_e);
	if (lc >= w) {
		a = t->link_s;
		b = verify_fwd(s, len, a, w);
	} else {
		avl = verify_count(s, 0, t->link_s);
		avr = verify_count(s, t->link_e, len);
		l = (w - lc) / 2;
		r = w - lc - l;
		if (avl < l) {
			r += l - avl;
			l = avl;
		}
		if (avr < r) {
			l += r - avr;
			r = avr;
			if (l > avl)
				l = avl;
		}
		/* No ellipsis on one side leaves a character for the other. */
		if (l == avl && r < avr)
			r++;
		else if (r == avr && l < avl)
			l++;
		a = verify_back(s, t->link_s, l);
		b = verify_fwd(s, len, t->link_e, r);
	}
	/* Move the cuts out of words, but never into the link text. */
	if (a > 0 && s[a - 1] != ' ' && s[a] != ' ') {
		for (i = a; i < t->link_s && i < a + VERIFY_WORD_SLACK; i++)
			if (s[i] == ' ')
				break;
		if (i < t->link_s && s[i] == ' ')
			a = i + 1;
	}
	if (b < len && s[b] != ' ' && s[b - 1] != ' ') {
		for (i = b; i > t->link_e && i + VERIFY_WORD_SLACK > b; i--)
			if (s[i - 1] == ' ')
				break;
		if (i > t->link_e && s[i - 1] == ' ')
			b = i - 1;
	}
	return (verify_window(s, len, a, b));
}

/* Cut collected text to PBD_MAX_TITLE_CHARS characters; NULL if empty. */
static char *
verify_title_cut(struct verify_text *t)
{
	char	*out;
	size_t	 cut;

	if (t->len == 0) {
		free(t->buf);
		return (NULL);
	}
	if (verify_count(t->buf, 0, t->len) <= PBD_MAX_TITLE_CHARS)
		return (t->buf);
	cut = verify_fwd(t->buf, t->len, 0, PBD_MAX_TITLE_CHARS - 1);
	while (cut > 0 && t->buf[cut - 1] == ' ')
		cut--;
	xasprintf(&out, "%.*s\xe2\x80\xa6", (int)cut, t->buf);
	free(t->buf);
	return (out);
}

/* Collapse and cut a title to PBD_MAX_TITLE_CHARS characters. */
static char *
verify_title(xmlNode *title)
{
	struct verify_text	 t;

	memset(&t, 0, sizeof(t));
	verify_collect(&t, title);
	return (verify_title_cut(&t));
}

/*
 * The page's host as its title.  curl lets any byte through in a host
 * name, so it is cleaned like page text: valid UTF-8, no controls, cut.
 */
static char *
verify_host_title(const char *page_url)
{
	struct verify_text	 t;
	char			*host;

	if ((host = url_host(page_url)) == NULL)
		return (NULL);
	memset(&t, 0, sizeof(t));
	verify_puts(&t, (const xmlChar *)host);
	free(host);
	return (verify_title_cut(&t));
}

/*
 * Resolve an href against the base (parsed once as bh where it could
 * be), or take it as absolute without one, and compare.
 */
static int
verify_href_matches(const struct url_base *bh, const char *base,
    const xmlChar *href, const char *target)
{
	const char	*cause;
	char		*u;
	int		 match;

	if (bh != NULL)
		u = url_base_resolve(bh, (const char *)href, &cause);
	else if (base != NULL)
		u = url_resolve(base, (const char *)href, &cause);
	else
		u = url_normalize((const char *)href, &cause);
	match = u != NULL && strcmp(u, target) == 0;
	free(u);
	return (match);
}

/* Walk the element tree: the base URL, the title and the first link. */
static void
verify_walk(xmlDoc *doc, const char *page_url, const char *target,
    xmlNode **title, xmlNode **link)
{
	xmlNode		*root, *n;
	xmlChar		*href;
	char		*base = NULL;
	struct url_base	*bh = NULL;
	const xmlNode	*top = (const xmlNode *)doc;
	const char	*cause;
	int		 opaque = 0;

	*title = *link = NULL;
	if ((root = xmlDocGetRootElement(doc)) == NULL)
		return;
	for (n = root; n != NULL; n = verify_next(n, top,
	    verify_is_in(n, verify_opaque))) {
		if (verify_is(n, "base") &&
		    (href = xmlGetProp(n, (const xmlChar *)"href")) != NULL) {
			base = url_resolve(page_url, (const char *)href,
			    &cause);
			xmlFree(href);
			break;
		}
	}
	if (base == NULL)
		base = url_normalize(page_url, &cause);
	if (base != NULL)
		bh = url_base_new(base, &cause);
	for (n = root; n != NULL; n = verify_next(n, top, opaque)) {
		opaque = verify_is_in(n, verify_opaque);
		if (*title == NULL && verify_is(n, "title"))
			*title = n;
		if (*link != NULL || opaque || n->type != XML_ELEMENT_NODE ||
		    (!verify_is(n, "a") && !verify_is(n, "area")))
			continue;
		if ((href = xmlGetProp(n, (const xmlChar *)"href")) == NULL)
			continue;
		if (verify_href_matches(bh, base, href, target))
			*link = n;
		xmlFree(href);
		if (*link != NULL && *title != NULL)
			break;
	}
	url_base_free(bh);
	free(base);
}

/* Return 1 if the page has bytes that latin1 and windows-1252 differ on. */
static int
verify_has_c1(const char *body, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)body[i] >= 0x80 &&
		    (unsigned char)body[i] < 0xa0)
			return (1);
	}
	return (0);
}

/*
 * Decode windows-1252 to UTF-8 here rather than through iconv, which
 * refuses the five unassigned bytes and would drop the rest of the page
 * (WHATWG maps them to C1 controls).
 */
static char *
verify_from_1252(const char *body, size_t len, size_t *olen)
{
	static const uint16_t	 c1[32] = {
		0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021,
		0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
		0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
		0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178
	};
	const unsigned char	*s = (const unsigned char *)body;
	char			*out, *o;
	uint32_t		 c;
	size_t			 i;

	o = out = xreallocarray(NULL, len + 1, 3);
	for (i = 0; i < len; i++) {
		c = s[i] >= 0x80 && s[i] < 0xa0 ? c1[s[i] - 0x80] : s[i];
		o += verify_enc(o, c);
	}
	*o = '\0';
	*olen = o - out;
	return (out);
}

/* Swallow libxml2's context-less messages (encoding errors). */
static void
verify_quiet(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

static void
verify_quiet_s(void *ctx, xmlErrorPtr err)
{
	(void)ctx;
	(void)err;
}

/* htmlReadMemory without a word on stderr. */
static xmlDoc *
verify_read(const char *body, size_t len, const char *enc)
{
	const int		 opts = HTML_PARSE_NOERROR |
				    HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
				    HTML_PARSE_RECOVER;
	xmlGenericErrorFunc	 gf = xmlGenericError;
	void			*gctx = xmlGenericErrorContext;
	xmlStructuredErrorFunc	 sf = xmlStructuredError;
	void			*sctx = xmlStructuredErrorContext;
	xmlDoc			*doc;

	if (len > INT_MAX)
		return (NULL);
	xmlSetGenericErrorFunc(NULL, verify_quiet);
	xmlSetStructuredErrorFunc(NULL, verify_quiet_s);
	doc = htmlReadMemory(body, (int)len, NULL, enc, opts);
	xmlSetStructuredErrorFunc(sctx, sf);
	xmlSetGenericErrorFunc(gctx, gf);
	return (doc);
}

/* Parse the page, in the right charset. */
static xmlDoc *
verify_parse(const char *body, size_t len, const char *content_type)
{
	const char	*enc;
	char		 label[64], *conv = NULL;
	size_t		 clen;
	xmlDoc		*doc;

	enc = verify_encoding(body, len, content_type, label, sizeof(label));
	if (enc != NULL && strcmp(enc, "windows-1252") == 0) {
		conv = verify_from_1252(body, len, &clen);
		doc = verify_read(conv, clen, "UTF-8");
		free(conv);
		return (doc);
	}
	doc = verify_read(body, len, enc);
	/*
	 * libxml2 found no charset (and fell back to latin1), or a late
	 * <meta> naming latin1 or windows-1252: read as windows-1252 here.
	 */
	if (doc != NULL && enc == NULL && (doc->encoding == NULL ||
	    verify_in((const char *)doc->encoding, verify_1252)) &&
	    verify_has_c1(body, len)) {
		xmlFreeDoc(doc);
		conv = verify_from_1252(body, len, &clen);
		doc = verify_read(conv, clen, "UTF-8");
		free(conv);
	}
	return (doc);
}

int
verify_page(const char *body, size_t len, const char *content_type,
    const char *page_url, const char *target_norm,
    struct verify_result *res, const char **cause)
{
	struct verify_text	 t;
	xmlDoc			*doc = NULL;
	xmlNode			*title, *link, *block;
	const char		*dummy;
	char			*target;

	if (cause == NULL)
		cause = &dummy;
	memset(res, 0, sizeof(*res));
	if (len > INT_MAX) {
		*cause = "page too large to parse";
		return (-1);
	}
	if (target_norm == NULL || page_url == NULL) {
		*cause = "no target or page URL";
		return (-1);
	}
	xmlInitParser();
	if (len > 0 && (doc = verify_parse(body, len, content_type)) == NULL) {
		*cause = "page cannot be parsed as HTML";
		return (-1);
	}
	if ((target = url_normalize(target_norm, &dummy)) == NULL)
		target = xstrdup(target_norm);
	title = link = NULL;
	if (doc != NULL)
		verify_walk(doc, page_url, target, &title, &link);
	free(target);

	if (title != NULL)
		res->title = verify_title(title);
	if (res->title == NULL || res->title[0] == '\0') {
		free(res->title);
		res->title = verify_host_title(page_url);
	}
	/* A host made only of control characters leaves nothing to show. */
	if (res->title == NULL || res->title[0] == '\0') {
		free(res->title);
		res->title = xstrdup("untitled");
	}
	if (link != NULL) {
		res->linked = 1;
		for (block = link->parent; block != NULL &&
		    block->type == XML_ELEMENT_NODE &&
		    !verify_is_in(block, verify_blocks); block = block->parent)
			;
		if (block == NULL || block->type != XML_ELEMENT_NODE)
			block = link->parent;
		memset(&t, 0, sizeof(t));
		t.link = link;
		verify_collect(&t, block);
		res->excerpt = verify_excerpt(&t, PBD_EXCERPT_CHARS);
		free(t.buf);
	} else
		res->excerpt = xstrdup("");
	if (doc != NULL)
		xmlFreeDoc(doc);
	return (0);
}

void
verify_result_free(struct verify_result *res)
{
	if (res == NULL)
		return;
	free(res->title);
	free(res->excerpt);
	memset(res, 0, sizeof(*res));
}
