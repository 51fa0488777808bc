/* Unit tests for log.c: line shape, escaping, JSON, levels. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

static FILE	*mem;
static char	*out;
static size_t	 outlen;

static void
setup(void)
{
	unsetenv("JOURNAL_STREAM");
	log_init(LOG_INFO, LOG_FORMAT_LOGFMT);
	out = NULL;
	outlen = 0;
	ck_assert_ptr_nonnull(mem = open_memstream(&out, &outlen));
	log_setstream(mem);
}

static void
teardown(void)
{
	log_setstream(NULL);
	fclose(mem);
	free(out);
}

/* Everything logged so far, which is then forgotten. */
static char *
take(void)
{
	char	*s;

	fclose(mem);
	s = xstrdup(out != NULL ? out : "");
	free(out);
	out = NULL;
	ck_assert_ptr_nonnull(mem = open_memstream(&out, &outlen));
	log_setstream(mem);
	return (s);
}

/* Check the output is exactly one line; strip " ts=..." and return it. */
static char *
one_line(void)
{
	char	*s = take(), *ts;
	size_t	 n = strlen(s);

	ck_assert_uint_gt(n, 0);
	ck_assert_msg(s[n - 1] == '\n', "no newline: %s", s);
	s[n - 1] = '\0';
	ck_assert_msg(strchr(s, '\n') == NULL, "raw newline in: %s", s);
	ck_assert_msg(strchr(s, '\r') == NULL, "raw CR in: %s", s);
	if ((ts = strstr(s, " ts=")) != NULL) {
		/* ts=2026-12-01T08:30:00Z, last. */
		ck_assert_uint_eq(strlen(ts), strlen(" ts=") + 20);
		ck_assert_int_eq(ts[8], '-');
		ck_assert_int_eq(ts[14], 'T');
		ck_assert_int_eq(ts[23], 'Z');
		*ts = '\0';
	}
	return (s);
}

static void
expect_line(const char *want)
{
	char	*got = one_line();

	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(logfmt_shape)
{
	log_event(LOG_INFO, "pingback.accepted", "id", "7f3a", "source",
	    "https://a.example/p?x=1", "client", "203.0.113.9", "ms", "412",
	    NULL);
	expect_line("level=info event=pingback.accepted id=7f3a "
	    "source=\"https://a.example/p?x=1\" client=203.0.113.9 ms=412");
	log_event(LOG_INFO, "x", "source", "https://a.example/p", "v6",
	    "2001:db8::1", NULL);
	expect_line("level=info event=x source=https://a.example/p "
	    "v6=2001:db8::1");
}
END_TEST

START_TEST(logfmt_has_ts)
{
	char	*s;

	log_event(LOG_INFO, "x", NULL);
	s = take();
	ck_assert_ptr_nonnull(strstr(s, " ts="));
	free(s);
}
END_TEST

START_TEST(logfmt_quoting)
{
	log_event(LOG_INFO, "x", "a", "two words", "b", "say \"hi\"",
	    "c", "back\\slash", "d", "", "e", "k=v", NULL);
	expect_line("level=info event=x a=\"two words\" b=\"say \\\"hi\\\"\" "
	    "c=\"back\\\\slash\" d=\"\" e=\"k=v\"");
}
END_TEST

START_TEST(logfmt_injection)
{
	/* A value cannot end the line or forge a key. */
	log_event(LOG_INFO, "x", "title", "ok\nlevel=err event=forged",
	    "t", "a\tb\rc", NULL);
	expect_line("level=info event=x title=\"ok\\nlevel=err event=forged\" "
	    "t=\"a\\tb\\rc\"");
	log_event(LOG_INFO, "x", "q", "\" forged=1", NULL);
	expect_line("level=info event=x q=\"\\\" forged=1\"");
}
END_TEST

START_TEST(logfmt_controls_utf8)
{
	log_event(LOG_INFO, "x", "c", "\x01\x1b[31m\x7f", "u",
	    "caf\xc3\xa9 \xe2\x80\xa6", "bad", "a\xff\xc3(b\xed\xa0\x80", NULL);
	expect_line("level=info event=x c=\"\\x01\\x1b[31m\\x7f\" "
	    "u=\"caf\xc3\xa9 \xe2\x80\xa6\" "
	    "bad=\"a\\xff\\xc3(b\\xed\\xa0\\x80\"");
}
END_TEST

START_TEST(null_values_skipped)
{
	log_event(LOG_INFO, "x", "a", NULL, "b", "2", "c", NULL, NULL);
	expect_line("level=info event=x b=2");
}
END_TEST

START_TEST(event_escaped)
{
	log_event(LOG_INFO, "bad event", NULL);
	expect_line("level=info event=\"bad event\"");
}
END_TEST

/*
 * A small JSON reader for the flat objects log.c writes: an object of
 * string keys and string or number values.  Decoded pairs are appended
 * to kv as "key=value" lines, numbers marked with a leading '#'.
 */
static const char *
json_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return (p);
}

static int
json_hex(const char *p, unsigned *v)
{
	int	 i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		*v <<= 4;
		if (p[i] >= '0' && p[i] <= '9')
			*v |= (unsigned)(p[i] - '0');
		else if (p[i] >= 'a' && p[i] <= 'f')
			*v |= (unsigned)(p[i] - 'a' + 10);
		else if (p[i] >= 'A' && p[i] <= 'F')
			*v |= (unsigned)(p[i] - 'A' + 10);
		else
			return (-1);
	}
	return (0);
}

/* Read a string at p into buf; return the end or NULL. */
static const char *
json_string(const char *p, char *buf, size_t len)
{
	size_t		 off = 0;
	unsigned	 v;

	if (*p++ != '"')
		return (NULL);
	while (*p != '"') {
		if ((unsigned char)*p < 0x20 || off + 8 > len)
			return (NULL);
		if (*p != '\\') {
			buf[off++] = *p++;
			continue;
		}
		p++;
		switch (*p) {
		case '"': case '\\': case '/':
			buf[off++] = *p;
			break;
		case 'b': buf[off++] = '\b'; break;
		case 'f': buf[off++] = '\f'; break;
		case 'n': buf[off++] = '\n'; break;
		case 'r': buf[off++] = '\r'; break;
		case 't': buf[off++] = '\t'; break;
		case 'u':
			if (json_hex(p + 1, &v) == -1)
				return (NULL);
			off += (size_t)snprintf(buf + off, len - off,
			    "<U+%04X>", v);
			p += 4;
			break;
		default:
			return (NULL);
		}
		p++;
	}
	buf[off] = '\0';
	return (p + 1);
}

/* Read a JSON number at p; return the end or NULL. */
static const char *
json_number(const char *p)
{
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return (NULL);
	if (*p == '.') {
		if (*++p < '0' || *p > '9')
			return (NULL);
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return (p);
}

/* Parse a flat object; return 0 and the decoded pairs in kv, or -1. */
static int
json_object(const char *p, char *kv, size_t kvlen)
{
	char		 key[256], val[8192];
	const char	*e;

	kv[0] = '\0';
	if (*(p = json_ws(p)) != '{')
		return (-1);
	p = json_ws(p + 1);
	if (*p == '}')
		return (*json_ws(p + 1) == '\0' ? 0 : -1);
	for (;;) {
		if ((p = json_string(json_ws(p), key, sizeof(key))) == NULL)
			return (-1);
		if (*(p = json_ws(p)) != ':')
			return (-1);
		p = json_ws(p + 1);
		if (*p == '"') {
			if ((p = json_string(p, val, sizeof(val))) == NULL)
				return (-1);
		} else {
			if ((e = json_number(p)) == NULL)
				return (-1);
			snprintf(val, sizeof(val), "#%.*s", (int)(e - p), p);
			p = e;
		}
		snprintf(kv + strlen(kv), kvlen - strlen(kv), "%s=%s\n", key,
		    val);
		p = json_ws(p);
		if (*p == '}')
			return (*json_ws(p + 1) == '\0' ? 0 : -1);
		if (*p++ != ',')
			return (-1);
	}
}

/* The one JSON line logged, decoded, without its ts pair. */
static char *
json_line(void)
{
	char	*s = take(), *kv, *ts;
	size_t	 n = strlen(s);

	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(s[n - 1], '\n');
	s[n - 1] = '\0';
	ck_assert_msg(strchr(s, '\n') == NULL, "raw newline in: %s", s);
	kv = xmalloc(16384);
	ck_assert_msg(json_object(s, kv, 16384) == 0, "not JSON: %s", s);
	ts = strstr(kv, "ts=");
	ck_assert_ptr_nonnull(ts);
	ck_assert_uint_eq(strlen(ts), strlen("ts=2026-12-01T08:30:00Z\n"));
	*ts = '\0';
	free(s);
	return (kv);
}

static void
expect_json(const char *want)
{
	char	*kv = json_line();

	ck_assert_str_eq(kv, want);
	free(kv);
}

START_TEST(json_shape)
{
	log_setformat(LOG_FORMAT_JSON);
	log_event(LOG_INFO, "pingback.accepted", "id", "7f3a", "source",
	    "https://a.example/", "ms", "412", "neg", "-5", "zero", "0",
	    "lead", "007", "frac", "1.5", "long", "12345678901234567",
	    "empty", "", NULL);
	expect_json("level=info\nevent=pingback.accepted\nid=7f3a\n"
	    "source=https://a.example/\nms=#412\nneg=#-5\nzero=#0\n"
	    "lead=007\nfrac=1.5\nlong=12345678901234567\nempty=\n");
}
END_TEST

START_TEST(json_escaping)
{
	log_setformat(LOG_FORMAT_JSON);
	log_event(LOG_WARNING, "x", "q", "say \"hi\" \\ there", "nl",
	    "a\nb\tc\rd", "ctl", "\x01\x1f\x7f", "u", "caf\xc3\xa9", NULL);
	expect_json("level=warning\nevent=x\nq=say \"hi\" \\ there\n"
	    "nl=a\nb\tc\rd\nctl=<U+0001><U+001F><U+007F>\nu=caf\xc3\xa9\n");
	/* Bytes that are not UTF-8 still make valid JSON. */
	log_event(LOG_INFO, "x", "bad", "\xff\xc3(", "key \"q\"", "v", NULL);
	expect_json("level=info\nevent=x\nbad=<U+FFFD><U+FFFD>(\n"
	    "key \"q\"=v\n");
}
END_TEST

START_TEST(json_free_text)
{
	log_setformat(LOG_FORMAT_JSON);
	errno = ENOENT;
	log_warn("open %s", "/x \"y\"");
	ck_assert_int_eq(errno, ENOENT);
	expect_json("level=err\nevent=log\nmsg=open /x \"y\"\n"
	    "error=No such file or directory\n");
}
END_TEST

START_TEST(levels)
{
	char	*s;

	log_setlevel(LOG_WARNING);
	ck_assert_int_eq(log_getlevel(), LOG_WARNING);
	log_info("hidden");
	log_debug("hidden");
	log_notice("hidden");
	log_event(LOG_INFO, "hidden", NULL);
	s = take();
	ck_assert_str_eq(s, "");
	free(s);
	log_warnx("shown %d", 1);
	expect_line("level=warning event=log msg=\"shown 1\"");
	log_event(LOG_ERR, "store.error", "error", "locked", NULL);
	expect_line("level=err event=store.error error=locked");

	log_setlevel(LOG_DEBUG);
	log_debug("trace");
	expect_line("level=debug event=log msg=trace");
	log_notice("n");
	expect_line("level=notice event=log msg=n");
}
END_TEST

START_TEST(level_names)
{
	ck_assert_int_eq(log_level_parse("debug"), LOG_DEBUG);
	ck_assert_int_eq(log_level_parse("info"), LOG_INFO);
	ck_assert_int_eq(log_level_parse("notice"), LOG_NOTICE);
	ck_assert_int_eq(log_level_parse("warning"), LOG_WARNING);
	ck_assert_int_eq(log_level_parse("err"), LOG_ERR);
	ck_assert_int_eq(log_level_parse("verbose"), -1);
	ck_assert_int_eq(log_level_parse("INFO"), -1);
	ck_assert_str_eq(log_level_name(LOG_WARNING), "warning");
	ck_assert_str_eq(log_level_name(LOG_ERR), "err");
}
END_TEST

START_TEST(warn_strerror)
{
	errno = EACCES;
	log_warn("open %s", "/etc/x");
	ck_assert_int_eq(errno, EACCES);
	expect_line("level=err event=log msg=\"open /etc/x\" "
	    "error=\"Permission denied\"");
}
END_TEST

START_TEST(errno_kept)
{
	char	*s;

	errno = EBADF;
	log_event(LOG_INFO, "x", "a", "b", NULL);
	ck_assert_int_eq(errno, EBADF);
	log_event(LOG_DEBUG, "filtered", NULL);
	ck_assert_int_eq(errno, EBADF);
	s = take();
	free(s);
}
END_TEST

START_TEST(journal_prefix)
{
	setenv("JOURNAL_STREAM", "8:1234", 1);
	log_init(LOG_DEBUG, LOG_FORMAT_LOGFMT);
	log_setstream(mem);
	log_event(LOG_INFO, "x", "a", "1", NULL);
	/* journald stamps lines itself: no ts. */
	expect_line("<6>level=info event=x a=1");
	log_warnx("w");
	expect_line("<4>level=warning event=log msg=w");
	errno = 0;
	log_warn("e");
	expect_line("<3>level=err event=log msg=e error=Success");
	log_debug("d");
	expect_line("<7>level=debug event=log msg=d");
	unsetenv("JOURNAL_STREAM");
}
END_TEST

START_TEST(long_value_bounded)
{
	char	*big, *s;

	big = xmalloc(20000);
	memset(big, 'x', 19999);
	big[19999] = '\0';
	big[10] = '\n';
	log_event(LOG_INFO, "x", "v", big, NULL);
	s = one_line();
	ck_assert_uint_lt(strlen(s), 8192);
	/* Cut, but well formed: the quote is closed (and ts kept). */
	ck_assert_str_eq(s + strlen(s) - 4, "...\"");
	free(s);
	log_setformat(LOG_FORMAT_JSON);
	log_event(LOG_INFO, "x", "v", big, "w", "dropped", NULL);
	s = json_line();
	ck_assert_ptr_null(strstr(s, "w=dropped"));
	free(s);
	free(big);
}
END_TEST

START_TEST(fatal_exits)
{
	fatalx("bye %s", "now");
}
END_TEST

static Suite *
log_suite(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("log");
	TCase	*tf = tcase_create("fatal");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, logfmt_shape);
	tcase_add_test(tc, logfmt_has_ts);
	tcase_add_test(tc, logfmt_quoting);
	tcase_add_test(tc, logfmt_injection);
	tcase_add_test(tc, logfmt_controls_utf8);
	tcase_add_test(tc, null_values_skipped);
	tcase_add_test(tc, event_escaped);
	tcase_add_test(tc, json_shape);
	tcase_add_test(tc, json_escaping);
	tcase_add_test(tc, json_free_text);
	tcase_add_test(tc, levels);
	tcase_add_test(tc, level_names);
	tcase_add_test(tc, warn_strerror);
	tcase_add_test(tc, errno_kept);
	tcase_add_test(tc, journal_prefix);
	tcase_add_test(tc, long_value_bounded);
	suite_add_tcase(s, tc);

	/* Apart, so CK_FORK=no CK_RUN_CASE=log can run the rest. */
	tcase_add_checked_fixture(tf, setup, teardown);
	tcase_add_exit_test(tf, fatal_exits, 1);
	suite_add_tcase(s, tf);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(log_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
