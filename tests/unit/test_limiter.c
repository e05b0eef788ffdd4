/* Unit tests for shm/: GCRA arithmetic, the in-flight cap, slot repair, and
 * the limit holding across real forked processes sharing the segment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "server/lib/fnv.h"
#include "shm/limiter.h"
#include "shm/peer_limit.h"

static void test_gcra_burst_then_rate(void **state)
{
	struct shm_segment *seg = shm_create();
	long long t = 1000000000000LL, retry = 0;
	int admitted = 0;
	(void)state;
	limiter_configure(seg, 100, 10, 64, 1);
	for (int i = 0; i < 50; i++)
		admitted += limiter_take(seg, t, &retry) == 0;
	assert_int_equal(admitted, 10);
	assert_in_range(retry, 1, 10);
	/* After one emission interval (10 ms) exactly one more is admitted. */
	assert_int_equal(limiter_take(seg, t + 10000000LL, &retry), 0);
	assert_int_equal(limiter_take(seg, t + 10000000LL, &retry), -1);
	/* Over one simulated second at 1000 offers/s: 100 admitted. */
	admitted = 0;
	for (long long ms = 0; ms < 1000; ms++)
		admitted += limiter_take(seg, t + 20000000LL + ms * 1000000LL, &retry) == 0;
	assert_in_range(admitted, 99, 101);
	shm_destroy(seg);
}

static void test_inflight_cap_and_reap(void **state)
{
	struct shm_segment *seg = shm_create();
	int a = shm_slot_claim(seg), b = shm_slot_claim(seg);
	(void)state;
	assert_true(a >= 0 && b >= 0 && a != b);
	limiter_configure(seg, 1000, 1000, 3, 1);
	assert_int_equal(limiter_enter(seg, a), 0);
	assert_int_equal(limiter_enter(seg, a), 0);
	assert_int_equal(limiter_enter(seg, b), 0);
	assert_int_equal(limiter_enter(seg, b), -1);
	assert_int_equal(shm_inflight_total(seg), 3);
	/* Worker a dies holding two slots: the master's reap returns them. */
	shm_slot_reap(seg, a);
	assert_int_equal(shm_inflight_total(seg), 1);
	assert_int_equal(limiter_enter(seg, b), 0);
	limiter_leave(seg, b);
	limiter_leave(seg, b);
	assert_int_equal(shm_inflight_total(seg), 0);
	shm_destroy(seg);
}

static void test_limit_holds_across_processes(void **state)
{
	struct shm_segment *seg = shm_create();
	long long t = limiter_now_ns(), retry;
	int total = 0;
	(void)state;
	atomic_int *ready = mmap(NULL, sizeof(*ready), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(ready != MAP_FAILED);
	atomic_store(ready, 0);
	limiter_configure(seg, 1, 500, 64, 1);
	/* Four processes race for a bucket of 500 at the same instant: each
	 * waits at a start barrier (outside the segment under test) until all
	 * four are there, so they do race rather than run one after another. */
	for (int p = 0; p < 4; p++) {
		if (fork() == 0) {
			int mine = 0;
			atomic_fetch_add(ready, 1);
			while (atomic_load(ready) < 4)
				;
			for (int i = 0; i < 400; i++)
				mine += limiter_take(seg, t, &retry) == 0;
			atomic_fetch_add(&seg->slots[p].requests, mine);
			_exit(0);
		}
	}
	for (int p = 0; p < 4; p++)
		wait(NULL);
	for (int p = 0; p < 4; p++)
		total += (int)atomic_load(&seg->slots[p].requests);
	assert_int_equal(total, 500);
	munmap(ready, sizeof(*ready));
	shm_destroy(seg);
}

static void test_tenant_shares(void **state)
{
	struct shm_segment *seg = shm_create();
	long long t = 5000000000000LL, retry = 0;
	int a = 0, b = 0;
	(void)state;
	limiter_configure(seg, 1000000, 1000000, 64, 1);
	/* Off by default: every tenant admitted. */
	for (int i = 0; i < 100; i++)
		assert_int_equal(limiter_take_tenant(seg, "noisy", t, &retry), 0);
	limiter_configure_tenant(seg, 10, 5, 1);
	for (int i = 0; i < 50; i++) {
		a += limiter_take_tenant(seg, "noisy", t, &retry) == 0;
		b += limiter_take_tenant(seg, "quiet", t, &retry) == 0;
	}
	/* Each tenant gets its own burst of 5, whatever the other does. */
	assert_int_equal(a, 5);
	assert_int_equal(b, 5);
	assert_in_range(retry, 1, 100);
	/* After 100 ms (one interval at 10/s) one more each. */
	assert_int_equal(limiter_take_tenant(seg, "noisy", t + 100000000LL, &retry), 0);
	assert_int_equal(limiter_take_tenant(seg, "noisy", t + 100000000LL, &retry), -1);
	shm_destroy(seg);
}

/* Tenants whose hashes all start probing at the same slot. */
static void colliding_tenants(char names[][16], int n, unsigned long long *home)
{
	int found = 0;
	char name[16];

	for (long i = 0; found < n; i++) {
		snprintf(name, sizeof(name), "t%ld", i);
		unsigned long long h = (fnv1a64(name, strlen(name)) | 1) % SHM_TENANT_BUCKETS;
		if (found == 0)
			*home = h;
		if (h == *home)
			memcpy(names[found++], name, sizeof(name));
	}
}

static void test_tenant_collision_fails_closed(void **state)
{
	struct shm_segment *seg = shm_create();
	long long t = 5000000000000LL, retry = 0;
	char names[34][16];
	unsigned long long home;
	int admitted = 0;
	(void)state;
	limiter_configure(seg, 1000000, 1000000, 64, 1);
	limiter_configure_tenant(seg, 1, 1, 1);
	colliding_tenants(names, 34, &home);
	/* 32 active tenants fill the newcomer's whole probe window... */
	for (int i = 0; i < 32; i++)
		assert_int_equal(limiter_take_tenant(seg, names[i], t, &retry), 0);
	/* ...so it is limited by the overflow bucket: 1 rps, burst 1. */
	for (int i = 0; i < 20; i++)
		admitted += limiter_take_tenant(seg, names[32], t + i * 1000000LL, &retry) == 0;
	assert_int_equal(admitted, 1);
	assert_true(atomic_load(&seg->tenant_overflows) >= 20);
	/* A second newcomer shares that bucket: nothing left for it now. */
	assert_int_equal(limiter_take_tenant(seg, names[33], t + 30000000LL, &retry), -1);
	/* Once the others idle past their burst window, a slot is reclaimed
	 * and the newcomer gets a share of its own again. */
	assert_int_equal(limiter_take_tenant(seg, names[32], t + 5000000000LL, &retry), 0);
	assert_int_equal(limiter_take_tenant(seg, names[33], t + 5000000000LL, &retry), 0);
	shm_destroy(seg);
}

/* cluster_hosts = 2: each host admits half the rate (exactly), half the
 * burst and half the in-flight cap (rounded up). */
static void test_host_share_of_the_cluster_limits(void **state)
{
	struct shm_segment *seg = shm_create();
	long long now = 1000000000000LL, retry;
	int admitted = 0;
	(void)state;
	limiter_configure(seg, 300, 11, 5, 2);
	assert_int_equal(atomic_load(&seg->gcra_interval_ns), 1000000000LL * 2 / 300);
	assert_int_equal(atomic_load(&seg->max_inflight), 3);
	while (limiter_take(seg, now, &retry) == 0)
		admitted++;
	assert_int_equal(admitted, 6); /* ceil(11 / 2) */
	for (int i = 0; i < 3000; i++) {  /* 10 s at 300/s offered: 150/s admitted */
		now += 1000000000LL / 300;
		admitted += limiter_take(seg, now, &retry) == 0;
	}
	assert_in_range(admitted, 6 + 1499, 6 + 1501);
	limiter_configure(seg, 1, 1, 1, 1000);
	assert_int_equal(atomic_load(&seg->max_inflight), 1);
	limiter_configure_tenant(seg, 10, 4, 2);
	assert_int_equal(atomic_load(&seg->tenant_interval_ns), 200000000LL);
	assert_int_equal(atomic_load(&seg->tenant_limit_ns), 400000000LL);
	shm_destroy(seg);
}

/* A tenant owns one slot. Its slot sits at a later probe than three other
 * tenants'; once the first of those idles past its window, the tenant must
 * go on charging its own slot, not take the stale earlier one for a second,
 * fresh burst. */
static void test_tenant_never_gets_a_second_slot(void **state)
{
	struct shm_segment *seg = shm_create();
	const long long s = 1000000000LL, t0 = 5000000000000LL;
	long long retry = 0;
	char names[4][16];
	unsigned long long home;
	int admitted = 0, owned = 0;
	(void)state;
	limiter_configure(seg, 1000000, 1000000, 64, 1);
	limiter_configure_tenant(seg, 1, 5, 1); /* 1 rps, burst 5: a 5 s window */
	colliding_tenants(names, 4, &home);
	assert_int_equal(limiter_take_tenant(seg, names[0], t0, &retry), 0);
	assert_int_equal(limiter_take_tenant(seg, names[1], t0 + 3 * s, &retry), 0);
	assert_int_equal(limiter_take_tenant(seg, names[2], t0 + 3 * s, &retry), 0);
	/* names[3] spends its whole burst at t0 + 3 s (in the fourth probe). */
	for (int i = 0; i < 10; i++)
		admitted += limiter_take_tenant(seg, names[3], t0 + 3 * s, &retry) == 0;
	assert_int_equal(admitted, 5);
	/* At t0 + 6.5 s names[0]'s slot is stale; 3.5 s have refilled 3 tokens
	 * of names[3]'s bucket, and that is all it may have (a second slot
	 * would give it a fresh burst of 5). */
	admitted = 0;
	for (int i = 0; i < 10; i++)
		admitted += limiter_take_tenant(seg, names[3], t0 + 6 * s + s / 2, &retry) == 0;
	assert_int_equal(admitted, 3);
	unsigned long long h = fnv1a64(names[3], strlen(names[3])) | 1;
	for (int i = 0; i < SHM_TENANT_BUCKETS; i++)
		owned += atomic_load(&seg->tenants[i].key) == h;
	assert_int_equal(owned, 1);
	shm_destroy(seg);
}

/* Four processes claim a slot for the same new tenant at the same instant,
 * each seeing a different slot of its window go stale (their clocks differ
 * by a few ns): however the claims interleave, the tenant ends up owning
 * exactly one slot. Repeated over many tenants to meet the races. */
static void test_racing_claims_leave_one_slot(void **state)
{
	enum { ROUNDS = 48, PROCS = 4 };
	struct shm_segment *seg = shm_create();
	const long long interval = 1000000000LL, limit = 5 * interval, base = 9000000000000LL;
	const long long delta = 1000;
	char names[ROUNDS][16];
	int used[SHM_TENANT_BUCKETS] = { 0 }, found = 0, duplicated = 0;
	(void)state;
	limiter_configure(seg, 1000000, 1000000, 64, 1);
	limiter_configure_tenant(seg, 1, 5, 1);
	/* One tenant per round, with a window of its own; its first PROCS
	 * probes hold other tenants, probe k stale for every clock >= k. */
	for (long n = 0; found < ROUNDS; n++) {
		char name[16];
		snprintf(name, sizeof(name), "r%ld", n);
		unsigned long long h = fnv1a64(name, strlen(name)) | 1;
		int clash = 0;
		for (int i = 0; i < 40; i++)
			clash |= used[(h + (unsigned long long)i) % SHM_TENANT_BUCKETS];
		if (clash)
			continue;
		for (int i = 0; i < 40; i++)
			used[(h + (unsigned long long)i) % SHM_TENANT_BUCKETS] = 1;
		for (int k = 0; k < PROCS; k++) {
			struct shm_tenant_bucket *b = &seg->tenants[(h + (unsigned long long)k) % SHM_TENANT_BUCKETS];
			atomic_store(&b->key, 2ULL * (unsigned long long)(k + 1)); /* even: never a tenant's */
			atomic_store(&b->tat_ns, base - k * delta);
		}
		memcpy(names[found++], name, sizeof(name));
	}
	for (int p = 0; p < PROCS; p++) {
		if (fork() == 0) {
			long long retry, now = base + limit - p * delta + delta / 2;
			for (int r = 0; r < ROUNDS; r++) {
				atomic_fetch_add(&seg->slots[r].requests, 1);
				while (atomic_load(&seg->slots[r].requests) < PROCS)
					;
				limiter_take_tenant(seg, names[r], now, &retry);
			}
			_exit(0);
		}
	}
	for (int p = 0; p < PROCS; p++)
		wait(NULL);
	for (int r = 0; r < ROUNDS; r++) {
		unsigned long long h = fnv1a64(names[r], strlen(names[r])) | 1;
		int owned = 0;
		for (int i = 0; i < 40; i++)
			owned += atomic_load(&seg->tenants[(h + (unsigned long long)i) % SHM_TENANT_BUCKETS].key) == h;
		assert_in_range(owned, 1, PROCS);
		duplicated += owned > 1;
	}
	assert_int_equal(duplicated, 0);
	shm_destroy(seg);
}

/* max_connections_per_ip is one count over all workers, and a dead
 * worker's connections are forgotten when the master reaps it. */
static void test_connections_per_address_over_all_workers(void **state)
{
	struct shm_segment *seg = shm_create();
	int a = shm_slot_claim(seg), b = shm_slot_claim(seg);
	const uint64_t addr = 0x1234567890abcdefULL, other = addr + 1;
	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(peer_limit_enter(seg, a, addr, 5), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(peer_limit_enter(seg, b, addr, 5), 0);
	assert_int_equal(peer_limit_count(seg, addr), 5);
	/* The sixth is refused whichever worker it reaches. */
	assert_int_equal(peer_limit_enter(seg, a, addr, 5), -1);
	assert_int_equal(peer_limit_enter(seg, b, addr, 5), -1);
	assert_int_equal(peer_limit_count(seg, addr), 5);
	assert_int_equal(peer_limit_enter(seg, b, other, 5), 0);
	assert_int_equal(peer_limit_enter(seg, b, addr, 0), 0); /* 0 = no limit */
	peer_limit_leave(seg, b, addr);
	peer_limit_leave(seg, b, addr);
	assert_int_equal(peer_limit_enter(seg, b, addr, 5), 0);
	/* Worker a dies holding three: the reap gives them back. */
	shm_slot_reap(seg, a);
	assert_int_equal(peer_limit_count(seg, addr), 2);
	assert_int_equal(peer_limit_count(seg, other), 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(peer_limit_enter(seg, b, addr, 5), 0);
	assert_int_equal(peer_limit_enter(seg, b, addr, 5), -1);
	shm_destroy(seg);
}

static void test_connections_per_address_race(void **state)
{
	struct shm_segment *seg = shm_create();
	const uint64_t addr = 77;
	int total = 0, slots[4];
	(void)state;
	for (int p = 0; p < 4; p++)
		slots[p] = shm_slot_claim(seg);
	/* Four workers admit one address at the same moment: never more than
	 * the limit in all. */
	for (int p = 0; p < 4; p++) {
		if (fork() == 0) {
			int mine = 0;
			atomic_fetch_add(&seg->gcra_tat_ns, 1);
			while (atomic_load(&seg->gcra_tat_ns) < 4)
				;
			for (int i = 0; i < 200; i++)
				mine += peer_limit_enter(seg, slots[p], addr, 100) == 0;
			atomic_fetch_add(&seg->slots[slots[p]].requests, mine);
			_exit(0);
		}
	}
	for (int p = 0; p < 4; p++)
		wait(NULL);
	for (int p = 0; p < 4; p++)
		total += (int)atomic_load(&seg->slots[slots[p]].requests);
	assert_in_range(total, 90, 100);
	assert_int_equal(peer_limit_count(seg, addr), total);
	shm_destroy(seg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_share_of_the_cluster_limits),
		cmocka_unit_test(test_gcra_burst_then_rate),
		cmocka_unit_test(test_inflight_cap_and_reap),
		cmocka_unit_test(test_limit_holds_across_processes),
		cmocka_unit_test(test_tenant_shares),
		cmocka_unit_test(test_tenant_collision_fails_closed),
		cmocka_unit_test(test_tenant_never_gets_a_second_slot),
		cmocka_unit_test(test_racing_claims_leave_one_slot),
		cmocka_unit_test(test_connections_per_address_over_all_workers),
		cmocka_unit_test(test_connections_per_address_race),
	};
	return cmocka_run_group_tests_name("limiter", tests, NULL, NULL);
}
