/* libFuzzer driver: the receiving side of the inter-process messages,
 * ipc_recv (master <-> worker, key manager) and render_msg_recv with its
 * read_payload (worker <-> renderer). A compromised worker or renderer can
 * send any datagram with any descriptor attached, so each input is one
 * datagram plus what to attach, sent over a real SOCK_SEQPACKET pair:
 *   byte 0: bits 0-1 the receiver (ipc_recv, render_msg_recv copying,
 *           render_msg_recv mapping); bits 2-3 the attachment (none, a
 *           pipe, a memfd holding the payload); bits 4-7 which seals the
 *           memfd lacks; byte 1: how much shorter or longer than the
 *           payload the memfd is; byte 2 / 255 is the share of the rest
 *           that is the datagram, the remainder is the memfd's payload.
 * Checks: what is accepted is well formed (size, type, descriptor or
 * payload of the declared size, sealed); a refusal is EPROTO; no descriptor
 * is leaked either way. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/proto/ipc.h"
#include "server/proto/render_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)
#define MAX_PAYLOAD 4096

/* Open descriptors below 256: equal before and after means nothing leaked. */
static int open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 256; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

static int attachment(int how, int unseal, int delta, const uint8_t *payload, size_t len)
{
	static const int seals[] = { F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE };
	int p[2], fd, want = 0;
	size_t real;

	if (how == 1) {
		if (pipe(p) < 0)
			abort();
		close(p[1]);
		return p[0];
	}
	if (how != 2)
		return -1;
	fd = memfd_create("fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	real = delta < 0 && (size_t)-delta > len ? 0 : len + (size_t)(long)delta;
	if (fd < 0 || ftruncate(fd, (off_t)real) < 0 ||
	    pwrite(fd, payload, len < real ? len : real, 0) < 0)
		abort();
	for (int i = 0; i < 4; i++)
		if (!(unseal & (1 << i)))
			want |= seals[i];
	/* F_SEAL_SEAL last: it forbids adding the others. */
	if (fcntl(fd, F_ADD_SEALS, want & ~F_SEAL_SEAL) < 0 ||
	    ((want & F_SEAL_SEAL) && fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL) < 0))
		abort();
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2], fd = -1, got_fd, receiver, before, rc;
	size_t split, msg_len, pay_len;
	const uint8_t *payload;
	struct ipc_msg im;
	struct render_msg rm;
	unsigned char *out;
	size_t out_len;

	if (size < 3 || size > 3 + sizeof(rm) + 64 + MAX_PAYLOAD)
		return 0;
	receiver = data[0] & 3;
	split = 3 + (size - 3) * data[2] / 255;
	msg_len = split - 3;
	payload = data + split;
	pay_len = size - split;
	before = open_fds();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		abort();
	fd = attachment((data[0] >> 2) & 3, data[0] >> 4, (int8_t)data[1], payload, pay_len);
	if (ipc_sendmsg(sv[0], data + 3, msg_len, fd) < 0 && msg_len > 0)
		abort();
	if (fd >= 0)
		close(fd);
	if (receiver == 0 || receiver == 3) {
		memset(&im, 0, sizeof(im));
		rc = ipc_recv(sv[1], &im, &got_fd);
		if (rc == 1) {
			int carries = im.type == IPC_CONN || im.type == IPC_KEYCHAN ||
			              im.type == IPC_METRICS_CONN || im.type == IPC_RENDERCHAN || im.type == IPC_KEYSET;
			if (msg_len != sizeof(im) || im.len != sizeof(im) || im.type < IPC_READY ||
			    im.type > IPC_KEYS_WANTED || carries != (got_fd >= 0))
				__builtin_trap();
			if (got_fd >= 0)
				close(got_fd);
		} else if (rc == -1) {
			if (errno != EPROTO || got_fd != -1)
				__builtin_trap();
		} else if (msg_len != 0) {
			__builtin_trap(); /* 0 is EOF, and the peer is still open */
		}
	} else {
		int map = receiver == 2;
		rc = render_msg_recv(sv[1], RENDER_REPLY, MAX_PAYLOAD, map, &rm, &out, &out_len);
		if (rc == 1) {
			if (msg_len != sizeof(rm) || rm.len != sizeof(rm) || rm.type != RENDER_REPLY ||
			    rm.size > MAX_PAYLOAD || out_len != rm.size || (out_len > 0) != (out != NULL) || rm.attachment ||
			    memchr(rm.error, 0, sizeof(rm.error)) == NULL)
				__builtin_trap();
			/* The payload is what the memfd held (it was sealed and of the size said). */
			if (out_len && (out_len > pay_len || memcmp(out, payload, out_len) != 0))
				__builtin_trap();
			render_payload_free(out, out_len, map);
		} else if (rc == -1) {
			if (errno != EPROTO || out != NULL || out_len != 0)
				__builtin_trap();
		} else if (msg_len != 0) {
			__builtin_trap();
		}
	}
	close(sv[0]);
	close(sv[1]);
	if (open_fds() != before)
		__builtin_trap(); /* a descriptor received and then dropped was not closed */
	return 0;
}
