/*
 * conn.h - a worker's client connections: each moves HANDSHAKE -> READ ->
 * [WAIT] -> WRITE -> READ ..., or ends in a lingering close after a
 * refusal. The worker's loop (worker.c) hands them their events and sweeps
 * their deadlines. Runs in each worker after fork.
 */
#ifndef MCPI_CONN_H
#define MCPI_CONN_H

struct worker_ctx;

/* Once, before the loop: the worker (for callbacks from the database and
 * renderer layers) and its epoll descriptor. */
void conn_init(struct worker_ctx *w, int loop_fd);
/* A client socket from the master (takes fd). */
void conn_new(struct worker_ctx *w, int fd, int from_metrics);
/* An epoll event whose data was a connection. */
void conn_event(struct worker_ctx *w, void *tag);
/* Deadlines: handshake, head, body, idle, lingering, per-address refusals. */
void conn_sweep(struct worker_ctx *w);
/* Frees the connections closed during the last batch of events. */
void conn_bury(void);
/* Stops taking requests: idle connections close, requests in progress finish. */
void conn_drain(struct worker_ctx *w, const char *why);
int conn_draining(void);
/* Draining and done: no connection left, or shutdown_timeout_s passed. */
int conn_drained(long long now);
/* Closes every connection (dropping requests still waiting). */
void conn_close_all(struct worker_ctx *w);

#endif
