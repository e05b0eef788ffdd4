/*
 * sdnotify.c - write systemd notifications to the datagram socket named by
 * $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace). Runs in
 * the master only; workers never talk to systemd.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "server/proc/sdnotify.h"

int sd_notify_send(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd, rc;
	char msg[256];
	struct timespec ts;

	if (!path || !*path)
		return 0;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* RELOADING=1 needs MONOTONIC_USEC for Type=notify-reload; harmless otherwise. */
	if (strcmp(state, "RELOADING=1") == 0) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%lld",
		         (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000);
	} else {
		snprintf(msg, sizeof(msg), "%s", state);
	}
	rc = (int)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	close(fd);
	return rc < 0 ? -1 : 0;
}

long sd_watchdog_interval_ms(void)
{
	const char *usec = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	long long v;

	if (!usec)
		return 0;
	if (pid && atoi(pid) != (int)getpid())
		return 0;
	v = atoll(usec);
	return v > 0 ? (long)(v / 2000) : 0;
}
