/*
 * admission.c - every decision to refuse a request before it reaches MCP,
 * in one place (see admission.h): 403 for a foreign Origin, 415 for the
 * wrong Content-Type, 401 for a missing or bad token, 429 for a tenant's or
 * the server's rate, 503 when too many requests are in flight. Runs in
 * workers. Authentication comes before the limiter so that unauthenticated
 * traffic cannot drain the bucket that legitimate tenants share.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "server/lib/fnv.h"
#include "server/lib/log.h"
#include "server/proto/ipc.h"
#include "shm/limiter.h"
#include "worker/admission.h"

/* "https://host:port/x" -> "https://host:port" */
static void url_origin(const char *url, char *out, size_t cap)
{
	const char *scheme = strstr(url, "://");
	const char *slash = scheme ? strchr(scheme + 3, '/') : NULL;
	size_t len = slash ? (size_t)(slash - url) : strlen(url);

	snprintf(out, cap, "%.*s", (int)len, url);
}

/* "localhost", "127.x.y.z" or "[::1]", optionally with ":port". */
static int loopback_host(const char *p, size_t n)
{
	size_t host;

	if (n >= 9 && strncasecmp(p, "localhost", 9) == 0)
		host = 9;
	else if (n >= 5 && memcmp(p, "[::1]", 5) == 0)
		host = 5;
	else if (n >= 4 && memcmp(p, "127.", 4) == 0)
		for (host = 4; host < n && (isdigit((unsigned char)p[host]) || p[host] == '.'); host++)
			;
	else
		return 0;
	if (host == n)
		return 1;
	if (p[host] != ':' || host + 1 == n)
		return 0;
	for (size_t i = host + 1; i < n; i++)
		if (!isdigit((unsigned char)p[i]))
			return 0;
	return 1;
}

/* DNS-rebinding protection refuses foreign origins. The server's own
 * origin (from public_url) is not foreign, and neither, when it listens on
 * loopback, is a loopback origin (a local client's). Other origins must be
 * listed in allowed_origins. */
static int origin_allowed(const struct config *cfg, const struct http_header *h)
{
	const char *p = cfg->allowed_origins, *v = h->value;
	size_t n = h->value_len, skip;
	char own[512];

	url_origin(cfg->public_url, own, sizeof(own));
	if (strlen(own) == n && strncasecmp(own, v, n) == 0)
		return 1;
	skip = n >= 7 && strncasecmp(v, "http://", 7) == 0 ? 7
	     : n >= 8 && strncasecmp(v, "https://", 8) == 0 ? 8 : 0;
	if (skip && loopback_host(cfg->listen, strlen(cfg->listen)) && loopback_host(v + skip, n - skip))
		return 1;
	while (*p) {
		size_t len;
		while (*p == ' ')
			p++;
		len = strcspn(p, " ");
		if (len && len == n && strncasecmp(p, v, n) == 0)
			return 1;
		p += len;
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

/* 401. A request without a token gets a bare challenge (RFC 6750 3.1: no
 * error code when no credentials were sent); a bad token invalid_token.
 * Both name the path-specific metadata URL (RFC 9728 5.1), where clients
 * find the authorization server. */
static void unauthorized(struct worker_ctx *w, struct response *resp, int had_token, const char *why)
{
	char data[300];
	size_t n = 0;

	if (had_token)
		response_header(resp, "WWW-Authenticate: Bearer error=\"invalid_token\", "
		                "resource_metadata=\"%s\"", w->resource_metadata_url);
	else
		response_header(resp, "WWW-Authenticate: Bearer resource_metadata=\"%s\"",
		                w->resource_metadata_url);
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
void admission_preflight(struct worker_ctx *w, const struct http_request *req, struct response *resp)
{
	const struct http_header *origin = http_find_header(req, "Origin");

	if (!origin || !origin_allowed(w->start.cfg, origin)) {
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

/* A token named a key this worker lacks: ask the master for a JWKS fetch,
 * at most once a second from this worker (the master fetches at most once
 * per jwt_jwks_cooldown_s, however many ask). */
static void ask_for_keys(struct worker_ctx *w)
{
	long long now = limiter_now_ns();

	if (!w->start.keys->from_jwks || (w->keys_asked_ns && now - w->keys_asked_ns < 1000000000LL))
		return;
	w->keys_asked_ns = now;
	if (ipc_send(w->start.channel_fd, IPC_KEYS_WANTED, -1) < 0)
		log_warn("cannot ask the master for a JWKS fetch: %s", strerror(errno));
}

int admission_check_head(struct worker_ctx *w, const struct http_request *req, struct response *resp,
                         struct auth_identity *id, int id_verified)
{
	struct shm_slot *slot = &w->start.shm->slots[w->start.slot];
	const struct http_header *h;
	char why[200];
	int rc;

	h = http_find_header(req, "Origin");
	if (h && !origin_allowed(w->start.cfg, h)) {
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
	if (id_verified)
		goto identified;
	if (!h || h->value_len < 8 || strncasecmp(h->value, "Bearer ", 7) != 0) {
		atomic_fetch_add(&slot->rejected_auth, 1);
		unauthorized(w, resp, 0, "no bearer token in the Authorization header");
		return -1;
	}
	rc = auth_verify(w->start.keys, w->start.cfg, h->value + 7, h->value_len - 7, (long long)time(NULL), id, why,
	                 sizeof(why));
	if (rc < 0) {
		if (rc == AUTH_UNKNOWN_KEY)
			ask_for_keys(w);
		atomic_fetch_add(&slot->rejected_auth, 1);
		unauthorized(w, resp, 1, why);
		return -1;
	}
identified:
	snprintf(resp->tenant, sizeof(resp->tenant), "%s", id->tenant);
	snprintf(resp->subject, sizeof(resp->subject), "%.127s", id->sub);
	return 0;
}

int admission_enter(struct worker_ctx *w, const struct auth_identity *id, struct response *resp)
{
	struct shm_slot *slot = &w->start.shm->slots[w->start.slot];
	long long retry_ms;

	/* The tenant's share first, so a noisy tenant's excess never spends
	 * the server-wide tokens the other tenants rely on. */
	if (limiter_take_tenant(w->start.shm, id->tenant, limiter_now_ns(), &retry_ms) < 0) {
		atomic_fetch_add(&slot->rejected_tenant_rate, 1);
		rejected(resp, 429, "RATE_LIMITED", retry_ms,
		         "Rate limited: this tenant's share of requests is used up; retry after retry_after_ms");
		return -1;
	}
	if (limiter_take(w->start.shm, limiter_now_ns(), &retry_ms) < 0) {
		atomic_fetch_add(&slot->rejected_rate, 1);
		rejected(resp, 429, "RATE_LIMITED", retry_ms,
		         "Rate limited: too many requests; retry after retry_after_ms");
		return -1;
	}
	if (limiter_enter(w->start.shm, w->start.slot) < 0) {
		atomic_fetch_add(&slot->rejected_inflight, 1);
		rejected(resp, 503, "OVERLOADED", 100,
		         "Overloaded: too many requests in flight; retry after retry_after_ms");
		return -1;
	}
	return 0;
}

void admission_leave(struct worker_ctx *w)
{
	limiter_leave(w->start.shm, w->start.slot);
}

/* The client address as a table key (never 0), and whether it is loopback. */
uint64_t admission_peer_key(int fd, int *loopback)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	*loopback = 0;
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return 1;
	if (ss.ss_family == AF_INET) {
		struct in_addr *a = &((struct sockaddr_in *)&ss)->sin_addr;
		*loopback = (ntohl(a->s_addr) >> 24) == 127;
		return fnv1a64(a, sizeof(*a)) | 1;
	}
	if (ss.ss_family == AF_INET6) {
		struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		*loopback = IN6_IS_ADDR_LOOPBACK(a);
		return fnv1a64(a, sizeof(*a)) | 1;
	}
	return 1;
}
