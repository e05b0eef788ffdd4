/*
 * limiter.h - admission control over the shared segment: a global GCRA
 * token bucket (requests per second with a burst) and a global in-flight cap
 * made of per-worker slots. Called by workers on every request; configured
 * by the master at start-up and on reload.
 */
#ifndef MCPI_LIMITER_H
#define MCPI_LIMITER_H

#include "shm/shm.h"

/* The figures are the cluster's: with hosts servers behind one load
 * balancer (cluster_hosts), this host enforces 1/hosts of the rate exactly
 * and 1/hosts of the burst and in-flight cap, rounded up (at least 1). */
void limiter_configure(struct shm_segment *seg, long rps, long burst, long max_inflight, long hosts);
/* rps 0 turns the per-tenant limit off. */
void limiter_configure_tenant(struct shm_segment *seg, long rps, long burst, long hosts);

/* 0 = admitted; -1 = over the rate, *retry_after_ms says when to retry. */
int limiter_take(struct shm_segment *seg, long long now_ns, long long *retry_after_ms);

/* The same for one tenant's share (when configured). A tenant that finds
 * no room in the table is limited by a shared overflow bucket of one
 * tenant's rate: a collision never admits more than a tenant's share. */
int limiter_take_tenant(struct shm_segment *seg, const char *tenant, long long now_ns,
                        long long *retry_after_ms);

/* 0 = admitted and counted in slot; -1 = at max_inflight (nothing counted). */
int limiter_enter(struct shm_segment *seg, int slot);
void limiter_leave(struct shm_segment *seg, int slot);

long long limiter_now_ns(void);

#endif
