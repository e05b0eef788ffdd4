/*
 * ipc.c - send and receive typed master/worker/renderer messages with descriptor
 * passing (see ipc.h). Runs in the master, workers and renderers. A message of the
 * wrong size, an unknown type, a truncated control message (MSG_CTRUNC) or
 * a descriptor where none belongs is refused; an IPC_CONN whose descriptor
 * the kernel could not install is reported as such, so the receiver can
 * still account for the connection the master counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/proto/ipc.h"

int ipc_sendmsg(int chan, const void *buf, size_t len, int pass_fd)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (pass_fd >= 0) {
		struct cmsghdr *cm;
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
	}
	do
		n = sendmsg(chan, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)len)
		return -1;
	return 0;
}

ssize_t ipc_recvmsg(int chan, void *buf, size_t len, int *fd_out, int *flags)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	                     .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cm;
	ssize_t n;

	*fd_out = -1;
	do
		n = recvmsg(chan, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return n;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)) && *fd_out < 0)
			memcpy(fd_out, CMSG_DATA(cm), sizeof(int));
	}
	/* An empty datagram reads as end of file; one carrying a descriptor
	 * (only a misbehaving peer sends it) must not leak that descriptor. */
	if (n == 0 && *fd_out >= 0) {
		close(*fd_out);
		*fd_out = -1;
	}
	*flags = mh.msg_flags;
	return n;
}

int ipc_send(int chan, enum ipc_type type, int pass_fd)
{
	struct ipc_msg msg = { .type = (uint32_t)type, .len = sizeof(msg) };

	return ipc_sendmsg(chan, &msg, sizeof(msg), pass_fd);
}

static int carries_fd(uint32_t type)
{
	return type == IPC_CONN || type == IPC_KEYCHAN || type == IPC_METRICS_CONN ||
	       type == IPC_RENDERCHAN || type == IPC_KEYSET;
}

int ipc_recv(int chan, struct ipc_msg *msg, int *fd_out)
{
	int fd = -1, flags = 0;
	ssize_t n = ipc_recvmsg(chan, msg, sizeof(*msg), &fd, &flags);

	*fd_out = -1;
	if (n == 0)
		return 0;
	if (n < 0)
		return -1;
	if (fd < 0 && (flags & MSG_CTRUNC) && !(flags & MSG_TRUNC) &&
	    n == (ssize_t)sizeof(*msg) && msg->len == sizeof(*msg) &&
	    (msg->type == IPC_CONN || msg->type == IPC_METRICS_CONN))
		return 1; /* the kernel could not install the descriptor (see ipc.h) */
	if ((flags & (MSG_CTRUNC | MSG_TRUNC)) || n != (ssize_t)sizeof(*msg) ||
	    msg->len != sizeof(*msg) || msg->type < IPC_READY || msg->type > IPC_KEYS_WANTED ||
	    carries_fd(msg->type) != (fd >= 0)) {
		if (fd >= 0)
			close(fd);
		errno = EPROTO;
		return -1;
	}
	*fd_out = fd;
	return 1;
}

int ipc_sealed_memfd(const char *name, const void *data, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	const char *p = data;
	size_t done = 0;

	if (fd < 0)
		return -1;
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		done += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, IPC_SEALS) < 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

int ipc_sealed_read(int fd, size_t max, unsigned char **data, size_t *len)
{
	struct stat st;
	unsigned char *buf;
	size_t done = 0, size;

	*data = NULL;
	*len = 0;
	if (fstat(fd, &st) < 0 || st.st_size <= 0 || (size_t)st.st_size > max ||
	    (fcntl(fd, F_GET_SEALS) & IPC_SEALS) != IPC_SEALS) {
		errno = EPROTO;
		return -1;
	}
	size = (size_t)st.st_size;
	if (!(buf = malloc(size + 1)))
		return -1;
	while (done < size) {
		ssize_t n = pread(fd, buf + done, size - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			errno = EPROTO;
			return -1;
		}
		done += (size_t)n;
	}
	buf[size] = '\0';
	*data = buf;
	*len = size;
	return 0;
}
