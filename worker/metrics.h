/*
 * metrics.h - the Prometheus exposition of the shared scoreboard. Runs in
 * workers; request.c decides who may read it (loopback clients), worker.c
 * records each answered request.
 */
#ifndef MCPI_METRICS_H
#define MCPI_METRICS_H

#include "worker/core/worker_ctx.h"
#include "worker/http/response.h"

void metrics_render(struct worker_ctx *w, struct response *resp);
/* Counts one answered request (its method, tool and outcome as r says)
 * that took duration_us, in the shared counters. */
void metrics_observe(struct worker_ctx *w, const struct response *r, long long duration_us);

#endif
