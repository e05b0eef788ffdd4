/*
 * tls.h - the server's TLS context (TLS 1.2+, ALPN http/1.1). Built by the
 * master at start-up and on reload (so a bad certificate is refused before
 * any worker is replaced) and inherited by workers across fork.
 */
#ifndef MCPI_TLS_H
#define MCPI_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

SSL_CTX *tls_ctx_new(const char *cert_file, const char *key_file, char *err, size_t errlen);

#endif
