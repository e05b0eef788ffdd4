/*
 * peer_limit.c - connections per client address over all workers (see
 * peer_limit.h). Runs in workers (enter, leave) and the master (reap).
 *
 * Enter adds to the worker's own counter first and then sums every row:
 * two workers admitting the same address at once both see both additions,
 * so the total never passes the limit (at worst both refuse). Only the
 * owning worker writes a row, and only the master zeroes it, after the
 * worker is gone.
 */
#include "shm/peer_limit.h"

static int bucket(uint64_t key)
{
	return (int)(key % SHM_PEER_BUCKETS);
}

long peer_limit_count(struct shm_segment *seg, uint64_t key)
{
	int b = bucket(key), high = atomic_load(&seg->slots_high);
	long total = 0;

	for (int i = 0; i < high; i++)
		total += atomic_load_explicit(&seg->peers[i].count[b], memory_order_seq_cst);
	return total;
}

int peer_limit_enter(struct shm_segment *seg, int slot, uint64_t key, long limit)
{
	atomic_int *mine = &seg->peers[slot].count[bucket(key)];

	atomic_fetch_add(mine, 1);
	if (limit > 0 && peer_limit_count(seg, key) > limit) {
		atomic_fetch_sub(mine, 1);
		return -1;
	}
	return 0;
}

void peer_limit_leave(struct shm_segment *seg, int slot, uint64_t key)
{
	atomic_fetch_sub(&seg->peers[slot].count[bucket(key)], 1);
}

void peer_limit_reap(struct shm_segment *seg, int slot)
{
	struct shm_peer_row *row = &seg->peers[slot];

	for (int b = 0; b < SHM_PEER_BUCKETS; b++)
		if (atomic_load_explicit(&row->count[b], memory_order_relaxed))
			atomic_store(&row->count[b], 0);
}
