/* Unit tests for xmlrpc.c: decoding requests, encoding responses. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xmlrpc-c/base.h>

#include "pbd.h"
#include "xmalloc.h"

#define HEAD	"<?xml version=\"1.0\"?><methodCall><methodName>"
#define PARAMS	"</methodName><params>"
#define TAIL	"</params></methodCall>"
#define SPARAM(s) "<param><value><string>" s "</string></value></param>"

static struct xr_call	 call;
static int		 code;
static char		*fault;

static void
setup(void)
{
	xr_init(65536);
	memset(&call, 0, sizeof(call));
	code = -1;
	fault = NULL;
}

static void
teardown(void)
{
	xr_call_free(&call);
	free(fault);
}

/* Every fault from xr_decode: code 0, bounded, no raw controls, UTF-8. */
static void
check_fault_shape(void)
{
	const unsigned char	*p;

	ck_assert_ptr_nonnull(fault);
	ck_assert_int_eq(code, PB_FAULT_GENERIC);
	ck_assert_uint_le(strlen(fault), 200);
	for (p = (const unsigned char *)fault; *p != '\0'; p++)
		ck_assert_msg(*p >= 0x20 && *p != 0x7f,
		    "control byte 0x%02x in fault \"%s\"", *p, fault);
	ck_assert_ptr_null(call.source);
	ck_assert_ptr_null(call.target);
	ck_assert_ptr_null(call.url);
}

static int
decode(const char *body)
{
	return (xr_decode(body, strlen(body), &call, &code, &fault));
}

/* Decode body, expect a fault whose string contains want. */
static void
expect_fault(const char *body, size_t len, const char *want)
{
	ck_assert_int_eq(xr_decode(body, len, &call, &code, &fault), -1);
	check_fault_shape();
	ck_assert_msg(strstr(fault, want) != NULL,
	    "fault \"%s\" lacks \"%s\"", fault, want);
}

#define EXPECT_FAULT(body, want) expect_fault(body, strlen(body), want)

START_TEST(ping_typed)
{
	/* What WordPress sends. */
	ck_assert_int_eq(decode(HEAD "pingback.ping" PARAMS
	    SPARAM("http://a/") SPARAM("http://b/") TAIL), 0);
	ck_assert_int_eq(call.method, XR_PING);
	ck_assert_str_eq(call.source, "http://a/");
	ck_assert_str_eq(call.target, "http://b/");
	ck_assert_ptr_null(call.url);
	ck_assert_ptr_null(fault);
}
END_TEST

START_TEST(ping_untyped)
{
	ck_assert_int_eq(decode("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<methodCall>\n <methodName>pingback.ping</methodName>\n"
	    " <params>\n  <param><value>http://a/x?y=1&amp;z=\xc3\xa9</value>"
	    "</param>\n  <param><value>http://b/</value></param>\n"
	    " </params>\n</methodCall>\n"), 0);
	ck_assert_int_eq(call.method, XR_PING);
	ck_assert_str_eq(call.source, "http://a/x?y=1&z=\xc3\xa9");
	ck_assert_str_eq(call.target, "http://b/");
}
END_TEST

START_TEST(ping_cdata_and_comment)
{
	ck_assert_int_eq(decode(HEAD "pingback.ping" PARAMS "<!-- <<< -->"
	    SPARAM("<![CDATA[http://a/<<<<]]>") SPARAM("http://b/") TAIL), 0);
	ck_assert_str_eq(call.source, "http://a/<<<<");
}
END_TEST

START_TEST(get_pingbacks)
{
	ck_assert_int_eq(decode(HEAD "pingback.extensions.getPingbacks"
	    PARAMS SPARAM("http://b/post") TAIL), 0);
	ck_assert_int_eq(call.method, XR_GET_PINGBACKS);
	ck_assert_str_eq(call.url, "http://b/post");
	ck_assert_ptr_null(call.source);
}
END_TEST

START_TEST(get_pingbacks_arity)
{
	EXPECT_FAULT(HEAD "pingback.extensions.getPingbacks" PARAMS TAIL,
	    "pingback.extensions.getPingbacks takes 1 string parameter (url)");
}
END_TEST

START_TEST(list_methods)
{
	ck_assert_int_eq(decode(HEAD "system.listMethods" PARAMS TAIL), 0);
	ck_assert_int_eq(call.method, XR_LIST_METHODS);
	xr_call_free(&call);
	/* No <params> at all is allowed too. */
	ck_assert_int_eq(decode("<methodCall><methodName>system.listMethods"
	    "</methodName></methodCall>"), 0);
	ck_assert_int_eq(call.method, XR_LIST_METHODS);
}
END_TEST

START_TEST(list_methods_params)
{
	EXPECT_FAULT(HEAD "system.listMethods" PARAMS SPARAM("x") TAIL,
	    "system.listMethods takes no parameters");
}
END_TEST

START_TEST(multicall)
{
	EXPECT_FAULT(HEAD "system.multicall" PARAMS "<param><value><array>"
	    "<data></data></array></value></param>" TAIL,
	    "system.multicall is not supported");
	ck_assert_str_eq(fault, "system.multicall is not supported");
}
END_TEST

START_TEST(unknown_method)
{
	EXPECT_FAULT(HEAD "wp.getUsersBlogs" PARAMS TAIL,
	    "unknown method \"wp.getUsersBlogs\"");
	ck_assert_str_eq(fault, "unknown method \"wp.getUsersBlogs\"");
}
END_TEST

START_TEST(unknown_method_hostile)
{
	char	 body[1024], name[301];

	memset(name, 'a', 300);
	name[300] = '\0';
	snprintf(body, sizeof(body), HEAD "%s" PARAMS TAIL, name);
	EXPECT_FAULT(body, "unknown method \"aaaa");
	ck_assert_uint_le(strlen(fault), strlen("unknown method \"\"") + 64);
	ck_assert_ptr_nonnull(strstr(fault, "...\""));
	free(fault);
	fault = NULL;

	/* Non-ASCII and line breaks in the name are replaced. */
	EXPECT_FAULT(HEAD "x\xc3\xa9\ny&#9;z" PARAMS TAIL, "unknown method");
	ck_assert_str_eq(fault, "unknown method \"x? y z\"");
}
END_TEST

START_TEST(ping_arity)
{
	static const char *bodies[] = {
		HEAD "pingback.ping" PARAMS SPARAM("http://a/") TAIL,
		HEAD "pingback.ping" PARAMS SPARAM("http://a/")
		    SPARAM("http://b/") SPARAM("http://c/") TAIL,
		HEAD "pingback.ping" PARAMS TAIL,
		"<methodCall><methodName>pingback.ping</methodName>"
		    "</methodCall>",
	};
	size_t	 i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		EXPECT_FAULT(bodies[i], "pingback.ping takes 2 string "
		    "parameters (sourceURI, targetURI)");
		free(fault);
		fault = NULL;
	}
}
END_TEST

START_TEST(ping_types)
{
	static const char *bodies[] = {
		HEAD "pingback.ping" PARAMS "<param><value><int>1</int>"
		    "</value></param>" SPARAM("http://b/") TAIL,
		HEAD "pingback.ping" PARAMS SPARAM("http://a/")
		    "<param><value><array><data><value>http://b/</value>"
		    "</data></array></value></param>" TAIL,
		HEAD "pingback.ping" PARAMS SPARAM("http://a/")
		    "<param><value><struct><member><name>u</name><value>x"
		    "</value></member></struct></value></param>" TAIL,
		HEAD "pingback.ping" PARAMS SPARAM("http://a/")
		    "<param><value><base64>aHR0cDovL2Iv</base64></value>"
		    "</param>" TAIL,
		HEAD "pingback.ping" PARAMS SPARAM("http://a/")
		    "<param><value><boolean>1</boolean></value></param>" TAIL,
	};
	size_t	 i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		EXPECT_FAULT(bodies[i], "pingback.ping takes 2 string "
		    "parameters");
		free(fault);
		fault = NULL;
	}
}
END_TEST

START_TEST(malformed)
{
	EXPECT_FAULT(HEAD "pingback.ping" PARAMS SPARAM("a") "</param>" TAIL,
	    "request is not an XML-RPC methodCall: ");
	free(fault);
	fault = NULL;
	/* Well-formed XML, but not a methodCall. */
	EXPECT_FAULT("<methodResponse><params/></methodResponse>",
	    "request is not an XML-RPC methodCall: ");
	free(fault);
	fault = NULL;
	/* A value type xmlrpc-c does not know. */
	EXPECT_FAULT(HEAD "pingback.ping" PARAMS "<param><value><foo>1</foo>"
	    "</value></param>" TAIL, "request is not an XML-RPC methodCall: ");
	free(fault);
	fault = NULL;
	/* An <int> whose text xmlrpc-c quotes back: still bounded. */
	EXPECT_FAULT(HEAD "x" PARAMS "<param><value><int>1"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "</int></value></param>" TAIL, "...");
}
END_TEST

START_TEST(truncated)
{
	const char	*body = HEAD "pingback.ping" PARAMS SPARAM("http://a/")
	    SPARAM("http://b/") TAIL;
	size_t		 len;

	for (len = 1; len < strlen(body); len += 7) {
		expect_fault(body, len, "request is not an XML-RPC methodCall");
		free(fault);
		fault = NULL;
	}
}
END_TEST

START_TEST(not_xml)
{
	EXPECT_FAULT("hello world", "request is not an XML-RPC methodCall: ");
	free(fault);
	fault = NULL;
	EXPECT_FAULT("{\"method\": \"pingback.ping\"}",
	    "request is not an XML-RPC methodCall: ");
	free(fault);
	fault = NULL;
	EXPECT_FAULT("source=http://a/&target=http://b/",
	    "request is not an XML-RPC methodCall: ");
}
END_TEST

START_TEST(empty)
{
	expect_fault("", 0, "empty request body");
	ck_assert_str_eq(fault, "empty request body");
	free(fault);
	fault = NULL;
	expect_fault(NULL, 0, "empty request body");
}
END_TEST

START_TEST(doctype_entity)
{
	static const char *bodies[] = {
		"<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n"
		"<!ENTITY lol \"lol\">\n"
		"<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
		"<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
		"<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
		"<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
		"<!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
		"<!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
		"<!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
		"<!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
		"<!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
		"]>\n" HEAD "pingback.ping" PARAMS SPARAM("&lol9;")
		SPARAM("http://b/") TAIL,
		"<!doctype methodCall>" HEAD "x" PARAMS TAIL,
		HEAD "x" PARAMS "<!EnTiTy x 'y'>" TAIL,
		/* Anywhere, even where it would not parse. */
		HEAD "x" PARAMS SPARAM("<!dOcTyPe") TAIL,
	};
	size_t	 i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		EXPECT_FAULT(bodies[i], "DOCTYPE and ENTITY declarations are "
		    "not accepted");
		ck_assert_str_eq(fault, "DOCTYPE and ENTITY declarations are "
		    "not accepted");
		free(fault);
		fault = NULL;
	}
}
END_TEST

/* A value nested depth arrays deep in a pingback.ping call. */
static char *
nested_body(int depth)
{
	size_t	 size = (size_t)depth * 64 + 512, off;
	char	*body = xmalloc(size);
	int	 i;

	off = (size_t)snprintf(body, size, HEAD "pingback.ping" PARAMS
	    "<param>");
	for (i = 0; i < depth; i++)
		off += (size_t)snprintf(body + off, size - off,
		    "<value><array><data>");
	off += (size_t)snprintf(body + off, size - off, "<value>x</value>");
	for (i = 0; i < depth; i++)
		off += (size_t)snprintf(body + off, size - off,
		    "</data></array></value>");
	snprintf(body + off, size - off, "</param>" SPARAM("http://b/") TAIL);
	return (body);
}

START_TEST(deep_nesting)
{
	char	*body;

	xr_init(1024 * 1024);
	body = nested_body(10000);
	EXPECT_FAULT(body, "XML nesting is too deep");
	free(body);
	free(fault);
	fault = NULL;

	/* Shallow enough for the pre-scan; xmlrpc-c's limit refuses it. */
	body = nested_body(PBD_XMLRPC_NESTING + 2);
	EXPECT_FAULT(body, "request is not an XML-RPC methodCall: ");
	ck_assert_ptr_nonnull(strstr(fault, "too deep"));
	free(body);
	free(fault);
	fault = NULL;

	/* Within the limit: decodes, and fails only on the types. */
	body = nested_body(PBD_XMLRPC_NESTING - 2);
	EXPECT_FAULT(body, "pingback.ping takes 2 string parameters");
	free(body);
}
END_TEST

START_TEST(many_siblings)
{
	size_t	 size = 3000 * 20 + 512, off;
	char	*body = xmalloc(size);
	int	 i;

	/* Thousands of elements side by side are not nesting. */
	off = (size_t)snprintf(body, size, HEAD "pingback.ping" PARAMS
	    "<param><value><array><data>");
	for (i = 0; i < 3000; i++)
		off += (size_t)snprintf(body + off, size - off,
		    "<value>%d</value>", i);
	snprintf(body + off, size - off, "</data></array></value></param>"
	    SPARAM("http://b/") TAIL);
	EXPECT_FAULT(body, "pingback.ping takes 2 string parameters");
	free(body);
}
END_TEST

START_TEST(invalid_utf8)
{
	static const char *bodies[] = {
		HEAD "pingback.ping" PARAMS SPARAM("http://a/\xff")
		    SPARAM("http://b/") TAIL,
		HEAD "pingback.ping" PARAMS SPARAM("http://a/\xc0\xaf")
		    SPARAM("http://b/") TAIL,		/* overlong '/' */
		HEAD "pingback.ping" PARAMS SPARAM("http://a/\xed\xa0\x80")
		    SPARAM("http://b/") TAIL,		/* surrogate */
		HEAD "pingback.ping" PARAMS SPARAM("http://a/\xe9t\xe9")
		    SPARAM("http://b/") TAIL,		/* Latin-1 */
		HEAD "pingback.ping" PARAMS SPARAM("http://a/\xf4\x90\x80\x80")
		    SPARAM("http://b/") TAIL,		/* > U+10FFFF */
		HEAD "pingback.ping" PARAMS SPARAM("http://a/\xe2\x82")
		    SPARAM("http://b/") TAIL,		/* truncated */
	};
	size_t	 i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		EXPECT_FAULT(bodies[i], "request is not valid UTF-8");
		ck_assert_str_eq(fault, "request is not valid UTF-8");
		free(fault);
		fault = NULL;
	}
}
END_TEST

START_TEST(nul_byte)
{
	static const char body[] = HEAD "pingback.ping" PARAMS
	    SPARAM("http://a/\0x") SPARAM("http://b/") TAIL;

	expect_fault(body, sizeof(body) - 1, "request is not valid UTF-8");
	free(fault);
	fault = NULL;
	/* As a character reference, expat refuses it. */
	EXPECT_FAULT(HEAD "pingback.ping" PARAMS SPARAM("http://a/&#0;")
	    SPARAM("http://b/") TAIL, "request is not an XML-RPC methodCall");
}
END_TEST

START_TEST(i8_refused)
{
	/* xmlrpc-c 1.33 crashes on a malformed <i8>: never let it see one. */
	EXPECT_FAULT(HEAD "pingback.ping" PARAMS "<param><value><i8>zz</i8>"
	    "</value></param>" SPARAM("http://b/") TAIL,
	    "i8 values are not accepted");
	free(fault);
	fault = NULL;
	EXPECT_FAULT(HEAD "pingback.ping" PARAMS "<param><value><ex:i8 >1"
	    "</ex:i8></value></param>" TAIL, "i8 values are not accepted");
	free(fault);
	fault = NULL;
	/* A string that merely mentions it is fine. */
	ck_assert_int_eq(decode(HEAD "pingback.ping" PARAMS
	    SPARAM("http://a/&lt;i8&gt;") SPARAM("http://b/") TAIL), 0);
	ck_assert_str_eq(call.source, "http://a/<i8>");
}
END_TEST

START_TEST(size_limit)
{
	char	 body[2048];

	xr_init(PBD_MIN_BODY_BYTES);
	memset(body, ' ', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	memcpy(body, HEAD "x" PARAMS TAIL, strlen(HEAD "x" PARAMS TAIL));
	EXPECT_FAULT(body, "too large");
}
END_TEST

START_TEST(call_free)
{
	ck_assert_int_eq(decode(HEAD "pingback.ping" PARAMS
	    SPARAM("http://a/") SPARAM("http://b/") TAIL), 0);
	xr_call_free(&call);
	ck_assert_ptr_null(call.source);
	xr_call_free(&call);
	xr_call_free(NULL);
}
END_TEST

/* Parse a response; return its fault code (or -1) and value. */
static int
parse_response(const char *xml, size_t len, xmlrpc_value **result,
    char **fstring)
{
	xmlrpc_env	 env;
	const char	*fs = NULL;
	int		 fcode = -1;

	ck_assert_uint_eq(strlen(xml), len);
	ck_assert_ptr_nonnull(strstr(xml, "<?xml"));
	xmlrpc_env_init(&env);
	*result = NULL;
	xmlrpc_parse_response2(&env, xml, len, result, &fcode, &fs);
	ck_assert_msg(!env.fault_occurred, "response does not parse: %s\n%s",
	    env.fault_string, xml);
	xmlrpc_env_clean(&env);
	*fstring = fs != NULL ? xstrdup(fs) : NULL;
	free((char *)(uintptr_t)fs);
	return (fs != NULL ? fcode : -1);
}

/* The string in v, as a new string. */
static char *
read_string(xmlrpc_value *v)
{
	xmlrpc_env	 env;
	const char	*s;
	char		*r;

	xmlrpc_env_init(&env);
	xmlrpc_read_string(&env, v, &s);
	ck_assert(!env.fault_occurred);
	xmlrpc_env_clean(&env);
	r = xstrdup(s);
	free((char *)(uintptr_t)s);
	return (r);
}

START_TEST(encode_string)
{
	xmlrpc_value	*v;
	char		*xml, *s, *fs;
	size_t		 len;

	xml = xr_encode_string("Pingback from http://a/ to http://b/ "
	    "registered. <&> \xc3\xa9", &len);
	ck_assert_int_eq(parse_response(xml, len, &v, &fs), -1);
	ck_assert_ptr_null(fs);
	s = read_string(v);
	ck_assert_str_eq(s, "Pingback from http://a/ to http://b/ "
	    "registered. <&> \xc3\xa9");
	free(s);
	xmlrpc_DECREF(v);
	free(xml);

	/* Bytes that cannot be XML are replaced, not passed on. */
	xml = xr_encode_string("a\x01\xff" "b", &len);
	ck_assert_int_eq(parse_response(xml, len, &v, &fs), -1);
	s = read_string(v);
	ck_assert_str_eq(s, "a??b");
	free(s);
	xmlrpc_DECREF(v);
	free(xml);
}
END_TEST

START_TEST(encode_strings)
{
	static char	 a[] = "http://a/1", b[] = "http://a/2?x=1&y=<2>",
			 c[] = "http://\xc3\xa9.example/";
	char *const	 in[] = { a, b, c };
	xmlrpc_env	 env;
	xmlrpc_value	*v, *item;
	char		*xml, *s, *fs;
	size_t		 len, i;

	xml = xr_encode_strings(in, 3, &len);
	ck_assert_int_eq(parse_response(xml, len, &v, &fs), -1);
	xmlrpc_env_init(&env);
	ck_assert_int_eq(xmlrpc_array_size(&env, v), 3);
	for (i = 0; i < 3; i++) {
		xmlrpc_array_read_item(&env, v, (unsigned int)i, &item);
		ck_assert(!env.fault_occurred);
		s = read_string(item);
		ck_assert_str_eq(s, in[i]);
		free(s);
		xmlrpc_DECREF(item);
	}
	xmlrpc_env_clean(&env);
	xmlrpc_DECREF(v);
	free(xml);

	xml = xr_encode_strings(NULL, 0, &len);
	ck_assert_int_eq(parse_response(xml, len, &v, &fs), -1);
	xmlrpc_env_init(&env);
	ck_assert_int_eq(xmlrpc_array_size(&env, v), 0);
	xmlrpc_env_clean(&env);
	xmlrpc_DECREF(v);
	free(xml);
}
END_TEST

START_TEST(encode_fault)
{
	xmlrpc_value	*v;
	char		*xml, *fs;
	size_t		 len;

	xml = xr_encode_fault(PB_FAULT_NO_LINK, "The source URI does not "
	    "contain a link to the target URI", &len);
	ck_assert_int_eq(parse_response(xml, len, &v, &fs), PB_FAULT_NO_LINK);
	ck_assert_ptr_null(v);
	ck_assert_str_eq(fs, "The source URI does not contain a link to the "
	    "target URI");
	free(fs);
	free(xml);

	/* Invalid UTF-8 and controls are cleaned: still a valid fault. */
	xml = xr_encode_fault(PB_FAULT_GENERIC, "bad \xff\xfe\x01\nline <&>",
	    &len);
	ck_assert_int_eq(parse_response(xml, len, &v, &fs), 0);
	ck_assert_str_eq(fs, "bad ??? line <&>");
	free(fs);
	free(xml);

	xml = xr_encode_fault(PB_FAULT_UPSTREAM, NULL, &len);
	ck_assert_int_eq(parse_response(xml, len, &v, &fs),
	    PB_FAULT_UPSTREAM);
	free(fs);
	free(xml);
}
END_TEST

/* Every decode fault can be encoded and read back intact. */
START_TEST(decode_encode_fault)
{
	xmlrpc_value	*v;
	char		*xml, *fs;
	size_t		 len;

	EXPECT_FAULT(HEAD "\xe2\x82\xac\xe2\x82\xac" PARAMS TAIL,
	    "unknown method");
	xml = xr_encode_fault(code, fault, &len);
	ck_assert_int_eq(parse_response(xml, len, &v, &fs), 0);
	ck_assert_str_eq(fs, fault);
	ck_assert_str_eq(fs, "unknown method \"??\"");
	free(fs);
	free(xml);
}
END_TEST

static Suite *
xmlrpc_suite(void)
{
	Suite	*s = suite_create("xmlrpc");
	TCase	*tc = tcase_create("decode");
	TCase	*te = tcase_create("encode");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, ping_typed);
	tcase_add_test(tc, ping_untyped);
	tcase_add_test(tc, ping_cdata_and_comment);
	tcase_add_test(tc, get_pingbacks);
	tcase_add_test(tc, get_pingbacks_arity);
	tcase_add_test(tc, list_methods);
	tcase_add_test(tc, list_methods_params);
	tcase_add_test(tc, multicall);
	tcase_add_test(tc, unknown_method);
	tcase_add_test(tc, unknown_method_hostile);
	tcase_add_test(tc, ping_arity);
	tcase_add_test(tc, ping_types);
	tcase_add_test(tc, malformed);
	tcase_add_test(tc, truncated);
	tcase_add_test(tc, not_xml);
	tcase_add_test(tc, empty);
	tcase_add_test(tc, doctype_entity);
	tcase_add_test(tc, deep_nesting);
	tcase_add_test(tc, many_siblings);
	tcase_add_test(tc, invalid_utf8);
	tcase_add_test(tc, nul_byte);
	tcase_add_test(tc, i8_refused);
	tcase_add_test(tc, size_limit);
	tcase_add_test(tc, call_free);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(te, setup, teardown);
	tcase_add_test(te, encode_string);
	tcase_add_test(te, encode_strings);
	tcase_add_test(te, encode_fault);
	tcase_add_test(te, decode_encode_fault);
	suite_add_tcase(s, te);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(xmlrpc_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
