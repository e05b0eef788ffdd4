/*
 * peer_count.c - connections per client address in one worker (see
 * peer_count.h). Runs in workers.
 */
#include <stdlib.h>

#include "peer_count.h"

int peer_count_init(struct peer_count *pc, size_t max_keys)
{
	size_t n = 16;

	while (n < 2 * max_keys)
		n *= 2;
	pc->slots = calloc(n, sizeof(*pc->slots));
	pc->mask = n - 1;
	return pc->slots ? 0 : -1;
}

void peer_count_free(struct peer_count *pc)
{
	free(pc->slots);
	pc->slots = NULL;
}

long peer_count_add(struct peer_count *pc, uint64_t key, long limit)
{
	size_t i = (size_t)key & pc->mask;

	while (pc->slots[i].key && pc->slots[i].key != key)
		i = (i + 1) & pc->mask;
	if (pc->slots[i].key && limit > 0 && pc->slots[i].count >= limit)
		return -1;
	pc->slots[i].key = key;
	return ++pc->slots[i].count;
}

void peer_count_remove(struct peer_count *pc, uint64_t key)
{
	size_t i = (size_t)key & pc->mask, j;

	while (pc->slots[i].key != key) {
		if (!pc->slots[i].key)
			return;
		i = (i + 1) & pc->mask;
	}
	if (--pc->slots[i].count > 0)
		return;
	/* Backward-shift deletion keeps every other key reachable from its
	 * home slot without tombstones. */
	for (j = (i + 1) & pc->mask; pc->slots[j].key; j = (j + 1) & pc->mask) {
		size_t home = (size_t)pc->slots[j].key & pc->mask;
		if (((j - home) & pc->mask) >= ((j - i) & pc->mask)) {
			pc->slots[i] = pc->slots[j];
			i = j;
		}
	}
	pc->slots[i].key = 0;
	pc->slots[i].count = 0;
}
