/*
 * libFuzzer harness for verify.c: a fetched page through verify_is_html
 * and verify_page, as pingback.c calls them.
 *
 * Input: a page body; the link looked for is to FUZZ_TARGET.  An input
 * whose first line starts with "http:" or "https:" carries a header:
 *
 *	line 1	the page URL (its final URL; FUZZ_PAGE_URL if it is not
 *		an http(s) URL that url_normalize accepts)
 *	line 2	the Content-Type header value (empty: no header)
 *	rest	the body
 *
 * Invariants (abort on violation): title and excerpt are valid UTF-8
 * without controls, at most PBD_MAX_TITLE_CHARS and PBD_EXCERPT_CHARS
 * code points, and the title is never empty.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pbd.h"
#include "xmalloc.h"
#include "fuzz.h"

#define FUZZ_PAGE_URL	"http://source.example/dir/page.html"
#define FUZZ_TARGET	"http://blog.example/post/"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_log();
	return (0);
}

/*
 * Copy the line at *p (before end, without its "\r\n" or "\n") and
 * step past it.  NULL if there is no '\n' or the line has a NUL.
 */
static char *
fuzz_line(const char **p, const char *end)
{
	const char	*start = *p, *nl;
	size_t		 n;

	if ((nl = memchr(start, '\n', (size_t)(end - start))) == NULL)
		return (NULL);
	n = (size_t)(nl - start);
	if (n > 0 && start[n - 1] == '\r')
		n--;
	if (memchr(start, '\0', n) != NULL)
		return (NULL);
	*p = nl + 1;
	return (xstrndup(start, n));
}

/* Split the input into page URL, Content-Type (or NULL) and body. */
static void
fuzz_split(const char *data, size_t size, char **url, char **ctype,
    const char **body, size_t *len)
{
	const char	*p = data, *end = data + size, *cause;
	char		*norm;

	*url = *ctype = NULL;
	*body = data;
	*len = size;
	if (!(size >= 5 && strncasecmp(data, "http:", 5) == 0) &&
	    !(size >= 6 && strncasecmp(data, "https:", 6) == 0))
		goto done;
	if ((*url = fuzz_line(&p, end)) == NULL)
		goto done;
	if ((*ctype = fuzz_line(&p, end)) == NULL) {
		free(*url);
		*url = NULL;
		goto done;
	}
	if (**ctype == '\0') {
		free(*ctype);
		*ctype = NULL;
	}
	*body = p;
	*len = (size_t)(end - p);
	if ((norm = url_normalize(*url, &cause)) == NULL) {
		free(*url);
		*url = NULL;
	}
	free(norm);
done:
	if (*url == NULL)
		*url = xstrdup(FUZZ_PAGE_URL);
}

static void
fuzz_check_result(const struct verify_result *res)
{
	size_t	 n;

	n = fuzz_check_utf8("title", res->title, FUZZ_NO_C0 | FUZZ_NO_C1);
	if (n == 0) {
		fprintf(stderr, "title is empty\n");
		abort();
	}
	if (n > PBD_MAX_TITLE_CHARS) {
		fprintf(stderr, "title has %zu characters: \"%s\"\n", n,
		    res->title);
		abort();
	}
	n = fuzz_check_utf8("excerpt", res->excerpt, FUZZ_NO_C0 | FUZZ_NO_C1);
	if (n > PBD_EXCERPT_CHARS) {
		fprintf(stderr, "excerpt has %zu characters: \"%s\"\n", n,
		    res->excerpt);
		abort();
	}
	if (!res->linked && *res->excerpt != '\0') {
		fprintf(stderr, "excerpt without a link: \"%s\"\n",
		    res->excerpt);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct verify_result	 res;
	const char		*body, *cause = NULL;
	char			*url, *ctype;
	size_t			 len;

	fuzz_split((const char *)data, size, &url, &ctype, &body, &len);
	(void)verify_is_html(ctype);
	if (verify_page(body, len, ctype, url, FUZZ_TARGET, &res,
	    &cause) == 0)
		fuzz_check_result(&res);
	else if (cause == NULL || res.title != NULL || res.excerpt != NULL) {
		fprintf(stderr, "verify_page failed without a clean result\n");
		abort();
	}
	verify_result_free(&res);
	free(url);
	free(ctype);
	return (0);
}
