/*
 * fetcher.c - the JWKS fetcher process: fetches the issuer's JSON Web Key
 * Set over HTTPS (jwks/fetch.c, libcurl) when the master asks, parses it
 * (jwks/jwk.c) into (kid, alg, public key) and answers with the key set in
 * a sealed memfd (server/proto/jwks_msg.h, keyset.h). The master executes
 * this separate binary with an empty environment, so it holds nothing of
 * the master's memory: no TLS key, no database conninfo, no JWT secret;
 * only libcurl and the network. It drops privileges, confines itself
 * (SANDBOX_JWKS: sockets, connect, read-only opens, threads for the
 * resolver) and serves one fetch at a time. Network egress and a parser of
 * bytes from the network live here, not in the master.
 *
 * With no jwt_jwks_uri it discovers one from the issuer: RFC 8414
 * (/.well-known/oauth-authorization-server, inserted before the issuer's
 * path), then OpenID Connect Discovery (issuer + /.well-known/openid-
 * configuration); the document's issuer must equal jwt_issuer. The
 * discovered URL is kept until a fetch from it fails.
 *
 *   mcp-invoiced-jwks LOG_LEVEL JWT_ALG ISSUER JWKS_URI CA_FILE [USER]   (fd 3: the master)
 *   mcp-invoiced-jwks --parse ALGS < JWKS   (print the key set a document gives)
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "server/jwks/fetch.h"
#include "server/jwks/jwk.h"
#include "server/auth/jws.h"
#include "server/lib/log.h"
#include "server/proc/privsep.h"
#include "server/proc/sandbox.h"
#include "server/proto/ipc.h"
#include "server/proto/jwks_msg.h"
#include "server/proto/keyset.h"

#define MASTER_FD 3
#define URL_MAX 2048

struct fetcher {
	unsigned algs;
	const char *issuer;
	const char *jwks_uri;   /* configured; "" = discover */
	const char *ca_file;
	char discovered[URL_MAX];
};

static struct fetch_body body;
static struct jwk_set parsed;

static unsigned algs_of(const char *list)
{
	unsigned algs = 0;

	while (*list) {
		size_t n = strcspn(list, " ");
		enum jws_alg a = jws_alg_from_name(list, n);
		if (a && a != JWS_HS256)
			algs |= 1u << a;
		list += n;
		list += strspn(list, " ");
	}
	return algs;
}

/* The two metadata URLs of an issuer (RFC 8414 3.1, OpenID Discovery 4). */
static void metadata_urls(const char *issuer, char *as, char *oidc)
{
	const char *host = issuer + 8, *path = strchr(host, '/');
	size_t host_len = path ? (size_t)(path - issuer) : strlen(issuer);
	size_t path_len = path ? strlen(path) : 0;

	while (path_len && path[path_len - 1] == '/')
		path_len--;
	snprintf(as, URL_MAX, "%.*s/.well-known/oauth-authorization-server%.*s", (int)host_len, issuer,
	         (int)path_len, path ? path : "");
	snprintf(oidc, URL_MAX, "%.*s%.*s/.well-known/openid-configuration", (int)host_len, issuer,
	         (int)path_len, path ? path : "");
}

static int discover(struct fetcher *f, char *err, size_t errlen)
{
	char urls[2][URL_MAX];
	int outcome = JWKS_DISCOVERY;

	metadata_urls(f->issuer, urls[0], urls[1]);
	for (int i = 0; i < 2; i++) {
		outcome = fetch_get(urls[i], f->ca_file, &body, err, errlen);
		if (outcome != JWKS_OK)
			continue;
		if (jwk_discovery_parse(body.data, body.len, f->issuer, f->discovered,
		                        sizeof(f->discovered), err, errlen) == 0)
			return JWKS_OK;
		outcome = JWKS_DISCOVERY;
	}
	return outcome;
}

/* One fetch: the outcome, with the set in parsed when JWKS_OK. */
static int fetch_keys(struct fetcher *f, char *err, size_t errlen)
{
	const char *url = f->jwks_uri;
	int outcome;

	if (!*url) {
		if (!*f->discovered && (outcome = discover(f, err, errlen)) != JWKS_OK)
			return outcome;
		url = f->discovered;
	}
	outcome = fetch_get(url, f->ca_file, &body, err, errlen);
	if (outcome != JWKS_OK) {
		f->discovered[0] = '\0'; /* discover again next time */
		return outcome;
	}
	if (jwk_set_parse(body.data, body.len, f->algs, &parsed, err, errlen) < 0)
		return JWKS_BAD_DOCUMENT;
	if (parsed.skipped)
		log_warn("%s: %zu keys left out, the last: %s", url, parsed.skipped, parsed.skip_reason);
	if (parsed.set.count == 0) {
		snprintf(err, errlen, "%.200s: no key of the algorithms in jwt_alg", url);
		return JWKS_NO_KEYS;
	}
	return JWKS_OK;
}

static void serve_fetch(struct fetcher *f)
{
	static unsigned char bytes[KEYSET_MAX_BYTES];
	struct jwks_msg m = { .type = JWKS_MSG_RESULT };
	char err[512] = "";
	long len;
	int fd = -1;

	m.outcome = (uint32_t)fetch_keys(f, err, sizeof(err));
	if (m.outcome == JWKS_OK) {
		len = keyset_encode(&parsed.set, bytes, sizeof(bytes));
		if (len < 0 || (fd = ipc_sealed_memfd("mcpi-keyset", bytes, (size_t)len)) < 0) {
			m.outcome = JWKS_BAD_DOCUMENT;
			snprintf(err, sizeof(err), "cannot pass the key set on: %s", strerror(errno));
		} else {
			m.keys = (uint32_t)parsed.set.count;
		}
	}
	m.skipped = (uint32_t)parsed.skipped;
	if (m.outcome != JWKS_OK)
		log_warn("JWKS fetch failed (%s): %s", jwks_outcome_name(m.outcome), err);
	if (jwks_msg_send(MASTER_FD, &m, fd) < 0)
		log_warn("cannot answer the master: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* --parse: the key set a JWKS on standard input gives (for operators). */
static int parse_stdin(const char *algs)
{
	char err[256];
	size_t n = fread(body.data, 1, JWKS_MAX_DOCUMENT, stdin);

	if (jwk_set_parse(body.data, n, algs_of(algs), &parsed, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	for (size_t i = 0; i < parsed.set.count; i++)
		printf("%s\t%.*s\t%zu bytes\n", jws_alg_name((enum jws_alg)parsed.set.keys[i].alg),
		       (int)parsed.set.keys[i].kid_len, parsed.set.keys[i].kid, parsed.set.keys[i].der_len);
	if (parsed.skipped)
		printf("left out: %zu (last: %s)\n", parsed.skipped, parsed.skip_reason);
	return 0;
}

static int start_up(int argc, char **argv, struct fetcher *f)
{
	enum log_level lvl = LOG_INFO;
	char err[256];

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	prctl(PR_SET_NAME, "mcpi-jwks");
	log_level_parse(argv[1], &lvl);
	log_init("jwks", lvl);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	f->algs = algs_of(argv[2]);
	f->issuer = argv[3];
	f->jwks_uri = argv[4];
	f->ca_file = argv[5];
	if (privsep_drop(argc == 7 ? argv[6] : NULL, err, sizeof(err)) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || fetch_init() < 0) {
		log_error("%s", *err ? err : "cannot start libcurl");
		return -1;
	}
	if (sandbox_enter(SANDBOX_JWKS, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	sandbox_test_hook(SANDBOX_JWKS);
	return 0;
}

int main(int argc, char **argv)
{
	struct jwks_msg ready = { .type = JWKS_MSG_READY };
	struct fetcher f = { 0 };

	if (argc == 3 && strcmp(argv[1], "--parse") == 0)
		return parse_stdin(argv[2]);
	if (argc < 6 || argc > 7) {
		fprintf(stderr, "usage: mcp-invoiced-jwks LOG_LEVEL JWT_ALG ISSUER JWKS_URI CA_FILE [USER] "
		        "(started by mcp-invoiced)\n       mcp-invoiced-jwks --parse ALGS < JWKS\n");
		return 2;
	}
	if (start_up(argc, argv, &f) < 0 || jwks_msg_send(MASTER_FD, &ready, -1) < 0)
		return 2;
	for (;;) {
		struct pollfd pfd = { .fd = MASTER_FD, .events = POLLIN };
		struct jwks_msg m;
		int fd, r;
		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			fatal("jwks: poll: %s", strerror(errno));
		}
		while ((r = jwks_msg_recv(MASTER_FD, &m, &fd)) == 1)
			if (m.type == JWKS_MSG_FETCH)
				serve_fetch(&f);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EPROTO))
			return 0; /* the master is gone */
	}
}
