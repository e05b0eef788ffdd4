/*
 * jwks.c - the master's side of keys from a JWKS: it starts the JWKS
 * fetcher (jwks/fetcher.c, a binary of its own, executed from the file
 * opened at start-up, so the confined master can start a new one), decides
 * when it fetches, and gives each new key set to the workers. Runs only in
 * the master.
 *
 * When: once at start-up, before the first workers fork (they start with
 * the keys; if the provider cannot be reached within 6 s, the last good set
 * comes from jwt_jwks_cache_file); then jwt_jwks_refresh_s after each
 * success, jwt_jwks_cooldown_s after each failure, and whenever a worker
 * saw a kid it does not know (IPC_KEYS_WANTED) - but never sooner than
 * jwt_jwks_cooldown_s after the previous fetch, however many ask: a client
 * spraying random kids costs the provider one fetch per cooldown.
 *
 * How the workers get a set: a new set (bytes differing from the one in
 * use) is installed in the master (auth_keys_install: workers forked later
 * inherit it), written to the cache file (a temporary file, fsync, rename),
 * and the fetcher's sealed memfd is handed to every live worker
 * (IPC_KEYSET), which imports it itself. No worker is restarted and no
 * connection dropped; each worker's verified-token cache forgets tokens of
 * the older set (auth.c keys on the set's serial). A set equal to the one in
 * use only refreshes its age.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "server/lib/log.h"
#include "server/master_state.h"
#include "server/proto/ipc.h"
#include "server/proto/jwks_msg.h"
#include "shm/limiter.h"

#define NS 1000000000LL
/* A fetch is at most a discovery and a JWKS GET of JWKS_TIMEOUT_MS each,
 * twice for a discovery that falls back: past this the fetcher is stuck. */
#define FETCH_STUCK_NS (4LL * JWKS_TIMEOUT_MS * 1000000LL + 2 * NS)
#define FIRST_FETCH_WAIT_MS 6000

static int jwks_enabled(struct master *m)
{
	return config_jwks_mode(&m->cfg);
}

/* The fetcher binary next to our own, opened before the master's sandbox:
 * from then on one of the programs it may execute. Missing is an error in
 * JWKS mode only. */
int jwks_open(struct master *m)
{
	ssize_t n = readlink("/proc/self/exe", m->jwks.path, sizeof(m->jwks.path) - sizeof(JWKS_BINARY) - 1);
	char *slash;

	m->jwks.exe = -1;
	m->jwks.chan = -1;
	if (n > 0) {
		m->jwks.path[n] = '\0';
		if ((slash = strrchr(m->jwks.path, '/'))) {
			strcpy(slash + 1, JWKS_BINARY);
			m->jwks.exe = open(m->jwks.path, O_PATH | O_CLOEXEC);
		}
	}
	if (m->jwks.exe < 0 && jwks_enabled(m)) {
		log_error("cannot open the JWKS fetcher %s: %s (it must be installed next to mcp-invoiced)",
		          m->jwks.path, strerror(errno));
		return -1;
	}
	atomic_store(&m->shm->jwks_mode, jwks_enabled(m));
	atomic_store(&m->shm->jwks_keys, -1);
	return 0;
}

static int spawn(struct master *m)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = TAG_JWKS };
	const struct config *c = &m->cfg;
	int sv[2];
	pid_t pid;

	if (m->jwks.exe < 0)
		return -1;
	pid = master_fork_child(m, sv);
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char *const argv[] = { JWKS_BINARY, c->log_level, c->jwt_alg, c->jwt_issuer,
		                       c->jwt_jwks_uri ? c->jwt_jwks_uri : "",
		                       c->jwt_jwks_ca_file ? c->jwt_jwks_ca_file : "",
		                       c->user && *c->user ? c->user : NULL, NULL };
		char *const envp[] = { NULL };
		sigset_t none;
		if (dup2(sv[1], 3) != 3)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		fexecve(m->jwks.exe, argv, envp);
		log_error("cannot execute the JWKS fetcher %s: %s", m->jwks.path, strerror(errno));
		_exit(127);
	}
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	m->jwks.pid = pid;
	m->jwks.chan = sv[0];
	m->jwks.ready = 0;
	m->jwks.busy = 0;
	if (m->epfd >= 0)
		epoll_ctl(m->epfd, EPOLL_CTL_ADD, sv[0], &ev);
	log_info("JWKS fetcher %d started", (int)pid);
	return 0;
}

/* Writes the set to the cache file: a temporary file beside it, synced,
 * then renamed over it, so a crash leaves the old set or the new one. */
static void cache_write(struct master *m, const unsigned char *bytes, size_t len)
{
	const char *path = m->cfg.jwt_jwks_cache_file;
	char tmp[4200];
	size_t done = 0;
	int fd;

	if (!path || !*path)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	while (fd >= 0 && done < len) {
		ssize_t n = write(fd, bytes + done, len - done);
		if (n <= 0 && errno != EINTR)
			break;
		done += n > 0 ? (size_t)n : 0;
	}
	if (fd < 0 || done != len || fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		log_warn("cannot write the JWKS cache %s: %s", path, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		return;
	}
	log_debug("JWKS key set cached in %s", path);
}

/* Installs bytes as the key set in use: 0, or -1 (logged; the set in use
 * stays). */
static int install(struct master *m, const unsigned char *bytes, size_t len, long long fetched_at,
                   const char *from)
{
	size_t skipped;
	char err[300];

	if (auth_keys_install(&m->keys, bytes, len, &skipped, err, sizeof(err)) < 0) {
		log_error("JWKS key set from %s refused: %s", from, err);
		return -1;
	}
	if (skipped)
		log_warn("JWKS key set from %s: %zu keys left out (last: %s)", from, skipped, err);
	atomic_store(&m->shm->jwks_keys, (long long)m->keys.nset);
	atomic_store(&m->shm->jwks_loaded_at, fetched_at);
	log_info("JWKS key set from %s installed: %zu keys", from, m->keys.nset);
	return 0;
}

/* The last good set, when the provider cannot be reached at start-up. */
static void cache_load(struct master *m)
{
	const char *path = m->cfg.jwt_jwks_cache_file;
	static unsigned char bytes[KEYSET_MAX_BYTES + 1];
	struct stat st;
	size_t n;
	FILE *f;

	if (!path || !*path || !(f = fopen(path, "rb"))) {
		log_warn("no JWKS key set yet and no cache file %s: every token is refused and /readyz "
		         "is 503 until the provider answers", path ? path : "");
		return;
	}
	n = fread(bytes, 1, sizeof(bytes), f);
	if (fstat(fileno(f), &st) < 0)
		st.st_mtime = 0;
	fclose(f);
	if (n > KEYSET_MAX_BYTES || install(m, bytes, n, (long long)st.st_mtime, path) < 0)
		log_warn("the JWKS cache file %s holds no usable key set", path);
}

/* Hands the set in fd to every live worker. */
static void distribute(struct master *m, int fd)
{
	for (int i = 0; i < SHM_MAX_SLOTS; i++)
		if (m->workers[i].pid > 0 && ipc_send(m->workers[i].chan, IPC_KEYSET, fd) < 0)
			log_warn("cannot hand the new JWKS key set to worker %d: %s", (int)m->workers[i].pid,
			         strerror(errno));
}

static void on_result(struct master *m, const struct jwks_msg *msg, int fd)
{
	long long now = limiter_now_ns();
	unsigned char *bytes = NULL;
	size_t len = 0;

	m->jwks.busy = 0;
	atomic_fetch_add(&m->shm->jwks_fetches[msg->outcome < SHM_JWKS_OUTCOMES ? msg->outcome : 0], 1);
	if (msg->outcome != JWKS_OK) {
		m->jwks.next_fetch_ns = now + m->cfg.jwt_jwks_cooldown_s * NS;
		return;
	}
	m->jwks.next_fetch_ns = now + m->cfg.jwt_jwks_refresh_s * NS;
	if (ipc_sealed_read(fd, KEYSET_MAX_BYTES, &bytes, &len) < 0) {
		log_error("JWKS fetcher answered with an unreadable key set");
	} else if (m->keys.set_bytes && m->keys.set_len == len && memcmp(m->keys.set_bytes, bytes, len) == 0) {
		atomic_store(&m->shm->jwks_loaded_at, (long long)time(NULL));
		log_debug("JWKS unchanged (%u keys)", msg->keys);
	} else if (install(m, bytes, len, (long long)time(NULL), "the JWKS fetcher") == 0) {
		cache_write(m, bytes, len);
		distribute(m, fd);
	}
	free(bytes);
}

void jwks_on_channel(struct master *m)
{
	struct jwks_msg msg;
	int fd, r;

	while ((r = jwks_msg_recv(m->jwks.chan, &msg, &fd)) == 1) {
		if (msg.type == JWKS_MSG_READY) {
			m->jwks.ready = 1;
			m->jwks.failures = 0;
		} else if (msg.type == JWKS_MSG_RESULT) {
			on_result(m, &msg, fd);
		}
		if (fd >= 0)
			close(fd);
	}
	if (r < 0 && errno == EPROTO)
		log_error("malformed message from the JWKS fetcher");
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EPROTO))
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->jwks.chan, NULL);
}

static void ask_fetch(struct master *m, long long now)
{
	struct jwks_msg msg = { .type = JWKS_MSG_FETCH };

	if (jwks_msg_send(m->jwks.chan, &msg, -1) < 0) {
		log_warn("cannot ask the JWKS fetcher: %s", strerror(errno));
		return;
	}
	m->jwks.busy = 1;
	m->jwks.wanted = 0;
	m->jwks.last_fetch_ns = now;
}

/* Start-up, before the first workers: the fetcher, the first fetch (up to
 * FIRST_FETCH_WAIT_MS), else the cache file. */
int jwks_start(struct master *m)
{
	long long deadline;

	if (!jwks_enabled(m))
		return 0;
	if (spawn(m) < 0)
		return -1;
	deadline = limiter_now_ns() + FIRST_FETCH_WAIT_MS * 1000000LL;
	while (!m->keys.set_bytes && limiter_now_ns() < deadline) {
		struct pollfd pfd = { .fd = m->jwks.chan, .events = POLLIN };
		int left = (int)((deadline - limiter_now_ns()) / 1000000);
		if (m->jwks.ready && !m->jwks.busy && !m->jwks.last_fetch_ns)
			ask_fetch(m, limiter_now_ns());
		if (m->jwks.last_fetch_ns && !m->jwks.busy)
			break; /* answered, and not with keys */
		if (poll(&pfd, 1, left > 0 ? left : 0) <= 0)
			break;
		if (pfd.revents & (POLLHUP | POLLERR) && !(pfd.revents & POLLIN))
			break;
		jwks_on_channel(m);
	}
	if (!m->keys.set_bytes)
		cache_load(m);
	return 0;
}

void jwks_want(struct master *m)
{
	atomic_fetch_add(&m->shm->jwks_refresh_asks, 1);
	m->jwks.wanted = 1;
}

void jwks_tick(struct master *m, long long now)
{
	struct jwks_rec *j = &m->jwks;

	if (!jwks_enabled(m) || m->stopping)
		return;
	if (j->pid <= 0) {
		if (now >= j->respawn_at_ns && spawn(m) < 0)
			j->respawn_at_ns = now + NS;
		return;
	}
	if (j->busy && now - j->last_fetch_ns > FETCH_STUCK_NS) {
		log_error("JWKS fetcher %d has not answered in %lld s; replacing it", (int)j->pid,
		          FETCH_STUCK_NS / NS);
		kill(j->pid, SIGKILL);
		j->busy = 0;
		return;
	}
	if (!j->ready || j->busy || now < j->last_fetch_ns + m->cfg.jwt_jwks_cooldown_s * NS)
		return;
	if (j->wanted || now >= j->next_fetch_ns || !j->last_fetch_ns)
		ask_fetch(m, now);
}

int jwks_reap(struct master *m, pid_t pid, const char *how)
{
	struct jwks_rec *j = &m->jwks;

	if (pid <= 0 || pid != j->pid)
		return 0;
	epoll_ctl(m->epfd, EPOLL_CTL_DEL, j->chan, NULL);
	close(j->chan);
	j->chan = -1;
	j->pid = 0;
	if (m->stopping) {
		log_info("JWKS fetcher %d finished (%s)", (int)pid, how);
		return 1;
	}
	if (!j->ready)
		j->failures++;
	log_error("JWKS fetcher %d died (%s); replacing it", (int)pid, how);
	j->respawn_at_ns = limiter_now_ns() + (j->failures ? (100000000LL << (j->failures < 6 ? j->failures : 6)) : 0);
	if (j->busy) {
		j->busy = 0;
		j->next_fetch_ns = limiter_now_ns() + m->cfg.jwt_jwks_cooldown_s * NS;
	}
	return 1;
}

/* After SIGHUP: new settings may name another issuer or JWKS, so the
 * fetcher is replaced (with the new arguments) and fetches at once; the
 * set in use stays until then. */
void jwks_reloaded(struct master *m, const struct config *old)
{
	atomic_store(&m->shm->jwks_mode, jwks_enabled(m));
	if (!jwks_enabled(m)) {
		if (m->jwks.pid > 0)
			kill(m->jwks.pid, SIGTERM);
		atomic_store(&m->shm->jwks_keys, -1);
		return;
	}
	if (m->jwks.pid > 0 && (strcmp(old->jwt_alg, m->cfg.jwt_alg) != 0 ||
	    strcmp(old->jwt_issuer, m->cfg.jwt_issuer) != 0 ||
	    strcmp(old->jwt_jwks_uri ? old->jwt_jwks_uri : "", m->cfg.jwt_jwks_uri ? m->cfg.jwt_jwks_uri : "") != 0 ||
	    strcmp(old->jwt_jwks_ca_file ? old->jwt_jwks_ca_file : "",
	           m->cfg.jwt_jwks_ca_file ? m->cfg.jwt_jwks_ca_file : "") != 0 ||
	    strcmp(old->log_level, m->cfg.log_level) != 0)) {
		kill(m->jwks.pid, SIGTERM);
		m->jwks.last_fetch_ns = 0;
	}
	m->jwks.wanted = 1;
}

int jwks_live(struct master *m)
{
	return m->jwks.pid > 0;
}

void jwks_stop(struct master *m)
{
	if (m->jwks.pid > 0)
		kill(m->jwks.pid, SIGTERM);
}
