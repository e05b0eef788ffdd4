/*
 * shm.h - the shared-memory segment: global GCRA limiter state, and one
 * scoreboard slot per worker (in-flight count, connections, counters).
 * Created by the master before fork (MAP_SHARED|MAP_ANONYMOUS) and inherited
 * by every worker. Holds only lock-free C11 atomics, so a process dying at
 * any instruction can never leave a lock held; the master repairs a dead
 * worker's slot when it reaps it (shm_slot_reap).
 */
#ifndef MCPI_SHM_H
#define MCPI_SHM_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#if ATOMIC_LLONG_LOCK_FREE != 2
#error "shared-memory counters need lock-free 64-bit atomics"
#endif
#if ATOMIC_INT_LOCK_FREE != 2
#error "shared-memory slots need lock-free int atomics"
#endif

/* Twice the worker limit: a reload runs old and new workers side by side. */
#define SHM_MAX_SLOTS 512

#define SHM_DURATION_BUCKETS 10
extern const long long shm_duration_bounds_us[SHM_DURATION_BUCKETS - 1];

#define SHM_JWKS_OUTCOMES 16

enum shm_slot_state { SLOT_FREE = 0, SLOT_STARTING, SLOT_READY, SLOT_DRAINING };

struct shm_slot {
	alignas(64) atomic_int state;
	atomic_int pid;
	atomic_int database_up;
	atomic_llong inflight;
	atomic_llong connections;
	atomic_llong requests;
	atomic_llong errors;
	atomic_llong rejected_rate;
	atomic_llong rejected_inflight;
	atomic_llong rejected_auth;
	atomic_llong rejected_tenant_rate;
	atomic_llong rejected_per_ip;      /* connections closed at once: over max_connections_per_ip */
	atomic_llong reclaimed_idle;       /* idle connections closed to make room */
	atomic_llong buffered_bytes;       /* request buffers held now (worker_body_budget_bytes) */
	atomic_llong rejected_budget;      /* requests refused 503: buffer budget spent */
	/* The worker's database engine (db.h's db_stats, published each loop). */
	atomic_llong db_queued, db_inflight, db_batches, db_members, db_cancels;
	atomic_llong db_round_trips, db_round_trip_us;
	/* The worker's PDF documents (render.h's render_stats and queue). */
	atomic_llong render_jobs, render_rendered, render_failed, render_refused, render_timeouts;
	atomic_llong render_cancelled;
	atomic_llong render_busy_us;
	/* Request durations: counts per upper bound in shm_duration_bounds_us
	 * (the last bucket is +Inf), and their sum in microseconds. */
	atomic_llong duration_buckets[SHM_DURATION_BUCKETS];
	atomic_llong duration_sum_us;
	/* This process's own CPU time and resident set (it alone may read its
	 * /proc entry once non-dumpable), refreshed about once a second. */
	atomic_llong cpu_us, rss_bytes;
};

/* A latency histogram over shm_duration_bounds_us, shared by all workers. */
struct shm_histogram {
	atomic_llong buckets[SHM_DURATION_BUCKETS];
	atomic_llong sum_us;
};

/* Request counters by series (a JSON-RPC method, or one tool of
 * tools/call) and outcome; the names behind the indices are metrics.c's. */
#define SHM_MAX_SERIES 96
#define SHM_MAX_OUTCOMES 40

/* CPU time and resident set of a process role (metrics.c's roles). */
enum shm_role { SHM_ROLE_MASTER, SHM_ROLE_KEYMGR, SHM_ROLE_WORKER, SHM_ROLES };

struct shm_process_stats {
	atomic_llong cpu_us, rss_bytes;
};

/* Per-tenant GCRA state: an open-addressed table keyed by a 64-bit hash of
 * the tenant. A slot whose tenant has been idle past its burst window may be
 * taken over by another tenant; a tenant that finds no slot shares one
 * overflow bucket (see limiter.c). */
#define SHM_TENANT_BUCKETS 4096

struct shm_tenant_bucket {
	atomic_ullong key; /* 0 = free */
	atomic_llong tat_ns;
};

/* Connections per client address, for max_connections_per_ip over all
 * workers (see peer_limit.h): each worker counts its own connections per
 * hashed address in its own row, and an address's total is the sum over
 * the rows. A dead worker's row is zeroed by the master, like its in-flight
 * count; nothing else needs repair. */
#define SHM_PEER_BUCKETS 8192

struct shm_peer_row {
	atomic_int count[SHM_PEER_BUCKETS];
};

struct shm_segment {
	uint64_t magic;
	/* GCRA: theoretical arrival time, emission interval, burst tolerance. */
	alignas(64) atomic_llong gcra_tat_ns;
	alignas(64) atomic_llong gcra_interval_ns;
	atomic_llong gcra_limit_ns;
	atomic_llong max_inflight;
	atomic_llong tenant_interval_ns; /* 0 = no per-tenant limit */
	atomic_llong tenant_limit_ns;
	struct shm_tenant_bucket tenants[SHM_TENANT_BUCKETS];
	/* Shared by tenants whose probe window is full of active tenants. */
	atomic_llong tenant_overflow_tat_ns;
	atomic_llong tenant_overflows; /* decisions made on the overflow bucket */
	struct shm_slot slots[SHM_MAX_SLOTS];
	/* Operations (metrics.c): */
	atomic_int stopping;                 /* the master began shutting down */
	atomic_llong accept_queue, accept_queue_limit; /* listener's TCP_INFO, from the master */
	atomic_llong worker_restarts;        /* workers replaced after dying */
	atomic_llong renderer_restarts;      /* renderers replaced after dying once ready */
	atomic_llong retired_worker_cpu_us;  /* CPU time of workers already reaped */
	/* Keys from a JWKS (written by the master, read by /metrics, /readyz): */
	atomic_int jwks_mode;                /* 1: keys come from a JWKS */
	atomic_llong jwks_keys;              /* keys in the set in use; -1 before any set */
	atomic_llong jwks_loaded_at;         /* Unix time the set in use was fetched */
	atomic_llong jwks_fetches[SHM_JWKS_OUTCOMES]; /* by enum jwks_outcome */
	atomic_llong jwks_refresh_asks;      /* workers' asks for a fetch (unknown kid) */
	struct shm_process_stats master, keymgr;
	struct shm_histogram db_round_trip;
	alignas(64) atomic_llong requests[SHM_MAX_SERIES][SHM_MAX_OUTCOMES];
	struct shm_histogram series_duration[SHM_MAX_SERIES];
	struct shm_histogram series_db[SHM_MAX_SERIES]; /* database wait of requests that had one */
	atomic_int slots_high; /* 1 + the highest slot ever claimed: rows past it are zero */
	/* Last and page-aligned: a row's pages are backed only once they are
	 * touched, so the 16 MiB mapped cost at most 32 KiB per slot in use. */
	alignas(4096) struct shm_peer_row peers[SHM_MAX_SLOTS];
};

/* Maps a zeroed segment; returns NULL with errno set. */
struct shm_segment *shm_create(void);
void shm_destroy(struct shm_segment *seg);

/* Master: claims a free slot for a new worker; -1 if none. */
int shm_slot_claim(struct shm_segment *seg);
/* Master: a worker died or exited; forget its in-flight and connections
 * (also its per-address counts). */
void shm_slot_reap(struct shm_segment *seg, int slot);

/* Worker: count one answered request that took duration_us. */
void shm_record_duration(struct shm_slot *slot, long long duration_us);

/* Adds one observation to h. */
void shm_histogram_observe(struct shm_histogram *h, long long us);

/* This process's CPU time (user + system) and resident set size. */
void shm_self_usage(long long *cpu_us, long long *rss_bytes);

/* Sum of every slot's in-flight count (the global gauge). */
long long shm_inflight_total(struct shm_segment *seg);

#endif
