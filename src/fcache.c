/*
 * The fetch outcome cache: what became of recent fetches, so that the
 * same failing or non-linking source is not fetched again and again.
 * Without it, every pingback naming such a source costs a fetch, and
 * a sender can make us hammer a host with the same request.
 *
 * An entry lives ttl seconds from the put that stored it; a hit does
 * not extend that, so a source that was fixed is fetched again at most
 * ttl later.  Since all entries live equally long, the list in put
 * order is also the list in expiry order: each call drops a few expired
 * entries from its head, and when the cache is full the oldest entry is
 * evicted.  Memory is bounded: at most max_entries entries, each with a
 * key of at most FC_MAX_KEY_BYTES.
 *
 * The table is a chained hash keyed with SipHash-2-4 under a random key
 * chosen at fc_new, so senders cannot pick keys that collide.
 */
#include <sys/queue.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pbd.h"
#include "siphash.h"
#include "xmalloc.h"

#define FC_MAX_KEY_BYTES	(PBD_MAX_URL_BYTES * 2 + 2)	/* "s\nt" */
#define FC_MIN_SLOTS		64	/* smallest hash table */
#define FC_EXPIRE_SCAN		4	/* expired entries dropped per call */

struct fc_entry {
	uint64_t		 hash;
	size_t			 len;		/* of key */
	double			 stamp;		/* when it was put */
	int			 outcome;
	struct fc_entry		*next;		/* hash chain */
	TAILQ_ENTRY(fc_entry)	 order;		/* oldest put first */
	char			 key[];
};
TAILQ_HEAD(fc_list, fc_entry);

struct fcache {
	long			 ttl;		/* seconds; 0: disabled */
	size_t			 max;		/* most entries kept */
	struct fc_entry		**slots;
	size_t			 nslots;	/* a power of two */
	size_t			 count;
	struct fc_list		 order;
	struct siphash_key	 key;
};

/* SipHash-2-4 of the len bytes at s under the cache's key. */
static uint64_t
fc_hash(const struct fcache *fc, const char *s, size_t len)
{
	return (siphash24(&fc->key, s, len));
}

/* The table size for max entries: a power of two, at least the minimum. */
static size_t
fc_slots_for(size_t max)
{
	size_t	 n = FC_MIN_SLOTS;

	while (n < max && n < SIZE_MAX / 2)
		n *= 2;
	return (n);
}

/* Rehash every entry into a table of nslots (a power of two). */
static void
fc_resize(struct fcache *fc, size_t nslots)
{
	struct fc_entry	**slots, *e;

	slots = xcalloc(nslots, sizeof(*slots));
	TAILQ_FOREACH(e, &fc->order, order) {
		e->next = slots[e->hash & (nslots - 1)];
		slots[e->hash & (nslots - 1)] = e;
	}
	free(fc->slots);
	fc->slots = slots;
	fc->nslots = nslots;
}

/* Negative parameters mean 0 (disabled, nothing kept). */
static void
fc_params(struct fcache *fc, long ttl_s, size_t max_entries)
{
	fc->ttl = ttl_s > 0 ? ttl_s : 0;
	fc->max = max_entries;
}

struct fcache *
fc_new(long ttl_s, size_t max_entries)
{
	struct fcache	*fc;

	fc = xcalloc(1, sizeof(*fc));
	fc_params(fc, ttl_s, max_entries);
	fc->nslots = FC_MIN_SLOTS;
	fc->slots = xcalloc(fc->nslots, sizeof(*fc->slots));
	TAILQ_INIT(&fc->order);
	siphash_key_random(&fc->key);
	return (fc);
}

/* Unlink e from its chain and the order list, and free it. */
static void
fc_drop(struct fcache *fc, struct fc_entry *e)
{
	struct fc_entry	**pp;

	for (pp = &fc->slots[e->hash & (fc->nslots - 1)]; *pp != NULL;
	    pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	TAILQ_REMOVE(&fc->order, e, order);
	fc->count--;
	free(e);
}

/* Evict the oldest entries until at most max are left. */
static void
fc_trim(struct fcache *fc, size_t max)
{
	while (fc->count > max)
		fc_drop(fc, TAILQ_FIRST(&fc->order));
}

void
fc_set(struct fcache *fc, long ttl_s, size_t max_entries)
{
	size_t	 want;

	fc_params(fc, ttl_s, max_entries);
	fc_trim(fc, fc->ttl == 0 ? 0 : fc->max);
	/* Give back a table sized for a larger cache. */
	if ((want = fc_slots_for(fc->max)) < fc->nslots)
		fc_resize(fc, want);
}

void
fc_free(struct fcache *fc)
{
	if (fc == NULL)
		return;
	fc_trim(fc, 0);
	free(fc->slots);
	free(fc);
}

/* An entry put at stamp is stale at now; a clock gone back: stale too. */
static int
fc_stale(const struct fcache *fc, const struct fc_entry *e, double now)
{
	return (now < e->stamp || now - e->stamp >= (double)fc->ttl);
}

/* Drop up to FC_EXPIRE_SCAN stale entries from the old end. */
static void
fc_expire(struct fcache *fc, double now)
{
	struct fc_entry	*e;
	int		 i;

	for (i = 0; i < FC_EXPIRE_SCAN; i++) {
		if ((e = TAILQ_FIRST(&fc->order)) == NULL ||
		    !fc_stale(fc, e, now))
			return;
		fc_drop(fc, e);
	}
}

/* Find key (len bytes, hash h), or NULL. */
static struct fc_entry *
fc_find(const struct fcache *fc, const char *key, size_t len, uint64_t h)
{
	struct fc_entry	*e;

	for (e = fc->slots[h & (fc->nslots - 1)]; e != NULL; e = e->next)
		if (e->hash == h && e->len == len &&
		    memcmp(e->key, key, len) == 0)
			return (e);
	return (NULL);
}

/* The length of key, or 0 if it may not be cached (empty or too long). */
static size_t
fc_keylen(const char *key)
{
	size_t	 len;

	if (key == NULL)
		return (0);
	len = strnlen(key, FC_MAX_KEY_BYTES + 1);
	return (len > FC_MAX_KEY_BYTES ? 0 : len);
}

void
fc_put(struct fcache *fc, const char *key, int outcome, double now)
{
	struct fc_entry	*e;
	size_t		 len;
	uint64_t	 h;

	if (fc == NULL || fc->ttl == 0 || fc->max == 0 || outcome < 0 ||
	    (len = fc_keylen(key)) == 0)
		return;
	fc_expire(fc, now);
	h = fc_hash(fc, key, len);
	if ((e = fc_find(fc, key, len, h)) != NULL) {
		/* A new outcome starts a new lifetime: to the young end. */
		e->outcome = outcome;
		e->stamp = now;
		TAILQ_REMOVE(&fc->order, e, order);
		TAILQ_INSERT_TAIL(&fc->order, e, order);
		return;
	}
	fc_trim(fc, fc->max - 1);
	if (fc->count >= fc->nslots && fc->nslots < fc_slots_for(fc->max))
		fc_resize(fc, fc->nslots * 2);
	e = xmalloc(sizeof(*e) + len + 1);
	memcpy(e->key, key, len + 1);
	e->hash = h;
	e->len = len;
	e->stamp = now;
	e->outcome = outcome;
	e->next = fc->slots[h & (fc->nslots - 1)];
	fc->slots[h & (fc->nslots - 1)] = e;
	TAILQ_INSERT_TAIL(&fc->order, e, order);
	fc->count++;
}

int
fc_get(struct fcache *fc, const char *key, double now)
{
	struct fc_entry	*e;
	size_t		 len;

	if (fc == NULL || fc->ttl == 0 || (len = fc_keylen(key)) == 0)
		return (-1);
	fc_expire(fc, now);
	if ((e = fc_find(fc, key, len, fc_hash(fc, key, len))) == NULL)
		return (-1);
	if (fc_stale(fc, e, now)) {
		fc_drop(fc, e);
		return (-1);
	}
	return (e->outcome);
}

size_t
fc_size(const struct fcache *fc)
{
	return (fc != NULL ? fc->count : 0);
}
