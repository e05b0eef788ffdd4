/*
 * metrics.h - the Prometheus exposition of the shared scoreboard. Runs in
 * workers; request.c decides who may read it (loopback clients).
 */
#ifndef MCPI_METRICS_H
#define MCPI_METRICS_H

#include "response.h"
#include "worker.h"

void metrics_render(struct worker_ctx *w, struct response *resp);

#endif
