/*
 * request.c - route and guard one HTTP request (see request.h). Runs in
 * workers. Order: route, Origin, Content-Type, authentication (a cheap HMAC
 * or signature check, so unauthenticated traffic cannot drain the shared
 * bucket that legitimate tenants rely on), admission (rate, then in-flight),
 * then MCP. The in-flight slot is held until the response is built.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <json-c/json.h>
#include <time.h>

#include "../server/log.h"
#include "../shm/limiter.h"
#include "../shm/shm.h"
#include "mcp.h"
#include "request.h"

#define WELL_KNOWN "/.well-known/oauth-protected-resource"

static int path_is(const char *path, size_t len, const char *want)
{
	return strlen(want) == len && memcmp(path, want, len) == 0;
}

/* "https://host:port/x" -> "https://host:port" */
static void url_origin(const char *url, char *out, size_t cap)
{
	const char *scheme = strstr(url, "://");
	const char *slash = scheme ? strchr(scheme + 3, '/') : NULL;
	size_t len = slash ? (size_t)(slash - url) : strlen(url);

	snprintf(out, cap, "%.*s", (int)len, url);
}

static void resource_metadata(struct worker_ctx *w, struct response *resp)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	json_object *scopes = json_object_new_array(), *methods = json_object_new_array();
	const char *s;
	size_t len;
	char *body;

	json_object_object_add(o, "resource", json_object_new_string(w->cfg->public_url));
	json_object_array_add(a, json_object_new_string(w->cfg->jwt_issuer));
	json_object_object_add(o, "authorization_servers", a);
	json_object_array_add(scopes, json_object_new_string("invoices:read"));
	json_object_array_add(scopes, json_object_new_string("invoices:write"));
	json_object_array_add(scopes, json_object_new_string("payments:write"));
	json_object_object_add(o, "scopes_supported", scopes);
	json_object_array_add(methods, json_object_new_string("header"));
	json_object_object_add(o, "bearer_methods_supported", methods);
	json_object_object_add(o, "resource_name", json_object_new_string("mcp-invoiced"));
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	body = malloc(len);
	if (!body)
		fatal("out of memory");
	memcpy(body, s, len);
	response_set_body(resp, 200, body, len);
	json_object_put(o);
	snprintf(resp->outcome, sizeof(resp->outcome), "metadata");
}

static int origin_allowed(const char *allowed, const struct http_header *h)
{
	const char *p = allowed;

	while (*p) {
		size_t n;
		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (n && n == h->value_len && strncasecmp(p, h->value, n) == 0)
			return 1;
		p += n;
	}
	return 0;
}

static int content_type_json(const struct http_header *h)
{
	static const char want[] = "application/json";
	size_t n = sizeof(want) - 1;

	if (!h || h->value_len < n || strncasecmp(h->value, want, n) != 0)
		return 0;
	return h->value_len == n || h->value[n] == ';' || h->value[n] == ' ';
}

static void unauthorized(struct worker_ctx *w, struct response *resp, const char *why)
{
	char origin[512], data[300];
	size_t n = 0;

	url_origin(w->cfg->public_url, origin, sizeof(origin));
	response_header(resp, "WWW-Authenticate: Bearer error=\"invalid_token\", "
	                "resource_metadata=\"%s" WELL_KNOWN "\"", origin);
	n = (size_t)snprintf(data, sizeof(data), "{\"code\":\"UNAUTHORIZED\",\"reason\":");
	log_escape(data, sizeof(data) - 2, &n, why);
	data[n++] = '}';
	data[n] = '\0';
	response_rpc_error(resp, 401, NULL, -32001, "Unauthorized: a valid bearer token is required", data);
	snprintf(resp->outcome, sizeof(resp->outcome), "unauthorized");
}

static void rejected(struct response *resp, int status, const char *code, long long retry_ms,
                     const char *message)
{
	char data[160];

	response_header(resp, "Retry-After: %lld", (retry_ms + 999) / 1000);
	snprintf(data, sizeof(data), "{\"code\":\"%s\",\"retryable\":true,\"retry_after_ms\":%lld}",
	         code, retry_ms);
	response_rpc_error(resp, status, NULL, -32000, message, data);
	snprintf(resp->outcome, sizeof(resp->outcome), "%s", code);
}

/* CORS for browser-based MCP clients on an allowed Origin: the response
 * may be read, and these headers are visible to the page. */
static void cors_headers(const struct http_header *origin, struct response *resp)
{
	response_header(resp, "Access-Control-Allow-Origin: %.*s", (int)origin->value_len, origin->value);
	response_header(resp, "Vary: Origin");
	response_header(resp, "Access-Control-Expose-Headers: WWW-Authenticate, Retry-After, X-Request-Id");
}

/* A CORS preflight for the MCP endpoint: 204 for an allowed Origin. */
static void preflight(struct worker_ctx *w, const struct http_request *req, struct response *resp)
{
	const struct http_header *origin = http_find_header(req, "Origin");

	if (!origin || !origin_allowed(w->cfg->allowed_origins, origin)) {
		response_rpc_error(resp, 403, NULL, -32002, "Forbidden: this Origin is not allowed", NULL);
		snprintf(resp->outcome, sizeof(resp->outcome), "origin_refused");
		return;
	}
	cors_headers(origin, resp);
	response_header(resp, "Access-Control-Allow-Methods: POST");
	response_header(resp, "Access-Control-Allow-Headers: Authorization, Content-Type, Accept, "
	                "MCP-Protocol-Version, Mcp-Method, Mcp-Name");
	response_header(resp, "Access-Control-Max-Age: 600");
	response_set_body(resp, 204, NULL, 0);
	snprintf(resp->outcome, sizeof(resp->outcome), "preflight");
}

/* The checks that need only the request head: Origin, Content-Type and the
 * bearer token. 0 = pass (id filled); -1 = refused (resp filled). */
static int guard(struct worker_ctx *w, const struct http_request *req, struct response *resp,
                 struct auth_identity *id)
{
	struct shm_slot *slot = &w->shm->slots[w->slot];
	const struct http_header *h;
	char why[200];

	h = http_find_header(req, "Origin");
	if (h && !origin_allowed(w->cfg->allowed_origins, h)) {
		response_rpc_error(resp, 403, NULL, -32002, "Forbidden: this Origin is not allowed", NULL);
		snprintf(resp->outcome, sizeof(resp->outcome), "origin_refused");
		return -1;
	}
	if (h)
		cors_headers(h, resp);
	if (!content_type_json(http_find_header(req, "Content-Type"))) {
		response_rpc_error(resp, 415, NULL, -32600, "Content-Type must be application/json", NULL);
		return -1;
	}
	h = http_find_header(req, "Authorization");
	if (!h || h->value_len < 8 || strncasecmp(h->value, "Bearer ", 7) != 0) {
		atomic_fetch_add(&slot->rejected_auth, 1);
		unauthorized(w, resp, "no bearer token in the Authorization header");
		return -1;
	}
	if (auth_verify(w->keys, w->cfg, h->value + 7, h->value_len - 7, (long long)time(NULL),
	                id, why, sizeof(why)) < 0) {
		atomic_fetch_add(&slot->rejected_auth, 1);
		unauthorized(w, resp, why);
		return -1;
	}
	snprintf(resp->tenant, sizeof(resp->tenant), "%s", id->tenant);
	snprintf(resp->subject, sizeof(resp->subject), "%.127s", id->sub);
	return 0;
}

static void handle_mcp(struct worker_ctx *w, const struct http_request *req, const char *body,
                       size_t body_len, const char *request_id, struct response *resp)
{
	struct shm_slot *slot = &w->shm->slots[w->slot];
	struct auth_identity id;
	long long retry_ms;

	if (guard(w, req, resp, &id) < 0)
		return;
	/* The tenant's share first, so a noisy tenant's excess never spends
	 * the server-wide tokens the other tenants rely on. */
	if (limiter_take_tenant(w->shm, id.tenant, limiter_now_ns(), &retry_ms) < 0) {
		atomic_fetch_add(&slot->rejected_tenant_rate, 1);
		rejected(resp, 429, "RATE_LIMITED", retry_ms,
		         "Rate limited: this tenant's share of requests is used up; retry after retry_after_ms");
		return;
	}
	if (limiter_take(w->shm, limiter_now_ns(), &retry_ms) < 0) {
		atomic_fetch_add(&slot->rejected_rate, 1);
		rejected(resp, 429, "RATE_LIMITED", retry_ms,
		         "Rate limited: too many requests; retry after retry_after_ms");
		return;
	}
	if (limiter_enter(w->shm, w->slot) < 0) {
		atomic_fetch_add(&slot->rejected_inflight, 1);
		rejected(resp, 503, "OVERLOADED", 100,
		         "Overloaded: too many requests in flight; retry after retry_after_ms");
		return;
	}
	mcp_handle(w, req, body, body_len, &id, request_id, resp);
	limiter_leave(w->shm, w->slot);
}

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

/* Prometheus text from the shared scoreboard; loopback clients only. */
static void metrics(struct worker_ctx *w, struct response *resp)
{
	size_t cap = 2048 + SHM_MAX_SLOTS * 700, n = 0;
	char *out = malloc(cap);
	long long ready = 0;

	if (!out)
		fatal("out of memory");
	n += (size_t)snprintf(out + n, cap - n,
	    "# HELP mcpi_inflight Requests admitted and not yet answered, all workers.\n"
	    "# TYPE mcpi_inflight gauge\nmcpi_inflight %lld\n"
	    "# TYPE mcpi_max_inflight gauge\nmcpi_max_inflight %lld\n",
	    shm_inflight_total(w->shm), (long long)atomic_load(&w->shm->max_inflight));
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
		    "mcpi_rejected_total{pid=\"%d\",reason=\"tenant_rate\"} %lld\n",
		    pid, i, state, pid, atomic_load(&s->database_up), pid,
		    (long long)atomic_load(&s->connections),
		    pid, (long long)atomic_load(&s->inflight), pid, (long long)atomic_load(&s->requests),
		    pid, (long long)atomic_load(&s->errors), pid, (long long)atomic_load(&s->rejected_rate),
		    pid, (long long)atomic_load(&s->rejected_inflight), pid,
		    (long long)atomic_load(&s->rejected_auth), pid,
		    (long long)atomic_load(&s->rejected_tenant_rate));
	}
	n += (size_t)snprintf(out + n, cap - n, "mcpi_workers_ready %lld\n", ready);
	n = append_duration_histogram(w->shm, out, cap, n);
	response_set_body(resp, 200, out, n);
	response_header(resp, "Content-Type: text/plain; version=0.0.4");
	snprintf(resp->outcome, sizeof(resp->outcome), "metrics");
}

static int is_mcp_post(struct worker_ctx *w, const struct http_request *req)
{
	const char *query = memchr(req->target, '?', req->target_len);
	size_t plen = query ? (size_t)(query - req->target) : req->target_len;

	return req->method_len == 4 && memcmp(req->method, "POST", 4) == 0 &&
	       path_is(req->target, plen, w->cfg->mcp_path);
}

int request_precheck(struct worker_ctx *w, const struct http_request *req, const char *request_id,
                     int peer_loopback, struct response *resp)
{
	struct auth_identity id;

	if (!is_mcp_post(w, req)) {
		/* Nothing else on this server reads a body: answer from the head. */
		request_handle(w, req, "", 0, request_id, peer_loopback, resp);
		return 1;
	}
	return guard(w, req, resp, &id) < 0;
}

void request_handle(struct worker_ctx *w, const struct http_request *req, const char *body,
                    size_t body_len, const char *request_id, int peer_loopback,
                    struct response *resp)
{
	const char *query = memchr(req->target, '?', req->target_len);
	size_t plen = query ? (size_t)(query - req->target) : req->target_len;
	int is_post = req->method_len == 4 && memcmp(req->method, "POST", 4) == 0;
	int is_get = req->method_len == 3 && memcmp(req->method, "GET", 3) == 0;
	char wk_path[300];

	snprintf(wk_path, sizeof(wk_path), WELL_KNOWN "%s", w->cfg->mcp_path);
	if (path_is(req->target, plen, w->cfg->mcp_path)) {
		if (is_post) {
			handle_mcp(w, req, body, body_len, request_id, resp);
			return;
		}
		if (req->method_len == 7 && memcmp(req->method, "OPTIONS", 7) == 0 &&
		    http_find_header(req, "Origin")) {
			preflight(w, req, resp);
			return;
		}
		response_header(resp, "Allow: POST");
		response_rpc_error(resp, 405, NULL, -32600,
		                   "Method Not Allowed: this server is stateless and takes POST only", NULL);
		return;
	}
	if (path_is(req->target, plen, WELL_KNOWN) || path_is(req->target, plen, wk_path)) {
		if (is_get) {
			resource_metadata(w, resp);
			return;
		}
		response_header(resp, "Allow: GET");
		response_rpc_error(resp, 405, NULL, -32600, "Method Not Allowed", NULL);
		return;
	}
	if (is_get && peer_loopback && path_is(req->target, plen, "/metrics")) {
		metrics(w, resp);
		return;
	}
	response_rpc_error(resp, 404, NULL, -32600, "Not Found", NULL);
}
