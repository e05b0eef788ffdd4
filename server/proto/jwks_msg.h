/*
 * jwks_msg.h - messages between the master and the JWKS fetcher process
 * (jwks/fetcher.c) over their SOCK_SEQPACKET channel: one fixed-size typed
 * header, size- and type-checked on receipt; a successful fetch carries
 * the key set (keyset.h bytes) in a sealed memfd. Used by the master and
 * the fetcher.
 */
#ifndef MCPI_JWKS_MSG_H
#define MCPI_JWKS_MSG_H

#include <stddef.h>
#include <stdint.h>

enum jwks_msg_type {
	JWKS_MSG_READY = 1,  /* fetcher -> master: started and confined */
	JWKS_MSG_FETCH = 2,  /* master -> fetcher: fetch the JWKS now */
	JWKS_MSG_RESULT = 3, /* fetcher -> master: outcome (and the key set when JWKS_OK) */
};

/* How a fetch ended: the label of mcpi_jwks_fetches_total{outcome}. */
enum jwks_outcome {
	JWKS_OK = 0,
	JWKS_UNREACHABLE,   /* name resolution or connection failed */
	JWKS_TIMEOUT,       /* no complete answer within 5 s */
	JWKS_TLS,           /* handshake or certificate verification failed */
	JWKS_HTTP_STATUS,   /* an answer other than 200 */
	JWKS_REDIRECT,      /* a 3xx: redirects are never followed */
	JWKS_TOO_LARGE,     /* over 64 KiB */
	JWKS_BAD_DOCUMENT,  /* not a JWKS (or discovery document) we accept */
	JWKS_NO_KEYS,       /* a JWKS without one usable key */
	JWKS_DISCOVERY,     /* metadata without jwks_uri, or whose issuer is not jwt_issuer */
	JWKS_OUTCOMES
};

#define JWKS_MAX_DOCUMENT 65536
#define JWKS_TIMEOUT_MS 5000

struct jwks_msg {
	uint32_t type;
	uint32_t len;      /* sizeof(struct jwks_msg) */
	uint32_t outcome;  /* enum jwks_outcome (RESULT) */
	uint32_t keys;     /* keys in the set (RESULT, JWKS_OK) */
	uint32_t skipped;  /* keys of the document left out (RESULT) */
	uint32_t reserved;
};

/* The metric label of outcome ("ok", "timeout", ...). */
const char *jwks_outcome_name(unsigned outcome);

/* Sends m (len set here) with pass_fd attached when >= 0. 0, or -1 with errno. */
int jwks_msg_send(int chan, struct jwks_msg *m, int pass_fd);
/* Receives one message: 1 with *m and *fd (-1 if none), 0 on EOF, -1 on
 * error (errno EAGAIN, or EPROTO for a malformed message: wrong size or
 * type, an outcome out of range, or a descriptor on anything but a
 * successful RESULT; a received descriptor is then closed). */
int jwks_msg_recv(int chan, struct jwks_msg *m, int *fd);

#endif
