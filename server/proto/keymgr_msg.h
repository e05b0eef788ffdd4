/*
 * keymgr_msg.h - the messages between a worker's TLS proxy key
 * (server/proc/tls.c, in workers) and the key manager (server/keymgr.c):
 * one fixed-size request, one fixed-size reply, size-checked on receipt.
 */
#ifndef MCPI_KEYMGR_MSG_H
#define MCPI_KEYMGR_MSG_H

#include <stdint.h>

#define KEYMGR_MAX_IN 1024  /* digest or padded RSA block */
#define KEYMGR_MAX_OUT 1024 /* DER ECDSA signature or RSA block */

enum keymgr_op { KEYMGR_ECDSA_SIGN = 1, KEYMGR_RSA_PRIVATE = 2 };

struct keymgr_request {
	uint32_t id;      /* echoed in the reply */
	uint32_t op;
	uint32_t padding; /* KEYMGR_RSA_PRIVATE: RSA_NO_PADDING or RSA_PKCS1_PADDING */
	uint32_t len;
	unsigned char data[KEYMGR_MAX_IN];
};

struct keymgr_reply {
	uint32_t id;
	int32_t status; /* 0 = ok */
	uint32_t len;
	unsigned char data[KEYMGR_MAX_OUT];
};

/* Reads the private key from key_file, checks it against the certificate's
 * public key, drops to user (when root), reports IPC_READY on master_chan,
 * then serves signing requests until the master channel is closed and
 * every worker channel has gone, writing its own CPU time and RSS into
 * usage (the shared segment's). Exits 2 when the key cannot be used.
 * Never returns. */

#endif
