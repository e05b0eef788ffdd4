/*
 * tls.c - build the OpenSSL server context (see tls.h) and the proxy key.
 * tls_ctx_new runs in the master; the proxy's private-operation callbacks
 * run in workers and make one blocking round trip to the key manager per
 * TLS handshake (one signature).
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* EC_KEY_METHOD / RSA_METHOD proxies */
#include <errno.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "server/lib/log.h"
#include "server/proc/tls.h"
#include "server/proto/keymgr_msg.h"

#define KEYMGR_TIMEOUT_MS 2000

static int keymgr_fd = -1;
static uint32_t keymgr_seq;

void tls_keymgr_attach(int fd)
{
	keymgr_fd = fd;
}

/* One request/reply with the key manager; 0 and *rep on success. */
static int keymgr_call(uint32_t op, uint32_t padding, const unsigned char *in, size_t len,
                       struct keymgr_reply *rep)
{
	struct keymgr_request req;
	struct pollfd pfd = { .fd = keymgr_fd, .events = POLLIN };

	if (keymgr_fd < 0 || len == 0 || len > KEYMGR_MAX_IN)
		return -1;
	memset(&req, 0, sizeof(req));
	req.id = ++keymgr_seq;
	req.op = op;
	req.padding = padding;
	req.len = (uint32_t)len;
	memcpy(req.data, in, len);
	if (send(keymgr_fd, &req, sizeof(req), MSG_NOSIGNAL) != (ssize_t)sizeof(req)) {
		log_error("key manager unreachable: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		ssize_t n;
		if (poll(&pfd, 1, KEYMGR_TIMEOUT_MS) <= 0) {
			log_error("key manager did not answer in %d ms", KEYMGR_TIMEOUT_MS);
			return -1;
		}
		n = recv(keymgr_fd, rep, sizeof(*rep), MSG_DONTWAIT | MSG_TRUNC);
		if (n != (ssize_t)sizeof(*rep) || rep->len > KEYMGR_MAX_OUT)
			return -1;
		if (rep->id == req.id)
			return rep->status == 0 ? 0 : -1;
		/* A late answer to an abandoned request: skip it. */
	}
}

static int proxy_ecdsa_sign(int type, const unsigned char *dgst, int dlen, unsigned char *sig,
                            unsigned int *siglen, const BIGNUM *kinv, const BIGNUM *r, EC_KEY *eckey)
{
	struct keymgr_reply rep;

	(void)type;
	(void)kinv;
	(void)r;
	if (dlen <= 0 || keymgr_call(KEYMGR_ECDSA_SIGN, 0, dgst, (size_t)dlen, &rep) < 0 ||
	    rep.len > (uint32_t)ECDSA_size(eckey))
		return 0;
	memcpy(sig, rep.data, rep.len);
	*siglen = rep.len;
	return 1;
}

static int proxy_rsa_priv_enc(int flen, const unsigned char *from, unsigned char *to, RSA *rsa,
                              int padding)
{
	struct keymgr_reply rep;

	if (flen <= 0 || keymgr_call(KEYMGR_RSA_PRIVATE, (uint32_t)padding, from, (size_t)flen, &rep) < 0 ||
	    rep.len > (uint32_t)RSA_size(rsa))
		return -1;
	memcpy(to, rep.data, rep.len);
	return (int)rep.len;
}

/* A public-only key (from the certificate) whose private operations go to
 * the key manager. */
static EVP_PKEY *proxy_key(EVP_PKEY *key, char *err, size_t errlen)
{
	static EC_KEY_METHOD *ec_method;
	static RSA_METHOD *rsa_method;
	EVP_PKEY *proxy = EVP_PKEY_new();

	if (!proxy)
		goto fail;
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
		const EC_KEY *real = EVP_PKEY_get0_EC_KEY(key);
		EC_KEY *ec = EC_KEY_new();
		if (!ec_method) {
			ec_method = EC_KEY_METHOD_new(EC_KEY_get_default_method());
			EC_KEY_METHOD_set_sign(ec_method, proxy_ecdsa_sign, NULL, NULL);
		}
		if (!ec || EC_KEY_set_group(ec, EC_KEY_get0_group(real)) != 1 ||
		    EC_KEY_set_public_key(ec, EC_KEY_get0_public_key(real)) != 1 ||
		    EC_KEY_set_method(ec, ec_method) != 1 || EVP_PKEY_assign_EC_KEY(proxy, ec) != 1) {
			EC_KEY_free(ec);
			goto fail;
		}
	} else if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
		const BIGNUM *n, *e;
		RSA *rsa = RSA_new();
		BIGNUM *n2, *e2;
		if (!rsa_method) {
			rsa_method = RSA_meth_dup(RSA_get_default_method());
			RSA_meth_set1_name(rsa_method, "mcp-invoiced key manager proxy");
			RSA_meth_set_priv_enc(rsa_method, proxy_rsa_priv_enc);
		}
		RSA_get0_key(EVP_PKEY_get0_RSA(key), &n, &e, NULL);
		n2 = BN_dup(n);
		e2 = BN_dup(e);
		if (!rsa || !n2 || !e2 || RSA_set0_key(rsa, n2, e2, NULL) != 1) {
			BN_free(n2);
			BN_free(e2);
			RSA_free(rsa);
			goto fail;
		}
		if (RSA_set_method(rsa, rsa_method) != 1 || EVP_PKEY_assign_RSA(proxy, rsa) != 1) {
			RSA_free(rsa);
			goto fail;
		}
	} else {
		snprintf(err, errlen, "the TLS key must be an EC or RSA key");
		EVP_PKEY_free(proxy);
		return NULL;
	}
	return proxy;
fail:
	snprintf(err, errlen, "cannot build the TLS proxy key");
	EVP_PKEY_free(proxy);
	return NULL;
}

static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char http11[] = "\x08http/1.1";
	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto((unsigned char **)out, outlen, http11, sizeof(http11) - 1,
	                          in, inlen) == OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_OK;
	return SSL_TLSEXT_ERR_NOACK;
}

static void ssl_error(char *err, size_t errlen, const char *what, const char *path)
{
	char buf[256];
	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	snprintf(err, errlen, "%s %s: %s", what, path, buf);
	ERR_clear_error();
}

SSL_CTX *tls_ctx_new(const char *cert_file, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	EVP_PKEY *proxy = NULL, *pub;
	X509 *cert;

	if (!ctx) {
		snprintf(err, errlen, "SSL_CTX_new failed");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* Forward secrecy only: no RSA key exchange, so the key is only ever
	 * used to sign (one key-manager round trip per handshake). */
	SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20");
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	                         SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	                      SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		ssl_error(err, errlen, "cannot load certificate", cert_file);
		goto fail;
	}
	cert = SSL_CTX_get0_certificate(ctx);
	pub = cert ? X509_get0_pubkey(cert) : NULL;
	if (!pub || !(proxy = proxy_key(pub, err, errlen)))
		goto fail;
	if (SSL_CTX_use_PrivateKey(ctx, proxy) != 1) {
		ssl_error(err, errlen, "cannot use the key of", cert_file);
		goto fail;
	}
	EVP_PKEY_free(proxy);
	SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);
	return ctx;
fail:
	EVP_PKEY_free(proxy);
	SSL_CTX_free(ctx);
	return NULL;
}
