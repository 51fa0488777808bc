/* Unit tests for ratelimit.c, with the clock passed in. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "pbd.h"

#define MAX_BUCKETS	65536	/* RL_MAX_BUCKETS in ratelimit.c */

/* Take n tokens for key at now; return how many were granted. */
static int
take_n(struct ratelimit *rl, const char *key, double now, int n)
{
	int	 i, ok = 0;

	for (i = 0; i < n; i++)
		ok += rl_take(rl, key, now);
	return (ok);
}

START_TEST(burst_then_deny)
{
	struct ratelimit	*rl = rl_new(1.0, 3);

	ck_assert_int_eq(rl_take(rl, "192.0.2.1", 100.0), 1);
	ck_assert_int_eq(rl_take(rl, "192.0.2.1", 100.0), 1);
	ck_assert_int_eq(rl_take(rl, "192.0.2.1", 100.0), 1);
	ck_assert_int_eq(rl_take(rl, "192.0.2.1", 100.0), 0);
	ck_assert_int_eq(rl_take(rl, "192.0.2.1", 100.0), 0);
	ck_assert_uint_eq(rl_size(rl), 1);
	rl_free(rl);
	rl_free(NULL);
}
END_TEST

START_TEST(refill)
{
	struct ratelimit	*rl = rl_new(2.0, 4);

	ck_assert_int_eq(take_n(rl, "a", 0.0, 10), 4);
	/* 0.25 s: half a token. */
	ck_assert_int_eq(rl_take(rl, "a", 0.25), 0);
	/* 0.5 s: one token. */
	ck_assert_int_eq(take_n(rl, "a", 0.5, 3), 1);
	ck_assert_int_eq(take_n(rl, "a", 1.5, 3), 2);
	/* A long pause refills only up to the burst. */
	ck_assert_int_eq(take_n(rl, "a", 1000.0, 10), 4);
	/* A clock going backwards grants nothing. */
	ck_assert_int_eq(take_n(rl, "a", 10.0, 3), 0);
	ck_assert_int_eq(take_n(rl, "a", 1000.5, 3), 1);
	rl_free(rl);
}
END_TEST

START_TEST(fractional_rate)
{
	struct ratelimit	*rl = rl_new(0.1, 1);
	int			 i, ok = 0;

	/* One request per 10 s, polled every 0.1 s for 100 s. */
	for (i = 0; i <= 1000; i++)
		ok += rl_take(rl, "slow", i * 0.1);
	ck_assert_int_eq(ok, 11);
	rl_free(rl);
}
END_TEST

START_TEST(independent_keys)
{
	struct ratelimit	*rl = rl_new(1.0, 2);

	ck_assert_int_eq(take_n(rl, "192.0.2.1", 5.0, 5), 2);
	ck_assert_int_eq(take_n(rl, "192.0.2.2", 5.0, 5), 2);
	ck_assert_int_eq(take_n(rl, "2001:db8::1", 5.0, 5), 2);
	ck_assert_int_eq(take_n(rl, "192.0.2.1", 5.0, 1), 0);
	ck_assert_int_eq(take_n(rl, "", 5.0, 5), 2);
	ck_assert_uint_eq(rl_size(rl), 4);
	rl_free(rl);
}
END_TEST

START_TEST(disabled)
{
	struct ratelimit	*rl = rl_new(1.0, 0);

	ck_assert_int_eq(take_n(rl, "a", 0.0, 1000), 1000);
	ck_assert_uint_eq(rl_size(rl), 0);
	rl_free(rl);
	rl = rl_new(0.0, -5);
	ck_assert_int_eq(take_n(rl, "a", 0.0, 10), 10);
	rl_free(rl);
}
END_TEST

START_TEST(zero_rate)
{
	struct ratelimit	*rl = rl_new(0.0, 2);

	ck_assert_int_eq(take_n(rl, "a", 0.0, 5), 2);
	ck_assert_int_eq(take_n(rl, "a", 1e6, 5), 0);
	rl_free(rl);
}
END_TEST

START_TEST(set)
{
	struct ratelimit	*rl = rl_new(1.0, 10);

	ck_assert_int_eq(take_n(rl, "a", 0.0, 2), 2);
	/* A smaller burst caps what existing buckets hold. */
	rl_set(rl, 1.0, 3);
	ck_assert_int_eq(take_n(rl, "a", 0.0, 10), 3);
	ck_assert_int_eq(take_n(rl, "b", 0.0, 10), 3);
	/* A faster rate applies to existing buckets. */
	rl_set(rl, 10.0, 3);
	ck_assert_int_eq(take_n(rl, "a", 0.2, 10), 2);
	/* Disabling drops every bucket; enabling starts them full. */
	rl_set(rl, 10.0, 0);
	ck_assert_uint_eq(rl_size(rl), 0);
	ck_assert_int_eq(take_n(rl, "a", 0.2, 100), 100);
	rl_set(rl, 1.0, 5);
	ck_assert_int_eq(take_n(rl, "a", 0.2, 10), 5);
	/* A larger burst lets buckets refill further. */
	rl_set(rl, 1.0, 20);
	ck_assert_int_eq(take_n(rl, "a", 100.0, 30), 20);
	rl_free(rl);
}
END_TEST

START_TEST(bounded)
{
	struct ratelimit	*rl = rl_new(1.0, 5);
	char			 key[64];
	size_t			 peak;
	int			 i;

	for (i = 0; i < 200000; i++) {
		snprintf(key, sizeof(key), "2001:db8::%x", i);
		ck_assert_int_eq(rl_take(rl, key, 0.0), 1);
		ck_assert_uint_le(rl_size(rl), MAX_BUCKETS);
	}
	peak = rl_size(rl);
	ck_assert_uint_eq(peak, MAX_BUCKETS);
	/* The newest keys are still tracked... */
	snprintf(key, sizeof(key), "2001:db8::%x", 199999);
	ck_assert_int_eq(take_n(rl, key, 0.0, 10), 4);
	/* ...and once full again, idle buckets drain away as traffic runs. */
	for (i = 0; i < 10000; i++)
		rl_take(rl, "198.51.100.7", 100.0 + i);
	ck_assert_uint_lt(rl_size(rl), peak - 15000);
	rl_free(rl);
}
END_TEST

START_TEST(idle_expiry)
{
	struct ratelimit	*rl = rl_new(10.0, 5);
	char			 key[64];
	int			 i;

	/* A new client every 10 ms; each bucket is full 0.1 s later. */
	for (i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "10.%d.%d.%d", (i >> 16) & 0xff,
		    (i >> 8) & 0xff, i & 0xff);
		ck_assert_int_eq(rl_take(rl, key, i * 0.01), 1);
	}
	ck_assert_uint_lt(rl_size(rl), 100);
	rl_free(rl);
}
END_TEST

START_TEST(evict_oldest)
{
	struct ratelimit	*rl = rl_new(0.0, 1);
	char			 key[64];
	int			 i;

	ck_assert_int_eq(take_n(rl, "victim", 0.0, 2), 1);
	for (i = 0; i < MAX_BUCKETS; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		rl_take(rl, key, 1.0);
	}
	ck_assert_uint_eq(rl_size(rl), MAX_BUCKETS);
	/* The least recently used bucket went first. */
	ck_assert_int_eq(rl_take(rl, "victim", 2.0), 1);
	/* A recent one is still there, and still empty. */
	snprintf(key, sizeof(key), "k%d", MAX_BUCKETS - 1);
	ck_assert_int_eq(rl_take(rl, key, 2.0), 0);
	rl_free(rl);
}
END_TEST

static Suite *
ratelimit_suite(void)
{
	Suite	*s = suite_create("ratelimit");
	TCase	*tc = tcase_create("ratelimit");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, burst_then_deny);
	tcase_add_test(tc, refill);
	tcase_add_test(tc, fractional_rate);
	tcase_add_test(tc, independent_keys);
	tcase_add_test(tc, disabled);
	tcase_add_test(tc, zero_rate);
	tcase_add_test(tc, set);
	tcase_add_test(tc, bounded);
	tcase_add_test(tc, idle_expiry);
	tcase_add_test(tc, evict_oldest);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(ratelimit_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
