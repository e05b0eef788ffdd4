/*
 * request.c - route one HTTP request (see request.h). Runs in workers.
 * For the MCP endpoint: admission (admission.c: Origin, Content-Type,
 * token, then tenant rate, global rate and in-flight), then MCP; the
 * in-flight slot is held until the response is built. Also the OAuth
 * protected-resource metadata, the health endpoints (health.c: before
 * anything else, never authenticated or limited) and /metrics (for
 * loopback clients, or on metrics_listen when that is set).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "server/lib/log.h"
#include "worker/admission.h"
#include "worker/health.h"
#include "worker/mcp/mcp.h"
#include "worker/metrics.h"
#include "worker/request.h"

static int path_is(const char *path, size_t len, const char *want)
{
	return strlen(want) == len && memcmp(path, want, len) == 0;
}

/* The path of our path-specific metadata URL (it follows public_url,
 * which may differ from mcp_path behind a proxy). */
static const char *metadata_path(struct worker_ctx *w)
{
	const char *url = w->resource_metadata_url, *scheme = strstr(url, "://");
	const char *path = scheme ? strchr(scheme + 3, '/') : NULL;

	return path ? path : RESOURCE_METADATA_PATH;
}

static void resource_metadata(struct worker_ctx *w, struct response *resp)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	json_object *scopes = json_object_new_array(), *methods = json_object_new_array();
	const char *s;
	size_t len;
	char *body;

	json_object_object_add(o, "resource", json_object_new_string(w->start.cfg->public_url));
	/* Only URLs belong here (RFC 9728 2): a plain issuer name is left out. */
	for (s = w->start.cfg->authorization_servers; s && *s; ) {
		size_t n = strcspn(s, " ");
		if (n)
			json_object_array_add(a, json_object_new_string_len(s, (int)n));
		s += n;
		s += strspn(s, " ");
	}
	if (json_object_array_length(a))
		json_object_object_add(o, "authorization_servers", a);
	else
		json_object_put(a);
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

static struct mcp_wait *handle_mcp(struct worker_ctx *w, const struct http_request *req,
                                   const char *body, size_t body_len, const char *request_id,
                                   const struct auth_identity *verified, struct response *resp,
                                   mcp_resume_fn resume, void *owner)
{
	struct auth_identity id;

	if (verified)
		id = *verified;
	if (admission_check_head(w, req, resp, &id, verified != NULL) < 0 ||
	    admission_enter(w, &id, resp) < 0)
		return NULL;
	resp->admitted = 1;
	return mcp_handle(w, req, body, body_len, &id, request_id, resp, resume, owner);
}

void request_done(struct worker_ctx *w, struct response *resp)
{
	if (resp->admitted)
		admission_leave(w);
	resp->admitted = 0;
}

/* /metrics is served in one place: on metrics_listen when it is set (to
 * whoever reaches that address), else on the main listener to loopback
 * clients only. */
static int metrics_allowed(struct worker_ctx *w, int peer)
{
	if (w->start.cfg->metrics_listen && *w->start.cfg->metrics_listen)
		return (peer & REQUEST_PEER_METRICS) != 0;
	return (peer & REQUEST_PEER_LOOPBACK) != 0;
}

static int is_mcp_post(struct worker_ctx *w, const struct http_request *req)
{
	const char *query = memchr(req->target, '?', req->target_len);
	size_t plen = query ? (size_t)(query - req->target) : req->target_len;

	return req->method_len == 4 && memcmp(req->method, "POST", 4) == 0 &&
	       path_is(req->target, plen, w->start.cfg->mcp_path);
}

int request_precheck(struct worker_ctx *w, const struct http_request *req, const char *request_id,
                     int peer, struct response *resp, struct auth_identity *id)
{
	if (!is_mcp_post(w, req) || (peer & REQUEST_PEER_METRICS)) {
		/* Nothing else on this server reads a body: answer from the head. */
		request_handle(w, req, "", 0, request_id, peer, NULL, resp, NULL, NULL);
		return 1;
	}
	return admission_check_head(w, req, resp, id, 0) < 0;
}

struct mcp_wait *request_handle(struct worker_ctx *w, const struct http_request *req,
                                const char *body, size_t body_len, const char *request_id,
                                int peer, const struct auth_identity *verified,
                                struct response *resp, mcp_resume_fn resume, void *owner)
{
	const char *query = memchr(req->target, '?', req->target_len);
	size_t plen = query ? (size_t)(query - req->target) : req->target_len;
	int is_post = req->method_len == 4 && memcmp(req->method, "POST", 4) == 0;
	int is_get = req->method_len == 3 && memcmp(req->method, "GET", 3) == 0;
	char wk_path[300];

	snprintf(wk_path, sizeof(wk_path), RESOURCE_METADATA_PATH "%s", w->start.cfg->mcp_path);
	if ((peer & REQUEST_PEER_METRICS) && !path_is(req->target, plen, "/metrics") &&
	    !path_is(req->target, plen, HEALTH_LIVE_PATH) && !path_is(req->target, plen, HEALTH_READY_PATH)) {
		response_rpc_error(resp, 404, NULL, -32600, "Not Found: this listener serves /metrics only", NULL);
		return NULL;
	}
	if (path_is(req->target, plen, HEALTH_LIVE_PATH) || path_is(req->target, plen, HEALTH_READY_PATH)) {
		if (!is_get) {
			response_header(resp, "Allow: GET");
			response_rpc_error(resp, 405, NULL, -32600, "Method Not Allowed", NULL);
			resp->unmetered = 1;
		} else if (path_is(req->target, plen, HEALTH_LIVE_PATH)) {
			health_live(w, resp);
		} else {
			health_ready(w, resp);
		}
		return NULL;
	}
	if (path_is(req->target, plen, w->start.cfg->mcp_path)) {
		if (is_post)
			return handle_mcp(w, req, body, body_len, request_id, verified, resp, resume, owner);
		if (req->method_len == 7 && memcmp(req->method, "OPTIONS", 7) == 0 &&
		    http_find_header(req, "Origin")) {
			admission_preflight(w, req, resp);
			return NULL;
		}
		response_header(resp, "Allow: POST");
		response_rpc_error(resp, 405, NULL, -32600,
		                   "Method Not Allowed: this server is stateless and takes POST only", NULL);
		return NULL;
	}
	if (path_is(req->target, plen, RESOURCE_METADATA_PATH) || path_is(req->target, plen, wk_path) ||
	    path_is(req->target, plen, metadata_path(w))) {
		if (is_get) {
			resource_metadata(w, resp);
			return NULL;
		}
		response_header(resp, "Allow: GET");
		response_rpc_error(resp, 405, NULL, -32600, "Method Not Allowed", NULL);
		return NULL;
	}
	if (is_get && metrics_allowed(w, peer) && path_is(req->target, plen, "/metrics")) {
		metrics_render(w, resp);
		return NULL;
	}
	response_rpc_error(resp, 404, NULL, -32600, "Not Found", NULL);
	return NULL;
}
