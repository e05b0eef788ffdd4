/*
 * request.h - the request path for one complete HTTP request: routing,
 * Origin and Content-Type checks, JWT authentication, admission through the
 * shared limiter, then MCP. Runs in workers.
 */
#ifndef MCPI_REQUEST_H
#define MCPI_REQUEST_H

#include "worker/core/worker_ctx.h"
#include "worker/http/http.h"
#include "worker/http/response.h"
#include "worker/mcp/mcp.h"

/* Where a connection came from: request_handle's and request_precheck's
 * peer argument, a set of these bits. */
#define REQUEST_PEER_LOOPBACK 1 /* a loopback client address */
#define REQUEST_PEER_METRICS 2  /* accepted on metrics_listen: /metrics and health only */

/* Answers one complete request into resp and returns NULL, or returns the
 * wait of a tools/call whose answer comes later (see mcp_handle: resp is
 * filled, then resume(owner) is called). verified: the identity
 * request_precheck already verified from this request's head (its token is
 * not verified again), or NULL. */
struct mcp_wait *request_handle(struct worker_ctx *w, const struct http_request *req,
                                const char *body, size_t body_len, const char *request_id,
                                int peer, const struct auth_identity *verified,
                                struct response *resp, mcp_resume_fn resume, void *owner);

/* The response is sent (or its client gone): give back what admission
 * took. The in-flight count covers a request until this. */
void request_done(struct worker_ctx *w, struct response *resp);

/* Called when a request head is complete but its body is not: answers at
 * once (returns 1, resp filled; the connection is then closed) when the
 * head alone settles it - a bad Origin, Content-Type or token, or a route
 * that takes no body - so unauthenticated peers never make a worker buffer
 * a body. Returns 0 when the body should be read, with *id the token's
 * verified identity (pass it to request_handle). */
int request_precheck(struct worker_ctx *w, const struct http_request *req, const char *request_id,
                     int peer, struct response *resp, struct auth_identity *id);

#endif
