/*
 * peer_limit.h - max_connections_per_ip over all workers, in the shared
 * segment. Each worker counts the connections it holds per hashed client
 * address in its own row (shm.h: struct shm_peer_row); an address's total
 * is the sum of the rows, so a worker killed at any instruction leaves
 * only its own row behind, which the master zeroes when it reaps it (as
 * with the in-flight slots). Addresses that share one of the
 * SHM_PEER_BUCKETS buckets share a limit: a collision can refuse a
 * connection early, never admit one over the limit. Workers enter and
 * leave; the master reaps.
 */
#ifndef MCPI_PEER_LIMIT_H
#define MCPI_PEER_LIMIT_H

#include <stdint.h>

#include "shm/shm.h"

/* Counts one more connection from the address with hash key in slot's row,
 * unless all workers together then hold more than limit from it (0 = no
 * limit): 0 = counted, -1 = refused (nothing counted). */
int peer_limit_enter(struct shm_segment *seg, int slot, uint64_t key, long limit);
/* The connection counted by peer_limit_enter closed. */
void peer_limit_leave(struct shm_segment *seg, int slot, uint64_t key);
/* Connections from the address with hash key over all workers. */
long peer_limit_count(struct shm_segment *seg, uint64_t key);

/* Master: the worker in slot is gone; forget every connection it counted. */
void peer_limit_reap(struct shm_segment *seg, int slot);

#endif
