/*
 * Unit tests for fcache.c, with an injected clock: put and get,
 * expiry, overwrite, eviction at max_entries, memory bounded under many
 * distinct keys, ttl 0, fc_set (shrink, disable, shorter ttl) and keys
 * at and over the length cap.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbd.h"
#include "siphash.h"
#include "xmalloc.h"

#define T_MAX_KEY	(PBD_MAX_URL_BYTES * 2 + 2)

/* The i-th test key, as the lead's keys look ("source\ntarget"). */
static const char *
t_key(char *buf, size_t len, size_t i)
{
	snprintf(buf, len, "https://s%zu.example/post\nhttps://blog.example/",
	    i);
	return (buf);
}

START_TEST(t_put_get)
{
	struct fcache	*fc;

	fc = fc_new(600, 100);
	ck_assert_uint_eq(fc_size(fc), 0);
	ck_assert_int_eq(fc_get(fc, "https://a.example/", 0), -1);
	fc_put(fc, "https://a.example/", PB_FAULT_SOURCE_UNREACHABLE, 0);
	fc_put(fc, "https://a.example/\nhttps://blog.example/",
	    PB_FAULT_NO_LINK, 0);
	ck_assert_uint_eq(fc_size(fc), 2);
	ck_assert_int_eq(fc_get(fc, "https://a.example/", 1), 16);
	ck_assert_int_eq(fc_get(fc, "https://a.example/\nhttps://blog."
	    "example/", 1), 17);
	/* Exact keys: no prefix, case or suffix matches. */
	ck_assert_int_eq(fc_get(fc, "https://a.example", 1), -1);
	ck_assert_int_eq(fc_get(fc, "https://A.example/", 1), -1);
	ck_assert_int_eq(fc_get(fc, "https://a.example/x", 1), -1);
	/* A hit changes nothing. */
	ck_assert_int_eq(fc_get(fc, "https://a.example/", 2), 16);
	ck_assert_uint_eq(fc_size(fc), 2);
	/* Outcome 0 (fault 0) is an outcome; negative ones are not. */
	fc_put(fc, "zero", 0, 2);
	ck_assert_int_eq(fc_get(fc, "zero", 2), 0);
	fc_put(fc, "minus", -1, 2);
	ck_assert_int_eq(fc_get(fc, "minus", 2), -1);
	ck_assert_uint_eq(fc_size(fc), 3);
	/* Empty and NULL keys are not cached; a NULL cache is empty. */
	fc_put(fc, "", 16, 2);
	fc_put(fc, NULL, 16, 2);
	ck_assert_int_eq(fc_get(fc, "", 2), -1);
	ck_assert_int_eq(fc_get(fc, NULL, 2), -1);
	ck_assert_uint_eq(fc_size(fc), 3);
	fc_put(NULL, "a", 16, 2);
	ck_assert_int_eq(fc_get(NULL, "a", 2), -1);
	ck_assert_uint_eq(fc_size(NULL), 0);
	fc_free(fc);
	fc_free(NULL);
}
END_TEST

START_TEST(t_expiry)
{
	struct fcache	*fc;
	char		 buf[128];
	size_t		 i;

	fc = fc_new(10, 1000);
	fc_put(fc, "a", 16, 100);
	ck_assert_int_eq(fc_get(fc, "a", 100), 16);
	ck_assert_int_eq(fc_get(fc, "a", 109.999), 16);
	/* Stale at exactly ttl; the stale entry is dropped. */
	ck_assert_int_eq(fc_get(fc, "a", 110), -1);
	ck_assert_uint_eq(fc_size(fc), 0);
	ck_assert_int_eq(fc_get(fc, "a", 105), -1);

	/* A clock gone back: a miss (a refetch), never a stale hit. */
	fc_put(fc, "b", 17, 200);
	ck_assert_int_eq(fc_get(fc, "b", 199), -1);
	ck_assert_uint_eq(fc_size(fc), 0);

	/* Expired entries go a few at a time, whatever is asked. */
	for (i = 0; i < 100; i++)
		fc_put(fc, t_key(buf, sizeof(buf), i), 16, 300 + i * 0.01);
	ck_assert_uint_eq(fc_size(fc), 100);
	ck_assert_int_eq(fc_get(fc, "other", 305), -1);
	ck_assert_uint_eq(fc_size(fc), 100);
	ck_assert_int_eq(fc_get(fc, "other", 320), -1);
	ck_assert_uint_lt(fc_size(fc), 100);
	ck_assert_uint_gt(fc_size(fc), 90);
	for (i = 0; i < 100; i++)
		fc_get(fc, "other", 320);
	ck_assert_uint_eq(fc_size(fc), 0);

	/* Oldest first: a young entry survives the old ones' expiry. */
	fc_put(fc, "old1", 16, 400);
	fc_put(fc, "old2", 16, 401);
	fc_put(fc, "young", 17, 408);
	ck_assert_int_eq(fc_get(fc, "x", 411), -1);
	ck_assert_uint_eq(fc_size(fc), 1);
	ck_assert_int_eq(fc_get(fc, "young", 417.5), 17);
	ck_assert_int_eq(fc_get(fc, "young", 418), -1);
	fc_free(fc);
}
END_TEST

START_TEST(t_overwrite)
{
	struct fcache	*fc;

	fc = fc_new(10, 16);
	fc_put(fc, "k", 16, 0);
	fc_put(fc, "k", 17, 5);
	ck_assert_uint_eq(fc_size(fc), 1);
	ck_assert_int_eq(fc_get(fc, "k", 6), 17);
	/* The second put started a new lifetime. */
	ck_assert_int_eq(fc_get(fc, "k", 14), 17);
	ck_assert_int_eq(fc_get(fc, "k", 15), -1);
	/* A put over a stale entry makes it fresh. */
	fc_put(fc, "j", 16, 20);
	fc_put(fc, "j", 16, 35);
	ck_assert_int_eq(fc_get(fc, "j", 36), 16);
	ck_assert_uint_eq(fc_size(fc), 1);
	fc_free(fc);
}
END_TEST

START_TEST(t_eviction)
{
	struct fcache	*fc;
	char		 buf[128];
	size_t		 i;

	fc = fc_new(600, 16);
	for (i = 0; i < 16; i++)
		fc_put(fc, t_key(buf, sizeof(buf), i), 16, 1);
	ck_assert_uint_eq(fc_size(fc), 16);
	/* Full: the oldest put goes. */
	fc_put(fc, t_key(buf, sizeof(buf), 16), 17, 2);
	ck_assert_uint_eq(fc_size(fc), 16);
	ck_assert_int_eq(fc_get(fc, t_key(buf, sizeof(buf), 0), 2), -1);
	for (i = 1; i <= 16; i++)
		ck_assert_int_eq(fc_get(fc, t_key(buf, sizeof(buf), i), 2),
		    i == 16 ? 17 : 16);
	/* A put again makes key 1 the youngest: key 2 goes next. */
	fc_put(fc, t_key(buf, sizeof(buf), 1), 16, 3);
	fc_put(fc, t_key(buf, sizeof(buf), 17), 16, 3);
	ck_assert_uint_eq(fc_size(fc), 16);
	ck_assert_int_eq(fc_get(fc, t_key(buf, sizeof(buf), 1), 3), 16);
	ck_assert_int_eq(fc_get(fc, t_key(buf, sizeof(buf), 2), 3), -1);
	ck_assert_int_eq(fc_get(fc, t_key(buf, sizeof(buf), 3), 3), 16);
	fc_free(fc);

	/* max_entries 1 and 0. */
	fc = fc_new(600, 1);
	fc_put(fc, "a", 16, 0);
	fc_put(fc, "b", 17, 0);
	ck_assert_uint_eq(fc_size(fc), 1);
	ck_assert_int_eq(fc_get(fc, "a", 0), -1);
	ck_assert_int_eq(fc_get(fc, "b", 0), 17);
	fc_free(fc);
	fc = fc_new(600, 0);
	fc_put(fc, "a", 16, 0);
	ck_assert_uint_eq(fc_size(fc), 0);
	ck_assert_int_eq(fc_get(fc, "a", 0), -1);
	fc_free(fc);
}
END_TEST

START_TEST(t_bounded)
{
	struct fcache	*fc;
	char		 buf[128];
	size_t		 i, max = 0;

	/* 200000 distinct keys, all within ttl: never over max_entries. */
	fc = fc_new(86400, 10000);
	for (i = 0; i < 200000; i++) {
		fc_put(fc, t_key(buf, sizeof(buf), i), 16 + (int)(i % 2),
		    i * 0.001);
		if (fc_size(fc) > max)
			max = fc_size(fc);
	}
	ck_assert_uint_eq(max, 10000);
	ck_assert_uint_eq(fc_size(fc), 10000);
	/* The newest 10000 are all there, with their outcomes. */
	for (i = 190000; i < 200000; i++)
		ck_assert_int_eq(fc_get(fc, t_key(buf, sizeof(buf), i), 200),
		    16 + (int)(i % 2));
	ck_assert_int_eq(fc_get(fc, t_key(buf, sizeof(buf), 189999), 200),
	    -1);
	ck_assert_int_eq(fc_get(fc, t_key(buf, sizeof(buf), 0), 200), -1);
	fc_free(fc);

	/* The same with a short ttl: expiry alone keeps it small. */
	fc = fc_new(1, 1000000);
	for (i = 0; i < 200000; i++)
		fc_put(fc, t_key(buf, sizeof(buf), i), 16, i * 0.001);
	ck_assert_uint_le(fc_size(fc), 1001);
	fc_free(fc);
}
END_TEST

START_TEST(t_ttl_zero)
{
	struct fcache	*fc;

	fc = fc_new(0, 100);
	fc_put(fc, "a", 16, 0);
	ck_assert_uint_eq(fc_size(fc), 0);
	ck_assert_int_eq(fc_get(fc, "a", 0), -1);
	fc_free(fc);
	/* Negative is 0. */
	fc = fc_new(-5, 100);
	fc_put(fc, "a", 16, 0);
	ck_assert_uint_eq(fc_size(fc), 0);
	ck_assert_int_eq(fc_get(fc, "a", 0), -1);
	fc_free(fc);
}
END_TEST

START_TEST(t_set)
{
	struct fcache	*fc;
	char		 buf[128];
	size_t		 i;

	fc = fc_new(600, 100000);
	for (i = 0; i < 5000; i++)
		fc_put(fc, t_key(buf, sizeof(buf), i), 16, 1);
	ck_assert_uint_eq(fc_size(fc), 5000);
	/* Shrinking evicts the oldest. */
	fc_set(fc, 600, 16);
	ck_assert_uint_eq(fc_size(fc), 16);
	for (i = 0; i < 5000; i++)
		ck_assert_int_eq(fc_get(fc, t_key(buf, sizeof(buf), i), 2),
		    i >= 5000 - 16 ? 16 : -1);
	fc_put(fc, "new", 17, 2);
	ck_assert_uint_eq(fc_size(fc), 16);
	ck_assert_int_eq(fc_get(fc, "new", 2), 17);
	ck_assert_int_eq(fc_get(fc, t_key(buf, sizeof(buf), 5000 - 16), 2),
	    -1);
	/* Growing keeps everything. */
	fc_set(fc, 600, 1000);
	ck_assert_uint_eq(fc_size(fc), 16);
	for (i = 0; i < 2000; i++)
		fc_put(fc, t_key(buf, sizeof(buf), i), 16, 3);
	ck_assert_uint_eq(fc_size(fc), 1000);
	ck_assert_int_eq(fc_get(fc, t_key(buf, sizeof(buf), 1999), 3), 16);
	/* A shorter ttl applies to entries already there. */
	fc_set(fc, 5, 1000);
	ck_assert_int_eq(fc_get(fc, t_key(buf, sizeof(buf), 1999), 7.9), 16);
	ck_assert_int_eq(fc_get(fc, t_key(buf, sizeof(buf), 1999), 8), -1);
	/* ttl 0 empties and disables; a ttl again enables. */
	fc_set(fc, 0, 1000);
	ck_assert_uint_eq(fc_size(fc), 0);
	fc_put(fc, "a", 16, 10);
	ck_assert_uint_eq(fc_size(fc), 0);
	ck_assert_int_eq(fc_get(fc, "a", 10), -1);
	fc_set(fc, 60, 1000);
	fc_put(fc, "a", 16, 10);
	ck_assert_int_eq(fc_get(fc, "a", 10), 16);
	fc_free(fc);
}
END_TEST

START_TEST(t_long_keys)
{
	struct fcache	*fc;
	char		*key;

	fc = fc_new(600, 100);
	key = xmalloc(T_MAX_KEY + 2);
	/* At the cap: cached. */
	memset(key, 'a', T_MAX_KEY);
	key[T_MAX_KEY] = '\0';
	fc_put(fc, key, 16, 0);
	ck_assert_uint_eq(fc_size(fc), 1);
	ck_assert_int_eq(fc_get(fc, key, 0), 16);
	/* Differing only in the last byte: another key. */
	key[T_MAX_KEY - 1] = 'b';
	ck_assert_int_eq(fc_get(fc, key, 0), -1);
	fc_put(fc, key, 17, 0);
	ck_assert_int_eq(fc_get(fc, key, 0), 17);
	key[T_MAX_KEY - 1] = 'a';
	ck_assert_int_eq(fc_get(fc, key, 0), 16);
	ck_assert_uint_eq(fc_size(fc), 2);
	/* One byte over: not cached, and not confused with its prefix. */
	key[T_MAX_KEY] = 'a';
	key[T_MAX_KEY + 1] = '\0';
	fc_put(fc, key, 17, 0);
	ck_assert_uint_eq(fc_size(fc), 2);
	ck_assert_int_eq(fc_get(fc, key, 0), -1);
	free(key);
	fc_free(fc);
}
END_TEST

START_TEST(t_many_keys)
{
	struct fcache	*fc;
	char		 buf[128];
	size_t		 i;

	/* Every key survives the table's growth with its own outcome. */
	fc = fc_new(600, 100000);
	for (i = 0; i < 50000; i++)
		fc_put(fc, t_key(buf, sizeof(buf), i), (int)(i % 51), 0);
	ck_assert_uint_eq(fc_size(fc), 50000);
	for (i = 0; i < 50000; i++)
		ck_assert_int_eq(fc_get(fc, t_key(buf, sizeof(buf), i), 1),
		    (int)(i % 51));
	ck_assert_int_eq(fc_get(fc, t_key(buf, sizeof(buf), 50000), 1), -1);
	fc_free(fc);
}
END_TEST

/* The reference vectors of the SipHash paper (key 00..0f, message 00..len-1). */
START_TEST(t_siphash_vectors)
{
	struct siphash_key	 key;
	unsigned char		 k[16], msg[64];
	size_t			 i;

	for (i = 0; i < 16; i++)
		k[i] = (unsigned char)i;
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)i;
	memcpy(&key.k0, k, 8);		/* little-endian machine */
	memcpy(&key.k1, k + 8, 8);
	ck_assert_uint_eq(siphash24(&key, msg, 0), 0x726fdb47dd0e0e31ULL);
	ck_assert_uint_eq(siphash24(&key, msg, 15), 0xa129ca6149be45e5ULL);
	ck_assert_uint_eq(siphash24(&key, msg, 8), 0x93f5f5799a932462ULL);
}
END_TEST

static Suite *
t_fcache_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("fcache");
	tc = tcase_create("fcache");
	tcase_add_test(tc, t_put_get);
	tcase_add_test(tc, t_siphash_vectors);
	tcase_add_test(tc, t_expiry);
	tcase_add_test(tc, t_overwrite);
	tcase_add_test(tc, t_eviction);
	tcase_add_test(tc, t_bounded);
	tcase_add_test(tc, t_ttl_zero);
	tcase_add_test(tc, t_set);
	tcase_add_test(tc, t_long_keys);
	tcase_add_test(tc, t_many_keys);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(t_fcache_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
