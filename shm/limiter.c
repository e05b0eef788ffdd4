/*
 * limiter.c - GCRA rate limit and in-flight cap, lock-free across processes.
 * Runs in workers (take/enter/leave) and the master (configure).
 *
 * GCRA keeps one number, the theoretical arrival time (TAT). A request at
 * time now is admitted when max(TAT, now) + interval - now <= burst*interval,
 * and then TAT advances by one interval. A compare-and-swap loop makes it
 * exact across processes without a lock; CLOCK_MONOTONIC is system-wide.
 */
#include <string.h>
#include <time.h>

#include "server/lib/clock.h"
#include "server/lib/fnv.h"
#include "shm/limiter.h"

/* The burst and cap of one host's share: rounded up, at least 1. */
static long share_of(long n, long hosts)
{
	return n > hosts ? (n + hosts - 1) / hosts : 1;
}

void limiter_configure(struct shm_segment *seg, long rps, long burst, long max_inflight, long hosts)
{
	/* 1/hosts of the rate, exactly: each host's interval is hosts times longer. */
	long long interval = 1000000000LL * hosts / rps;

	atomic_store(&seg->gcra_interval_ns, interval);
	atomic_store(&seg->gcra_limit_ns, interval * share_of(burst, hosts));
	atomic_store(&seg->max_inflight, share_of(max_inflight, hosts));
}

long long limiter_now_ns(void)
{
	return clock_now_ns();
}

void limiter_configure_tenant(struct shm_segment *seg, long rps, long burst, long hosts)
{
	long long interval = rps > 0 ? 1000000000LL * hosts / rps : 0;

	atomic_store(&seg->tenant_interval_ns, interval);
	atomic_store(&seg->tenant_limit_ns, interval * share_of(burst, hosts));
}

/* One GCRA decision on the theoretical arrival time at tat_p. */
static int gcra(atomic_llong *tat_p, long long interval, long long limit, long long now_ns,
                long long *retry_after_ms)
{
	long long tat = atomic_load(tat_p);

	for (;;) {
		long long base = tat > now_ns ? tat : now_ns;
		long long next = base + interval;
		if (next - now_ns > limit) {
			long long wait_ns = next - now_ns - limit;
			*retry_after_ms = (wait_ns + 999999) / 1000000;
			if (*retry_after_ms < 1)
				*retry_after_ms = 1;
			return -1;
		}
		if (atomic_compare_exchange_weak(tat_p, &tat, next))
			return 0;
	}
}

int limiter_take(struct shm_segment *seg, long long now_ns, long long *retry_after_ms)
{
	return gcra(&seg->gcra_tat_ns, atomic_load(&seg->gcra_interval_ns),
	            atomic_load(&seg->gcra_limit_ns), now_ns, retry_after_ms);
}

#define TENANT_PROBES 32

static struct shm_tenant_bucket *probe(struct shm_segment *seg, unsigned long long h, int i)
{
	return &seg->tenants[(h + (unsigned long long)i) % SHM_TENANT_BUCKETS];
}

/* Free, or its tenant idle past a full burst window (its TAT lies so far in
 * the past that a newcomer starts with a full burst). */
static int claimable(struct shm_tenant_bucket *b, unsigned long long key, long long now_ns,
                     long long limit)
{
	return key == 0 || atomic_load(&b->tat_ns) < now_ns - limit;
}

/* Raises *tat_p to at least tat. */
static void fold_tat(atomic_llong *tat_p, long long tat)
{
	long long cur = atomic_load(tat_p);

	while (cur < tat && !atomic_compare_exchange_weak(tat_p, &cur, tat))
		;
}

/* Just claimed probe c for h. Workers that claimed other slots for the same
 * new tenant at the same moment (each saw a different slot go stale) made
 * duplicates: the first in probe order is kept, every other one has its TAT
 * folded into it and is freed, whoever gets there first. Returns the kept
 * slot's TAT. */
static atomic_llong *settle_claim(struct shm_segment *seg, unsigned long long h, int c)
{
	int keep = c;

	for (int i = 0; i < c; i++)
		if (atomic_load(&probe(seg, h, i)->key) == h) {
			keep = i;
			break;
		}
	for (int i = 0; i < TENANT_PROBES; i++) {
		struct shm_tenant_bucket *b = probe(seg, h, i);
		unsigned long long key = h;
		if (i == keep || atomic_load(&b->key) != h)
			continue;
		fold_tat(&probe(seg, h, keep)->tat_ns, atomic_load(&b->tat_ns));
		atomic_compare_exchange_strong(&b->key, &key, 0ULL);
	}
	return &probe(seg, h, keep)->tat_ns;
}

/* A tenant's bucket: its own slot within TENANT_PROBES of its hash, else
 * the overflow bucket. A tenant owns at most one slot: the whole window is
 * searched for the tenant's slot before any free or stale one is claimed
 * (taking a stale slot in front of the tenant's own would hand it a second,
 * fresh burst), and every worker charges the first match in probe order.
 * The overflow bucket has one tenant's rate and is shared by every tenant
 * that found no slot, so a collision can only ever cost a tenant part of
 * its share, never lift it (fails closed). */
static atomic_llong *tenant_tat(struct shm_segment *seg, const char *tenant, long long now_ns,
                                long long limit)
{
	unsigned long long h = fnv1a64(tenant, strlen(tenant)) | 1; /* 0 marks a free slot */
	int first_claimable = -1;

	for (int i = 0; i < TENANT_PROBES; i++) {
		struct shm_tenant_bucket *b = probe(seg, h, i);
		unsigned long long key = atomic_load(&b->key);
		if (key == h)
			return &b->tat_ns;
		if (first_claimable < 0 && claimable(b, key, now_ns, limit))
			first_claimable = i;
	}
	for (int i = first_claimable; i >= 0 && i < TENANT_PROBES; i++) {
		struct shm_tenant_bucket *b = probe(seg, h, i);
		unsigned long long key = atomic_load(&b->key);
		/* Another worker may claim it for the same tenant first: then it
		 * is ours too. */
		if (key == h)
			return &b->tat_ns;
		if (!claimable(b, key, now_ns, limit))
			continue;
		if (atomic_compare_exchange_strong(&b->key, &key, h))
			return settle_claim(seg, h, i);
		if (key == h)
			return &b->tat_ns;
	}
	atomic_fetch_add(&seg->tenant_overflows, 1);
	return &seg->tenant_overflow_tat_ns;
}

int limiter_take_tenant(struct shm_segment *seg, const char *tenant, long long now_ns,
                        long long *retry_after_ms)
{
	long long interval = atomic_load(&seg->tenant_interval_ns);
	long long limit = atomic_load(&seg->tenant_limit_ns);

	if (interval == 0)
		return 0;
	return gcra(tenant_tat(seg, tenant, now_ns, limit), interval, limit, now_ns, retry_after_ms);
}

int limiter_enter(struct shm_segment *seg, int slot)
{
	struct shm_slot *s = &seg->slots[slot];

	atomic_fetch_add(&s->inflight, 1);
	if (shm_inflight_total(seg) > atomic_load(&seg->max_inflight)) {
		atomic_fetch_sub(&s->inflight, 1);
		return -1;
	}
	return 0;
}

void limiter_leave(struct shm_segment *seg, int slot)
{
	atomic_fetch_sub(&seg->slots[slot].inflight, 1);
}
