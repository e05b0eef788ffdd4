/*
 * jwks_msg.c - master <-> JWKS fetcher messages (see jwks_msg.h). Runs in
 * the master and the fetcher.
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/proto/ipc.h"
#include "server/proto/jwks_msg.h"

static const char *const outcome_names[JWKS_OUTCOMES] = {
	[JWKS_OK] = "ok", [JWKS_UNREACHABLE] = "unreachable", [JWKS_TIMEOUT] = "timeout",
	[JWKS_TLS] = "tls", [JWKS_HTTP_STATUS] = "http_status", [JWKS_REDIRECT] = "redirect",
	[JWKS_TOO_LARGE] = "too_large", [JWKS_BAD_DOCUMENT] = "bad_document",
	[JWKS_NO_KEYS] = "no_keys", [JWKS_DISCOVERY] = "discovery",
};

const char *jwks_outcome_name(unsigned outcome)
{
	return outcome < JWKS_OUTCOMES ? outcome_names[outcome] : "other";
}

int jwks_msg_send(int chan, struct jwks_msg *m, int pass_fd)
{
	m->len = sizeof(*m);
	return ipc_sendmsg(chan, m, sizeof(*m), pass_fd);
}

int jwks_msg_recv(int chan, struct jwks_msg *m, int *fd)
{
	int flags = 0;
	ssize_t n = ipc_recvmsg(chan, m, sizeof(*m), fd, &flags);

	if (n <= 0)
		return (int)n;
	if ((flags & (MSG_TRUNC | MSG_CTRUNC)) || n != (ssize_t)sizeof(*m) || m->len != sizeof(*m) ||
	    m->type < JWKS_MSG_READY || m->type > JWKS_MSG_RESULT || m->outcome >= JWKS_OUTCOMES ||
	    m->keys > 64 ||
	    (*fd >= 0) != (m->type == JWKS_MSG_RESULT && m->outcome == JWKS_OK)) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		errno = EPROTO;
		return -1;
	}
	return 1;
}
