/*
 * mcp.h - the MCP JSON-RPC layer for both protocol eras on one endpoint
 * (2025-11-25 and earlier with initialize; 2026-07-28 stateless with
 * server/discover and header checks). Runs in workers, after HTTP checks,
 * authentication and admission.
 */
#ifndef MCPI_MCP_H
#define MCPI_MCP_H

#include <stddef.h>

#include "auth.h"
#include "http.h"
#include "response.h"
#include "worker.h"

#define MCP_SERVER_NAME "mcp-invoiced"
#ifndef MCPI_VERSION
#define MCPI_VERSION "0.1.0"
#endif

/* Fills resp with the JSON-RPC answer to body (status 200/202/4xx). */
void mcp_handle(struct worker_ctx *w, const struct http_request *req, const char *body,
                size_t body_len, const struct auth_identity *id, const char *request_id,
                struct response *resp);

/* 1 if version is one this server speaks. */
int mcp_version_supported(const char *version, size_t len);

#endif
