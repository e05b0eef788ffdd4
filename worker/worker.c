/*
 * worker.c - a worker process: its start-up (signals, epoll, the database
 * and renderer clients, then the sandbox) and its epoll loop over the
 * client connections (conn.c), the channel from the master, the database
 * connection (worker/db) and the renderer channels (worker/core/render.c),
 * with the sweeps, figures and upkeep that run between events. Runs in each
 * worker after fork.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "server/lib/log.h"
#include "server/proc/sandbox.h"
#include "server/proc/tls.h"
#include "server/proto/entry.h"
#include "server/proto/ipc.h"
#include "server/proto/keyset.h"
#include "shm/limiter.h"
#include "worker/conn.h"
#include "worker/core/worker_ctx.h"

#define SWEEP_MS 250
#define TAG_CHANNEL ((void *)1)
#define TAG_SIGNAL ((void *)2)
#define TAG_DATABASE ((void *)3)

static int epfd = -1;


/* The database engine's figures, for /metrics (any worker renders all). */
static void publish_db_stats(struct worker_ctx *w)
{
	struct shm_slot *slot = &w->start.shm->slots[w->start.slot];
	const struct db_stats *st = &w->db.stats;

	atomic_store(&slot->db_queued, st->queued);
	atomic_store(&slot->db_inflight, st->in_flight);
	atomic_store(&slot->db_batches, st->batches);
	atomic_store(&slot->db_members, st->members);
	atomic_store(&slot->db_cancels, st->cancels);
	atomic_store(&slot->db_round_trips, st->round_trips);
	atomic_store(&slot->db_round_trip_us, st->round_trip_us);
}

/* The PDF documents' figures, for /metrics. */
static void publish_render_stats(struct worker_ctx *w)
{
	struct shm_slot *slot = &w->start.shm->slots[w->start.slot];
	const struct render_stats *st = &w->render.stats;

	atomic_store(&slot->render_jobs, w->render.jobs);
	atomic_store(&slot->render_rendered, st->rendered);
	atomic_store(&slot->render_failed, st->failed);
	atomic_store(&slot->render_refused, st->refused);
	atomic_store(&slot->render_timeouts, st->timeouts);
	atomic_store(&slot->render_cancelled, st->cancelled);
	atomic_store(&slot->render_busy_us, st->busy_ns / 1000);
}

/* This worker's CPU time and RSS, for /metrics, about once a second. */
static void publish_usage(struct worker_ctx *w)
{
	static long long next_ns;
	long long now = limiter_now_ns(), cpu, rss;

	if (now < next_ns)
		return;
	next_ns = now + 1000000000LL;
	shm_self_usage(&cpu, &rss);
	atomic_store(&w->start.shm->slots[w->start.slot].cpu_us, cpu);
	atomic_store(&w->start.shm->slots[w->start.slot].rss_bytes, rss);
}

static void maintenance_done(struct db_job *job)
{
	if (job->ok && job->cols[0] && strcmp(job->cols[0], "0") != 0)
		log_info("expired %s idempotency keys", job->cols[0]);
}

/* Hourly upkeep on this worker's connection: expire idempotency keys older
 * than the 7 days they are kept. Any worker may do it; it is idempotent. */
static void maintenance(struct worker_ctx *w)
{
	static long long next_ns;
	long long now = limiter_now_ns();
	struct tool_error err;

	if (now < next_ns)
		return;
	next_ns = now + 3600LL * 1000000000LL + (long long)(getpid() % 600) * 1000000000LL;
	db_submit(&w->db, db_job_new("expire_idempotency_keys", 0, NULL, 0, 1,
	                             now + w->start.cfg->request_timeout_ms * 1000000LL, maintenance_done, NULL),
	          &err);
}

/* Sanitizer builds: workers leave with _exit, which skips LeakSanitizer's
 * exit-time check, so run it here; the tests fail on any report. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
static void check_leaks(void)
{
	__lsan_do_recoverable_leak_check();
}
#else
static void check_leaks(void)
{
}
#endif


/* A new JWKS key set from the master (a sealed memfd): imported here, so
 * tokens of its keys verify from the next request on; tokens cached under
 * the old set are verified again. */
static void install_key_set(struct worker_ctx *w, int fd)
{
	unsigned char *bytes;
	size_t len, skipped;
	char err[300];

	if (ipc_sealed_read(fd, KEYSET_MAX_BYTES, &bytes, &len) < 0) {
		log_error("unreadable JWKS key set from the master");
		return;
	}
	if (auth_keys_install(w->start.keys, bytes, len, &skipped, err, sizeof(err)) < 0)
		log_error("JWKS key set from the master refused: %s", err);
	else
		log_debug("JWKS key set installed: %zu keys", w->start.keys->nset);
	free(bytes);
}

static void on_channel(struct worker_ctx *w)
{
	struct ipc_msg msg;
	int fd, r;

	while ((r = ipc_recv(w->start.channel_fd, &msg, &fd)) == 1) {
		if ((msg.type == IPC_CONN || msg.type == IPC_METRICS_CONN) && fd < 0) {
			atomic_fetch_sub(&w->start.shm->slots[w->start.slot].connections, 1);
			log_warn("a connection was dropped: this worker is at its descriptor limit "
			         "(RLIMIT_NOFILE); lower worker_connections or raise LimitNOFILE");
		} else if (msg.type == IPC_CONN || msg.type == IPC_METRICS_CONN) {
			if (conn_draining()) {
				close(fd);
				atomic_fetch_sub(&w->start.shm->slots[w->start.slot].connections, 1);
			} else {
				conn_new(w, fd, msg.type == IPC_METRICS_CONN);
			}
		} else if (msg.type == IPC_RENDERCHAN) {
			render_add_channel(&w->render, fd);
		} else if (msg.type == IPC_DRAIN) {
			conn_drain(w, "replaced by reload");
		} else if (msg.type == IPC_KEYSET) {
			install_key_set(w, fd);
			close(fd);
		}
	}
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
		if (r < 0 && errno == EPROTO) {
			log_error("malformed message from master");
			return;
		}
		epoll_ctl(epfd, EPOLL_CTL_DEL, w->start.channel_fd, NULL);
		conn_drain(w, "master went away");
	}
}

/* Start-up before the loop: signals, epoll, the database and renderer
 * clients, then the sandbox (last: /proc/self/statm and the database
 * socket are open by then). Returns the signalfd. */
static int worker_start_up(struct worker_ctx *w)
{
	struct epoll_event ev = { .events = EPOLLIN };
	enum log_level lvl;
	char err[256];
	sigset_t mask;
	int sfd;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	prctl(PR_SET_NAME, "mcpi-worker");
	tls_keymgr_attach(w->start.keymgr_fd);
	log_init("worker", LOG_INFO);
	if (log_level_parse(w->start.cfg->log_level, &lvl) == 0)
		log_set_level(lvl);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || epfd < 0)
		fatal("worker: epoll/signalfd: %s", strerror(errno));
	ev.data.ptr = TAG_CHANNEL;
	epoll_ctl(epfd, EPOLL_CTL_ADD, w->start.channel_fd, &ev);
	ev.data.ptr = TAG_SIGNAL;
	epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);

	db_init(&w->db, w->start.cfg->database_url, w->start.cfg->request_timeout_ms);
	w->db.unnamed = strcmp(w->start.cfg->database_statements, "unnamed") == 0;
	render_init(&w->render, epfd, w->start.cfg->render_queue, w->start.cfg->render_timeout_ms);
	w->db.up = &w->start.shm->slots[w->start.slot].database_up;
	w->db.round_trip_hist = &w->start.shm->db_round_trip;
	/* A database that refuses us (wrong database, role or password, schema
	 * not migrated) is a configuration error: exit, and the master stops
	 * the server after repeated failures. A database that is merely down
	 * is an outage: serve, answer DATABASE_UNAVAILABLE (retryable), and
	 * reconnect on demand. */
	if (db_connect(&w->db) < 0) {
		if (w->db.refused)
			_exit(3);
		log_warn("database unavailable at start-up; serving and reconnecting on demand");
	}
	conn_init(w, epfd);
	db_attach(&w->db, epfd, TAG_DATABASE);
	publish_usage(w); /* opens /proc/self/statm before the sandbox */
	if (sandbox_enter(SANDBOX_WORKER, err, sizeof(err)) < 0)
		fatal("worker: %s", err);
	sandbox_test_hook(SANDBOX_WORKER);
	atomic_store(&w->start.shm->slots[w->start.slot].pid, (int)getpid());
	atomic_store(&w->start.shm->slots[w->start.slot].state, SLOT_READY);
	if (ipc_send(w->start.channel_fd, IPC_READY, -1) < 0)
		fatal("worker: cannot report ready: %s", strerror(errno));
	return sfd;
}

/* One event from epoll, to whoever owns its descriptor. */
static void dispatch_event(struct worker_ctx *w, int sfd, const struct epoll_event *e)
{
	void *tag = e->data.ptr;

	if (tag == TAG_CHANNEL) {
		on_channel(w);
	} else if (tag == TAG_SIGNAL) {
		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof(si)) == sizeof(si))
			if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
				conn_drain(w, "signal");
	} else if (tag == TAG_DATABASE) {
		db_on_io(&w->db, e->events);
	} else if ((intptr_t)tag >= RENDER_TAG_BASE && (intptr_t)tag < RENDER_TAG_BASE + RENDER_MAX_CHANNELS) {
		render_on_io(&w->render, (int)((intptr_t)tag - RENDER_TAG_BASE), e->events);
	} else {
		conn_event(w, tag);
	}
}

void worker_main(const struct worker_start *start)
{
	static struct worker_ctx ctx;
	struct worker_ctx *w = &ctx;
	struct epoll_event events[64];
	int sfd;

	w->start = *start;
	worker_ctx_metadata_url(w);
	sfd = worker_start_up(w);
	for (;;) {
		int n = epoll_wait(epfd, events, 64, SWEEP_MS);
		if (n < 0 && errno != EINTR)
			fatal("worker: epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++)
			dispatch_event(w, sfd, &events[i]);
		db_tick(&w->db, limiter_now_ns());
		render_tick(&w->render, limiter_now_ns());
		publish_db_stats(w);
		publish_render_stats(w);
		publish_usage(w);
		conn_sweep(w);
		conn_bury();
		if (!conn_draining())
			maintenance(w);
		if (conn_drained(limiter_now_ns())) {
			conn_close_all(w);
			db_close(&w->db);
			render_close(&w->render);
			check_leaks();
			_exit(0);
		}
	}
}
