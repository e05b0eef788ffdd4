/*
 * metrics.c - GET /metrics: Prometheus text rendered from the shared
 * scoreboard (every worker's slot, the limiter, the duration histogram), so
 * any worker can answer for all of them. Runs in workers.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../server/log.h"
#include "../shm/shm.h"
#include "metrics.h"

/* Request durations over all live slots, as a Prometheus histogram. */
static size_t append_duration_histogram(struct shm_segment *shm, char *out, size_t cap, size_t n)
{
	long long buckets[SHM_DURATION_BUCKETS] = { 0 }, sum = 0, cumulative = 0;

	for (int i = 0; i < SHM_MAX_SLOTS; i++) {
		struct shm_slot *s = &shm->slots[i];
		for (int b = 0; b < SHM_DURATION_BUCKETS; b++)
			buckets[b] += atomic_load(&s->duration_buckets[b]);
		sum += atomic_load(&s->duration_sum_us);
	}
	n += (size_t)snprintf(out + n, cap - n,
	    "# HELP mcpi_request_duration_seconds Time from a complete request to its response.\n"
	    "# TYPE mcpi_request_duration_seconds histogram\n");
	for (int b = 0; b < SHM_DURATION_BUCKETS; b++) {
		cumulative += buckets[b];
		if (b < SHM_DURATION_BUCKETS - 1)
			n += (size_t)snprintf(out + n, cap - n,
			    "mcpi_request_duration_seconds_bucket{le=\"%g\"} %lld\n",
			    shm_duration_bounds_us[b] / 1e6, cumulative);
		else
			n += (size_t)snprintf(out + n, cap - n,
			    "mcpi_request_duration_seconds_bucket{le=\"+Inf\"} %lld\n", cumulative);
	}
	n += (size_t)snprintf(out + n, cap - n,
	    "mcpi_request_duration_seconds_sum %.6f\nmcpi_request_duration_seconds_count %lld\n",
	    sum / 1e6, cumulative);
	return n;
}

void metrics_render(struct worker_ctx *w, struct response *resp)
{
	size_t cap = 4096 + SHM_MAX_SLOTS * 1500, n = 0;
	char *out = malloc(cap);
	long long ready = 0;

	if (!out)
		fatal("out of memory");
	n += (size_t)snprintf(out + n, cap - n,
	    "# HELP mcpi_inflight Requests admitted and not yet answered, all workers.\n"
	    "# TYPE mcpi_inflight gauge\nmcpi_inflight %lld\n"
	    "# TYPE mcpi_max_inflight gauge\nmcpi_max_inflight %lld\n"
	    "# HELP mcpi_tenant_overflow_total Per-tenant decisions made on the shared overflow bucket.\n"
	    "# TYPE mcpi_tenant_overflow_total counter\nmcpi_tenant_overflow_total %lld\n",
	    shm_inflight_total(w->shm), (long long)atomic_load(&w->shm->max_inflight),
	    (long long)atomic_load(&w->shm->tenant_overflows));
	for (int i = 0; i < SHM_MAX_SLOTS; i++) {
		struct shm_slot *s = &w->shm->slots[i];
		int state = atomic_load(&s->state), pid = atomic_load(&s->pid);
		if (state == SLOT_FREE || pid == 0)
			continue;
		ready += state == SLOT_READY;
		n += (size_t)snprintf(out + n, cap - n,
		    "mcpi_worker_state{pid=\"%d\",slot=\"%d\"} %d\n"
		    "mcpi_database_up{pid=\"%d\"} %d\n"
		    "mcpi_connections{pid=\"%d\"} %lld\n"
		    "mcpi_worker_inflight{pid=\"%d\"} %lld\n"
		    "mcpi_requests_total{pid=\"%d\"} %lld\n"
		    "mcpi_errors_total{pid=\"%d\"} %lld\n"
		    "mcpi_rejected_total{pid=\"%d\",reason=\"rate\"} %lld\n"
		    "mcpi_rejected_total{pid=\"%d\",reason=\"inflight\"} %lld\n"
		    "mcpi_rejected_total{pid=\"%d\",reason=\"auth\"} %lld\n"
		    "mcpi_rejected_total{pid=\"%d\",reason=\"tenant_rate\"} %lld\n"
		    "mcpi_rejected_total{pid=\"%d\",reason=\"per_ip\"} %lld\n"
		    "mcpi_idle_reclaimed_total{pid=\"%d\"} %lld\n"
		    "mcpi_rejected_total{pid=\"%d\",reason=\"body_budget\"} %lld\n"
		    "mcpi_body_bytes_buffered{pid=\"%d\"} %lld\n"
		    "mcpi_db_queue_depth{pid=\"%d\"} %lld\n"
		    "mcpi_db_inflight{pid=\"%d\"} %lld\n"
		    "mcpi_db_batches_total{pid=\"%d\"} %lld\n"
		    "mcpi_db_batch_members_total{pid=\"%d\"} %lld\n"
		    "mcpi_db_cancels_total{pid=\"%d\"} %lld\n"
		    "mcpi_db_round_trip_seconds_sum{pid=\"%d\"} %.6f\n"
		    "mcpi_db_round_trip_seconds_count{pid=\"%d\"} %lld\n",
		    pid, i, state, pid, atomic_load(&s->database_up), pid,
		    (long long)atomic_load(&s->connections),
		    pid, (long long)atomic_load(&s->inflight), pid, (long long)atomic_load(&s->requests),
		    pid, (long long)atomic_load(&s->errors), pid, (long long)atomic_load(&s->rejected_rate),
		    pid, (long long)atomic_load(&s->rejected_inflight), pid,
		    (long long)atomic_load(&s->rejected_auth), pid,
		    (long long)atomic_load(&s->rejected_tenant_rate), pid,
		    (long long)atomic_load(&s->rejected_per_ip), pid,
		    (long long)atomic_load(&s->reclaimed_idle), pid,
		    (long long)atomic_load(&s->rejected_budget), pid,
		    (long long)atomic_load(&s->buffered_bytes), pid,
		    (long long)atomic_load(&s->db_queued), pid, (long long)atomic_load(&s->db_inflight), pid,
		    (long long)atomic_load(&s->db_batches), pid, (long long)atomic_load(&s->db_members), pid,
		    (long long)atomic_load(&s->db_cancels), pid, atomic_load(&s->db_round_trip_us) / 1e6, pid,
		    (long long)atomic_load(&s->db_round_trips));
	}
	n += (size_t)snprintf(out + n, cap - n, "mcpi_workers_ready %lld\n", ready);
	n = append_duration_histogram(w->shm, out, cap, n);
	response_set_body(resp, 200, out, n);
	response_header(resp, "Content-Type: text/plain; version=0.0.4");
	snprintf(resp->outcome, sizeof(resp->outcome), "metrics");
}
