/*
 * peer_count.h - how many connections this worker holds per client address,
 * for max_connections_per_ip. A private open-addressed table (linear probing
 * with backward-shift deletion) sized for worker_connections distinct
 * addresses, so it never fills. Runs in workers; no sharing, so nothing to
 * repair when a worker dies.
 */
#ifndef MCPI_PEER_COUNT_H
#define MCPI_PEER_COUNT_H

#include <stddef.h>
#include <stdint.h>

struct peer_count_entry {
	uint64_t key; /* 0 = free */
	long count;
};

struct peer_count {
	struct peer_count_entry *slots;
	size_t mask;
};

/* Room for max_keys distinct addresses at once. 0 or -1 (out of memory). */
int peer_count_init(struct peer_count *pc, size_t max_keys);
void peer_count_free(struct peer_count *pc);

/* Counts one more connection from key (never 0) unless key already holds
 * limit (0 = no limit): returns the new count, or -1 when refused. */
long peer_count_add(struct peer_count *pc, uint64_t key, long limit);
/* Forgets one connection from key. */
void peer_count_remove(struct peer_count *pc, uint64_t key);

#endif
