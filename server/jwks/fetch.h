/*
 * fetch.h - one HTTPS GET for the JWKS fetcher (libcurl): https only, no
 * redirects, JWKS_TIMEOUT_MS in all, at most JWKS_MAX_DOCUMENT bytes, the
 * certificate verified against ca_file (or the system store). Runs in the
 * JWKS fetcher only.
 */
#ifndef MCPI_FETCH_H
#define MCPI_FETCH_H

#include <stddef.h>

struct fetch_body {
	char data[65536 + 1]; /* JWKS_MAX_DOCUMENT, NUL-terminated */
	size_t len;
	int overflow;
};

/* Initialises libcurl (before the sandbox: it reads OpenSSL's
 * configuration). 0, or -1. */
int fetch_init(void);

/* GETs url into body: JWKS_OK or another enum jwks_outcome, with err saying
 * what happened (never the body). */
int fetch_get(const char *url, const char *ca_file, struct fetch_body *body, char *err, size_t errlen);

#endif
