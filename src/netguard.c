/*
 * The SSRF guard's address rules: which addresses pingbackd may connect
 * to when it fetches a page on a stranger's say-so.  Only public unicast
 * addresses pass, unless the operator lists a network in
 * fetch.allow_networks.  IPv6 forms that carry an IPv4 address (mapped,
 * compatible, NAT64, 6to4) are judged by the IPv4 address they carry,
 * since that is where the packets end up.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <string.h>

#include "pbd.h"

/* A special-purpose network and why it is refused. */
struct ng_net {
	uint8_t		 addr[16];
	int		 prefix;
	const char	*why;
};

/*
 * IPv4 special-purpose networks (RFC 6890 and friends).  Order matters
 * where networks nest: 255.255.255.255 is "broadcast", the rest of
 * 240/4 "reserved".
 */
static const struct ng_net ng_v4[] = {
	{ { 0, 0, 0, 0 }, 8, "unspecified" },
	{ { 10, 0, 0, 0 }, 8, "private" },
	{ { 100, 64, 0, 0 }, 10, "cgnat" },
	{ { 127, 0, 0, 0 }, 8, "loopback" },
	{ { 169, 254, 0, 0 }, 16, "link-local" },
	{ { 172, 16, 0, 0 }, 12, "private" },
	{ { 192, 0, 0, 0 }, 24, "reserved" },
	{ { 192, 0, 2, 0 }, 24, "documentation" },
	{ { 192, 168, 0, 0 }, 16, "private" },
	{ { 198, 18, 0, 0 }, 15, "benchmark" },
	{ { 198, 51, 100, 0 }, 24, "documentation" },
	{ { 203, 0, 113, 0 }, 24, "documentation" },
	{ { 224, 0, 0, 0 }, 4, "multicast" },
	{ { 255, 255, 255, 255 }, 32, "broadcast" },
	{ { 240, 0, 0, 0 }, 4, "reserved" },
};

/* IPv6 special-purpose networks that carry no IPv4 address. */
static const struct ng_net ng_v6[] = {
	{ { 0 }, 128, "unspecified" },
	{ { [15] = 1 }, 128, "loopback" },
	{ { 0xfe, 0x80 }, 10, "link-local" },
	{ { 0xfe, 0xc0 }, 10, "site-local" },
	{ { 0xfc, 0x00 }, 7, "private" },
	{ { 0xff, 0x00 }, 8, "multicast" },
	{ { 0x01, 0x00 }, 64, "discard" },
	{ { 0x20, 0x01, 0x0d, 0xb8 }, 32, "documentation" },
	{ { 0x3f, 0xff }, 20, "documentation" },
	{ { 0x20, 0x01, 0x00, 0x02, 0x00, 0x00 }, 48, "benchmark" },
	{ { 0x20, 0x01, 0x00, 0x10 }, 28, "reserved" },	/* ORCHID */
	{ { 0x20, 0x01, 0x00, 0x20 }, 28, "reserved" },	/* ORCHIDv2 */
};

static const uint8_t ng_v4mapped[16] = { [10] = 0xff, [11] = 0xff };
static const uint8_t ng_nat64[16] = { 0x00, 0x64, 0xff, 0x9b };
static const uint8_t ng_nat64_local[16] = { 0x00, 0x64, 0xff, 0x9b, 0x00, 1 };
static const uint8_t ng_6to4[16] = { 0x20, 0x02 };
static const uint8_t ng_global[16] = { 0x20 };

/* Return 1 if the first prefix bits of a and net are equal. */
static int
ng_match(const uint8_t *a, const uint8_t *net, int prefix)
{
	int	 full = prefix / 8, rest = prefix % 8;
	uint8_t	 mask;

	if (memcmp(a, net, full) != 0)
		return (0);
	if (rest == 0)
		return (1);
	mask = (uint8_t)(0xff << (8 - rest));
	return ((a[full] & mask) == (net[full] & mask));
}

/* Return 1 if the address (4 or 16 bytes, by family) is inside allow[]. */
static int
ng_allowed(int family, const uint8_t *a, const struct cidr *allow,
    size_t nallow)
{
	size_t	 i;

	for (i = 0; i < nallow; i++)
		if (allow[i].family == family &&
		    ng_match(a, allow[i].addr, allow[i].prefix))
			return (1);
	return (0);
}

/* Why an IPv4 address is refused, or NULL if it is public unicast. */
static const char *
ng_check_v4(const uint8_t *a)
{
	size_t	 i;

	for (i = 0; i < sizeof(ng_v4) / sizeof(ng_v4[0]); i++)
		if (ng_match(a, ng_v4[i].addr, ng_v4[i].prefix))
			return (ng_v4[i].why);
	return (NULL);
}

/*
 * Fill v4[] with the IPv4 addresses an IPv6 address may stand for and
 * return how many.  For the local-use NAT64 prefix 64:ff9b:1::/48 the
 * operator chooses the prefix length (RFC 8215), so the address is
 * read with every RFC 6052 layout that fits (/48, /56, /64, /96) and
 * each reading must pass on its own.
 */
static size_t
ng_embedded(const uint8_t *a, uint8_t v4[4][4])
{
	static const uint8_t zero[16];

	if (ng_match(a, ng_v4mapped, 96) || ng_match(a, zero, 96) ||
	    ng_match(a, ng_nat64, 96)) {
		memcpy(v4[0], a + 12, 4);
		return (1);
	}
	if (ng_match(a, ng_6to4, 16)) {
		memcpy(v4[0], a + 2, 4);
		return (1);
	}
	if (ng_match(a, ng_nat64_local, 48)) {
		memcpy(v4[0], a + 12, 4);			/* /96 */
		memcpy(v4[1], a + 9, 4);			/* /64 */
		v4[2][0] = a[7];				/* /56 */
		memcpy(v4[2] + 1, a + 9, 3);
		v4[3][0] = a[6];				/* /48 */
		v4[3][1] = a[7];
		v4[3][2] = a[9];
		v4[3][3] = a[10];
		return (4);
	}
	return (0);
}

/* Why an IPv6 address is refused, or NULL if it may be connected to. */
static const char *
ng_check_v6(const uint8_t *a, const struct cidr *allow, size_t nallow)
{
	uint8_t		 v4[4][4];
	const char	*why;
	size_t		 i, n;

	for (i = 0; i < sizeof(ng_v6) / sizeof(ng_v6[0]); i++)
		if (ng_match(a, ng_v6[i].addr, ng_v6[i].prefix))
			return (ng_v6[i].why);
	if ((n = ng_embedded(a, v4)) > 0) {
		for (i = 0; i < n; i++) {
			if (ng_allowed(AF_INET, v4[i], allow, nallow))
				continue;
			if ((why = ng_check_v4(v4[i])) != NULL)
				return (why);
		}
		return (NULL);
	}
	/* Everything outside global unicast 2000::/3 is unassigned. */
	if (!ng_match(a, ng_global, 3))
		return ("reserved");
	return (NULL);
}

const char *
ng_check(const struct sockaddr *sa, const struct cidr *allow, size_t nallow)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	uint8_t				 a[16];

	if (sa == NULL)
		return ("no address");
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)(const void *)sa;
		memcpy(a, &sin->sin_addr, 4);
		if (ng_allowed(AF_INET, a, allow, nallow))
			return (NULL);
		return (ng_check_v4(a));
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		memcpy(a, &sin6->sin6_addr, 16);
		if (ng_allowed(AF_INET6, a, allow, nallow))
			return (NULL);
		return (ng_check_v6(a, allow, nallow));
	default:
		return ("address family");
	}
}

/*
 * Parse "addr" or "addr/prefix" (IPv4 or IPv6) into c.  A missing
 * prefix means a single host (/32 or /128).  The prefix is decimal,
 * without sign or leading zeros.  Host bits below the prefix are
 * masked off, as nginx does, so "192.168.1.7/24" is 192.168.1.0/24.
 * Return 0, or -1 (and c untouched) if s is not a CIDR.
 */
int
ng_parse_cidr(const char *s, struct cidr *c)
{
	char		 buf[INET6_ADDRSTRLEN + 8], *slash, *p;
	struct cidr	 n;
	int		 max, i;
	size_t		 len;

	if (s == NULL || (len = strlen(s)) == 0 || len >= sizeof(buf))
		return (-1);
	memcpy(buf, s, len + 1);
	memset(&n, 0, sizeof(n));
	n.prefix = -1;
	if ((slash = strchr(buf, '/')) != NULL) {
		*slash = '\0';
		p = slash + 1;
		if (*p == '\0' || strlen(p) > 3 || (p[0] == '0' && p[1] != '\0'))
			return (-1);
		n.prefix = 0;
		for (; *p != '\0'; p++) {
			if (*p < '0' || *p > '9')
				return (-1);
			n.prefix = n.prefix * 10 + (*p - '0');
		}
	}
	if (inet_pton(AF_INET, buf, n.addr) == 1) {
		n.family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, n.addr) == 1) {
		n.family = AF_INET6;
		max = 128;
	} else
		return (-1);
	if (n.prefix == -1)
		n.prefix = max;
	if (n.prefix > max)
		return (-1);
	for (i = n.prefix; i < max; i++)
		n.addr[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
	*c = n;
	return (0);
}
