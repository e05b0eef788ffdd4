/*
 * listen.c - the master's listening sockets and the descriptor limit its
 * settings need. Runs only in the master, before it drops privileges.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/lib/log.h"
#include "server/master_state.h"

int master_bind_listener(const char *listen_addr, char *err, size_t errlen)
{
	char host[256], *port;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	                          .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int fd = -1, one = 1, rc;

	snprintf(host, sizeof(host), "%s", listen_addr);
	port = strrchr(host, ':');
	*port++ = '\0';
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "listen %s: %s", listen_addr, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 4096) < 0) {
		snprintf(err, errlen, "listen %s: %s", listen_addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* Each worker may hold worker_connections client sockets plus its database
 * connection, epoll, signalfd and channels; the master holds a channel per
 * scoreboard slot. Raise the soft descriptor limit to what that needs (and
 * the hard one too, when privileged), or refuse to start naming the
 * setting: a worker at its limit would lose the sockets passed to it. */
#define FD_MARGIN 64
int master_raise_fd_limit(const struct config *cfg, char *err, size_t errlen)
{
	rlim_t need = (rlim_t)(cfg->worker_connections > SHM_MAX_SLOTS ? cfg->worker_connections
	                                                              : SHM_MAX_SLOTS) + FD_MARGIN;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		snprintf(err, errlen, "getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return -1;
	}
	if (rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max < need) {
		struct rlimit want = { need, need };
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			return 0;
		snprintf(err, errlen, "worker_connections = %ld needs %llu file descriptors per "
		         "process, but the descriptor limit (RLIMIT_NOFILE) is %llu: lower "
		         "worker_connections or raise the limit (LimitNOFILE= in the unit, ulimit -n)",
		         cfg->worker_connections, (unsigned long long)need, (unsigned long long)rl.rlim_max);
		return -1;
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		snprintf(err, errlen, "setrlimit(RLIMIT_NOFILE, %llu): %s", (unsigned long long)need,
		         strerror(errno));
		return -1;
	}
	return 0;
}
