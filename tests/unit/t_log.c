/* Unit tests for log.c: line shape, escaping, JSON, levels. */
#include <sys/uio.h>

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

/*
 * Native journal: a stand-in for sd_journal_sendv that keeps the
 * entry's fields, each "FIELD=value" (values may hold newlines).
 */
#define JMAX	16
static char	*jfields[JMAX];
static int	 jcount, jcalls, jfail;

static void
jclear(void)
{
	int	 i;

	for (i = 0; i < jcount; i++)
		free(jfields[i]);
	jcount = 0;
}

static void
jreset(void)
{
	jclear();
	jcalls = jfail = 0;
}

static int
jsendv(const struct iovec *iov, int n)
{
	int	 i;

	jclear();
	jcalls++;
	for (i = 0; i < n && i < JMAX; i++) {
		jfields[i] = xmalloc(iov[i].iov_len + 1);
		memcpy(jfields[i], iov[i].iov_base, iov[i].iov_len);
		jfields[i][iov[i].iov_len] = '\0';
	}
	jcount = i;
	return (jfail ? -ENOENT : 0);
}

/* The value of FIELD in the last entry, or NULL. */
static const char *
jget(const char *name)
{
	size_t	 len = strlen(name);
	int	 i;

	for (i = 0; i < jcount; i++)
		if (strncmp(jfields[i], name, len) == 0 &&
		    jfields[i][len] == '=')
			return (jfields[i] + len + 1);
	return (NULL);
}

static void
jsetup(void)
{
	setup();
	jreset();
	log_setjournal(jsendv);
}

static void
jteardown(void)
{
	log_setjournal(NULL);
	jreset();
	teardown();
}

START_TEST(journal_fields)
{
	char	*s;

	log_event(LOG_INFO, "pingback.rejected", "id", "7f3a09c1",
	    "source", "https://a.example/p?q=\"x y\"\nz", "target",
	    "https://blog.example.com/post/", "client", "203.0.113.9",
	    "fault", "16", "ms", "12", NULL);
	ck_assert_int_eq(jcalls, 1);
	ck_assert_str_eq(jget("MESSAGE"), "level=info event=pingback.rejected "
	    "id=7f3a09c1 source=\"https://a.example/p?q=\\\"x y\\\"\\nz\" "
	    "target=https://blog.example.com/post/ client=203.0.113.9 "
	    "fault=16 ms=12");
	ck_assert_str_eq(jget("PRIORITY"), "6");
	ck_assert_str_eq(jget("SYSLOG_IDENTIFIER"), "pingbackd");
	ck_assert_str_eq(jget("PINGBACKD_EVENT"), "pingback.rejected");
	/* Fields carry the value as given, not the escaped one. */
	ck_assert_str_eq(jget("SOURCE_URL"),
	    "https://a.example/p?q=\"x y\"\nz");
	ck_assert_str_eq(jget("TARGET_URL"), "https://blog.example.com/post/");
	ck_assert_str_eq(jget("PINGBACK_ID"), "7f3a09c1");
	ck_assert_str_eq(jget("FAULT_CODE"), "16");
	ck_assert_int_eq(jcount, 8);	/* client, ms: in MESSAGE only */
	/* Sent to the journal: nothing on the stream. */
	s = take();
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

START_TEST(journal_priorities)
{
	log_event(LOG_NOTICE, "ready", NULL);
	ck_assert_str_eq(jget("PRIORITY"), "5");
	ck_assert_ptr_null(jget("PINGBACK_ID"));
	log_warnx("w");
	ck_assert_str_eq(jget("PRIORITY"), "4");
	ck_assert_str_eq(jget("PINGBACKD_EVENT"), "log");
	log_warn("e");
	ck_assert_str_eq(jget("PRIORITY"), "3");
	jcalls = 0;
	log_debug("filtered");
	ck_assert_int_eq(jcalls, 0);
}
END_TEST

START_TEST(journal_skips_null_first_wins)
{
	log_event(LOG_INFO, "x", "id", NULL, "target", "t1", "target", "t2",
	    "id", "abc", NULL);
	ck_assert_str_eq(jget("PINGBACK_ID"), "abc");
	ck_assert_str_eq(jget("TARGET_URL"), "t1");
	ck_assert_ptr_null(jget("SOURCE_URL"));
	ck_assert_ptr_null(jget("FAULT_CODE"));
}
END_TEST

START_TEST(journal_value_bounded)
{
	char	*big;
	size_t	 i;

	big = xmalloc(5001);
	memset(big, 'x', 5000);
	big[5000] = '\0';
	log_event(LOG_INFO, "x", "target", big, NULL);
	ck_assert_uint_eq(strlen(jget("TARGET_URL")), LOG_JOURNAL_VALUE_BYTES);
	/* Cut before a UTF-8 sequence, not inside it. */
	big[0] = 'a';
	for (i = 1; i + 1 < 5000; i += 2) {
		big[i] = (char)0xc3;
		big[i + 1] = (char)0xa9;
	}
	big[4999] = '\0';
	log_event(LOG_INFO, "x", "source", big, NULL);
	ck_assert_uint_eq(strlen(jget("SOURCE_URL")),
	    LOG_JOURNAL_VALUE_BYTES - 1);
	free(big);
}
END_TEST

START_TEST(journal_json_message)
{
	log_setformat(LOG_FORMAT_JSON);
	log_event(LOG_INFO, "x", "id", "1a", NULL);
	ck_assert_str_eq(jget("MESSAGE"),
	    "{\"level\":\"info\",\"event\":\"x\",\"id\":\"1a\"}");
	ck_assert_str_eq(jget("PINGBACK_ID"), "1a");
}
END_TEST

START_TEST(journal_fallback)
{
	jfail = 1;
	log_event(LOG_INFO, "x", "a", "1", NULL);
	ck_assert_int_eq(jcalls, 1);
	/* The journal refused it: stderr's "<N>" line instead. */
	expect_line("<6>level=info event=x a=1");
}
END_TEST

START_TEST(journal_stream_mismatch)
{
	char	*s;

	/* A JOURNAL_STREAM that is not our stderr: no native journal. */
	setenv("JOURNAL_STREAM", "0:1", 1);
	log_init(LOG_INFO, LOG_FORMAT_LOGFMT);
	log_setstream(mem);
	jreset();
	log_event(LOG_INFO, "x", NULL);
	ck_assert_int_eq(jcalls, 0);
	s = one_line();
	ck_assert_str_eq(s, "<6>level=info event=x");
	free(s);
	unsetenv("JOURNAL_STREAM");
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
	TCase	*tj = tcase_create("journal");

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

	tcase_add_checked_fixture(tj, jsetup, jteardown);
	tcase_add_test(tj, journal_fields);
	tcase_add_test(tj, journal_priorities);
	tcase_add_test(tj, journal_skips_null_first_wins);
	tcase_add_test(tj, journal_value_bounded);
	tcase_add_test(tj, journal_json_message);
	tcase_add_test(tj, journal_fallback);
	tcase_add_test(tj, journal_stream_mismatch);
	suite_add_tcase(s, tj);

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
