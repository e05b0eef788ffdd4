/*
 * render_proto.c - worker <-> renderer messages (see render_proto.h). Runs
 * in workers and renderers.
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
#include "server/proto/render_proto.h"

#define SEALS IPC_SEALS

int render_msg_send(int chan, struct render_msg *m, const void *data, size_t len)
{
	int fd = -1, rc, saved;

	m->len = sizeof(*m);
	m->size = len;
	m->error[RENDER_ERROR_MAX - 1] = '\0';
	if (len > 0 && (fd = ipc_sealed_memfd("mcpi-render", data, len)) < 0)
		return -1;
	rc = ipc_sendmsg(chan, m, sizeof(*m), fd);
	saved = errno;
	if (fd >= 0)
		close(fd);
	errno = saved;
	return rc;
}

/* Copies (or maps) the payload out of fd after checking its size and seals. */
static int read_payload(int fd, size_t size, int map, unsigned char **data)
{
	struct stat st;
	size_t got;

	if (!map) {
		if (ipc_sealed_read(fd, size, data, &got) < 0)
			return -1;
		if (got == size)
			return 0;
		free(*data);
		*data = NULL;
		return -1;
	}
	if (fstat(fd, &st) < 0 || st.st_size < 0 || (size_t)st.st_size != size ||
	    (fcntl(fd, F_GET_SEALS) & SEALS) != SEALS)
		return -1;
	/* Sealed: the pages can no longer change, and they are given back at
	 * munmap (a copy would stay in the allocator's heap). */
	void *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	*data = p;
	return 0;
}

/* An attachment travels only with an invoice or a credit note to render,
 * inside its payload. */
static int attachment_fits(const struct render_msg *m)
{
	return m->attachment == 0 ||
	       (m->type == RENDER_REQUEST && (m->kind == DOC_INVOICE || m->kind == DOC_CREDIT_NOTE) &&
	        m->attachment < m->size && m->attachment <= RENDER_MAX_ATTACHMENT);
}

int render_msg_recv(int chan, uint32_t want, size_t max, int map, struct render_msg *m,
                    unsigned char **data, size_t *len)
{
	int fd = -1, flags = 0, rc = -1;
	ssize_t n = ipc_recvmsg(chan, m, sizeof(*m), &fd, &flags);

	*data = NULL;
	*len = 0;
	if (n == 0)
		return 0;
	if (n < 0)
		return -1;
	if ((flags & (MSG_TRUNC | MSG_CTRUNC)) || n != (ssize_t)sizeof(*m) || m->len != sizeof(*m) ||
	    m->type != want || m->size > max || (m->size > 0) != (fd >= 0) || !attachment_fits(m))
		goto out;
	m->error[RENDER_ERROR_MAX - 1] = '\0';
	if (fd >= 0 && read_payload(fd, (size_t)m->size, map, data) < 0)
		goto out;
	*len = (size_t)m->size;
	rc = 1;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		errno = EPROTO;
	return rc;
}

void render_payload_free(unsigned char *data, size_t len, int mapped)
{
	if (mapped && data)
		munmap(data, len);
	else
		free(data);
}
