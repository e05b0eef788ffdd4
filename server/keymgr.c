/*
 * keymgr.c - the key manager process (see keymgr.h). It parses nothing but
 * fixed-size requests from its own workers: a request of the wrong size, an
 * unknown operation or a length out of range is refused without touching
 * the key. Runs as its own process, forked by the master.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* EC_KEY/RSA private ops on the raw key */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server/keymgr.h"
#include "server/lib/log.h"
#include "server/proc/privsep.h"
#include "server/proc/sandbox.h"
#include "server/proto/ipc.h"
#include "shm/shm.h"

/* Answers one request on fd; -1 when the worker has gone. */
static int serve(EVP_PKEY *key, int fd)
{
	struct keymgr_request req;
	struct keymgr_reply rep;
	ssize_t n = recv(fd, &req, sizeof(req), MSG_DONTWAIT | MSG_TRUNC);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		return -1;
	if (n < 0)
		return 0;
	memset(&rep, 0, sizeof(rep));
	rep.id = req.id;
	rep.status = -1;
	if (n != (ssize_t)sizeof(req) || req.len == 0 || req.len > KEYMGR_MAX_IN) {
		log_warn("malformed signing request (%zd bytes) refused", n);
	} else if (req.op == KEYMGR_ECDSA_SIGN && EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
	           req.len <= 64) {
		unsigned int siglen = 0;
		EC_KEY *ec = (EC_KEY *)EVP_PKEY_get0_EC_KEY(key);
		if ((unsigned)ECDSA_size(ec) <= sizeof(rep.data) &&
		    ECDSA_sign(0, req.data, (int)req.len, rep.data, &siglen, ec) == 1) {
			rep.status = 0;
			rep.len = siglen;
		}
	} else if (req.op == KEYMGR_RSA_PRIVATE && EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA &&
	           (req.padding == RSA_NO_PADDING || req.padding == RSA_PKCS1_PADDING)) {
		RSA *rsa = (RSA *)EVP_PKEY_get0_RSA(key);
		int out;
		if ((unsigned)RSA_size(rsa) <= sizeof(rep.data) &&
		    (out = RSA_private_encrypt((int)req.len, req.data, rep.data, rsa, (int)req.padding)) > 0) {
			rep.status = 0;
			rep.len = (uint32_t)out;
		}
	} else {
		log_warn("signing request for operation %u refused", req.op);
	}
	OPENSSL_cleanse(&req, sizeof(req));
	(void)!send(fd, &rep, sizeof(rep), MSG_NOSIGNAL);
	return 0;
}

static EVP_PKEY *load_key(const char *key_file, EVP_PKEY *cert_public_key)
{
	EVP_PKEY *key;
	FILE *f = fopen(key_file, "r");

	if (!f) {
		log_error("cannot open the TLS private key %s: %s", key_file, strerror(errno));
		return NULL;
	}
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!key) {
		log_error("%s holds no PEM private key", key_file);
		return NULL;
	}
	if (EVP_PKEY_eq(key, cert_public_key) != 1) {
		log_error("the private key %s does not match the certificate", key_file);
		EVP_PKEY_free(key);
		return NULL;
	}
	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC && EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
		log_error("the TLS key must be an EC or RSA key");
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

/* CPU time and RSS for /metrics, about once a second. */
static void publish_usage(struct shm_process_stats *usage)
{
	static long long next_ns;
	struct timespec ts;
	long long now, cpu, rss;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * 1000000000LL + ts.tv_nsec;
	if (!usage || now < next_ns)
		return;
	next_ns = now + 1000000000LL;
	shm_self_usage(&cpu, &rss);
	atomic_store(&usage->cpu_us, cpu);
	atomic_store(&usage->rss_bytes, rss);
}

void keymgr_main(const char *key_file, EVP_PKEY *cert_public_key, const char *user, int master_chan,
                 struct shm_process_stats *usage)
{
	struct pollfd fds[SHM_MAX_SLOTS + 1];
	int nfds = 1;
	EVP_PKEY *key;
	char err[256];
	sigset_t none;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	prctl(PR_SET_NAME, "mcpi-keymgr");
	log_init("keymgr", LOG_INFO);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	key = load_key(key_file, cert_public_key);
	if (!key)
		_exit(2);
	if (privsep_drop(user, err, sizeof(err)) < 0) {
		log_error("%s", err);
		_exit(2);
	}
	publish_usage(usage); /* opens /proc/self/statm while it still may */
	if (sandbox_enter(SANDBOX_KEYMGR, err, sizeof(err)) < 0) {
		log_error("%s", err);
		_exit(2);
	}
	sandbox_test_hook(SANDBOX_KEYMGR);
	if (ipc_send(master_chan, IPC_READY, -1) < 0)
		_exit(2);
	fds[0] = (struct pollfd){ .fd = master_chan, .events = POLLIN };
	for (;;) {
		if (fds[0].fd < 0 && nfds == 1)
			break;
		publish_usage(usage);
		if (poll(fds, (nfds_t)nfds, 1000) < 0) {
			if (errno == EINTR)
				continue;
			fatal("keymgr: poll: %s", strerror(errno));
		}
		if (fds[0].fd >= 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			struct ipc_msg msg;
			int fd, r;
			while ((r = ipc_recv(master_chan, &msg, &fd)) == 1) {
				if (msg.type == IPC_KEYCHAN && nfds < SHM_MAX_SLOTS + 1)
					fds[nfds++] = (struct pollfd){ .fd = fd, .events = POLLIN };
				else if (fd >= 0)
					close(fd);
			}
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
				close(master_chan);
				fds[0].fd = -1; /* no more workers will come */
			}
		}
		for (int i = 1; i < nfds; i++) {
			if (((fds[i].revents & POLLIN) && serve(key, fds[i].fd) < 0) ||
			    (!(fds[i].revents & POLLIN) && (fds[i].revents & (POLLHUP | POLLERR)))) {
				close(fds[i].fd);
				fds[i--] = fds[--nfds];
			}
		}
	}
	EVP_PKEY_free(key);
	_exit(0);
}
