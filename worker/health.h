/*
 * health.h - the health endpoints for load balancers and supervisors:
 * GET /livez (the process answers) and GET /readyz (this server can do
 * useful work). Unauthenticated, never rate-limited, not counted in the
 * request metrics. Runs in workers; request.c routes to them.
 */
#ifndef MCPI_HEALTH_H
#define MCPI_HEALTH_H

#include "worker/core/worker_ctx.h"
#include "worker/http/response.h"

#define HEALTH_LIVE_PATH "/livez"
#define HEALTH_READY_PATH "/readyz"

/* 200 {"status":"live"}: no dependency is checked. */
void health_live(struct worker_ctx *w, struct response *resp);
/* 200 when the server is not shutting down and at least one ready worker
 * has its database connection up; else 503 with {"status":"not_ready",
 * "reason":...}. */
void health_ready(struct worker_ctx *w, struct response *resp);

#endif
