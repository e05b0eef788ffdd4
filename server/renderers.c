/*
 * renderers.c - the master's PDF renderer processes (render/renderer.c, a
 * binary of their own): executed from the binary opened at start-up
 * (fexecve, so the confined master can start a new one), each connected to
 * every worker by a channel of its own; one that dies is replaced (with a
 * growing back-off while they die before ready) and the workers get
 * channels to the new one. Runs only in the master.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server/lib/log.h"
#include "server/master_state.h"
#include "server/proto/ipc.h"
#include "shm/limiter.h"

/* Gives worker slot w and renderer r the two ends of a new channel. */
void renderers_connect(struct master *m, int w, int r)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("socketpair: %s", strerror(errno));
		return;
	}
	if (ipc_send(m->renderers[r].chan, IPC_RENDERCHAN, sv[0]) < 0 ||
	    ipc_send(m->workers[w].chan, IPC_RENDERCHAN, sv[1]) < 0)
		log_warn("cannot connect worker %d to renderer %d: %s", (int)m->workers[w].pid,
		         (int)m->renderers[r].pid, strerror(errno));
	close(sv[0]);
	close(sv[1]);
}

/* The renderer binary next to our own. */
static int renderer_path(char *buf, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", buf, cap - sizeof(RENDERER_BINARY) - 1);
	char *slash;

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash)
		return -1;
	strcpy(slash + 1, RENDERER_BINARY);
	return 0;
}

/* Opens the renderer binary once, before the master's sandbox: from then
 * on it is the one program the master may execute (sandbox_allow_exec_fd). */
int renderers_open(struct master *m)
{
	if (renderer_path(m->render_path, sizeof(m->render_path)) < 0) {
		log_error("cannot find the renderer binary: %s", strerror(errno));
		return -1;
	}
	m->render_exe = open(m->render_path, O_PATH | O_CLOEXEC);
	if (m->render_exe < 0) {
		log_error("cannot open the renderer %s: %s (it must be installed next to mcp-invoiced)",
		          m->render_path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Forks and executes renderer r; with wait, until it reports ready (start-up). */
int renderers_spawn(struct master *m, int r, int wait)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = TAG_RENDER_BASE + (uint32_t)r };
	const char *path = m->render_path;
	char budget[32];
	int sv[2];
	pid_t pid;

	snprintf(budget, sizeof(budget), "%ld", m->cfg.render_timeout_ms);
	pid = master_fork_child(m, sv);
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char *const argv[] = { RENDERER_BINARY, budget, m->cfg.log_level,
		                       m->cfg.user && *m->cfg.user ? m->cfg.user : NULL, NULL };
		char *const envp[] = { NULL };
		sigset_t none;
		if (dup2(sv[1], 3) != 3)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		fexecve(m->render_exe, argv, envp);
		log_error("cannot execute the renderer %s: %s", path, strerror(errno));
		_exit(127);
	}
	if (wait) {
		struct pollfd pfd = { .fd = sv[0], .events = POLLIN };
		struct ipc_msg msg;
		int fd, status;
		if (poll(&pfd, 1, 20000) != 1 || ipc_recv(sv[0], &msg, &fd) != 1 || msg.type != IPC_READY) {
			log_error("renderer %d did not start (see its error above; %s must be installed "
			          "next to mcp-invoiced)", (int)pid, path);
			close(sv[0]);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
	}
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	m->renderers[r] = (struct renderer_rec){ .pid = pid, .chan = sv[0], .ready = wait };
	epoll_ctl(m->epfd, EPOLL_CTL_ADD, sv[0], &ev);
	for (int i = 0; i < SHM_MAX_SLOTS; i++)
		if (m->workers[i].pid > 0)
			renderers_connect(m, i, r);
	log_info("renderer %d started", (int)pid);
	return 0;
}


void renderers_on_channel(struct master *m, int r)
{
	struct renderer_rec *rr = &m->renderers[r];

	if (master_child_ready(m, rr->chan) && !rr->ready) {
		rr->ready = 1;
		m->render_failures = 0;
	}
}

/* Reaps renderer pid if it is one: 1 if it was. */
int renderers_reap(struct master *m, pid_t pid, const char *how)
{
	for (int r = 0; r < MAX_RENDERERS; r++) {
		struct renderer_rec *rr = &m->renderers[r];
		if (rr->pid != pid)
			continue;
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, rr->chan, NULL);
		close(rr->chan);
		if (m->stopping) {
			log_info("renderer %d finished (%s)", (int)pid, how);
		} else if (!rr->ready) {
			m->render_failures++;
			log_error("renderer %d failed during start-up (%s), %d in a row", (int)pid, how,
			          m->render_failures);
			m->render_respawn_at_ns = limiter_now_ns() +
			                          (100000000LL << (m->render_failures < 6 ? m->render_failures : 6));
		} else {
			log_error("renderer %d died (%s); replacing it", (int)pid, how);
			atomic_fetch_add(&m->shm->renderer_restarts, 1);
			m->render_respawn_at_ns = limiter_now_ns();
		}
		memset(rr, 0, sizeof(*rr));
		return 1;
	}
	return 0;
}

int renderers_live(struct master *m)
{
	int n = 0;
	for (int r = 0; r < MAX_RENDERERS; r++)
		n += m->renderers[r].pid > 0;
	return n;
}

void renderers_respawn(struct master *m)
{
	for (int r = 0; r < m->cfg.renderers && r < MAX_RENDERERS; r++)
		if (m->renderers[r].pid <= 0 && renderers_spawn(m, r, 0) < 0)
			m->render_respawn_at_ns = limiter_now_ns() + 1000000000LL;
}
