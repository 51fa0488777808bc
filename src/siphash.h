/* SipHash-2-4: the keyed hash of the daemon's tables (rate limits, cache). */
#ifndef PBD_SIPHASH_H
#define PBD_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

struct siphash_key {
	uint64_t	k0, k1;
};

/* A fresh random key, so clients cannot choose colliding keys. */
void		siphash_key_random(struct siphash_key *);
uint64_t	siphash24(const struct siphash_key *, const void *, size_t);

#endif
