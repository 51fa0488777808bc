/*
 * Token buckets per client address.  A bucket starts full (burst
 * tokens), refills at rate tokens per second up to burst, and a request
 * takes one token.  burst 0 disables the limit.
 *
 * Memory is bounded: at most RL_MAX_BUCKETS buckets.  A bucket that has
 * refilled to full carries no state (a new one would start full too), so
 * idle buckets are dropped incrementally: each take looks at the least
 * recently used buckets and frees those that are full again.  When the
 * table is full anyway, the least recently used bucket is evicted.
 *
 * The table is a chained hash keyed with SipHash-2-4 under a random key
 * chosen at rl_new, so clients cannot pick addresses that collide.
 */
#include <sys/queue.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pbd.h"
#include "siphash.h"
#include "xmalloc.h"

#define RL_MAX_BUCKETS	65536	/* most buckets kept at once */
#define RL_MIN_SLOTS	256	/* initial hash table size */
#define RL_EXPIRE_SCAN	2	/* idle buckets examined per take */
#define RL_EPSILON	1e-9	/* refills are sums of floating products */

struct rl_bucket {
	char			*key;
	uint64_t		 hash;
	double			 tokens;
	double			 stamp;		/* when tokens was computed */
	struct rl_bucket	*next;		/* hash chain */
	TAILQ_ENTRY(rl_bucket)	 lru;		/* oldest use first */
};
TAILQ_HEAD(rl_lru, rl_bucket);

struct ratelimit {
	double			 rate;		/* tokens per second */
	double			 burst;		/* bucket size; 0: disabled */
	struct rl_bucket	**slots;
	size_t			 nslots;	/* a power of two */
	size_t			 count;
	struct rl_lru		 lru;
	struct siphash_key	 key;
};

/* SipHash-2-4 of s under the table's key. */
static uint64_t
rl_hash(const struct ratelimit *rl, const char *s)
{
	return (siphash24(&rl->key, s, strlen(s)));
}

/* Clamp the parameters: negative rates and bursts mean 0. */
static void
rl_params(struct ratelimit *rl, double rate_per_s, long burst)
{
	rl->rate = rate_per_s > 0 ? rate_per_s : 0;
	rl->burst = burst > 0 ? (double)burst : 0;
}

struct ratelimit *
rl_new(double rate_per_s, long burst)
{
	struct ratelimit	*rl;

	rl = xcalloc(1, sizeof(*rl));
	rl_params(rl, rate_per_s, burst);
	rl->nslots = RL_MIN_SLOTS;
	rl->slots = xcalloc(rl->nslots, sizeof(*rl->slots));
	TAILQ_INIT(&rl->lru);
	siphash_key_random(&rl->key);
	return (rl);
}

/* Unlink b from its chain and the LRU list, and free it. */
static void
rl_drop(struct ratelimit *rl, struct rl_bucket *b)
{
	struct rl_bucket	**pp;

	for (pp = &rl->slots[b->hash & (rl->nslots - 1)]; *pp != NULL;
	    pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	}
	TAILQ_REMOVE(&rl->lru, b, lru);
	rl->count--;
	free(b->key);
	free(b);
}

static void
rl_clear(struct ratelimit *rl)
{
	struct rl_bucket	*b;

	while ((b = TAILQ_FIRST(&rl->lru)) != NULL)
		rl_drop(rl, b);
}

void
rl_set(struct ratelimit *rl, double rate_per_s, long burst)
{
	struct rl_bucket	*b;

	rl_params(rl, rate_per_s, burst);
	if (rl->burst == 0) {
		rl_clear(rl);
		return;
	}
	TAILQ_FOREACH(b, &rl->lru, lru)
		if (b->tokens > rl->burst)
			b->tokens = rl->burst;
}

void
rl_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	rl_clear(rl);
	free(rl->slots);
	free(rl);
}

/* Bring b's tokens up to date at now; a clock going back adds none. */
static void
rl_refill(const struct ratelimit *rl, struct rl_bucket *b, double now)
{
	if (now <= b->stamp)
		return;
	b->tokens += (now - b->stamp) * rl->rate;
	if (b->tokens > rl->burst)
		b->tokens = rl->burst;
	b->stamp = now;
}

/* Drop up to RL_EXPIRE_SCAN least recently used buckets that are full. */
static void
rl_expire(struct ratelimit *rl, double now)
{
	struct rl_bucket	*b;
	int			 i;

	for (i = 0; i < RL_EXPIRE_SCAN; i++) {
		if ((b = TAILQ_FIRST(&rl->lru)) == NULL)
			return;
		rl_refill(rl, b, now);
		if (b->tokens < rl->burst - RL_EPSILON)
			return;
		rl_drop(rl, b);
	}
}

/* Double the hash table while it is more than full. */
static void
rl_grow(struct ratelimit *rl)
{
	struct rl_bucket	**slots, *b;
	size_t			 nslots = rl->nslots * 2;

	slots = xcalloc(nslots, sizeof(*slots));
	TAILQ_FOREACH(b, &rl->lru, lru) {
		b->next = slots[b->hash & (nslots - 1)];
		slots[b->hash & (nslots - 1)] = b;
	}
	free(rl->slots);
	rl->slots = slots;
	rl->nslots = nslots;
}

/* Find key's bucket, or make a full one. */
static struct rl_bucket *
rl_get(struct ratelimit *rl, const char *key, double now)
{
	struct rl_bucket	*b;
	uint64_t		 h = rl_hash(rl, key);

	for (b = rl->slots[h & (rl->nslots - 1)]; b != NULL; b = b->next) {
		if (b->hash == h && strcmp(b->key, key) == 0) {
			TAILQ_REMOVE(&rl->lru, b, lru);
			TAILQ_INSERT_TAIL(&rl->lru, b, lru);
			rl_refill(rl, b, now);
			return (b);
		}
	}
	if (rl->count >= RL_MAX_BUCKETS)
		rl_drop(rl, TAILQ_FIRST(&rl->lru));
	if (rl->count >= rl->nslots && rl->nslots < RL_MAX_BUCKETS)
		rl_grow(rl);
	b = xcalloc(1, sizeof(*b));
	b->key = xstrdup(key);
	b->hash = h;
	b->tokens = rl->burst;
	b->stamp = now;
	b->next = rl->slots[h & (rl->nslots - 1)];
	rl->slots[h & (rl->nslots - 1)] = b;
	TAILQ_INSERT_TAIL(&rl->lru, b, lru);
	rl->count++;
	return (b);
}

int
rl_take(struct ratelimit *rl, const char *key, double now)
{
	struct rl_bucket	*b;

	if (rl->burst == 0)
		return (1);
	rl_expire(rl, now);
	b = rl_get(rl, key, now);
	if (b->tokens < 1 - RL_EPSILON)
		return (0);
	b->tokens -= 1;
	return (1);
}

size_t
rl_size(const struct ratelimit *rl)
{
	return (rl->count);
}
