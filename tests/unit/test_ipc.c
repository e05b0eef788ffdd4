/* Unit tests for server/ipc.c: the checks a master <-> worker message must
 * pass (size, length field, type, a descriptor exactly when the type
 * carries one), the MSG_CTRUNC case (a receiver at its descriptor limit:
 * a connection is still accounted for, any other message is refused), and
 * no descriptor leaked by a refusal. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "server/proto/ipc.h"

static int open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
}

/* Sends a raw datagram (with fd attached when >= 0) and receives it. */
static int send_and_recv(const void *buf, size_t len, int fd, struct ipc_msg *msg, int *got)
{
	int sv[2], rc;

	pair(sv);
	assert_int_equal(ipc_sendmsg(sv[0], buf, len, fd), 0);
	rc = ipc_recv(sv[1], msg, got);
	close(sv[0]);
	close(sv[1]);
	return rc;
}

static void test_well_formed_messages_pass(void **state)
{
	struct ipc_msg msg;
	int sv[2], p[2], got;
	(void)state;
	pair(sv);
	assert_int_equal(ipc_send(sv[0], IPC_READY, -1), 0);
	assert_int_equal(ipc_recv(sv[1], &msg, &got), 1);
	assert_int_equal(msg.type, IPC_READY);
	assert_int_equal(got, -1);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(ipc_send(sv[0], IPC_CONN, p[0]), 0);
	assert_int_equal(ipc_recv(sv[1], &msg, &got), 1);
	assert_int_equal(msg.type, IPC_CONN);
	assert_true(got >= 0 && got != p[0]);
	close(got);
	close(p[0]);
	close(p[1]);
	/* The peer gone: end of file. */
	close(sv[0]);
	assert_int_equal(ipc_recv(sv[1], &msg, &got), 0);
	close(sv[1]);
}

static void test_malformed_messages_are_refused_without_leaks(void **state)
{
	struct ipc_msg good = { .type = IPC_DRAIN, .len = sizeof(good) }, msg;
	struct ipc_msg bad_len = { .type = IPC_DRAIN, .len = sizeof(good) + 1 };
	struct ipc_msg bad_type = { .type = IPC_RENDERCHAN + 1, .len = sizeof(good) };
	struct ipc_msg zero_type = { .type = 0, .len = sizeof(good) };
	struct ipc_msg conn = { .type = IPC_CONN, .len = sizeof(good) };
	unsigned char longer[sizeof(good) + 1] = { 0 };
	int p[2], got, before;
	(void)state;
	assert_int_equal(pipe(p), 0);
	before = open_fds();
	assert_int_equal(send_and_recv(&good, sizeof(good) - 1, -1, &msg, &got), -1);
	assert_int_equal(errno, EPROTO);
	memcpy(longer, &good, sizeof(good));
	assert_int_equal(send_and_recv(longer, sizeof(longer), -1, &msg, &got), -1);
	assert_int_equal(send_and_recv(&bad_len, sizeof(bad_len), -1, &msg, &got), -1);
	assert_int_equal(send_and_recv(&bad_type, sizeof(bad_type), -1, &msg, &got), -1);
	assert_int_equal(send_and_recv(&zero_type, sizeof(zero_type), -1, &msg, &got), -1);
	/* A descriptor where the type carries none, and none where it must. */
	assert_int_equal(send_and_recv(&good, sizeof(good), p[0], &msg, &got), -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(got, -1);
	assert_int_equal(send_and_recv(&conn, sizeof(conn), -1, &msg, &got), -1);
	/* A descriptor on a truncated or over-long datagram. */
	assert_int_equal(send_and_recv(&conn, sizeof(conn) - 1, p[0], &msg, &got), -1);
	assert_int_equal(send_and_recv(longer, sizeof(longer), p[0], &msg, &got), -1);
	/* An empty datagram with a descriptor reads as end of file. */
	assert_int_equal(send_and_recv(&conn, 0, p[0], &msg, &got), 0);
	assert_int_equal(got, -1);
	/* Every descriptor received with a refused message was closed. */
	assert_int_equal(open_fds(), before);
	close(p[0]);
	close(p[1]);
}

/* With every descriptor up to the limit in use, the kernel cannot install
 * a passed one and reports MSG_CTRUNC. */
static void test_descriptor_dropped_at_the_limit(void **state)
{
	struct rlimit old, tight;
	struct ipc_msg msg;
	int sv[2], p[2], got, fillers[64], nfill = 0, fd, before;
	(void)state;
	pair(sv);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	before = open_fds();
	/* Queue the messages first: sending needs no free slot, receiving does. */
	assert_int_equal(ipc_send(sv[0], IPC_CONN, p[0]), 0);
	assert_int_equal(ipc_send(sv[0], IPC_METRICS_CONN, p[0]), 0);
	assert_int_equal(ipc_send(sv[0], IPC_KEYCHAN, p[0]), 0);
	assert_int_equal(ipc_send(sv[0], IPC_RENDERCHAN, p[0]), 0);
	/* Fill every free slot below a limit just above what is open. */
	tight = old;
	tight.rlim_cur = (rlim_t)(sv[1] > p[1] ? sv[1] : p[1]) + 8;
	while ((fd = dup(0)) >= 0 && (rlim_t)fd < tight.rlim_cur && nfill < 64)
		fillers[nfill++] = fd;
	if (fd >= 0 && (rlim_t)fd >= tight.rlim_cur)
		close(fd);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &tight), 0);
	/* A connection still arrives (to be accounted for), without its socket. */
	assert_int_equal(ipc_recv(sv[1], &msg, &got), 1);
	assert_int_equal(msg.type, IPC_CONN);
	assert_int_equal(got, -1);
	assert_int_equal(ipc_recv(sv[1], &msg, &got), 1);
	assert_int_equal(msg.type, IPC_METRICS_CONN);
	assert_int_equal(got, -1);
	/* Any other message whose descriptor was dropped is refused. */
	assert_int_equal(ipc_recv(sv[1], &msg, &got), -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(ipc_recv(sv[1], &msg, &got), -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	for (int i = 0; i < nfill; i++)
		close(fillers[i]);
	assert_int_equal(open_fds(), before);
	close(sv[0]);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_well_formed_messages_pass),
		cmocka_unit_test(test_malformed_messages_are_refused_without_leaks),
		cmocka_unit_test(test_descriptor_dropped_at_the_limit),
	};
	return cmocka_run_group_tests_name("ipc", tests, NULL, NULL);
}
