/*
 * metrics.c - GET /metrics: Prometheus text (exposition format 0.0.4)
 * rendered from the shared segment (every worker's scoreboard slot, the
 * limiter, the request and database histograms, the master's accept queue
 * figures), so any worker answers for the whole server; and the recording
 * side (metrics_observe) each worker calls once per answered request.
 * Runs in workers.
 *
 * Labels are low-cardinality by construction: a method, tool or outcome is
 * reported under its name only when it is one of the fixed names below (or
 * a tool of the tool table), otherwise as "other"; never a tenant, token or
 * anything else a client chose.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/lib/log.h"
#include "server/lib/strbuf.h"
#include "server/proto/jwks_msg.h"
#include "shm/shm.h"
#include "worker/metrics.h"
#include "worker/tools/tools.h"

/* JSON-RPC methods counted under their own name. Series index i < NMETHODS
 * is a method; NMETHODS + t is tools/call of tool t (tools_at order).
 * "none": the request never reached a JSON-RPC method (HTTP-level refusal,
 * another path). */
static const char *const methods[] = {
	"none", "other", "initialize", "ping", "tools/list", "tools/call", "server/discover",
	"notifications/initialized", "notifications/cancelled", "resources/list", "resources/read",
	"resources/templates/list", "prompts/list", "prompts/get", "completion/complete",
	"logging/setLevel",
};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))
#define METHOD_TOOLS_CALL 5

/* Outcomes: a tool's result or error code, an admission refusal, a
 * JSON-RPC error, or (for requests that never reached JSON-RPC) the HTTP
 * status. */
static const char *const outcomes[] = {
	"other", "ok", "accepted", "INVALID_INPUT", "NOT_FOUND", "INVALID_STATE", "CONFLICT",
	"DATABASE_UNAVAILABLE", "TIMEOUT", "INTERNAL", "unauthorized", "RATE_LIMITED", "OVERLOADED",
	"origin_refused", "preflight", "metadata", "metrics", "rpc_error_32700", "rpc_error_32600",
	"rpc_error_32601", "rpc_error_32602", "rpc_error_32603", "rpc_error_32000", "rpc_error_32001",
	"rpc_error_32002", "rpc_error_32020", "rpc_error_32022", "http_400", "http_404", "http_405",
	"http_408", "http_411", "http_413", "http_415", "http_417", "http_431", "http_500", "http_501",
	"http_503",
};
#define NOUTCOMES (sizeof(outcomes) / sizeof(outcomes[0]))

_Static_assert(NOUTCOMES <= SHM_MAX_OUTCOMES, "SHM_MAX_OUTCOMES is too small for the outcomes");

static size_t series_count(void)
{
	size_t n = NMETHODS + tools_count();
	return n < SHM_MAX_SERIES ? n : SHM_MAX_SERIES;
}

static int name_index(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

static size_t series_of(const struct response *r)
{
	int m;

	if (!r->rpc_method[0])
		return 0;
	m = name_index(methods, NMETHODS, r->rpc_method);
	if (m < 0)
		return 1;
	if (m == METHOD_TOOLS_CALL && r->tool[0]) {
		for (size_t t = 0; t < tools_count() && NMETHODS + t < SHM_MAX_SERIES; t++)
			if (strcmp(tools_at(t)->name, r->tool) == 0)
				return NMETHODS + t;
	}
	return (size_t)m;
}

static size_t outcome_of(const struct response *r)
{
	char http[16];
	int o;

	o = name_index(outcomes, NOUTCOMES, r->outcome);
	if (!r->rpc_method[0] && r->status >= 400 && (o < 0 || strncmp(r->outcome, "rpc_error_", 10) == 0)) {
		snprintf(http, sizeof(http), "http_%d", r->status);
		o = name_index(outcomes, NOUTCOMES, http);
	}
	return o < 0 ? 0 : (size_t)o;
}

void metrics_observe(struct worker_ctx *w, const struct response *r, long long duration_us)
{
	size_t s = series_of(r);

	atomic_fetch_add_explicit(&w->start.shm->requests[s][outcome_of(r)], 1, memory_order_relaxed);
	shm_histogram_observe(&w->start.shm->series_duration[s], duration_us);
	if (r->db_us > 0)
		shm_histogram_observe(&w->start.shm->series_db[s], r->db_us);
}

/* The method and tool labels of series s. */
static void series_labels(size_t s, const char **method, const char **tool)
{
	if (s < NMETHODS) {
		*method = methods[s];
		*tool = s == METHOD_TOOLS_CALL ? "unknown" : "";
	} else {
		*method = "tools/call";
		*tool = tools_at(s - NMETHODS)->name;
	}
}

static void family(struct strbuf *b, const char *name, const char *type, const char *help)
{
	strbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Keys from a JWKS (only when the server takes its keys from one): fetches
 * by outcome, keys in the set in use and its age. */
static void render_jwks(struct strbuf *b, struct shm_segment *shm)
{
	long long loaded = atomic_load(&shm->jwks_loaded_at), keys = atomic_load(&shm->jwks_keys);
	struct timespec now;

	if (!atomic_load(&shm->jwks_mode))
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	family(b, "mcpi_jwks_fetches_total", "counter", "JWKS fetches by outcome (ok, timeout, redirect, ...).");
	for (unsigned o = 0; o < JWKS_OUTCOMES; o++)
		strbuf_printf(b, "mcpi_jwks_fetches_total{outcome=\"%s\"} %lld\n", jwks_outcome_name(o),
		              (long long)atomic_load(&shm->jwks_fetches[o]));
	family(b, "mcpi_jwks_refresh_requests_total", "counter",
	       "Workers' requests for a JWKS fetch after a token named an unknown key id.");
	strbuf_printf(b, "mcpi_jwks_refresh_requests_total %lld\n", (long long)atomic_load(&shm->jwks_refresh_asks));
	family(b, "mcpi_jwks_keys", "gauge", "Keys in the JWKS key set in use (0 before any set).");
	strbuf_printf(b, "mcpi_jwks_keys %lld\n", keys < 0 ? 0 : keys);
	family(b, "mcpi_jwks_key_set_age_seconds", "gauge",
	       "Seconds since the key set in use was fetched (-1 before any set).");
	strbuf_printf(b, "mcpi_jwks_key_set_age_seconds %lld\n", keys < 0 ? -1 : (long long)now.tv_sec - loaded);
}

/* One histogram's bucket, sum and count lines; labels is "" or `a="b",`. */
static void histogram_lines(struct strbuf *b, const char *name, const char *labels,
                            const long long *buckets, long long sum_us)
{
	long long cumulative = 0;

	for (int i = 0; i < SHM_DURATION_BUCKETS; i++) {
		cumulative += buckets[i];
		if (i < SHM_DURATION_BUCKETS - 1)
			strbuf_printf(b, "%s_bucket{%sle=\"%g\"} %lld\n", name, labels,
			              shm_duration_bounds_us[i] / 1e6, cumulative);
		else
			strbuf_printf(b, "%s_bucket{%sle=\"+Inf\"} %lld\n", name, labels, cumulative);
	}
	if (labels[0]) {
		size_t n = strlen(labels) - 1; /* without the trailing comma */
		strbuf_printf(b, "%s_sum{%.*s} %.6f\n%s_count{%.*s} %lld\n", name, (int)n, labels,
		              sum_us / 1e6, name, (int)n, labels, cumulative);
	} else {
		strbuf_printf(b, "%s_sum %.6f\n%s_count %lld\n", name, sum_us / 1e6, name, cumulative);
	}
}

static void load_histogram(struct shm_histogram *h, long long *buckets, long long *sum_us)
{
	for (int i = 0; i < SHM_DURATION_BUCKETS; i++)
		buckets[i] = atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
	*sum_us = atomic_load_explicit(&h->sum_us, memory_order_relaxed);
}

/* Request durations over all live slots (no labels; kept from before the
 * per-series histogram). */
static void slot_duration_histogram(struct shm_segment *shm, struct strbuf *b)
{
	long long buckets[SHM_DURATION_BUCKETS] = { 0 }, sum = 0;

	for (int i = 0; i < SHM_MAX_SLOTS; i++) {
		struct shm_slot *s = &shm->slots[i];
		for (int k = 0; k < SHM_DURATION_BUCKETS; k++)
			buckets[k] += atomic_load(&s->duration_buckets[k]);
		sum += atomic_load(&s->duration_sum_us);
	}
	family(b, "mcpi_request_duration_seconds", "histogram",
	       "Time from a complete request to its response, every request but health probes.");
	histogram_lines(b, "mcpi_request_duration_seconds", "", buckets, sum);
}

/* One histogram per series that has observations, labelled by method and tool. */
static void series_histograms(struct strbuf *b, const char *name, struct shm_histogram *hists)
{
	long long buckets[SHM_DURATION_BUCKETS], sum;
	const char *method, *tool;
	char labels[160];

	for (size_t s = 0; s < series_count(); s++) {
		long long count = 0;
		load_histogram(&hists[s], buckets, &sum);
		for (int i = 0; i < SHM_DURATION_BUCKETS; i++)
			count += buckets[i];
		if (!count)
			continue;
		series_labels(s, &method, &tool);
		snprintf(labels, sizeof(labels), "method=\"%s\",tool=\"%s\",", method, tool);
		histogram_lines(b, name, labels, buckets, sum);
	}
}

static void series_metrics(struct shm_segment *shm, struct strbuf *b)
{
	size_t n = series_count();
	long long buckets[SHM_DURATION_BUCKETS], sum;
	const char *method, *tool;

	family(b, "mcpi_mcp_requests_total", "counter",
	       "Requests answered, by JSON-RPC method (none: refused before JSON-RPC), tool and outcome.");
	for (size_t s = 0; s < n; s++) {
		series_labels(s, &method, &tool);
		for (size_t o = 0; o < NOUTCOMES; o++) {
			long long v = atomic_load_explicit(&shm->requests[s][o], memory_order_relaxed);
			if (v)
				strbuf_printf(b, "mcpi_mcp_requests_total{method=\"%s\",tool=\"%s\",outcome=\"%s\"} %lld\n",
				              method, tool, outcomes[o], v);
		}
	}
	family(b, "mcpi_mcp_request_duration_seconds", "histogram",
	       "Time from a complete request to its response, by JSON-RPC method and tool.");
	series_histograms(b, "mcpi_mcp_request_duration_seconds", shm->series_duration);
	family(b, "mcpi_mcp_db_seconds", "histogram",
	       "Time a request waited for the database (sent to answered), by JSON-RPC method and tool.");
	series_histograms(b, "mcpi_mcp_db_seconds", shm->series_db);
	family(b, "mcpi_db_round_trip_seconds", "histogram",
	       "Time from sending a pipeline segment to its Sync result, all workers.");
	load_histogram(&shm->db_round_trip, buckets, &sum);
	histogram_lines(b, "mcpi_db_round_trip_seconds", "", buckets, sum);
}

/* Per-worker figures from the scoreboard: one family per entry, a line per
 * live slot. Entries sharing a name are one family with a reason label. */
enum slot_value_kind { SLOT_LLONG, SLOT_INT, SLOT_MICROS /* an atomic_llong shown as seconds */ };

struct slot_metric {
	const char *name, *type, *help, *reason;
	size_t offset;
	enum slot_value_kind kind;
};

#define LL(field) offsetof(struct shm_slot, field), SLOT_LLONG
#define US(field) offsetof(struct shm_slot, field), SLOT_MICROS
static const struct slot_metric slot_metrics[] = {
	{ "mcpi_worker_state", "gauge", "Scoreboard state (1 starting, 2 ready, 3 draining).", NULL,
	  offsetof(struct shm_slot, state), SLOT_INT },
	{ "mcpi_worker_pid", "gauge", "The process id of the worker in this slot (as in the logs).", NULL,
	  offsetof(struct shm_slot, pid), SLOT_INT },
	{ "mcpi_database_up", "gauge", "1 while the worker's database connection is up.", NULL,
	  offsetof(struct shm_slot, database_up), SLOT_INT },
	{ "mcpi_connections", "gauge", "Client connections open.", NULL, LL(connections) },
	{ "mcpi_worker_inflight", "gauge", "Requests admitted and not yet answered.", NULL, LL(inflight) },
	{ "mcpi_requests_total", "counter", "Requests answered.", NULL, LL(requests) },
	{ "mcpi_errors_total", "counter", "Responses with a 5xx status other than 503.", NULL, LL(errors) },
	{ "mcpi_rejected_total", "counter", "Requests or connections refused, by reason.", "rate",
	  LL(rejected_rate) },
	{ "mcpi_rejected_total", NULL, NULL, "inflight", LL(rejected_inflight) },
	{ "mcpi_rejected_total", NULL, NULL, "auth", LL(rejected_auth) },
	{ "mcpi_rejected_total", NULL, NULL, "tenant_rate", LL(rejected_tenant_rate) },
	{ "mcpi_rejected_total", NULL, NULL, "per_ip", LL(rejected_per_ip) },
	{ "mcpi_rejected_total", NULL, NULL, "body_budget", LL(rejected_budget) },
	{ "mcpi_idle_reclaimed_total", "counter", "Idle connections closed to make room.", NULL,
	  LL(reclaimed_idle) },
	{ "mcpi_body_bytes_buffered", "gauge", "Request bytes buffered (worker_body_budget_bytes).", NULL,
	  LL(buffered_bytes) },
	{ "mcpi_db_queue_depth", "gauge", "Database jobs waiting to be sent.", NULL, LL(db_queued) },
	{ "mcpi_db_inflight", "gauge", "Database jobs sent, results pending.", NULL, LL(db_inflight) },
	{ "mcpi_db_batches_total", "counter", "Group-commit write batches sent.", NULL, LL(db_batches) },
	{ "mcpi_db_batch_members_total", "counter", "Writes sent in group-commit batches.", NULL,
	  LL(db_members) },
	{ "mcpi_db_cancels_total", "counter", "Statements cancelled past their deadline.", NULL,
	  LL(db_cancels) },
	{ "mcpi_render_queue_depth", "gauge", "PDF documents waiting for or in a renderer.", NULL,
	  LL(render_jobs) },
	{ "mcpi_render_documents_total", "counter", "PDF documents answered, by outcome (a timeout "
	  "is also counted as failed).", "rendered", LL(render_rendered) },
	{ "mcpi_render_documents_total", NULL, NULL, "failed", LL(render_failed) },
	{ "mcpi_render_documents_total", NULL, NULL, "refused", LL(render_refused) },
	{ "mcpi_render_documents_total", NULL, NULL, "timeout", LL(render_timeouts) },
	{ "mcpi_render_documents_total", NULL, NULL, "cancelled", LL(render_cancelled) },
	{ "mcpi_render_busy_seconds_total", "counter", "Time documents spent in a renderer.", NULL,
	  US(render_busy_us) },
};
#undef LL
#undef US

static long long slot_value(struct shm_slot *s, const struct slot_metric *m)
{
	char *p = (char *)s + m->offset;

	return m->kind == SLOT_INT ? atomic_load((atomic_int *)p) : atomic_load((atomic_llong *)p);
}

static void slot_families(struct shm_segment *shm, struct strbuf *b)
{
	for (size_t k = 0; k < sizeof(slot_metrics) / sizeof(slot_metrics[0]); k++) {
		const struct slot_metric *m = &slot_metrics[k];
		if (m->type)
			family(b, m->name, m->type, m->help);
		for (int i = 0; i < SHM_MAX_SLOTS; i++) {
			struct shm_slot *s = &shm->slots[i];
			int state = atomic_load(&s->state), pid = atomic_load(&s->pid);
			if (state == SLOT_FREE || pid == 0)
				continue;
			/* Labelled by slot, not pid: a replaced or reloaded worker
			 * takes a slot over, so its series go on (pid: mcpi_worker_pid). */
			if (m->reason)
				strbuf_printf(b, "%s{slot=\"%d\",reason=\"%s\"} %lld\n", m->name, i, m->reason,
				              slot_value(s, m));
			else if (m->kind == SLOT_MICROS)
				strbuf_printf(b, "%s{slot=\"%d\"} %.6f\n", m->name, i, slot_value(s, m) / 1e6);
			else
				strbuf_printf(b, "%s{slot=\"%d\"} %lld\n", m->name, i, slot_value(s, m));
		}
	}
}

/* Workers by state, CPU and RSS per role, the queues and their limits. */
static void server_families(struct worker_ctx *w, struct strbuf *b)
{
	static const char *const states[] = { "free", "starting", "ready", "draining" };
	static const char *const roles[] = { "master", "keymgr", "worker" };
	struct shm_segment *shm = w->start.shm;
	long long by_state[4] = { 0 }, cpu[SHM_ROLES], rss[SHM_ROLES], waiting = 0;

	cpu[SHM_ROLE_MASTER] = atomic_load(&shm->master.cpu_us);
	rss[SHM_ROLE_MASTER] = atomic_load(&shm->master.rss_bytes);
	cpu[SHM_ROLE_KEYMGR] = atomic_load(&shm->keymgr.cpu_us);
	rss[SHM_ROLE_KEYMGR] = atomic_load(&shm->keymgr.rss_bytes);
	cpu[SHM_ROLE_WORKER] = atomic_load(&shm->retired_worker_cpu_us);
	rss[SHM_ROLE_WORKER] = 0;
	for (int i = 0; i < SHM_MAX_SLOTS; i++) {
		struct shm_slot *s = &shm->slots[i];
		int state = atomic_load(&s->state);
		if (state <= SLOT_FREE || state > SLOT_DRAINING)
			continue;
		by_state[state]++;
		cpu[SHM_ROLE_WORKER] += atomic_load(&s->cpu_us);
		rss[SHM_ROLE_WORKER] += atomic_load(&s->rss_bytes);
		waiting += atomic_load(&s->db_queued) + atomic_load(&s->db_inflight);
	}
	family(b, "mcpi_build_info", "gauge", "Always 1; the version of the running binary.");
	strbuf_printf(b, "mcpi_build_info{version=\"%s\"} 1\n", MCPI_VERSION);
	family(b, "mcpi_workers", "gauge", "Worker processes by scoreboard state.");
	for (int s = SLOT_STARTING; s <= SLOT_DRAINING; s++)
		strbuf_printf(b, "mcpi_workers{state=\"%s\"} %lld\n", states[s], by_state[s]);
	family(b, "mcpi_workers_ready", "gauge", "Workers ready to serve.");
	strbuf_printf(b, "mcpi_workers_ready %lld\n", by_state[SLOT_READY]);
	family(b, "mcpi_worker_restarts_total", "counter", "Workers replaced after dying unexpectedly.");
	strbuf_printf(b, "mcpi_worker_restarts_total %lld\n", (long long)atomic_load(&shm->worker_restarts));
	family(b, "mcpi_renderer_restarts_total", "counter", "PDF renderers replaced after dying unexpectedly.");
	strbuf_printf(b, "mcpi_renderer_restarts_total %lld\n", (long long)atomic_load(&shm->renderer_restarts));
	render_jwks(b, shm);
	family(b, "mcpi_process_cpu_seconds_total", "counter",
	       "User and system CPU time by process role (all workers together, including replaced ones).");
	for (int r = 0; r < SHM_ROLES; r++)
		strbuf_printf(b, "mcpi_process_cpu_seconds_total{role=\"%s\"} %.6f\n", roles[r], cpu[r] / 1e6);
	family(b, "mcpi_process_resident_memory_bytes", "gauge",
	       "Resident set size by process role (all live workers together).");
	for (int r = 0; r < SHM_ROLES; r++)
		strbuf_printf(b, "mcpi_process_resident_memory_bytes{role=\"%s\"} %lld\n", roles[r], rss[r]);
	family(b, "mcpi_queue_depth", "gauge",
	       "Waiting work: accept = connections in the kernel accept queue (TCP_INFO tcpi_unacked on "
	       "the listener); database = requests admitted and waiting for their database answer.");
	strbuf_printf(b, "mcpi_queue_depth{queue=\"accept\"} %lld\n", (long long)atomic_load(&shm->accept_queue));
	strbuf_printf(b, "mcpi_queue_depth{queue=\"database\"} %lld\n", waiting);
	family(b, "mcpi_queue_limit", "gauge",
	       "The limit of each queue: accept = the listen backlog (tcpi_sacked); database = max_inflight.");
	strbuf_printf(b, "mcpi_queue_limit{queue=\"accept\"} %lld\n",
	              (long long)atomic_load(&shm->accept_queue_limit));
	strbuf_printf(b, "mcpi_queue_limit{queue=\"database\"} %lld\n", (long long)atomic_load(&shm->max_inflight));
	family(b, "mcpi_inflight", "gauge", "Requests admitted and not yet answered, all workers.");
	strbuf_printf(b, "mcpi_inflight %lld\n", shm_inflight_total(shm));
	family(b, "mcpi_max_inflight", "gauge", "The max_inflight setting.");
	strbuf_printf(b, "mcpi_max_inflight %lld\n", (long long)atomic_load(&shm->max_inflight));
	family(b, "mcpi_tenant_overflow_total", "counter",
	       "Per-tenant decisions made on the shared overflow bucket.");
	strbuf_printf(b, "mcpi_tenant_overflow_total %lld\n", (long long)atomic_load(&shm->tenant_overflows));
	family(b, "mcpi_draining", "gauge", "1 once the server has begun shutting down.");
	strbuf_printf(b, "mcpi_draining %d\n", atomic_load(&shm->stopping) ? 1 : 0);
}

void metrics_render(struct worker_ctx *w, struct response *resp)
{
	struct strbuf b;
	size_t len;
	char *body;

	strbuf_init(&b, 16384);
	server_families(w, &b);
	slot_families(w->start.shm, &b);
	slot_duration_histogram(w->start.shm, &b);
	series_metrics(w->start.shm, &b);
	body = strbuf_take(&b, &len);
	response_set_body(resp, 200, body, len);
	response_header(resp, "Content-Type: text/plain; version=0.0.4; charset=utf-8");
	snprintf(resp->outcome, sizeof(resp->outcome), "metrics");
}
