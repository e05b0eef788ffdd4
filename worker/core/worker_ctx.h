/*
 * worker.h - what one worker process holds: its scoreboard slot, the
 * inherited configuration, TLS context and keys, and its own database
 * connection. Entered by the master right after fork.
 */
#ifndef MCPI_WORKER_H
#define MCPI_WORKER_H

#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#include "server/auth/auth.h"
#include "server/auth/cursor.h"
#include "server/proc/config.h"
#include "server/proto/entry.h"
#include "shm/shm.h"
#include "worker/core/render.h"
#include "worker/db/db.h"

struct worker_ctx {
	struct worker_start start;  /* what the master handed over (server/proto/entry.h) */
	struct db db;
	struct render_pool render; /* channels to the PDF renderers */
	unsigned long long request_seq;
	long long keys_asked_ns;   /* when this worker last asked the master for a JWKS fetch */
	/* The RFC 9728 metadata URL of our resource (path-specific: the
	 * well-known path inserted before public_url's path), for
	 * WWW-Authenticate. */
	char resource_metadata_url[600];
};

/* Fills w->resource_metadata_url from w->start.cfg. */
static inline void worker_ctx_metadata_url(struct worker_ctx *w)
{
	const char *url = w->start.cfg->public_url, *scheme = strstr(url, "://");
	const char *path = scheme ? strchr(scheme + 3, '/') : NULL;
	size_t origin = path ? (size_t)(path - url) : strlen(url);

	snprintf(w->resource_metadata_url, sizeof(w->resource_metadata_url),
	         "%.*s/.well-known/oauth-protected-resource%s", (int)origin, url,
	         path && strcmp(path, "/") != 0 ? path : "");
}


#endif
