/*
 * request.h - the request path for one complete HTTP request: routing,
 * Origin and Content-Type checks, JWT authentication, admission through the
 * shared limiter, then MCP. Runs in workers.
 */
#ifndef MCPI_REQUEST_H
#define MCPI_REQUEST_H

#include "http.h"
#include "response.h"
#include "worker.h"

void request_handle(struct worker_ctx *w, const struct http_request *req, const char *body,
                    size_t body_len, const char *request_id, int peer_loopback,
                    struct response *resp);

#endif
