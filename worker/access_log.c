/*
 * access_log.c - one JSON log line per answered request (the fields are
 * listed in the README's "Access log fields"). Runs in workers.
 */
#include <stdio.h>

#include "server/lib/log.h"
#include "worker/access_log.h"

void access_log_write(const struct http_request *req, const struct response *r, const char *rid,
                      long long dur_ns)
{
	/* Room for every field escaped at its worst (six bytes a character). */
	char extra[3072];
	size_t n = 0;

	n += (size_t)snprintf(extra + n, sizeof(extra) - n, "\"request_id\":");
	log_escape(extra, sizeof(extra), &n, rid);
	n += (size_t)snprintf(extra + n, sizeof(extra) - n, ",\"http_method\":\"%.*s\",\"status\":%d,"
	                      "\"duration_us\":%lld,\"rpc_method\":", req ? (int)(req->method_len > 10 ? 10 : req->method_len) : 0,
	                      req ? req->method : "", r->status, dur_ns / 1000);
	log_escape(extra, sizeof(extra), &n, r->rpc_method);
	n += (size_t)snprintf(extra + n, sizeof(extra) - n, ",\"tool\":");
	log_escape(extra, sizeof(extra), &n, r->tool);
	n += (size_t)snprintf(extra + n, sizeof(extra) - n, ",\"outcome\":");
	log_escape(extra, sizeof(extra), &n, r->outcome);
	n += (size_t)snprintf(extra + n, sizeof(extra) - n, ",\"tenant\":");
	log_escape(extra, sizeof(extra), &n, r->tenant);
	n += (size_t)snprintf(extra + n, sizeof(extra) - n, ",\"sub\":");
	log_escape(extra, sizeof(extra), &n, r->subject);
	n += (size_t)snprintf(extra + n, sizeof(extra) - n, ",\"db_us\":%lld", r->db_us);
	extra[n < sizeof(extra) ? n : sizeof(extra) - 1] = '\0';
	/* Health probes come every few seconds from each load balancer. */
	log_json(r->unmetered ? LOG_DEBUG : LOG_INFO, "access", extra, "request");
}
