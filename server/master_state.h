/*
 * master_state.h - the master process's state, shared by the parts of the
 * master: master.c (generations of workers, key managers, signals, the
 * loop), renderers.c (the PDF renderer processes) and listen.c (sockets
 * and descriptor limits). Runs only in the master.
 */
#ifndef MCPI_MASTER_STATE_H
#define MCPI_MASTER_STATE_H

#include <openssl/ssl.h>
#include <sys/types.h>

#include "server/auth/auth.h"
#include "server/auth/cursor.h"
#include "server/proc/config.h"
#include "shm/shm.h"

#define TAG_LISTEN 0xfffffff0u
#define TAG_SIGNAL 0xfffffff1u
#define TAG_METRICS_LISTEN 0xfffffff2u
#define TAG_JWKS 0xfffffff3u
#define TAG_RENDER_BASE 0xffff0000u /* + renderer index */
#define MAX_RENDERERS 16
#if defined(MCPI_TEST_HOOKS)
#define RENDERER_BINARY "mcp-invoiced-render-san" /* the tests' sanitizer renderer */
#define JWKS_BINARY "mcp-invoiced-jwks-san"
#else
#define RENDERER_BINARY "mcp-invoiced-render"
#define JWKS_BINARY "mcp-invoiced-jwks"
#endif

struct worker_rec {
	pid_t pid;
	int slot;
	int chan;
	int ready;
	int draining;
	unsigned generation;
};

/* A renderer process (render/renderer.c): its own binary, executed with
 * an empty environment, so it inherits nothing of the master's memory. */
struct renderer_rec {
	pid_t pid;
	int chan;
	int ready;
};

/* The JWKS fetcher process (jwks/fetcher.c, a binary of its own) and when
 * to ask it for a fetch (server/jwks.c). */
struct jwks_rec {
	pid_t pid;
	int chan;
	int exe;                   /* the fetcher binary, opened O_PATH at start-up (fexecve) */
	char path[4096];
	int ready;
	int busy;                  /* a fetch asked and not answered */
	int wanted;                /* a worker saw an unknown kid: fetch once the cooldown allows */
	long long last_fetch_ns;   /* when the last fetch was asked */
	long long next_fetch_ns;   /* the next periodic fetch (or retry after a failure) */
	long long respawn_at_ns;
	int failures;              /* fetchers that died before ready, in a row */
};

struct master {
	struct config cfg;
	const char *cfg_path;
	int listen_fd;
	int metrics_fd;          /* metrics_listen, or -1 */
	int epfd;
	int sfd;
	int accepting;
	struct shm_segment *shm;
	SSL_CTX *tls;
	pid_t keymgr_pid;        /* this generation's key manager */
	int keymgr_chan;
	pid_t old_keymgrs[16];   /* earlier generations', exiting with their workers */
	struct auth_keys keys;
	struct jwks_rec jwks;
	struct cursor_key cursor_key;
	struct worker_rec workers[SHM_MAX_SLOTS];
	struct renderer_rec renderers[MAX_RENDERERS];
	int render_exe;          /* the renderer binary, opened O_PATH at start-up (fexecve) */
	char render_path[4096];
	int render_failures;     /* renderers that died before they were ready, in a row */
	long long render_respawn_at_ns;
	unsigned generation;
	int reloading;
	int ready_notified;
	int stopping;
	int exit_status;
	long long stop_deadline_ns;
	int startup_failures;
	long long respawn_at_ns;
	long long next_watchdog_ns;
	long watchdog_ms;
};

/* A channel and a fork for a child process: in the child returns 0 with
 * sv[1] its end (the master's descriptors closed), in the master the
 * child's pid with sv[0] its end; -1 on failure (logged). */
pid_t master_fork_child(struct master *m, int sv[2]);
/* The child on chan reported ready (1), or not yet (0). */
int master_child_ready(struct master *m, int chan);

/* listen.c */
int master_bind_listener(const char *listen_addr, char *err, size_t errlen);
int master_raise_fd_limit(const struct config *cfg, char *err, size_t errlen);

/* renderers.c */
int renderers_open(struct master *m);
int renderers_spawn(struct master *m, int r, int wait);
void renderers_connect(struct master *m, int w, int r);
void renderers_on_channel(struct master *m, int r);
int renderers_reap(struct master *m, pid_t pid, const char *how);
int renderers_live(struct master *m);
void renderers_respawn(struct master *m);

/* jwks.c */
int jwks_open(struct master *m);
int jwks_start(struct master *m);
void jwks_on_channel(struct master *m);
void jwks_want(struct master *m);
int jwks_reap(struct master *m, pid_t pid, const char *how);
void jwks_tick(struct master *m, long long now_ns);
void jwks_reloaded(struct master *m, const struct config *old);
int jwks_live(struct master *m);
void jwks_stop(struct master *m);

#endif
