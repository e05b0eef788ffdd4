/*
 * master.c - the master process (see master.h). It never parses a request:
 * it accepts, picks a worker from the shared scoreboard and passes the
 * socket over a SOCK_SEQPACKET socketpair with SCM_RIGHTS. When every worker
 * is at worker_connections it stops polling the listener, so the kernel
 * backlog queues the rest instead of master memory. It reaps dead workers,
 * zeroes their scoreboard slots, and respawns them (at once if they had been
 * serving; with growing back-off if they die during start-up, and after five
 * such failures in a row it stops the server with a clear message). Each
 * generation of workers has its own key manager (keymgr.c), the only holder
 * of the TLS private key; the master itself never reads that key. It also
 * starts the PDF renderers (render/renderer.c, a binary of their own) and
 * gives every worker a channel to each; a renderer that dies is replaced
 * and the workers get channels to the new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server/auth/auth.h"
#include "server/auth/cursor.h"
#include "server/keymgr.h"
#include "server/lib/log.h"
#include "server/master.h"
#include "server/master_state.h"
#include "server/proc/privsep.h"
#include "server/proc/sandbox.h"
#include "server/proc/sdnotify.h"
#include "server/proc/tls.h"
#include "server/proto/entry.h"
#include "server/proto/ipc.h"
#include "shm/limiter.h"

#define MAX_STARTUP_FAILURES 5
#define TICK_MS 100




/* Loads what workers need: the TLS context (certificate and a proxy of
 * the key; the key itself is read by the key manager) and the JWT key. */
static int load_material(const struct config *cfg, SSL_CTX **tls, struct auth_keys *keys,
                         char *err, size_t errlen)
{
	*tls = tls_ctx_new(cfg->tls_cert, err, errlen);
	if (!*tls)
		return -1;
	if (auth_keys_load(cfg, keys, err, errlen) < 0) {
		SSL_CTX_free(*tls);
		*tls = NULL;
		return -1;
	}
	return 0;
}

/* In a freshly forked child: close the master's descriptors. */
static void close_master_fds(struct master *m)
{
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	if (m->metrics_fd >= 0)
		close(m->metrics_fd);
	if (m->epfd >= 0)
		close(m->epfd);
	if (m->sfd >= 0)
		close(m->sfd);
	if (m->keymgr_chan >= 0)
		close(m->keymgr_chan);
	for (int i = 0; i < SHM_MAX_SLOTS; i++)
		if (m->workers[i].pid > 0)
			close(m->workers[i].chan);
	for (int i = 0; i < MAX_RENDERERS; i++)
		if (m->renderers[i].pid > 0)
			close(m->renderers[i].chan);
	if (m->jwks.chan >= 0)
		close(m->jwks.chan);
}

/* A channel and a fork for a child process: in the child returns 0 with
 * sv[1] its end (the master's descriptors closed), in the master the
 * child's pid with sv[0] its end; -1 on failure (logged). */
pid_t master_fork_child(struct master *m, int sv[2])
{
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("socketpair: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		close_master_fds(m);
	} else {
		close(sv[1]);
	}
	return pid;
}

/* Forks a key manager for the current configuration and waits until it
 * has loaded the private key and checked it against the certificate. */
/* Reads what a child sent on chan (IPC_READY, or a worker's
 * IPC_KEYS_WANTED): 1 if IPC_READY came. A channel whose peer is gone
 * leaves epoll (the child is reaped on SIGCHLD). */
int master_child_ready(struct master *m, int chan)
{
	struct ipc_msg msg;
	int fd, rc, ready = 0;

	while ((rc = ipc_recv(chan, &msg, &fd)) == 1) {
		ready |= msg.type == IPC_READY;
		if (msg.type == IPC_KEYS_WANTED)
			jwks_want(m);
		if (fd >= 0)
			close(fd);
	}
	if (rc == 0 || (rc < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, chan, NULL);
	return ready;
}

static int spawn_keymgr(struct master *m)
{
	struct pollfd pfd;
	struct ipc_msg msg;
	int sv[2], fd, status;
	pid_t pid;

	pid = master_fork_child(m, sv);
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* The key manager needs the TLS key only: wipe the copies of the
		 * other secrets that fork gave it. */
		auth_keys_free(&m->keys);
		if (m->cfg.database_url)
			OPENSSL_cleanse(m->cfg.database_url, strlen(m->cfg.database_url));
		if (m->cfg.migrate_database_url)
			OPENSSL_cleanse(m->cfg.migrate_database_url, strlen(m->cfg.migrate_database_url));
		keymgr_main(m->cfg.tls_key, X509_get0_pubkey(SSL_CTX_get0_certificate(m->tls)),
		            m->cfg.user, sv[1], &m->shm->keymgr);
	}
	pfd = (struct pollfd){ .fd = sv[0], .events = POLLIN };
	if (poll(&pfd, 1, 10000) != 1 || ipc_recv(sv[0], &msg, &fd) != 1 || msg.type != IPC_READY) {
		log_error("key manager %d did not start (see its error above)", (int)pid);
		close(sv[0]);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return -1;
	}
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	m->keymgr_pid = pid;
	m->keymgr_chan = sv[0];
	log_info("key manager %d started", (int)pid);
	return 0;
}

/* The current key manager will serve no new worker: it exits once the
 * workers it serves are gone. */
static void retire_keymgr(struct master *m, pid_t pid, int chan)
{
	if (chan >= 0)
		close(chan);
	for (size_t i = 0; pid > 0 && i < sizeof(m->old_keymgrs) / sizeof(pid_t); i++) {
		if (m->old_keymgrs[i] == 0) {
			m->old_keymgrs[i] = pid;
			break;
		}
	}
}

static int live_keymgrs(struct master *m)
{
	int n = m->keymgr_pid > 0;
	for (size_t i = 0; i < sizeof(m->old_keymgrs) / sizeof(pid_t); i++)
		n += m->old_keymgrs[i] > 0;
	return n;
}

static int live_workers(struct master *m, int include_draining)
{
	int n = 0;
	for (int i = 0; i < SHM_MAX_SLOTS; i++)
		if (m->workers[i].pid > 0 && (include_draining || !m->workers[i].draining))
			n++;
	return n;
}

static void spawn_worker(struct master *m)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int sv[2], kp[2], slot;
	pid_t pid;

	slot = shm_slot_claim(m->shm);
	if (slot < 0) {
		log_error("no free scoreboard slot for a new worker");
		return;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("socketpair: %s", strerror(errno));
		shm_slot_reap(m->shm, slot);
		return;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, kp) < 0 ||
	    ipc_send(m->keymgr_chan, IPC_KEYCHAN, kp[0]) < 0) {
		log_error("cannot connect a worker to the key manager: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		shm_slot_reap(m->shm, slot);
		return;
	}
	close(kp[0]);
	pid = fork();
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		close(kp[1]);
		shm_slot_reap(m->shm, slot);
		return;
	}
	if (pid == 0) {
		struct worker_start w = { .cfg = &m->cfg, .shm = m->shm, .slot = slot, .channel_fd = sv[1],
		                          .keymgr_fd = kp[1], .tls = m->tls, .keys = &m->keys,
		                          .cursor_key = &m->cursor_key };
		close(sv[0]);
		close_master_fds(m);
		worker_main(&w);
	}
	close(sv[1]);
	close(kp[1]);
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	m->workers[slot] = (struct worker_rec){ .pid = pid, .slot = slot, .chan = sv[0],
	                                        .generation = m->generation };
	atomic_store(&m->shm->slots[slot].pid, pid);
	ev.data.u32 = (uint32_t)slot;
	epoll_ctl(m->epfd, EPOLL_CTL_ADD, sv[0], &ev);
	for (int r = 0; r < MAX_RENDERERS; r++)
		if (m->renderers[r].pid > 0)
			renderers_connect(m, slot, r);
	log_info("worker %d started in slot %d (generation %u)", (int)pid, slot, m->generation);
}

/* The live, ready, not draining worker with the fewest connections (ties:
 * fewest in flight) that still has room; -1 when all are saturated. */
static int pick_worker(struct master *m)
{
	long long best_conns = 0, best_inflight = 0;
	int best = -1;

	for (int i = 0; i < SHM_MAX_SLOTS; i++) {
		struct worker_rec *r = &m->workers[i];
		long long conns, inflight;
		if (r->pid <= 0 || !r->ready || r->draining)
			continue;
		conns = atomic_load(&m->shm->slots[i].connections);
		inflight = atomic_load(&m->shm->slots[i].inflight);
		if (conns >= m->cfg.worker_connections)
			continue;
		if (best < 0 || conns < best_conns || (conns == best_conns && inflight < best_inflight)) {
			best = i;
			best_conns = conns;
			best_inflight = inflight;
		}
	}
	return best;
}

/* Both listeners are polled only while some worker has room. */
static void set_accepting(struct master *m, int on)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = TAG_LISTEN };
	struct epoll_event mev = { .events = EPOLLIN, .data.u32 = TAG_METRICS_LISTEN };

	if (on == m->accepting || m->listen_fd < 0)
		return;
	if (on) {
		epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->listen_fd, &ev);
		if (m->metrics_fd >= 0)
			epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->metrics_fd, &mev);
	} else {
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->listen_fd, NULL);
		if (m->metrics_fd >= 0)
			epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->metrics_fd, NULL);
	}
	m->accepting = on;
}

/* Accepts from listener fd and hands each socket to a worker as type. */
static void accept_batch(struct master *m, int listen_fd, enum ipc_type type)
{
	for (int n = 0; n < 256; n++) {
		int idx = pick_worker(m), fd, one = 1;
		if (idx < 0) {
			set_accepting(m, 0);
			return;
		}
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		atomic_fetch_add(&m->shm->slots[idx].connections, 1);
		if (ipc_send(m->workers[idx].chan, type, fd) < 0) {
			atomic_fetch_sub(&m->shm->slots[idx].connections, 1);
			log_warn("handing a connection to worker %d failed: %s", (int)m->workers[idx].pid,
			         strerror(errno));
		}
		close(fd);
	}
}

static void begin_stop(struct master *m, int status, const char *why)
{
	if (m->stopping)
		return;
	m->stopping = 1;
	atomic_store(&m->shm->stopping, 1);
	m->exit_status = status;
	sd_notify_send("STOPPING=1");
	log_info("stopping (%s)", why);
	set_accepting(m, 0);
	if (m->listen_fd >= 0) {
		close(m->listen_fd);
		m->listen_fd = -1;
	}
	if (m->metrics_fd >= 0) {
		close(m->metrics_fd);
		m->metrics_fd = -1;
	}
	for (int i = 0; i < SHM_MAX_SLOTS; i++)
		if (m->workers[i].pid > 0)
			kill(m->workers[i].pid, SIGTERM);
	for (int r = 0; r < MAX_RENDERERS; r++)
		if (m->renderers[r].pid > 0)
			kill(m->renderers[r].pid, SIGTERM);
	jwks_stop(m);
	retire_keymgr(m, m->keymgr_pid, m->keymgr_chan);
	m->keymgr_pid = 0;
	m->keymgr_chan = -1;
	m->stop_deadline_ns = limiter_now_ns() + (m->cfg.shutdown_timeout_s + 2) * 1000000000LL;
}

static void check_generation_ready(struct master *m)
{
	for (int i = 0; i < SHM_MAX_SLOTS; i++) {
		struct worker_rec *r = &m->workers[i];
		if (r->pid > 0 && r->generation == m->generation && !r->ready)
			return;
	}
	if (live_workers(m, 0) < m->cfg.workers)
		return;
	if (m->reloading) {
		for (int i = 0; i < SHM_MAX_SLOTS; i++) {
			struct worker_rec *r = &m->workers[i];
			if (r->pid > 0 && r->generation != m->generation && !r->draining) {
				r->draining = 1;
				ipc_send(r->chan, IPC_DRAIN, -1);
			}
		}
		m->reloading = 0;
		log_info("reload complete: generation %u serving", m->generation);
		sd_notify_send("READY=1");
	} else if (!m->ready_notified) {
		m->ready_notified = 1;
		log_info("ready: %ld workers serving", m->cfg.workers);
		sd_notify_send("READY=1");
	}
}

static void on_channel(struct master *m, int slot)
{
	struct worker_rec *r = &m->workers[slot];

	if (master_child_ready(m, r->chan) && !r->ready) {
		r->ready = 1;
		m->startup_failures = 0;
		check_generation_ready(m);
	}
}

static int start_generation(struct master *m, const char *why);

/* Workers of a generation whose key manager died can no longer complete
 * handshakes: they stop taking connections at once and finish what they
 * have; the listener waits (kernel backlog) until the new generation is up. */
static void drain_all_workers(struct master *m)
{
	for (int i = 0; i < SHM_MAX_SLOTS; i++) {
		struct worker_rec *r = &m->workers[i];
		if (r->pid > 0 && !r->draining) {
			r->draining = 1;
			ipc_send(r->chan, IPC_DRAIN, -1);
		}
	}
}

static void reap(struct master *m)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct worker_rec *r = NULL;
		char how[96];
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
			snprintf(how, sizeof(how), "killed by SIGSYS: a system call its seccomp policy forbids");
		else if (WIFSIGNALED(status))
			snprintf(how, sizeof(how), "killed by signal %d", WTERMSIG(status));
		else
			snprintf(how, sizeof(how), "exit status %d", WEXITSTATUS(status));
		if (renderers_reap(m, pid, how) || jwks_reap(m, pid, how))
			continue;
		for (size_t i = 0; i < sizeof(m->old_keymgrs) / sizeof(pid_t); i++) {
			if (m->old_keymgrs[i] == pid) {
				m->old_keymgrs[i] = 0;
				log_info("key manager %d finished (%s)", (int)pid, how);
			}
		}
		if (pid == m->keymgr_pid) {
			log_error("key manager %d died (%s); starting a new generation", (int)pid, how);
			m->keymgr_pid = 0;
			close(m->keymgr_chan);
			if (!m->stopping) {
				drain_all_workers(m);
				m->keymgr_chan = -1; /* its channel died with it */
				if (start_generation(m, "key manager replaced") < 0)
					begin_stop(m, 1, "the key manager cannot be restarted");
			}
			continue;
		}
		for (int i = 0; i < SHM_MAX_SLOTS; i++)
			if (m->workers[i].pid == pid)
				r = &m->workers[i];
		if (!r)
			continue;
		shm_slot_reap(m->shm, r->slot);
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, r->chan, NULL);
		close(r->chan);
		if (m->stopping || r->draining) {
			log_info("worker %d finished (%s)", (int)pid, how);
		} else if (!r->ready) {
			m->startup_failures++;
			log_error("worker %d failed during start-up (%s), %d in a row", (int)pid, how,
			          m->startup_failures);
			if (m->startup_failures >= MAX_STARTUP_FAILURES) {
				log_error("workers failed to start %d times in a row (last: %s); stopping. "
				          "Check the errors above (database_url, TLS files, permissions).",
				          MAX_STARTUP_FAILURES, how);
				memset(r, 0, sizeof(*r));
				begin_stop(m, 1, "workers cannot start");
				continue;
			}
			m->respawn_at_ns = limiter_now_ns() + (100000000LL << m->startup_failures);
		} else {
			log_error("worker %d died (%s); replacing it", (int)pid, how);
			atomic_fetch_add(&m->shm->worker_restarts, 1);
			m->respawn_at_ns = limiter_now_ns();
		}
		memset(r, 0, sizeof(*r));
	}
}

/* A new generation: key manager plus workers. The running generation
 * keeps serving until every new worker is ready (check_generation_ready),
 * then drains. */
static int start_generation(struct master *m, const char *why)
{
	pid_t old_pid = m->keymgr_pid;
	int old_chan = m->keymgr_chan;

	/* spawn_keymgr replaces keymgr_pid/keymgr_chan only on success. */
	if (spawn_keymgr(m) < 0)
		return -1;
	retire_keymgr(m, old_pid, old_chan);
	m->generation++;
	m->reloading = 1;
	log_info("%s: starting generation %u with %ld workers", why, m->generation, m->cfg.workers);
	for (long i = 0; i < m->cfg.workers; i++)
		spawn_worker(m);
	return 0;
}

/* The cursor key follows the HS256 secret (cursors survive restarts). */
static void derive_cursor_key(struct master *m)
{
	cursor_key_init(&m->cursor_key, m->keys.alg_name && strcmp(m->keys.alg_name, "HS256") == 0
	                ? m->keys.key : NULL, m->keys.key_len);
}

/* SIGHUP: everything a reload reads (configuration, certificate, JWT key,
 * the cursor key derived from it) is installed in the master before the
 * new generation forks, so every new worker starts with all of it; the
 * old workers keep what they were forked with until they exit. On any
 * failure the running generation and its material stay as they were. */
/* The limits in the shared segment: this host's share of the cluster's. */
static void configure_limits(struct master *m)
{
	const struct config *c = &m->cfg;

	limiter_configure(m->shm, c->rate_limit_rps, c->rate_limit_burst, c->max_inflight, c->cluster_hosts);
	limiter_configure_tenant(m->shm, c->tenant_rate_limit_rps, c->tenant_rate_limit_burst,
	                         c->cluster_hosts);
}

/* Keys from a JWKS outlive a reload: the new generation starts with the
 * set in use (the fetcher fetches again with the new settings). */
static int carry_key_set(struct master *m, struct auth_keys *nkeys,
                         char *err, size_t errlen)
{
	size_t skipped;

	if (!nkeys->from_jwks)
		return 0;
	if (m->jwks.exe < 0) {
		snprintf(err, errlen, "keys from a JWKS need the fetcher %s, which was not there at start-up",
		         JWKS_BINARY);
		return -1;
	}
	if (m->keys.set_bytes &&
	    auth_keys_install(nkeys, m->keys.set_bytes, m->keys.set_len, &skipped, err, errlen) < 0)
		return -1;
	return 0;
}

static void reload(struct master *m)
{
	struct config nc, oldcfg;
	struct auth_keys nkeys, oldkeys;
	struct cursor_key oldcursor;
	SSL_CTX *ntls = NULL, *oldtls;
	char err[1024];
	enum log_level lvl;

	if (config_load(&nc, m->cfg_path, err, sizeof(err)) < 0) {
		log_error("reload refused, keeping the running configuration: %s", err);
		config_free(&nc);
		return;
	}
	if (master_raise_fd_limit(&nc, err, sizeof(err)) < 0 ||
	    load_material(&nc, &ntls, &nkeys, err, sizeof(err)) < 0) {
		log_error("reload refused, keeping the running configuration: %s", err);
		config_free(&nc);
		return;
	}
	if (carry_key_set(m, &nkeys, err, sizeof(err)) < 0) {
		log_error("reload refused, keeping the running configuration: %s", err);
		config_free(&nc);
		SSL_CTX_free(ntls);
		auth_keys_free(&nkeys);
		return;
	}
	sd_notify_send("RELOADING=1");
	if (strcmp(nc.listen, m->cfg.listen) != 0) {
		log_warn("listen changed from %s to %s: that takes a restart; keeping %s",
		         m->cfg.listen, nc.listen, m->cfg.listen);
		free(nc.listen);
		nc.listen = strdup(m->cfg.listen);
	}
	if (strcmp(nc.metrics_listen, m->cfg.metrics_listen) != 0) {
		log_warn("metrics_listen changed from '%s' to '%s': that takes a restart; keeping '%s'",
		         m->cfg.metrics_listen, nc.metrics_listen, m->cfg.metrics_listen);
		free(nc.metrics_listen);
		nc.metrics_listen = strdup(m->cfg.metrics_listen);
	}
	oldcfg = m->cfg;
	oldtls = m->tls;
	oldkeys = m->keys;
	oldcursor = m->cursor_key;
	m->cfg = nc;
	m->tls = ntls;
	m->keys = nkeys;
	derive_cursor_key(m);
	/* The new key manager must load the new key (and match the new
	 * certificate) before anything is replaced. */
	if (start_generation(m, "reloading") < 0) {
		log_error("reload refused, keeping the running configuration: the key manager could "
		          "not load %s for %s", nc.tls_key, nc.tls_cert);
		m->cfg = oldcfg;
		m->tls = oldtls;
		m->keys = oldkeys;
		m->cursor_key = oldcursor;
		config_free(&nc);
		SSL_CTX_free(ntls);
		auth_keys_free(&nkeys);
		sd_notify_send("READY=1");
		return;
	}
	jwks_reloaded(m, &oldcfg);
	config_free(&oldcfg);
	SSL_CTX_free(oldtls);
	auth_keys_free(&oldkeys);
	OPENSSL_cleanse(&oldcursor, sizeof(oldcursor));
	configure_limits(m);
	if (log_level_parse(m->cfg.log_level, &lvl) == 0)
		log_set_level(lvl);
}


static void on_signal(struct master *m)
{
	struct signalfd_siginfo si;

	while (read(m->sfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(m);
			break;
		case SIGHUP:
			if (!m->stopping)
				reload(m);
			break;
		case SIGTERM:
		case SIGINT:
			begin_stop(m, 0, si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
			break;
		}
	}
}

/* The kernel's accept queue on the listener (Linux TCP_INFO on a
 * listening socket: tcpi_unacked is the queue's length, tcpi_sacked its
 * backlog) and the master's own usage, for /metrics. */
static void publish_figures(struct master *m, long long now)
{
	static long long next_usage_ns;
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	long long cpu, rss;

	if (m->listen_fd >= 0 && getsockopt(m->listen_fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0) {
		atomic_store(&m->shm->accept_queue, (long long)ti.tcpi_unacked);
		atomic_store(&m->shm->accept_queue_limit, (long long)ti.tcpi_sacked);
	}
	if (now >= next_usage_ns) {
		next_usage_ns = now + 1000000000LL;
		shm_self_usage(&cpu, &rss);
		atomic_store(&m->shm->master.cpu_us, cpu);
		atomic_store(&m->shm->master.rss_bytes, rss);
	}
}

static void tick(struct master *m)
{
	long long now = limiter_now_ns();

	publish_figures(m, now);
	if (m->watchdog_ms && now >= m->next_watchdog_ns) {
		sd_notify_send("WATCHDOG=1");
		m->next_watchdog_ns = now + m->watchdog_ms * 1000000LL;
	}
	if (m->stopping) {
		if (live_workers(m, 1) == 0 && live_keymgrs(m) == 0 && renderers_live(m) == 0 &&
		    !jwks_live(m))
			return;
		if (now > m->stop_deadline_ns) {
			for (int i = 0; i < SHM_MAX_SLOTS; i++)
				if (m->workers[i].pid > 0) {
					log_warn("worker %d did not stop in time; killing it", (int)m->workers[i].pid);
					kill(m->workers[i].pid, SIGKILL);
				}
			for (size_t i = 0; i < sizeof(m->old_keymgrs) / sizeof(pid_t); i++)
				if (m->old_keymgrs[i] > 0)
					kill(m->old_keymgrs[i], SIGKILL);
			for (int r = 0; r < MAX_RENDERERS; r++)
				if (m->renderers[r].pid > 0)
					kill(m->renderers[r].pid, SIGKILL);
			if (m->jwks.pid > 0)
				kill(m->jwks.pid, SIGKILL);
			m->stop_deadline_ns = now + 1000000000LL;
		}
		return;
	}
	if (m->render_respawn_at_ns && now >= m->render_respawn_at_ns) {
		m->render_respawn_at_ns = 0;
		renderers_respawn(m);
	}
	jwks_tick(m, now);
	if (m->respawn_at_ns && now >= m->respawn_at_ns) {
		m->respawn_at_ns = 0;
		while (live_workers(m, 0) < m->cfg.workers)
			spawn_worker(m);
	}
	if (!m->accepting && pick_worker(m) >= 0)
		set_accepting(m, 1);
}

/* Start-up, in the order privileges are given up: bind, load the key
 * material, start the key manager, drop to the service user, open the
 * loop, start the renderers, confine this process, fork the workers. */
static void master_start_up(struct master *m, sigset_t *mask)
{
	struct epoll_event ev = { .events = EPOLLIN };
	char err[1024];

	if (master_raise_fd_limit(&m->cfg, err, sizeof(err)) < 0)
		fatal("%s", err);
	m->listen_fd = master_bind_listener(m->cfg.listen, err, sizeof(err));
	if (m->listen_fd < 0)
		fatal("%s", err);
	if (*m->cfg.metrics_listen &&
	    (m->metrics_fd = master_bind_listener(m->cfg.metrics_listen, err, sizeof(err))) < 0)
		fatal("metrics_listen: %s", err);
	if (load_material(&m->cfg, &m->tls, &m->keys, err, sizeof(err)) < 0)
		fatal("%s", err);
	m->shm = shm_create();
	if (!m->shm)
		fatal("cannot map the shared segment: %s", strerror(errno));
	/* The first key manager reads the key while still root, then drops
	 * privileges itself; later ones (reload, respawn) read it as user. */
	if (spawn_keymgr(m) < 0)
		fatal("cannot start the key manager (see the error above)");
	if (privsep_drop(m->cfg.user, err, sizeof(err)) < 0)
		fatal("%s", err);
	derive_cursor_key(m);
	configure_limits(m);

	m->sfd = signalfd(-1, mask, SFD_NONBLOCK | SFD_CLOEXEC);
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (m->sfd < 0 || m->epfd < 0)
		fatal("signalfd/epoll: %s", strerror(errno));
	ev.data.u32 = TAG_SIGNAL;
	epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->sfd, &ev);
	m->watchdog_ms = sd_watchdog_interval_ms();

	if (renderers_open(m) < 0)
		fatal("cannot start the PDF renderer (see the error above)");
	for (int r = 0; r < m->cfg.renderers && r < MAX_RENDERERS; r++)
		if (renderers_spawn(m, r, 1) < 0)
			fatal("cannot start the PDF renderer (see the error above)");
	if (jwks_open(m) < 0 || jwks_start(m) < 0)
		fatal("cannot start the JWKS fetcher (see the error above)");
	if (strcmp(m->cfg.jwt_audience, m->cfg.public_url) != 0)
		log_warn("jwt_audience (%s) is not public_url (%s): clients asking for a token for this "
		         "resource (RFC 8707) get one naming public_url", m->cfg.jwt_audience, m->cfg.public_url);
	log_info("mcp-invoiced listening on https://%s%s with %ld workers", m->cfg.listen,
	         m->cfg.mcp_path, m->cfg.workers);
	if (m->metrics_fd >= 0)
		log_info("metrics on https://%s/metrics (to any client that reaches it)", m->cfg.metrics_listen);
	/* Last of the privilege drops (privsep.h): the listener is bound, the
	 * first key manager holds the key, root is gone. Workers forked from
	 * here on inherit this filter and narrow it. */
	sandbox_allow_exec_fd(m->render_exe);
	sandbox_allow_exec_fd(m->jwks.exe);
	if (sandbox_enter(SANDBOX_MASTER, err, sizeof(err)) < 0)
		fatal("%s", err);
	sandbox_test_hook(SANDBOX_MASTER);
	for (long i = 0; i < m->cfg.workers; i++)
		spawn_worker(m);
}

/* One event from epoll, to whoever owns its descriptor. */
static void dispatch_event(struct master *m, uint32_t tag)
{
	if (tag == TAG_LISTEN)
		accept_batch(m, m->listen_fd, IPC_CONN);
	else if (tag == TAG_METRICS_LISTEN)
		accept_batch(m, m->metrics_fd, IPC_METRICS_CONN);
	else if (tag == TAG_SIGNAL)
		on_signal(m);
	else if (tag == TAG_JWKS && m->jwks.pid > 0)
		jwks_on_channel(m);
	else if (tag < SHM_MAX_SLOTS && m->workers[tag].pid > 0)
		on_channel(m, (int)tag);
	else if (tag >= TAG_RENDER_BASE && tag < TAG_RENDER_BASE + MAX_RENDERERS &&
	         m->renderers[tag - TAG_RENDER_BASE].pid > 0)
		renderers_on_channel(m, (int)(tag - TAG_RENDER_BASE));
}

int master_run(struct config *cfg, const char *cfg_path)
{
	static struct master m;
	sigset_t mask;
	enum log_level lvl;

	m.cfg = *cfg;
	m.cfg_path = cfg_path;
	m.listen_fd = -1;
	m.metrics_fd = -1;
	m.render_exe = -1;
	m.epfd = -1;
	m.sfd = -1;
	m.keymgr_chan = -1;
	m.jwks.chan = -1;
	m.jwks.exe = -1;
	log_init("master", log_level_parse(m.cfg.log_level, &lvl) == 0 ? lvl : LOG_INFO);

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	master_start_up(&m, &mask);

	for (;;) {
		struct epoll_event events[32];
		int n = epoll_wait(m.epfd, events, 32, TICK_MS);
		if (n < 0 && errno != EINTR)
			fatal("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++)
			dispatch_event(&m, events[i].data.u32);
		tick(&m);
		if (m.stopping && live_workers(&m, 1) == 0 && live_keymgrs(&m) == 0 && renderers_live(&m) == 0 &&
		    !jwks_live(&m)) {
			log_info("stopped; in flight at exit: %lld", shm_inflight_total(m.shm));
			SSL_CTX_free(m.tls);
			auth_keys_free(&m.keys);
			config_free(&m.cfg);
			return m.exit_status;
		}
	}
}
