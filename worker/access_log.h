/*
 * access_log.h - one JSON log line per answered request. Runs in workers.
 */
#ifndef MCPI_ACCESS_LOG_H
#define MCPI_ACCESS_LOG_H

#include "worker/http/http.h"
#include "worker/http/response.h"

/* Logs req (NULL: none parsed) answered with r, dur_ns after it began. */
void access_log_write(const struct http_request *req, const struct response *r, const char *rid,
                      long long dur_ns);

#endif
