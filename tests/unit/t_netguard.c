/*
 * Unit tests for netguard.c: every refused address class, the embedded
 * IPv4 forms, the allow list and CIDR parsing.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "pbd.h"

int	main(void);

struct ng_case {
	const char	*addr;
	const char	*why;		/* NULL: allowed */
};

/* Build a sockaddr for a literal address; fail the test if it is bad. */
static void
t_sockaddr(const char *addr, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(80);
		return;
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(80);
		return;
	}
	ck_abort_msg("bad test address %s", addr);
}

/* ng_check of a literal address against an allow list. */
static const char *
t_check(const char *addr, const struct cidr *allow, size_t nallow)
{
	struct sockaddr_storage	 ss;

	t_sockaddr(addr, &ss);
	return (ng_check((struct sockaddr *)&ss, allow, nallow));
}

/* Check each case against the empty allow list. */
static void
t_cases(const struct ng_case *c, size_t n)
{
	const char	*why;
	size_t		 i;

	for (i = 0; i < n; i++) {
		why = t_check(c[i].addr, NULL, 0);
		if (c[i].why == NULL)
			ck_assert_msg(why == NULL, "%s: refused (%s), want allowed",
			    c[i].addr, why);
		else
			ck_assert_msg(why != NULL && strcmp(why, c[i].why) == 0,
			    "%s: got %s, want %s", c[i].addr,
			    why ? why : "allowed", c[i].why);
	}
}

#define NCASES(a)	(sizeof(a) / sizeof((a)[0]))

START_TEST(test_v4_classes)
{
	static const struct ng_case c[] = {
		{ "0.0.0.0", "unspecified" },
		{ "0.255.255.255", "unspecified" },
		{ "10.0.0.1", "private" },
		{ "10.255.255.255", "private" },
		{ "172.16.0.1", "private" },
		{ "172.31.255.255", "private" },
		{ "192.168.1.1", "private" },
		{ "127.0.0.1", "loopback" },
		{ "127.255.255.254", "loopback" },
		{ "169.254.169.254", "link-local" },
		{ "100.64.0.1", "cgnat" },
		{ "100.127.255.255", "cgnat" },
		{ "192.0.0.8", "reserved" },
		{ "192.0.2.1", "documentation" },
		{ "198.51.100.7", "documentation" },
		{ "203.0.113.200", "documentation" },
		{ "198.18.0.1", "benchmark" },
		{ "198.19.255.255", "benchmark" },
		{ "224.0.0.1", "multicast" },
		{ "239.255.255.250", "multicast" },
		{ "240.0.0.1", "reserved" },
		{ "254.1.2.3", "reserved" },
		{ "255.255.255.255", "broadcast" },
		/* Neighbours of the special ranges are public. */
		{ "1.1.1.1", NULL },
		{ "8.8.8.8", NULL },
		{ "9.255.255.255", NULL },
		{ "11.0.0.0", NULL },
		{ "172.15.255.255", NULL },
		{ "172.32.0.0", NULL },
		{ "192.167.255.255", NULL },
		{ "192.169.0.0", NULL },
		{ "100.63.255.255", NULL },
		{ "100.128.0.0", NULL },
		{ "126.255.255.255", NULL },
		{ "128.0.0.0", NULL },
		{ "169.253.255.255", NULL },
		{ "192.0.1.1", NULL },
		{ "192.0.3.1", NULL },
		{ "198.17.255.255", NULL },
		{ "198.20.0.0", NULL },
		{ "198.51.101.1", NULL },
		{ "203.0.114.1", NULL },
		{ "223.255.255.255", NULL },
		{ "93.184.216.34", NULL },
	};

	t_cases(c, NCASES(c));
}
END_TEST

START_TEST(test_v6_classes)
{
	static const struct ng_case c[] = {
		{ "::", "unspecified" },
		{ "::1", "loopback" },
		{ "0:0:0:0:0:0:0:1", "loopback" },
		{ "fe80::1", "link-local" },
		{ "febf:ffff::1", "link-local" },
		{ "fc00::1", "private" },
		{ "fd12:3456:789a::1", "private" },
		{ "ff02::1", "multicast" },
		{ "ff0e::101", "multicast" },
		{ "2001:db8::1", "documentation" },
		{ "2001:db8:ffff::1", "documentation" },
		{ "100::1", "discard" },
		{ "100::ffff:ffff:ffff:ffff", "discard" },
		{ "fec0::1", "site-local" },
		{ "feff::1", "site-local" },
		{ "3fff::1", "documentation" },
		{ "2001:2::1", "benchmark" },
		{ "2001:10::1", "reserved" },
		{ "::ffff:0:1.2.3.4", "reserved" },	/* SIIT translated */
		{ "4000::1", "reserved" },
		{ "100:0:0:1::1", "reserved" },
		/* Public unicast. */
		{ "2001:4860:4860::8888", NULL },
		{ "2606:4700:4700::1111", NULL },
		{ "2a00:1450:4001:800::200e", NULL },
		{ "2001:db9::1", NULL },
		{ "2001:0:4136:e378:8000:63bf:3fff:fdd2", NULL },	/* Teredo */
	};

	t_cases(c, NCASES(c));
}
END_TEST

START_TEST(test_v6_embedded)
{
	static const struct ng_case c[] = {
		/* IPv4-mapped. */
		{ "::ffff:127.0.0.1", "loopback" },
		{ "::ffff:7f00:1", "loopback" },
		{ "::ffff:10.1.2.3", "private" },
		{ "::ffff:169.254.169.254", "link-local" },
		{ "::ffff:0.0.0.0", "unspecified" },
		{ "::ffff:255.255.255.255", "broadcast" },
		{ "::ffff:8.8.8.8", NULL },
		/* IPv4-compatible (deprecated). */
		{ "::127.0.0.1", "loopback" },
		{ "::192.168.0.1", "private" },
		{ "::2", "unspecified" },
		{ "::8.8.8.8", NULL },
		/* NAT64 well-known prefix. */
		{ "64:ff9b::7f00:1", "loopback" },
		{ "64:ff9b::10.0.0.1", "private" },
		{ "64:ff9b::100.64.0.1", "cgnat" },
		{ "64:ff9b::8.8.8.8", NULL },
		/* NAT64 local use: every layout must be public. */
		{ "64:ff9b:1::7f00:1", "loopback" },
		{ "64:ff9b:1:7f01:1:108:808:808", "loopback" },	/* /48 */
		{ "64:ff9b:1:87f:1:101:808:808", "loopback" },	/* /56 */
		{ "64:ff9b:1:808:7f:101:108:808", "loopback" },	/* /64 */
		{ "64:ff9b:1:808:8:808:808:808", NULL },
		/* 6to4. */
		{ "2002:7f00:1::1", "loopback" },
		{ "2002:c0a8:101::1", "private" },
		{ "2002:a9fe:a9fe::", "link-local" },
		{ "2002:808:808::1", NULL },
	};

	t_cases(c, NCASES(c));
}
END_TEST

START_TEST(test_allow)
{
	struct cidr	 allow[3];
	size_t		 n = 0;

	ck_assert_int_eq(ng_parse_cidr("127.0.0.0/8", &allow[n++]), 0);
	ck_assert_int_eq(ng_parse_cidr("::1/128", &allow[n++]), 0);
	ck_assert_int_eq(ng_parse_cidr("10.1.0.0/16", &allow[n++]), 0);

	ck_assert_ptr_null(t_check("127.0.0.1", allow, n));
	ck_assert_ptr_null(t_check("127.9.9.9", allow, n));
	ck_assert_ptr_null(t_check("::1", allow, n));
	ck_assert_ptr_null(t_check("10.1.200.3", allow, n));
	ck_assert_str_eq(t_check("10.2.0.1", allow, n), "private");
	ck_assert_str_eq(t_check("192.168.0.1", allow, n), "private");
	ck_assert_str_eq(t_check("::2", allow, n), "unspecified");
	ck_assert_str_eq(t_check("fe80::1", allow, n), "link-local");
	/* The embedded IPv4 of the mapped forms is matched too. */
	ck_assert_ptr_null(t_check("::ffff:127.0.0.1", allow, n));
	ck_assert_ptr_null(t_check("::ffff:10.1.2.3", allow, n));
	ck_assert_ptr_null(t_check("64:ff9b::7f00:1", allow, n));
	ck_assert_ptr_null(t_check("2002:7f00:1::", allow, n));
	ck_assert_ptr_null(t_check("::127.0.0.1", allow, n));
	ck_assert_str_eq(t_check("::ffff:10.2.0.1", allow, n), "private");
	/* Public addresses stay allowed. */
	ck_assert_ptr_null(t_check("8.8.8.8", allow, n));
	ck_assert_ptr_null(t_check("2001:4860:4860::8888", allow, n));
	/* Families do not cross: ::1/128 does not allow 127.0.0.1. */
	ck_assert_str_eq(t_check("127.0.0.1", allow + 1, 1), "loopback");
	ck_assert_str_eq(t_check("::1", allow, 1), "loopback");
}
END_TEST

START_TEST(test_allow_v6_nets)
{
	struct cidr	 allow[2];

	ck_assert_int_eq(ng_parse_cidr("fd00::/8", &allow[0]), 0);
	ck_assert_int_eq(ng_parse_cidr("::ffff:192.168.0.0/112", &allow[1]), 0);
	ck_assert_ptr_null(t_check("fd12::1", allow, 2));
	ck_assert_str_eq(t_check("fc00::1", allow, 2), "private");
	/* An IPv6 entry matches the address as connected. */
	ck_assert_ptr_null(t_check("::ffff:192.168.3.4", allow, 2));
	ck_assert_str_eq(t_check("192.168.3.4", allow, 2), "private");
	/* Allowing everything. */
	ck_assert_int_eq(ng_parse_cidr("0.0.0.0/0", &allow[0]), 0);
	ck_assert_int_eq(ng_parse_cidr("::/0", &allow[1]), 0);
	ck_assert_ptr_null(t_check("127.0.0.1", allow, 2));
	ck_assert_ptr_null(t_check("ff02::1", allow, 2));
}
END_TEST

START_TEST(test_nat64_local_allow)
{
	struct cidr	 allow[1];

	/* The /48 reading of this address is 0.0.0.0: still refused. */
	ck_assert_int_eq(ng_parse_cidr("127.0.0.0/8", &allow[0]), 0);
	ck_assert_str_eq(t_check("64:ff9b:1::7f00:1", allow, 1),
	    "unspecified");
	ck_assert_int_eq(ng_parse_cidr("64:ff9b:1::/48", &allow[0]), 0);
	ck_assert_ptr_null(t_check("64:ff9b:1::7f00:1", allow, 1));
}
END_TEST

START_TEST(test_other_family)
{
	struct sockaddr_storage	 ss;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	ck_assert_ptr_nonnull(ng_check((struct sockaddr *)&ss, NULL, 0));
	ck_assert_ptr_nonnull(ng_check(NULL, NULL, 0));
}
END_TEST

START_TEST(test_parse_cidr)
{
	struct cidr	 c;
	uint8_t		 want[16];

	ck_assert_int_eq(ng_parse_cidr("127.0.0.0/8", &c), 0);
	ck_assert_int_eq(c.family, AF_INET);
	ck_assert_int_eq(c.prefix, 8);
	ck_assert_int_eq(c.addr[0], 127);

	ck_assert_int_eq(ng_parse_cidr("10.1.2.3", &c), 0);
	ck_assert_int_eq(c.family, AF_INET);
	ck_assert_int_eq(c.prefix, 32);
	ck_assert_int_eq(memcmp(c.addr, "\x0a\x01\x02\x03", 4), 0);

	ck_assert_int_eq(ng_parse_cidr("::1/128", &c), 0);
	ck_assert_int_eq(c.family, AF_INET6);
	ck_assert_int_eq(c.prefix, 128);
	memset(want, 0, sizeof(want));
	want[15] = 1;
	ck_assert_int_eq(memcmp(c.addr, want, 16), 0);

	ck_assert_int_eq(ng_parse_cidr("2001:db8::/32", &c), 0);
	ck_assert_int_eq(c.family, AF_INET6);
	ck_assert_int_eq(c.prefix, 32);

	ck_assert_int_eq(ng_parse_cidr("fe80::1", &c), 0);
	ck_assert_int_eq(c.prefix, 128);
	ck_assert_int_eq(ng_parse_cidr("0.0.0.0/0", &c), 0);
	ck_assert_int_eq(c.prefix, 0);

	/* Host bits are masked off. */
	ck_assert_int_eq(ng_parse_cidr("192.168.1.7/24", &c), 0);
	ck_assert_int_eq(memcmp(c.addr, "\xc0\xa8\x01\x00", 4), 0);
	ck_assert_int_eq(ng_parse_cidr("10.255.255.255/9", &c), 0);
	ck_assert_int_eq(memcmp(c.addr, "\x0a\x80\x00\x00", 4), 0);
	ck_assert_int_eq(ng_parse_cidr("2001:db8:ffff::1/33", &c), 0);
	memset(want, 0, sizeof(want));
	memcpy(want, "\x20\x01\x0d\xb8\x80", 5);
	ck_assert_int_eq(memcmp(c.addr, want, 16), 0);
}
END_TEST

START_TEST(test_parse_cidr_bad)
{
	static const char *bad[] = {
		"", "/", "/8", "127.0.0.0/", "127.0.0.0/33", "::/129",
		"127.0.0.0/-1", "127.0.0.0/+8", "127.0.0.0/08", "127.0.0.0/8x",
		"127.0.0.0/8/8", "127.0.0.0/1000", "127.0.0", "256.0.0.0/8",
		"127.0.0.0 /8", " 127.0.0.1", "127.0.0.1 ", "localhost",
		"fe80::1%lo", "::1/12 8", "1.2.3.4.5", ":::/0",
		"0x7f000001", "127.0.0.0/8 ::1/128",
		"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128xxxxxxxxxx",
	};
	struct cidr	 c;
	size_t		 i;

	memset(&c, 0x5a, sizeof(c));
	for (i = 0; i < NCASES(bad); i++)
		ck_assert_msg(ng_parse_cidr(bad[i], &c) == -1,
		    "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(ng_parse_cidr(NULL, &c), -1);
	/* c is untouched on failure. */
	ck_assert_int_eq(c.prefix, 0x5a5a5a5a);
}
END_TEST

static Suite *
netguard_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("netguard");
	tc = tcase_create("classes");
	tcase_add_test(tc, test_v4_classes);
	tcase_add_test(tc, test_v6_classes);
	tcase_add_test(tc, test_v6_embedded);
	tcase_add_test(tc, test_other_family);
	suite_add_tcase(s, tc);
	tc = tcase_create("allow");
	tcase_add_test(tc, test_allow);
	tcase_add_test(tc, test_allow_v6_nets);
	tcase_add_test(tc, test_nat64_local_allow);
	suite_add_tcase(s, tc);
	tc = tcase_create("parse");
	tcase_add_test(tc, test_parse_cidr);
	tcase_add_test(tc, test_parse_cidr_bad);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(netguard_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
