/*
 * worker.h - what one worker process holds: its scoreboard slot, the
 * inherited configuration, TLS context and keys, and its own database
 * connection. Entered by the master right after fork.
 */
#ifndef MCPI_WORKER_H
#define MCPI_WORKER_H

#include <openssl/ssl.h>

#include "server/auth/auth.h"
#include "server/auth/cursor.h"
#include "server/proc/config.h"
#include "shm/shm.h"
#include "worker/core/render.h"
#include "worker/db/db.h"

struct worker_ctx {
	const struct config *cfg;
	struct shm_segment *shm;
	int slot;
	int channel_fd;  /* SOCK_SEQPACKET to the master */
	int keymgr_fd;   /* SOCK_SEQPACKET to this generation's key manager */
	SSL_CTX *tls;
	const struct auth_keys *keys;
	const struct cursor_key *cursor_key;
	struct db db;
	struct render_pool render; /* channels to the PDF renderers */
	unsigned long long request_seq;
};


#endif
