/* Unit tests for verify.c: link matching, title, excerpt, charsets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "pbd.h"

int	main(void);

#define TARGET	"https://blog.example.com/2010/07/social-media-manager/"
#define SOURCE	"http://source.example.org/2010/07/fachwissen/"
#define XMLRPC	"https://blog.example.com/xmlrpc"

#define DE_TITLE \
	"Fachwissen für (kommende) Social Media Manager | Versicherung2.0"
#define DE_EXCERPT \
	"Eine lesenswerte Diskussion dazu, mit Stimmen aus Marketing, PR " \
	"und Beratung, gibt es im Beitrag „Brauchen Unternehmen einen " \
	"Social Media Manager?“ – dort geht es um die Frage, ob ein " \
	"Manager oder eher ein „Change Agent“ gebraucht wird. Größere " \
	"Häuser setzen auf Botschafter in jeder Abteilung."
#define DE_EXCERPT_LATIN1 \
	"Eine lesenswerte Diskussion dazu, mit Stimmen aus Marketing, PR " \
	"und Beratung, gibt es im Beitrag \"Brauchen Unternehmen einen " \
	"Social Media Manager?\" - dort geht es um die Frage, ob ein " \
	"Manager oder eher ein \"Change Agent\" gebraucht wird. Größere " \
	"Häuser setzen auf Botschafter in jeder Abteilung."

static struct verify_result	 res;

/* Return a copy of s with every key replaced by val. */
static char *
replace(const char *s, const char *key, const char *val)
{
	size_t		 kl = strlen(key), vl = strlen(val), n = 0;
	const char	*p;
	char		*out, *o;

	for (p = s; (p = strstr(p, key)) != NULL; p += kl)
		n++;
	out = malloc(strlen(s) + n * vl + 1);
	ck_assert_ptr_nonnull(out);
	for (o = out; (p = strstr(s, key)) != NULL; s = p + kl) {
		memcpy(o, s, p - s);
		o += p - s;
		memcpy(o, val, vl);
		o += vl;
	}
	strcpy(o, s);
	return (out);
}

/* Replace the first occurrence of key only. */
static char *
replace_first(const char *s, const char *key, const char *val)
{
	const char	*p;
	char		*out;

	p = strstr(s, key);
	ck_assert_ptr_nonnull(p);
	out = malloc(strlen(s) - strlen(key) + strlen(val) + 1);
	ck_assert_ptr_nonnull(out);
	memcpy(out, s, p - s);
	strcpy(out + (p - s), val);
	strcat(out, p + strlen(key));
	return (out);
}

/* Read a fixture from $PBD_TESTDATA with the placeholders filled in. */
static char *
fixture(const char *name)
{
	const char	*dir;
	char		 path[1024], *raw, *a, *b, *c;
	FILE		*f;
	long		 n;

	if ((dir = getenv("PBD_TESTDATA")) == NULL)
		dir = "tests/data";
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "%s (set PBD_TESTDATA)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	raw = malloc(n + 1);
	ck_assert_ptr_nonnull(raw);
	ck_assert_int_eq(fread(raw, 1, n, f), n);
	raw[n] = '\0';
	fclose(f);
	a = replace(raw, "{{TARGET}}", TARGET);
	b = replace(a, "{{SOURCE}}", SOURCE);
	c = replace(b, "{{XMLRPC}}", XMLRPC);
	free(raw);
	free(a);
	free(b);
	return (c);
}

/* Verify html as fetched from page_url; assert it parses. */
static void
run(const char *html, const char *ctype, const char *page_url,
    const char *target)
{
	const char	*cause = NULL;
	int		 rc;

	verify_result_free(&res);
	rc = verify_page(html, strlen(html), ctype, page_url, target, &res,
	    &cause);
	ck_assert_msg(rc == 0, "verify_page: %s", cause);
	ck_assert_ptr_nonnull(res.title);
	ck_assert_ptr_nonnull(res.excerpt);
}

static int
linked(const char *html)
{
	run(html, "text/html", SOURCE, TARGET);
	return (res.linked);
}

/* Count code points; fail on invalid UTF-8. */
static size_t
u8len(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = 0, l, i;

	while (*p != '\0') {
		if (*p < 0x80)
			l = 1;
		else if ((*p & 0xe0) == 0xc0 && *p >= 0xc2)
			l = 2;
		else if ((*p & 0xf0) == 0xe0)
			l = 3;
		else if ((*p & 0xf8) == 0xf0 && *p <= 0xf4)
			l = 4;
		else
			ck_abort_msg("invalid UTF-8 lead byte 0x%02x", *p);
		for (i = 1; i < l; i++)
			ck_assert_msg((p[i] & 0xc0) == 0x80, "truncated UTF-8");
		p += l;
		n++;
	}
	return (n);
}

static void
teardown(void)
{
	verify_result_free(&res);
}

START_TEST(test_link_absolute)
{
	ck_assert(linked("<p>See <a href=\"" TARGET "\">this</a>.</p>"));
	ck_assert_str_eq(res.excerpt, "See this.");
	ck_assert(!linked("<p><a href=\"" TARGET "x\">no</a></p>"));
	ck_assert(!linked("<p><a href=\"" TARGET "?p=1\">no</a></p>"));
	ck_assert(!linked("<p><a href=\"https://other.example/2010/07/"
	    "social-media-manager/\">no</a></p>"));
	ck_assert(!linked("<p><a>no href</a> " TARGET "</p>"));
	ck_assert(!linked("<p><a href=\"javascript:alert(1)\">js</a></p>"));
}
END_TEST

START_TEST(test_link_relative)
{
	run("<p><a href=\"../../07/social-media-manager/\">rel</a></p>",
	    NULL, "https://blog.example.com/2010/06/other/", TARGET);
	ck_assert(res.linked);
	run("<p><a href=\"/2010/07/social-media-manager/\">abs</a></p>",
	    NULL, "https://blog.example.com/", TARGET);
	ck_assert(res.linked);
	run("<p><a href=\"//blog.example.com/2010/07/social-media-manager/\""
	    ">proto</a></p>", NULL, "https://x.example/", TARGET);
	ck_assert(res.linked);
	/* Relative to the source's host it is another URL. */
	ck_assert(!linked("<p><a href=\"/2010/07/social-media-manager/\">"
	    "x</a></p>"));
	/* Leading and trailing whitespace in href, as browsers strip it. */
	ck_assert(linked("<p><a href=\"  " TARGET "\n\">ws</a></p>"));
}
END_TEST

START_TEST(test_link_base)
{
	ck_assert(linked("<html><head><base href=\"https://blog.example.com/"
	    "2010/\"></head><body><p><a href=\"07/social-media-manager/\">x"
	    "</a></p></body></html>"));
	/* A relative base is resolved against the page's URL. */
	run("<head><base href=\"/2010/07/\"></head>"
	    "<p><a href=\"social-media-manager/\">x</a></p>",
	    NULL, "https://blog.example.com/a/b/c", TARGET);
	ck_assert(res.linked);
	/* Only the first <base href> counts. */
	ck_assert(!linked("<head><base href=\"https://a.example/\">"
	    "<base href=\"https://blog.example.com/2010/07/\"></head>"
	    "<p><a href=\"social-media-manager/\">x</a></p>"));
	/* A base without href is no base. */
	run("<head><base target=\"_blank\"></head>"
	    "<p><a href=\"social-media-manager/\">x</a></p>",
	    NULL, "https://blog.example.com/2010/07/", TARGET);
	ck_assert(res.linked);
}
END_TEST

START_TEST(test_link_normalised)
{
	ck_assert(linked("<p><a href=\"" TARGET "#comments\">frag</a></p>"));
	ck_assert(linked("<p><a href=\"HTTPS://Blog.Example.COM:443/2010/07/"
	    "social-media-manager/\">case</a></p>"));
	ck_assert(linked("<p><a href=\"https://blog.example.com/2010/07/"
	    "social%2Dmedia%2dmanager/\">esc</a></p>"));
	ck_assert(linked("<p><a href=\"https://blog.example.com/2010/07/x/.."
	    "/social-media-manager/\">dots</a></p>"));
	/* Escape case differs, and %7e is ~ (target not yet normalised). */
	run("<p><a href=\"https://blog.example.com/%7euser/a%2fb\">x</a></p>",
	    NULL, SOURCE, "https://blog.example.com/~user/a%2Fb");
	ck_assert(res.linked);
	/* An escaped slash is not a slash. */
	run("<p><a href=\"https://blog.example.com/~user/a/b\">x</a></p>",
	    NULL, SOURCE, "https://blog.example.com/~user/a%2Fb");
	ck_assert(!res.linked);
	/* Entities in href are decoded by the parser. */
	run("<p><a href=\"https://blog.example.com/?p=1&amp;c=2\">x</a></p>",
	    NULL, SOURCE, "https://blog.example.com/?p=1&c=2");
	ck_assert(res.linked);
	run("<p><a href=\"https://blog.example.com/?p=1&#38;c=2\">x</a></p>",
	    NULL, SOURCE, "https://blog.example.com/?p=1&c=2");
	ck_assert(res.linked);
}
END_TEST

START_TEST(test_link_not_elements)
{
	ck_assert(!linked("<p>x <!-- <a href=\"" TARGET "\">c</a> --></p>"));
	ck_assert(!linked("<p><script>document.write('<a href=\"" TARGET
	    "\">s</a>');</script></p>"));
	ck_assert(!linked("<head><script>var a = \"<a href='" TARGET
	    "'>s</a>\";</script></head><body><p>x</p></body>"));
	ck_assert(!linked("<style>/* <a href=\"" TARGET "\">s</a> */ "
	    "a { color: red }</style><p>x</p>"));
	ck_assert(!linked("<p><img alt='<a href=\"" TARGET "\">x</a>'></p>"));
	ck_assert(!linked("<p><a title=\"" TARGET "\" href=\"/o\">t</a></p>"));
	ck_assert(!linked("<p><textarea><a href=\"" TARGET "\">t</a>"
	    "</textarea></p>"));
	ck_assert(!linked("<template><a href=\"" TARGET "\">t</a>"
	    "</template><p>x</p>"));
	ck_assert(!linked("<p>" TARGET "</p>"));
	ck_assert(!linked("<p><link href=\"" TARGET "\"></p>"));
	/* After the script, a real link still counts. */
	ck_assert(linked("<script>x = '</a>';</script><p>y <a href=\"" TARGET
	    "\">z</a></p>"));
	ck_assert_str_eq(res.excerpt, "y z");
}
END_TEST

START_TEST(test_link_area)
{
	ck_assert(linked("<p>Map: <img usemap=\"#m\"><map name=\"m\">"
	    "<area shape=\"rect\" coords=\"0,0,1,1\" href=\"" TARGET "\">"
	    "</map> here</p>"));
	ck_assert_str_eq(res.excerpt, "Map: here");
}
END_TEST

START_TEST(test_title)
{
	linked("<html><head><title>\n  A &amp; B &lt;C&gt; &#8211; "
	    "caf&eacute;\t\t&quot;x&quot;  </title></head><body></body>"
	    "</html>");
	ck_assert_str_eq(res.title, "A & B <C> – café \"x\"");
	linked("<title>A&nbsp;&nbsp;B</title>");
	ck_assert_str_eq(res.title, "A\xc2\xa0\xc2\xa0" "B");
	linked("<html><head></head><body><p>no title</p></body></html>");
	ck_assert_str_eq(res.title, "source.example.org");
	linked("<title> \n\t </title><p>x</p>");
	ck_assert_str_eq(res.title, "source.example.org");
	run("<p>x</p>", NULL, "https://Blog.Example.COM:8443/x", TARGET);
	ck_assert_str_eq(res.title, "blog.example.com");
	linked("<title>First</title><title>Second</title>");
	ck_assert_str_eq(res.title, "First");
	/* An inline SVG's <title> is no page title. */
	linked("<body><svg><title>icon</title></svg><p>x</p></body>");
	ck_assert_str_eq(res.title, "source.example.org");
	linked("<title>a<b>b</b>c</title>");
	ck_assert_str_eq(res.title, "abc");
}
END_TEST

START_TEST(test_title_long)
{
	char	 html[4096], *p;
	int	 i;

	p = html + sprintf(html, "<title>");
	for (i = 0; i < 400; i++)
		p += sprintf(p, "ü");
	sprintf(p, "</title>");
	linked(html);
	ck_assert_uint_eq(u8len(res.title), PBD_MAX_TITLE_CHARS);
	ck_assert_str_eq(res.title + strlen(res.title) - 3, "…");
	ck_assert(strncmp(res.title, "üüü", 6) == 0);

	p = html + sprintf(html, "<title>");
	for (i = 0; i < PBD_MAX_TITLE_CHARS; i++)
		p += sprintf(p, "€");
	sprintf(p, "</title>");
	linked(html);
	ck_assert_uint_eq(u8len(res.title), PBD_MAX_TITLE_CHARS);
	ck_assert(strstr(res.title, "…") == NULL);
}
END_TEST

START_TEST(test_excerpt_blocks)
{
	ck_assert(linked("<div><p>One</p><p>Two <a href=\"" TARGET
	    "\">link</a> three</p></div>"));
	ck_assert_str_eq(res.excerpt, "Two link three");
	ck_assert(linked("<p>Ge<b>sam</b>t <em><a href=\"" TARGET "\">the "
	    "<i>link</i></a></em>.<br>Next   line</p>"));
	ck_assert_str_eq(res.excerpt, "Gesamt the link. Next line");
	ck_assert(linked("<ul><li>a</li><li>b <a href=\"" TARGET "\">c</a>"
	    "</li></ul>"));
	ck_assert_str_eq(res.excerpt, "b c");
	ck_assert(linked("<p>Before <script>var x = 1;</script><style>p{}"
	    "</style><!-- hidden --><a href=\"" TARGET "\">link</a>\n after"
	    "</p>"));
	ck_assert_str_eq(res.excerpt, "Before link after");
	ck_assert(linked("<div>Intro<blockquote><p>Quoted <a href=\"" TARGET
	    "\">x</a></p><p>more</p></blockquote></div>"));
	ck_assert_str_eq(res.excerpt, "Quoted x");
	ck_assert(linked("<body>Bare <a href=\"" TARGET "\">link</a> text"
	    "</body>"));
	ck_assert_str_eq(res.excerpt, "Bare link text");
	ck_assert(linked("<p><a href=\"" TARGET "\"><img src=x></a></p>"));
	ck_assert_str_eq(res.excerpt, "");
	/* The first matching link is the one excerpted. */
	ck_assert(linked("<p>first <a href=\"" TARGET "\">1</a></p><p>second "
	    "<a href=\"" TARGET "\">2</a></p>"));
	ck_assert_str_eq(res.excerpt, "first 1");
}
END_TEST

/* A long paragraph of numbered words with the link somewhere. */
static char *
long_para(int before, int after, const char *word, const char *linktext)
{
	char	*html, *p;
	int	 i;

	html = malloc((before + after) * 32 + strlen(linktext) + 256);
	ck_assert_ptr_nonnull(html);
	p = html + sprintf(html, "<p>");
	for (i = 0; i < before; i++)
		p += sprintf(p, "%s%d ", word, i);
	p += sprintf(p, "<a href=\"" TARGET "\">%s</a>", linktext);
	for (i = 0; i < after; i++)
		p += sprintf(p, " %s%d", word, i);
	sprintf(p, ".</p>");
	return (html);
}

/* Check the ellipses and that the window cuts between words. */
static void
check_window(const char *word, int left, int right)
{
	const char	*e = res.excerpt, *body;
	size_t		 n = strlen(e);

	ck_assert_uint_le(u8len(e), PBD_EXCERPT_CHARS);
	ck_assert_msg(strstr(e, "THE LINK") != NULL, "%s", e);
	ck_assert_int_eq(strncmp(e, "…", 3) == 0, left);
	ck_assert_int_eq(n >= 3 && strcmp(e + n - 3, "…") == 0, right);
	body = left ? e + 3 : e;
	ck_assert_msg(strncmp(body, word, strlen(word)) == 0 ||
	    strncmp(body, "THE", 3) == 0, "starts mid-word: %s", e);
	ck_assert(body[0] != ' ');
	if (right)
		ck_assert(e[n - 4] != ' ');
}

START_TEST(test_excerpt_cut)
{
	char	*html;

	html = long_para(100, 100, "word", "THE LINK");
	ck_assert(linked(html));
	check_window("word", 1, 1);
	ck_assert_uint_ge(u8len(res.excerpt), PBD_EXCERPT_CHARS - 12);
	/* Centred: about as much text on either side. */
	ck_assert_int_lt(abs((int)(strstr(res.excerpt, "THE LINK") -
	    res.excerpt) - (int)(strlen(res.excerpt) -
	    (strstr(res.excerpt, "THE LINK") - res.excerpt) - 8)), 20);
	free(html);

	html = long_para(0, 200, "word", "THE LINK");
	ck_assert(linked(html));
	check_window("word", 0, 1);
	ck_assert(strncmp(res.excerpt, "THE LINK word0 ", 15) == 0);
	free(html);

	html = long_para(200, 0, "word", "THE LINK");
	ck_assert(linked(html));
	check_window("word", 1, 0);
	ck_assert_str_eq(res.excerpt + strlen(res.excerpt) - 9, "THE LINK.");
	free(html);

	html = long_para(3, 200, "word", "THE LINK");
	ck_assert(linked(html));
	check_window("word", 0, 1);
	ck_assert(strncmp(res.excerpt, "word0 word1 word2 THE LINK", 26) == 0);
	free(html);
}
END_TEST

START_TEST(test_excerpt_multibyte)
{
	char	*html;
	int	 i;

	/* Two- and three-byte characters: count characters, not bytes. */
	html = long_para(150, 150, "Größe", "THE LINK");
	ck_assert(linked(html));
	check_window("Größe", 1, 1);
	ck_assert_uint_ge(u8len(res.excerpt), PBD_EXCERPT_CHARS - 15);
	free(html);
	html = long_para(150, 150, "€€€€", "THE LINK");
	ck_assert(linked(html));
	check_window("€€€€", 1, 1);
	free(html);

	/* No spaces at all: cut mid-word, but never inside a character. */
	html = malloc(8192);
	ck_assert_ptr_nonnull(html);
	strcpy(html, "<p>");
	for (i = 0; i < 400; i++)
		strcat(html, "ä");
	strcat(html, "<a href=\"" TARGET "\">THE LINK</a>");
	for (i = 0; i < 400; i++)
		strcat(html, "€");
	strcat(html, "</p>");
	ck_assert(linked(html));
	ck_assert_uint_eq(u8len(res.excerpt), PBD_EXCERPT_CHARS);
	ck_assert(strstr(res.excerpt, "äTHE LINK€") != NULL);
	free(html);

	/* Link text longer than the excerpt: its start is kept. */
	html = malloc(8192);
	ck_assert_ptr_nonnull(html);
	strcpy(html, "<p>Intro text <a href=\"" TARGET "\">THE LINK");
	for (i = 0; i < 200; i++)
		strcat(html, " ö");
	strcat(html, "</a> tail</p>");
	ck_assert(linked(html));
	ck_assert_uint_le(u8len(res.excerpt), PBD_EXCERPT_CHARS);
	ck_assert(strncmp(res.excerpt, "…THE LINK ö ö", 16) == 0);
	ck_assert_str_eq(res.excerpt + strlen(res.excerpt) - 3, "…");
	free(html);
}
END_TEST

/* Check the German page's verdict. */
static void
check_de(const char *html, const char *ctype, const char *excerpt)
{
	run(html, ctype, SOURCE, TARGET);
	ck_assert(res.linked);
	ck_assert_str_eq(res.title, DE_TITLE);
	ck_assert_str_eq(res.excerpt, excerpt);
}

START_TEST(test_de_fixtures)
{
	char	*html, *v;

	html = fixture("source-de-utf8.html");
	check_de(html, "text/html", DE_EXCERPT);
	check_de(html, NULL, DE_EXCERPT);
	check_de(html, "text/html; charset=UTF-8", DE_EXCERPT);
	check_de(html, "text/html;charset=\"utf-8\"", DE_EXCERPT);
	/* The header wins over <meta>. */
	v = replace(html, "<meta charset=\"utf-8\">",
	    "<meta charset=\"iso-8859-1\">");
	check_de(v, "text/html; charset=utf-8", DE_EXCERPT);
	free(v);
	/* No declaration at all: valid UTF-8 is read as UTF-8. */
	v = replace(html, "<meta charset=\"utf-8\">", "");
	check_de(v, "text/html", DE_EXCERPT);
	free(v);
	free(html);

	html = fixture("source-de-windows1252.html");
	check_de(html, "text/html", DE_EXCERPT);
	check_de(html, "text/html; charset=windows-1252", DE_EXCERPT);
	/* Latin1 labels mean windows-1252, so „“ survive. */
	check_de(html, "text/html; charset=ISO-8859-1", DE_EXCERPT);
	v = replace(html, "<meta charset=\"windows-1252\">",
	    "<meta http-equiv=\"Content-Type\" content=\"text/html; "
	    "charset=windows-1252\">");
	check_de(v, NULL, DE_EXCERPT);
	free(v);
	v = replace(html, "<meta charset=\"windows-1252\">",
	    "<meta charset=\"latin1\">");
	check_de(v, NULL, DE_EXCERPT);
	free(v);
	/* Undeclared and not UTF-8. */
	v = replace(html, "<meta charset=\"windows-1252\">", "");
	check_de(v, NULL, DE_EXCERPT);
	free(v);
	free(html);

	html = fixture("source-de-latin1.html");
	check_de(html, "text/html", DE_EXCERPT_LATIN1);
	check_de(html, "text/html; charset=iso-8859-1", DE_EXCERPT_LATIN1);
	free(html);
}
END_TEST

START_TEST(test_de_late_meta)
{
	char	*html, *v, *w, pad[1200];

	/* A <meta> past the first 1024 bytes is found by libxml2. */
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	html = fixture("source-de-windows1252.html");
	v = replace(html, "<head>", "<head>\n<!-- PAD -->");
	w = replace(v, "PAD", pad);
	ck_assert(strstr(w, "<meta") > w + 1024);
	check_de(w, NULL, DE_EXCERPT);
	free(w);
	w = replace(v, "PAD", pad);
	free(v);
	v = replace(w, "charset=\"windows-1252\"", "charset=\"iso-8859-1\"");
	check_de(v, NULL, DE_EXCERPT);
	free(v);
	free(w);
	free(html);
}
END_TEST

START_TEST(test_de_commented_link)
{
	char	*html, *v;

	html = fixture("source-de-utf8.html");
	/* Keep only the link inside the HTML comment. */
	v = replace_first(html, "<a href=\"" TARGET "\">",
	    "<a href=\"/elsewhere/\">");
	ck_assert(strstr(v, TARGET) != NULL);
	run(v, "text/html", SOURCE, TARGET);
	ck_assert(!res.linked);
	ck_assert_str_eq(res.title, DE_TITLE);
	free(v);
	free(html);
}
END_TEST

START_TEST(test_de_target_page)
{
	char	*html;

	html = fixture("target-de.html");
	run(html, "text/html; charset=utf-8", TARGET, TARGET);
	ck_assert_uint_gt(strlen(res.title), 0);
	u8len(res.title);
	free(html);
}
END_TEST

START_TEST(test_odd_pages)
{
	const char	*cause = NULL;
	static const char bin[] = "\x00\x01\xff\xfe<a href=x>\x80\x81";

	ck_assert_int_eq(verify_page("", 0, NULL, SOURCE, TARGET, &res,
	    &cause), 0);
	ck_assert(!res.linked);
	ck_assert_str_eq(res.title, "source.example.org");
	verify_result_free(&res);
	ck_assert_int_eq(verify_page(bin, sizeof(bin) - 1, NULL, SOURCE,
	    TARGET, &res, &cause), 0);
	ck_assert(!res.linked);
	verify_result_free(&res);
	/* Invalid UTF-8 declared as UTF-8 still gives valid UTF-8. */
	run("<title>a\xfc\xc3(b</title><p>\xe2\x82 <a href=\"" TARGET
	    "\">x\xff</a></p>", "text/html; charset=utf-8", SOURCE, TARGET);
	ck_assert(res.linked);
	u8len(res.title);
	u8len(res.excerpt);
	/* An unknown charset label is ignored. */
	run("<meta charset=\"x-no-such-charset\"><title>ok ü</title>", NULL,
	    SOURCE, TARGET);
	ck_assert_str_eq(res.title, "ok ü");
	run("<title>ok ü</title>", "text/html; charset=bogus", SOURCE, TARGET);
	ck_assert_str_eq(res.title, "ok ü");
	/* Other charsets go through iconv. */
	run("<meta charset=koi8-r><title>\xf0\xd2\xc9\xd7\xc5\xd4</title>",
	    NULL, SOURCE, TARGET);
	ck_assert_str_eq(res.title, "Привет");
	run("<title>\xf0\xd2\xc9\xd7\xc5\xd4</title>",
	    "text/html; charset=KOI8-R", SOURCE, TARGET);
	ck_assert_str_eq(res.title, "Привет");
	/* The prescan skips comments and other tags' attributes. */
	run("<!-- <meta charset=koi8-r> --><html title='<meta charset=koi8-r>'"
	    "><meta charset=windows-1252><title>\x93\xfc\x94</title>", NULL,
	    SOURCE, TARGET);
	ck_assert_str_eq(res.title, "“ü”");
	/* A UTF-8 byte order mark beats the header. */
	run("\xef\xbb\xbf<title>ü</title>", "text/html; charset=iso-8859-1",
	    SOURCE, TARGET);
	ck_assert_str_eq(res.title, "ü");
	verify_result_free(&res);
	verify_result_free(&res);
	ck_assert_ptr_null(res.title);
	ck_assert_ptr_null(res.excerpt);
	verify_result_free(NULL);
}
END_TEST

START_TEST(test_host_title)
{
	const char	*cause = NULL;
	char		 url[512];

	/* Found by tests/fuzz/fuzz_verify: curl passes any byte in a host. */
	ck_assert_int_eq(verify_page("", 0, NULL, "http:/\x9e", TARGET, &res,
	    &cause), 0);
	ck_assert_str_eq(res.title, "\xef\xbf\xbd");
	verify_result_free(&res);
	/* Also found by it: a host of one C1 control (U+009E), dropped. */
	ck_assert_int_eq(verify_page("<head>", 6, NULL, "http:/\xc2\x9e",
	    TARGET, &res, &cause), 0);
	ck_assert_str_eq(res.title, "untitled");
	verify_result_free(&res);
	run("<p>no title</p>", NULL, "http://source.e\x9e" "xample/dir/",
	    TARGET);
	ck_assert_str_eq(res.title, "source.e\xef\xbf\xbdxample");
	/* A host title is cut like any other. */
	memcpy(url, "http://", 7);
	memset(url + 7, 'a', 400);
	strcpy(url + 407, ".example/");
	run("<title> </title>", NULL, url, TARGET);
	ck_assert_uint_eq(u8len(res.title), PBD_MAX_TITLE_CHARS);
	ck_assert_str_eq(res.title + strlen(res.title) - 3, "\xe2\x80\xa6");
}
END_TEST

START_TEST(test_is_html)
{
	ck_assert(verify_is_html(NULL));
	ck_assert(verify_is_html("text/html"));
	ck_assert(verify_is_html("TEXT/HTML; charset=utf-8"));
	ck_assert(verify_is_html("text/html;charset=utf-8"));
	ck_assert(verify_is_html(" text/html ; q=1"));
	ck_assert(verify_is_html("application/xhtml+xml"));
	ck_assert(verify_is_html("Application/XHTML+XML; charset=utf-8"));
	ck_assert(!verify_is_html("text/plain"));
	ck_assert(!verify_is_html("text/htmlx"));
	ck_assert(!verify_is_html("application/json"));
	ck_assert(!verify_is_html("image/png"));
	ck_assert(!verify_is_html("text/xml"));
}
END_TEST

static Suite *
verify_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("verify");
	tc = tcase_create("links");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_link_absolute);
	tcase_add_test(tc, test_link_relative);
	tcase_add_test(tc, test_link_base);
	tcase_add_test(tc, test_link_normalised);
	tcase_add_test(tc, test_link_not_elements);
	tcase_add_test(tc, test_link_area);
	tcase_add_test(tc, test_is_html);
	suite_add_tcase(s, tc);
	tc = tcase_create("text");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_title);
	tcase_add_test(tc, test_title_long);
	tcase_add_test(tc, test_excerpt_blocks);
	tcase_add_test(tc, test_excerpt_cut);
	tcase_add_test(tc, test_excerpt_multibyte);
	tcase_add_test(tc, test_odd_pages);
	tcase_add_test(tc, test_host_title);
	suite_add_tcase(s, tc);
	tc = tcase_create("fixtures");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_de_fixtures);
	tcase_add_test(tc, test_de_late_meta);
	tcase_add_test(tc, test_de_commented_link);
	tcase_add_test(tc, test_de_target_page);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(verify_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
