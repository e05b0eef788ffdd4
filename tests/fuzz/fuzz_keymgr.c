/* libFuzzer driver: the key manager's request parser (keymgr.c serve, a
 * static reached by including the file; keymgr_main is renamed so it does
 * not clash with the linked module). A compromised worker can send the key
 * manager any datagram: each input is one, sent over a SOCK_SEQPACKET
 * pair. serve must answer every datagram with exactly one reply echoing
 * its id, sign only well-formed requests of the key's own kind, and never
 * read past what arrived. The first byte picks an RSA or an EC key. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define keymgr_main fuzz_unused_keymgr_main
#include "server/keymgr.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static EVP_PKEY *keys[2];
	static int sv[2] = { -1, -1 };
	struct keymgr_request req;
	struct keymgr_reply rep;
	EVP_PKEY *key;
	ssize_t n;
	int well_formed;

	if (!keys[0]) {
		log_init("fuzz", LOG_ERROR);
		keys[0] = EVP_RSA_gen(2048);
		keys[1] = EVP_EC_gen("P-256");
		if (!keys[0] || !keys[1] || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
			abort();
	}
	/* An empty datagram reads as the end of the channel (serve drops the
	 * worker): not a request. */
	if (size < 2 || size - 1 > sizeof(req) + 64)
		return 0;
	key = keys[data[0] & 1];
	if (send(sv[0], data + 1, size - 1, 0) != (ssize_t)(size - 1))
		abort();
	if (serve(key, sv[1]) != 0)
		__builtin_trap();
	n = recv(sv[0], &rep, sizeof(rep), MSG_DONTWAIT);
	if (n != (ssize_t)sizeof(rep))
		__builtin_trap(); /* one reply, of the fixed size, for every request */
	if (recv(sv[0], &rep, sizeof(rep), MSG_DONTWAIT) != -1)
		__builtin_trap(); /* and only one */
	memset(&req, 0, sizeof(req));
	memcpy(&req, data + 1, size - 1 < sizeof(req) ? size - 1 : sizeof(req));
	well_formed = size - 1 == sizeof(req) && req.len > 0 && req.len <= KEYMGR_MAX_IN;
	if (well_formed && rep.id != req.id)
		__builtin_trap();
	if (rep.status == 0 && (!well_formed || rep.len == 0 || rep.len > KEYMGR_MAX_OUT ||
	                        (req.op == KEYMGR_ECDSA_SIGN) != (key == keys[1])))
		__builtin_trap(); /* signed something malformed, or with the wrong kind of key */
	if (rep.status != 0 && (rep.status != -1 || rep.len != 0))
		__builtin_trap();
	return 0;
}
