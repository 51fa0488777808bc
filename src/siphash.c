/*
 * SipHash-2-4 (Aumasson and Bernstein), for the hash tables whose keys
 * come from outside: client addresses, URLs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "siphash.h"

#define SIP_ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

/* One SipHash round on the state v. */
static void
siphash_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = SIP_ROTL(v[1], 13) ^ v[0];
	v[0] = SIP_ROTL(v[0], 32);
	v[2] += v[3];
	v[3] = SIP_ROTL(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = SIP_ROTL(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = SIP_ROTL(v[1], 17) ^ v[2];
	v[2] = SIP_ROTL(v[2], 32);
}

void
siphash_key_random(struct siphash_key *key)
{
	arc4random_buf(key, sizeof(*key));
}

/* SipHash-2-4 of the len bytes at data under key (little-endian words). */
uint64_t
siphash24(const struct siphash_key *key, const void *data, size_t len)
{
	const unsigned char	*p = data;
	uint64_t		 v[4], m;
	size_t			 i, j;

	v[0] = key->k0 ^ 0x736f6d6570736575ULL;
	v[1] = key->k1 ^ 0x646f72616e646f6dULL;
	v[2] = key->k0 ^ 0x6c7967656e657261ULL;
	v[3] = key->k1 ^ 0x7465646279746573ULL;
	for (i = 0; i + 8 <= len; i += 8) {
		for (m = 0, j = 0; j < 8; j++)
			m |= (uint64_t)p[i + j] << (8 * j);
		v[3] ^= m;
		siphash_round(v);
		siphash_round(v);
		v[0] ^= m;
	}
	for (m = (uint64_t)len << 56, j = 0; i + j < len; j++)
		m |= (uint64_t)p[i + j] << (8 * j);
	v[3] ^= m;
	siphash_round(v);
	siphash_round(v);
	v[0] ^= m;
	v[2] ^= 0xff;
	for (j = 0; j < 4; j++)
		siphash_round(v);
	return (v[0] ^ v[1] ^ v[2] ^ v[3]);
}
