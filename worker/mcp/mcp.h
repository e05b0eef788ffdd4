/*
 * mcp.h - the MCP JSON-RPC layer for both protocol eras on one endpoint
 * (2025-11-25 and earlier with initialize; 2026-07-28 stateless with
 * server/discover and header checks). Runs in workers, after HTTP checks,
 * authentication and admission.
 */
#ifndef MCPI_MCP_H
#define MCPI_MCP_H

#include <stddef.h>

#include "server/auth/auth.h"
#include "worker/core/worker_ctx.h"
#include "worker/http/http.h"
#include "worker/http/response.h"

#define MCP_SERVER_NAME "mcp-invoiced"
#ifndef MCPI_VERSION
#define MCPI_VERSION "0.1.0"
#endif

/* A tools/call whose answer waits for the database. */
struct mcp_wait;
typedef void (*mcp_resume_fn)(void *owner);

/* Answers body into resp (status 200/202/4xx) and returns NULL; or, for a
 * tools/call that went to the database, returns a wait: resp is filled
 * later and then resume(owner) is called, once. resp and request_id must
 * stay valid until then. */
struct mcp_wait *mcp_handle(struct worker_ctx *w, const struct http_request *req, const char *body,
                            size_t body_len, const struct auth_identity *id, const char *request_id,
                            struct response *resp, mcp_resume_fn resume, void *owner);

/* The client went away: drop the wait (resume is never called). */
void mcp_wait_cancel(struct worker_ctx *w, struct mcp_wait *wait);

/* 1 if version is one this server speaks. */
int mcp_version_supported(const char *version, size_t len);

#endif
