/* Unit tests for worker/peer_count.c: the per-address limit, and the table
 * against a plain reference model under random adds and removes (keys
 * chosen to collide, so backward-shift deletion is exercised). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "../../worker/peer_count.h"

static void test_limit_per_key(void **state)
{
	struct peer_count pc;
	(void)state;
	assert_int_equal(peer_count_init(&pc, 8), 0);
	for (long i = 1; i <= 3; i++)
		assert_int_equal(peer_count_add(&pc, 42, 3), i);
	assert_int_equal(peer_count_add(&pc, 42, 3), -1);
	assert_int_equal(peer_count_add(&pc, 43, 3), 1); /* another address */
	peer_count_remove(&pc, 42);
	assert_int_equal(peer_count_add(&pc, 42, 3), 3);
	assert_int_equal(peer_count_add(&pc, 7, 0), 1); /* 0 = no limit */
	peer_count_remove(&pc, 99999); /* unknown: no effect */
	peer_count_free(&pc);
}

static void test_matches_a_reference_model(void **state)
{
	enum { KEYS = 40, OPS = 200000 };
	struct peer_count pc;
	long model[KEYS] = { 0 };
	(void)state;
	assert_int_equal(peer_count_init(&pc, KEYS), 0);
	srand(7);
	for (int op = 0; op < OPS; op++) {
		int k = rand() % KEYS;
		/* Keys sharing low bits land in the same home slots. */
		uint64_t key = ((uint64_t)k << 40) | (uint64_t)(k % 3) | 1;
		if (rand() % 2 && model[k] > 0) {
			peer_count_remove(&pc, key);
			model[k]--;
		} else {
			long got = peer_count_add(&pc, key, 5);
			if (model[k] >= 5) {
				assert_int_equal(got, -1);
			} else {
				assert_int_equal(got, ++model[k]);
			}
		}
	}
	/* Every count is still found exactly: remove all and re-add one each. */
	for (int k = 0; k < KEYS; k++) {
		uint64_t key = ((uint64_t)k << 40) | (uint64_t)(k % 3) | 1;
		while (model[k]-- > 0)
			peer_count_remove(&pc, key);
		assert_int_equal(peer_count_add(&pc, key, 5), 1);
	}
	peer_count_free(&pc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_per_key),
		cmocka_unit_test(test_matches_a_reference_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
