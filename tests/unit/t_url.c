/* Unit tests for url.c: normalisation, resolution and hosts. */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "pbd.h"

int	main(void);

static const struct {
	const char	*in;
	const char	*out;
} norm_cases[] = {
	{ "http://example.com", "http://example.com/" },
	{ "HTTP://Example.COM/Path", "http://example.com/Path" },
	{ "HtTpS://BLOG.example.com/a", "https://blog.example.com/a" },
	{ "http://example.com:80/a", "http://example.com/a" },
	{ "http://example.com:0080/a", "http://example.com/a" },
	{ "https://example.com:443/", "https://example.com/" },
	{ "https://example.com:80/", "https://example.com:80/" },
	{ "http://example.com:443/", "http://example.com:443/" },
	{ "http://example.com:8080", "http://example.com:8080/" },
	{ "http://example.com/a#frag", "http://example.com/a" },
	{ "http://example.com/#", "http://example.com/" },
	{ "http://example.com/a?b=1#c?d", "http://example.com/a?b=1" },
	{ "http://example.com/%7euser", "http://example.com/~user" },
	{ "http://example.com/%7Euser", "http://example.com/~user" },
	{ "http://example.com/%41%5a%30%2D%2e%5F",
	  "http://example.com/AZ0-._" },
	{ "http://example.com/a%2fb", "http://example.com/a%2Fb" },
	{ "http://example.com/a%2Fb", "http://example.com/a%2Fb" },
	{ "http://example.com/%c3%bc", "http://example.com/%C3%BC" },
	{ "http://example.com/\xc3\xbc", "http://example.com/%C3%BC" },
	{ "http://example.com/?q=%7e&r=%2b", "http://example.com/?q=~&r=%2B" },
	{ "http://example.com/?q=a+b&r=", "http://example.com/?q=a+b&r=" },
	{ "http://example.com/?", "http://example.com/" },
	{ "http://example.com/a/./b/../c", "http://example.com/a/c" },
	{ "http://example.com/a/%2e%2E/c", "http://example.com/c" },
	{ "http://example.com/a%zz", "http://example.com/a%zz" },
	{ "http://example.com/\"<>`{}",
	  "http://example.com/%22%3C%3E%60%7B%7D" },
	{ "http://[::1]:8080/x", "http://[::1]:8080/x" },
	{ "http://2130706433/", "http://127.0.0.1/" },
	{ "http://0x7f.1/", "http://127.0.0.1/" },
	{ "http://ex%41mple.com/", "http://example.com/" },
	{ "http://example.com/2024/05/social-media-manager/",
	  "http://example.com/2024/05/social-media-manager/" },
	/* Found by tests/fuzz/fuzz_url: each was not idempotent. */
	{ "http://h.example/a/%2E?c", "http://h.example/a/?c" },
	{ "http://h.example/a/b/%2e%2E?c", "http://h.example/a/?c" },
	{ "http://example.com/%a%31", "http://example.com/%a%31" },
	{ "http://example.com/%%31a", "http://example.com/%%31a" },
	{ "http://example.com/p?%a%31&%%32b",
	  "http://example.com/p?%a%31&%%32b" },
	{ "http://%31/", "http://0.0.0.1/" },
	{ "http://%30x7f.1/", "http://127.0.0.1/" },
	{ "http://%32130706433/x", "http://127.0.0.1/x" },
};

static const struct {
	const char	*in;
	const char	*cause;		/* NULL: any cause */
} reject_cases[] = {
	{ "ftp://example.com/", "unsupported URL scheme" },
	{ "file:///etc/passwd", "unsupported URL scheme" },
	{ "javascript:alert(1)", "unsupported URL scheme" },
	{ "mailto:a@example.com", "unsupported URL scheme" },
	{ "gopher://example.com/", "unsupported URL scheme" },
	{ "/relative/path", "not an absolute URL" },
	{ "relative", "not an absolute URL" },
	{ "//example.com/x", "not an absolute URL" },
	{ "", "not an absolute URL" },
	{ "http://user:pass@example.com/", "credentials in URL" },
	{ "http://user@example.com/", "credentials in URL" },
	{ "https://:pw@example.com/", NULL },
	{ "http://", "empty host in URL" },
	{ "http:///x", "empty host in URL" },
	{ "http://:80/", NULL },
	{ "http://example.com:99999/", NULL },
	{ "http://exa mple.com/", NULL },
	{ "http://example.com/a b", NULL },
	{ "http:", NULL },
};

START_TEST(test_normalize)
{
	const char	*cause = NULL;
	char		*s;

	s = url_normalize(norm_cases[_i].in, &cause);
	ck_assert_msg(s != NULL, "%s: %s", norm_cases[_i].in, cause);
	ck_assert_str_eq(s, norm_cases[_i].out);
	free(s);
}
END_TEST

START_TEST(test_normalize_idempotent)
{
	const char	*cause = NULL;
	char		*s, *t;

	s = url_normalize(norm_cases[_i].in, &cause);
	ck_assert_ptr_nonnull(s);
	t = url_normalize(s, &cause);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(s, t);
	free(s);
	free(t);
}
END_TEST

START_TEST(test_reject)
{
	const char	*cause = NULL;
	char		*s;

	s = url_normalize(reject_cases[_i].in, &cause);
	ck_assert_msg(s == NULL, "%s accepted as %s", reject_cases[_i].in, s);
	ck_assert_ptr_nonnull(cause);
	if (reject_cases[_i].cause != NULL)
		ck_assert_str_eq(cause, reject_cases[_i].cause);
}
END_TEST

START_TEST(test_reject_long)
{
	const char	*cause = NULL;
	char		*u, *s;
	size_t		 n;

	n = PBD_MAX_URL_BYTES + 1;
	u = malloc(n + 1);
	ck_assert_ptr_nonnull(u);
	memcpy(u, "http://example.com/", 19);
	memset(u + 19, 'a', n - 19);
	u[n] = '\0';
	s = url_normalize(u, &cause);
	ck_assert_ptr_null(s);
	ck_assert_str_eq(cause, "URL too long");

	/* Exactly at the limit is fine. */
	u[n - 1] = '\0';
	s = url_normalize(u, &cause);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(strlen(s), PBD_MAX_URL_BYTES);
	free(s);

	/* Escaping may not grow the result past the limit. */
	memset(u + 19, '"', n - 20);
	s = url_normalize(u, &cause);
	ck_assert_ptr_null(s);
	ck_assert_str_eq(cause, "URL too long");
	free(u);

	ck_assert_ptr_null(url_normalize(NULL, &cause));
	ck_assert_ptr_null(url_normalize("ftp://x/", NULL));
}
END_TEST

static const struct {
	const char	*base;
	const char	*ref;
	const char	*out;		/* NULL: rejected */
} resolve_cases[] = {
	{ "http://Host.EX/a/b/c?q=1#f", "d", "http://host.ex/a/b/d" },
	{ "http://host.ex/a/b/c", "../d", "http://host.ex/a/d" },
	{ "http://host.ex/a/b/c", "../../../../d", "http://host.ex/d" },
	{ "http://host.ex/a/b/c", "./", "http://host.ex/a/b/" },
	{ "http://host.ex/a/b/c", "..", "http://host.ex/a/" },
	{ "http://host.ex/a/b/c", "/abs", "http://host.ex/abs" },
	{ "https://host.ex/a", "//Other.EX/x", "https://other.ex/x" },
	{ "http://host.ex/a/b/c?q=1", "?z", "http://host.ex/a/b/c?z" },
	{ "http://host.ex/a/b/c?q=1#f", "#g", "http://host.ex/a/b/c?q=1" },
	{ "http://host.ex/a/b/c?q=1", "", "http://host.ex/a/b/c?q=1" },
	{ "http://host.ex/a/b/c", "   ", "http://host.ex/a/b/c" },
	{ "http://host.ex/a/", "  d \n", "http://host.ex/a/d" },
	{ "http://host.ex/a/", "\td\ne\r", "http://host.ex/a/de" },
	{ "http://host.ex/a/", "d#x", "http://host.ex/a/d" },
	{ "http://host.ex/a/", "HTTPS://X.EX:443/p", "https://x.ex/p" },
	{ "http://host.ex/a/", "%7e%2f", "http://host.ex/a/~%2F" },
	{ "http://host.ex/a/", "\xc3\xbc", "http://host.ex/a/%C3%BC" },
	{ "http://host.ex:8080/a/", "b", "http://host.ex:8080/a/b" },
	/* Found by tests/fuzz/fuzz_url (results that were not normal). */
	{ "http://host.ex/a/", "b/%2E?c", "http://host.ex/a/b/?c" },
	{ "http://host.ex/a/", "%a%31", "http://host.ex/a/%a%31" },
	{ "http://host.ex/a/", "//%31", "http://0.0.0.1/" },
	{ "http://host.ex/a/", "ftp://x/", NULL },
	{ "http://host.ex/a/", "javascript:alert(1)", NULL },
	{ "http://host.ex/a/", "mailto:a@b.example", NULL },
	{ "http://host.ex/a/", "data:text/html,x", NULL },
	{ "http://host.ex/a/", "http://u:p@x/", NULL },
	{ "http://host.ex/a/", "//", NULL },
	{ "ftp://host.ex/a/", "b", NULL },
	{ "/not/absolute", "b", NULL },
};

START_TEST(test_resolve)
{
	const char	*cause = NULL;
	char		*s, *t;

	s = url_resolve(resolve_cases[_i].base, resolve_cases[_i].ref,
	    &cause);
	if (resolve_cases[_i].out == NULL) {
		ck_assert_msg(s == NULL, "%s accepted as %s",
		    resolve_cases[_i].ref, s);
		ck_assert_ptr_nonnull(cause);
		return;
	}
	ck_assert_msg(s != NULL, "%s: %s", resolve_cases[_i].ref, cause);
	ck_assert_str_eq(s, resolve_cases[_i].out);
	/* A resolved URL is normal: normalising it changes nothing. */
	t = url_normalize(s, &cause);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t, s);
	free(t);
	free(s);
}
END_TEST

START_TEST(test_host)
{
	char	*h;

	h = url_host("https://Blog.Example.COM:8443/x");
	ck_assert_str_eq(h, "blog.example.com");
	free(h);
	h = url_host("http://[::1]/");
	ck_assert_str_eq(h, "[::1]");
	free(h);
	ck_assert_ptr_null(url_host("/relative"));
	ck_assert_ptr_null(url_host(NULL));
}
END_TEST

static Suite *
url_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("url");
	tc = tcase_create("normalize");
	tcase_add_loop_test(tc, test_normalize, 0,
	    sizeof(norm_cases) / sizeof(norm_cases[0]));
	tcase_add_loop_test(tc, test_normalize_idempotent, 0,
	    sizeof(norm_cases) / sizeof(norm_cases[0]));
	tcase_add_loop_test(tc, test_reject, 0,
	    sizeof(reject_cases) / sizeof(reject_cases[0]));
	tcase_add_test(tc, test_reject_long);
	suite_add_tcase(s, tc);
	tc = tcase_create("resolve");
	tcase_add_loop_test(tc, test_resolve, 0,
	    sizeof(resolve_cases) / sizeof(resolve_cases[0]));
	tcase_add_test(tc, test_host);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(url_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
