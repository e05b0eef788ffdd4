/*
 * tls.h - the server's TLS context (TLS 1.2+ with ECDHE only, ALPN
 * http/1.1). Built by the master at start-up and on reload (so a bad
 * certificate is refused before any worker is replaced) and inherited by
 * workers across fork. The context holds a proxy of the private key: its
 * private operations are sent to the key manager process (server/keymgr.c),
 * so workers never hold the key itself.
 */
#ifndef MCPI_TLS_H
#define MCPI_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

/* Loads the certificate chain; returns a context whose private key is a
 * proxy built from the certificate's public key (EC or RSA). The master
 * never reads the private key file: the key manager does. */
SSL_CTX *tls_ctx_new(const char *cert_file, char *err, size_t errlen);

/* Worker: the channel to this generation's key manager. */
void tls_keymgr_attach(int fd);

#endif
