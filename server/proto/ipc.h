/*
 * ipc.h - messages between the master and a worker over their
 * SOCK_SEQPACKET socketpair. Every message is one fixed-size typed header;
 * IPC_CONN, IPC_KEYCHAN, IPC_RENDERCHAN and IPC_KEYSET carry a descriptor as SCM_RIGHTS
 * ancillary data.
 * Used by both the master and workers.
 */
#ifndef MCPI_IPC_H
#define MCPI_IPC_H

#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <sys/types.h>

enum ipc_type {
	IPC_READY = 1, /* worker -> master: initialized, send connections */
	IPC_CONN = 2,  /* master -> worker: a new client socket (fd attached) */
	IPC_DRAIN = 3, /* master -> worker: finish your connections and exit */
	IPC_KEYCHAN = 4, /* master -> key manager: a new worker's signing channel (fd) */
	IPC_METRICS_CONN = 5, /* master -> worker: a client socket from metrics_listen (fd) */
	IPC_RENDERCHAN = 6, /* master -> worker and renderer: the two ends of a render channel (fd) */
	IPC_KEYSET = 7, /* master -> worker: a new JWKS key set (fd: a sealed memfd of keyset.h bytes) */
	IPC_KEYS_WANTED = 8, /* worker -> master: a token named a key we lack; fetch the JWKS again */
};

struct ipc_msg {
	uint32_t type;
	uint32_t len; /* sizeof(struct ipc_msg): checked on receipt */
};

/* Sends one message, with pass_fd attached when >= 0. 0 on success, -1 with
 * errno (EAGAIN when the peer's queue is full). */
int ipc_send(int chan, enum ipc_type type, int pass_fd);

/* Receives one message. Returns 1 with *msg (and *fd_out, -1 if none),
 * 0 on EOF, -1 on error or a malformed message (errno EPROTO; any received
 * descriptor is closed). An IPC_CONN (or IPC_METRICS_CONN) may arrive with *fd_out = -1: the
 * receiver was at its descriptor limit, the kernel dropped the socket
 * (MSG_CTRUNC), and the receiver must still account for the connection. */
int ipc_recv(int chan, struct ipc_msg *msg, int *fd_out);

/* The primitives under both (also used by the render channel): one
 * datagram of len bytes with an optional descriptor, non-blocking.
 * ipc_recvmsg returns the byte count (0 on EOF, -1 on error), the first
 * descriptor received (or -1) and the message flags (MSG_TRUNC, MSG_CTRUNC). */
int ipc_sendmsg(int chan, const void *buf, size_t len, int pass_fd);
ssize_t ipc_recvmsg(int chan, void *buf, size_t len, int *fd_out, int *flags);

/* Sealed memfds carry what does not fit a header (render documents, key
 * sets): written once, then sealed against any change, so a receiver that
 * checked the contents can trust they stay as checked. */
#define IPC_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)
/* A sealed memfd holding len bytes of data, or -1 with errno. */
int ipc_sealed_memfd(const char *name, const void *data, size_t len);
/* Copies a sealed memfd's contents (1..max bytes, NUL-terminated beyond
 * len) into *data (malloc'd, the caller frees). 0, or -1 (errno EPROTO:
 * not sealed, empty or too large). */
int ipc_sealed_read(int fd, size_t max, unsigned char **data, size_t *len);

#endif
