/*
 * admission.h - whether a request may proceed: the head checks (Origin,
 * Content-Type, bearer token) and the shared limits (tenant rate, global
 * rate, in-flight cap). Each refusal fills the response with its status,
 * JSON-RPC error and headers. Runs in workers.
 */
#ifndef MCPI_ADMISSION_H
#define MCPI_ADMISSION_H

#include <stdint.h>

#include "server/auth/auth.h"
#include "worker/core/worker_ctx.h"
#include "worker/http/http.h"
#include "worker/http/response.h"

#define RESOURCE_METADATA_PATH "/.well-known/oauth-protected-resource"

/* Origin, Content-Type and the bearer token. 0 = pass (id filled, CORS
 * headers and the access log's tenant/subject set); -1 = refused (resp
 * filled: 403, 415 or 401). With id_verified, *id is this request's
 * identity verified earlier (from the same head) and the token is not
 * verified again. */
int admission_check_head(struct worker_ctx *w, const struct http_request *req, struct response *resp,
                         struct auth_identity *id, int id_verified);

/* Takes the tenant's share, a global token and an in-flight slot. 0 =
 * admitted (call admission_leave once answered); -1 = refused (resp
 * filled: 429 or 503 with Retry-After). */
int admission_enter(struct worker_ctx *w, const struct auth_identity *id, struct response *resp);
void admission_leave(struct worker_ctx *w);

/* A CORS preflight (OPTIONS with Origin) for the MCP endpoint: 204 for an
 * allowed Origin, else 403. */
void admission_preflight(struct worker_ctx *w, const struct http_request *req, struct response *resp);

/* The client address of socket fd as a key for the per-address count
 * (never 0), and whether it is a loopback address. */
uint64_t admission_peer_key(int fd, int *loopback);

#endif
