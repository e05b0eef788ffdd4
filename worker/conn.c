/*
 * conn.c - a worker's client connections (see conn.h): keep-alive TLS
 * connections handed over by the master, read, answered and closed inside
 * the worker's epoll loop (worker.c). Runs in each worker after fork.
 *
 * A connection moves HANDSHAKE -> READ -> [WAIT] -> WRITE -> READ ... Reads
 * are bounded (16 KiB head, max_body_bytes body, worker_body_budget_bytes
 * over all connections), deadlines are swept four times a second
 * (header_timeout_s for the TLS handshake and first request head from
 * accept, request_timeout_ms more for a body, idle_timeout_s between
 * keep-alive requests). A request that needs the database is suspended in
 * WAIT, its connection parked, until db.c calls back with the answer (or
 * the deadline passes); the loop never blocks on the database. A tool
 * that returns a PDF then waits, the same way, for a renderer (render.c). Near
 * worker_connections the oldest idle connections are closed first.
 *
 * A refusal that closes the connection (413, 401 from the head, ...) is
 * followed by a lingering close (LINGER): the client may still be sending
 * its body, and closing with its bytes unread would make the kernel answer
 * them with a reset that destroys the refusal. A connection over
 * max_connections_per_ip is not dropped but answered 429 with Retry-After,
 * within PER_IP_REFUSAL_NS of accept and reading little (conn_new).
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/lib/log.h"
#include "shm/limiter.h"
#include "shm/peer_limit.h"
#include "worker/access_log.h"
#include "worker/admission.h"
#include "worker/conn.h"
#include "worker/core/worker_ctx.h"
#include "worker/metrics.h"
#include "worker/request.h"

enum conn_state { C_HANDSHAKE, C_READ, C_WAIT, C_WRITE, C_LINGER };

/* A connection over max_connections_per_ip gets this long from accept for
 * its TLS handshake, request, 429 and a lingering close of at most
 * PER_IP_REFUSAL_LINGER_BYTES (3 s let queued handshakes end in resets). */
#define PER_IP_REFUSAL_NS 10000000000LL
#define PER_IP_REFUSAL_LINGER_BYTES 65536

struct conn {
	int fd;
	SSL *ssl;
	enum conn_state state;
	unsigned events;
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_pos;
	int keep_alive;
	long long started_ns; /* first byte of the current request (or accept) */
	long long idle_since_ns;
	long long accepted_ns;
	unsigned long served;  /* responses sent on this connection */
	uint64_t peer_key;     /* hash of the client address (max_connections_per_ip) */
	int over_limit;        /* not counted in peer_limit: answered 429, then closed */
	int linger;            /* the answer is a refusal: close by lingering (C_LINGER) */
	long long linger_until_ns, linger_last_read_ns;
	size_t linger_bytes_left;
	/* Reusable connections (handshaking, or waiting for a request) in the
	 * order they became so: the oldest is closed first when this worker
	 * nears worker_connections, the way nginx reuses its connections. */
	struct conn *reuse_prev, *reuse_next;
	int reusable;
	int closed;             /* freed after the current batch of events */
	/* The request being read: its head is parsed once (req points into
	 * in[] and is re-parsed only when in[] moves), and the head's
	 * admission verdict is kept while the body arrives. */
	struct http_request req;
	size_t head_len;        /* 0 until the head is complete */
	struct http_chunked chunk; /* where the chunked body's decoder stands */
	int head_done;
	int prechecked;         /* request_precheck ran for the current request */
	int verified;           /* id holds the token's verified identity */
	int continued;          /* 100 Continue was sent for this request */
	int interim;            /* out holds an interim (1xx) response */
	struct auth_identity id;
	/* A request waiting for the database (C_WAIT): its response is built
	 * here when the answer comes; its bytes stay in in[] until then. */
	struct mcp_wait *wait;
	struct response resp;
	char rid[48];
	long long t0;
	size_t req_total;
	int peer;              /* REQUEST_PEER_* bits */
	struct conn *prev, *next;
};

static struct conn *conns;
static long nconns;
static struct conn *reuse_head, *reuse_tail;
static struct conn *graveyard; /* closed, not yet freed */
static int epfd = -1;            /* the worker's loop, for the connections' sockets */
static int draining;
static long long drain_deadline_ns;
static long long drain_started_ns;

/* While draining, a connection that is mid-handshake or idle gets this long
 * to show a request (the client may have sent it just before the signal). */
#define DRAIN_GRACE_NS 500000000LL

static void reuse_remove(struct conn *c)
{
	if (!c->reusable)
		return;
	if (c->reuse_prev)
		c->reuse_prev->reuse_next = c->reuse_next;
	else
		reuse_head = c->reuse_next;
	if (c->reuse_next)
		c->reuse_next->reuse_prev = c->reuse_prev;
	else
		reuse_tail = c->reuse_prev;
	c->reuse_prev = c->reuse_next = NULL;
	c->reusable = 0;
}

static void reuse_append(struct conn *c)
{
	reuse_remove(c);
	c->reuse_prev = reuse_tail;
	if (reuse_tail)
		reuse_tail->reuse_next = c;
	else
		reuse_head = c;
	reuse_tail = c;
	c->reusable = 1;
}

/* Request bytes buffered by this worker, all connections together, kept
 * within worker_body_budget_bytes (the gauge is in the shared slot). */
static long long buffered;

static void buffer_account(struct worker_ctx *w, long long delta)
{
	buffered += delta;
	atomic_store(&w->start.shm->slots[w->start.slot].buffered_bytes, buffered);
}

/* Releases the input buffer of a connection that holds no request bytes. */
static void buffer_release(struct worker_ctx *w, struct conn *c)
{
	buffer_account(w, -(long long)c->in_cap);
	free(c->in);
	c->in = NULL;
	c->in_cap = 0;
}

static void conn_close(struct worker_ctx *w, struct conn *c)
{
	if (c->wait) {
		mcp_wait_cancel(w, c->wait);
		c->wait = NULL;
	}
	request_done(w, &c->resp);
	response_reset(&c->resp);
	reuse_remove(c);
	if (!c->over_limit)
		peer_limit_leave(w->start.shm, w->start.slot, c->peer_key);
	if (c->ssl) {
		if (c->state != C_HANDSHAKE)
			SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	buffer_release(w, c);
	free(c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	/* Events for c may still follow in this epoll batch (a callback or a
	 * reclaim closed it): free it once the batch is done. */
	c->closed = 1;
	c->next = graveyard;
	graveyard = c;
	nconns--;
	atomic_fetch_sub(&w->start.shm->slots[w->start.slot].connections, 1);
}

/* Frees the connections closed during the last batch of events. */
void conn_bury(void)
{
	while (graveyard) {
		struct conn *c = graveyard;
		graveyard = c->next;
		free(c);
	}
}

static void conn_watch(struct conn *c, unsigned events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (events != c->events) {
		epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
		c->events = events;
	}
}


/* Near worker_connections (90 %), close reusable connections, oldest
 * first, so that an idle flood cannot keep a client with a request out. */
static void reclaim_idle(struct worker_ctx *w)
{
	long high = w->start.cfg->worker_connections - w->start.cfg->worker_connections / 10;

	while (nconns >= high && reuse_head) {
		atomic_fetch_add(&w->start.shm->slots[w->start.slot].reclaimed_idle, 1);
		conn_close(w, reuse_head);
	}
}

void conn_new(struct worker_ctx *w, int fd, int from_metrics)
{
	struct shm_slot *slot = &w->start.shm->slots[w->start.slot];
	struct epoll_event ev = { .events = EPOLLIN };
	struct conn *c;
	int loopback, over_limit;
	uint64_t key = admission_peer_key(fd, &loopback);

	/* max_connections_per_ip counts over all workers (peer_limit.h). A
	 * connection over it is answered, not dropped: a client that sees a
	 * reset cannot tell a limit from a fault, one that sees 429 with
	 * Retry-After retries. It costs a TLS handshake, but no more than any
	 * new connection does, for PER_IP_REFUSAL_NS at most, with no input
	 * buffer, and it does not count against the cap. */
	over_limit = peer_limit_enter(w->start.shm, w->start.slot, key, w->start.cfg->max_connections_per_ip) < 0;
	if (over_limit) {
		static long long last_log_ns;
		atomic_fetch_add(&slot->rejected_per_ip, 1);
		if (limiter_now_ns() - last_log_ns > 1000000000LL) {
			last_log_ns = limiter_now_ns();
			log_warn("answering 429 to new connections from an address over max_connections_per_ip "
			         "(%ld over all workers)", w->start.cfg->max_connections_per_ip);
		}
	}
	reclaim_idle(w);
	c = calloc(1, sizeof(*c));
	if (!c || !(c->ssl = SSL_new(w->start.tls))) {
		free(c);
		if (!over_limit)
			peer_limit_leave(w->start.shm, w->start.slot, key);
		close(fd);
		atomic_fetch_sub(&slot->connections, 1);
		return;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	SSL_set_fd(c->ssl, fd);
	c->peer = (loopback ? REQUEST_PEER_LOOPBACK : 0) | (from_metrics ? REQUEST_PEER_METRICS : 0);
	c->peer_key = key;
	c->over_limit = over_limit;
	c->fd = fd;
	c->state = C_HANDSHAKE;
	c->events = EPOLLIN;
	c->keep_alive = 1;
	c->started_ns = c->accepted_ns = limiter_now_ns();
	ev.data.ptr = c;
	epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
	c->next = conns;
	if (conns)
		conns->prev = c;
	conns = c;
	nconns++;
	reuse_append(c);
}

/* Queues a response for writing; takes the serialized bytes. */
static void conn_send(struct worker_ctx *w, struct conn *c, struct response *r,
                      const struct http_request *req, const char *rid, long long t0)
{
	struct shm_slot *slot = &w->start.shm->slots[w->start.slot];

	/* Stopping (the master's flag, maybe before this worker's drain notice): close. */
	if (r->close || draining || atomic_load(&w->start.shm->stopping))
		c->keep_alive = 0;
	c->out = response_serialize(r, rid, c->keep_alive, &c->out_len);
	c->out_pos = 0;
	c->state = C_WRITE;
	if (!r->unmetered) {
		long long us = (limiter_now_ns() - t0) / 1000;
		atomic_fetch_add(&slot->requests, 1);
		shm_record_duration(slot, us);
		metrics_observe(w, r, us);
		if (r->status >= 500 && r->status != 503)
			atomic_fetch_add(&slot->errors, 1);
	}
	access_log_write(req, r, rid, limiter_now_ns() - t0);
}

/* Forgets the request that was just answered or refused. */
static void conn_request_done(struct conn *c)
{
	c->head_len = 0;
	c->head_done = 0;
	c->prechecked = 0;
	c->verified = 0;
	c->continued = 0;
	memset(&c->chunk, 0, sizeof(c->chunk));
}

/* An HTTP-level refusal before the request could be handled: sends r,
 * then closes; the request is dropped. */
static void conn_refuse_with(struct worker_ctx *w, struct conn *c, struct response *r)
{
	char rid[48];

	r->close = 1;
	c->linger = 1;
	snprintf(rid, sizeof(rid), "%d-%llu", (int)getpid(), ++w->request_seq);
	conn_send(w, c, r, NULL, rid, limiter_now_ns());
	response_reset(r);
	c->in_len = 0;
	conn_request_done(c);
}

/* The same with a plain JSON-RPC error body. */
static void conn_refuse(struct worker_ctx *w, struct conn *c, int status, const char *message)
{
	struct response r;

	response_init(&r);
	response_rpc_error(&r, status, NULL, -32600, message, NULL);
	conn_refuse_with(w, c, &r);
}

/* 429 to a connection over max_connections_per_ip, once its first request
 * bytes have come (they are not parsed): the client retries. */
static void too_many_connections(struct worker_ctx *w, struct conn *c)
{
	struct response r;
	char msg[160];

	snprintf(msg, sizeof(msg), "Too many connections from your address (max_connections_per_ip = %ld); "
	         "retry after retry_after_ms", w->start.cfg->max_connections_per_ip);
	response_init(&r);
	response_header(&r, "Retry-After: 1");
	response_rpc_error(&r, 429, NULL, -32000, msg,
	                   "{\"code\":\"RATE_LIMITED\",\"retryable\":true,\"retry_after_ms\":1000}");
	conn_refuse_with(w, c, &r);
}

/* 503 when the worker's buffer budget is spent: the client retries. */
static void budget_spent(struct worker_ctx *w, struct conn *c)
{
	struct response r;

	atomic_fetch_add(&w->start.shm->slots[w->start.slot].rejected_budget, 1);
	response_init(&r);
	response_header(&r, "Retry-After: 1");
	response_rpc_error(&r, 503, NULL, -32000, "Overloaded: this worker holds too many request "
	                   "bodies; retry after retry_after_ms",
	                   "{\"code\":\"OVERLOADED\",\"retryable\":true,\"retry_after_ms\":1000}");
	conn_refuse_with(w, c, &r);
}

static void too_large(struct worker_ctx *w, struct conn *c)
{
	char msg[96];

	snprintf(msg, sizeof(msg), "Request body too large (limit %ld bytes)", w->start.cfg->max_body_bytes);
	conn_refuse(w, c, 413, msg);
}

/* Grows c->in to want bytes: 0, -1 out of memory, -2 over the budget. */
static int ensure_capacity(struct worker_ctx *w, struct conn *c, size_t want)
{
	char *p;

	if (c->in_cap >= want)
		return 0;
	if (buffered + (long long)(want - c->in_cap) > w->start.cfg->worker_body_budget_bytes)
		return -2;
	p = realloc(c->in, want);
	if (!p)
		return -1;
	buffer_account(w, (long long)(want - c->in_cap));
	c->in = p;
	c->in_cap = want;
	/* The parsed head points into the old buffer: parse it again there
	 * (rare: the buffer grows by doubling). */
	if (c->head_len) {
		http_parse_request(c->in, c->head_len, &c->req);
		http_request_semantics(&c->req);
	}
	return 0;
}

/* Parses the head at the front of c->in once. Returns 1 when c->req is
 * ready, 0 when more bytes are needed, -1 when a refusal was queued. */
static int conn_parse_head(struct worker_ctx *w, struct conn *c)
{
	int head;

	if (c->head_len)
		return 1;
	head = http_parse_request(c->in, c->in_len, &c->req);
	if (head == HTTP_PARTIAL)
		return 0;
	if (head == HTTP_TOO_LARGE) {
		conn_refuse(w, c, 431, "Request header fields too large (limit 16 KiB)");
		return -1;
	}
	if (head == HTTP_ERROR) {
		conn_refuse(w, c, 400, "Bad Request: malformed HTTP request");
		return -1;
	}
	if (http_request_semantics(&c->req) < 0) {
		char msg[160];
		snprintf(msg, sizeof(msg), "Bad Request: %s", c->req.error);
		conn_refuse(w, c, 400, msg);
		return -1;
	}
	c->head_len = (size_t)head;
	c->head_done = 1;
	if (c->req.chunked == 2) {
		conn_refuse(w, c, 501, "Transfer-Encoding other than chunked is not supported");
		return -1;
	}
	if (c->req.content_length < 0 && !c->req.chunked && c->req.method_len == 4 &&
	    memcmp(c->req.method, "POST", 4) == 0) {
		conn_refuse(w, c, 411, "Content-Length or Transfer-Encoding: chunked is required");
		return -1;
	}
	if (c->req.content_length > w->start.cfg->max_body_bytes) {
		too_large(w, c);
		return -1;
	}
	if (c->req.expect == 2) {
		conn_refuse(w, c, 417, "Expectation Failed: only Expect: 100-continue is supported");
		return -1;
	}
	return 1;
}

/* The head is here but the body is not: answer at once when the head
 * settles the request (request_precheck), else keep its verdict and make
 * room for the body. Returns 1 if a response was queued. */
static int conn_precheck(struct worker_ctx *w, struct conn *c, size_t total)
{
	struct response r;
	char rid[48];
	long long t0;
	int rc;

	if (!c->prechecked) {
		c->prechecked = 1;
		t0 = limiter_now_ns();
		snprintf(rid, sizeof(rid), "%d-%llu", (int)getpid(), ++w->request_seq);
		response_init(&r);
		if (request_precheck(w, &c->req, rid, c->peer, &r, &c->id)) {
			r.close = 1; /* the body was not read */
			c->linger = 1;
			conn_send(w, c, &r, &c->req, rid, t0);
			response_reset(&r);
			c->in_len = 0;
			conn_request_done(c);
			return 1;
		}
		c->verified = 1;
		response_reset(&r);
	}
	if (!c->req.chunked && (rc = ensure_capacity(w, c, total + 1)) < 0) {
		if (rc == -2)
			budget_spent(w, c);
		else
			conn_refuse(w, c, 503, "Out of memory");
		return 1;
	}
	/* The head passed every check: invite the body the client holds back
	 * (RFC 9110 10.1.1), once, and only if none of it has come yet. */
	if (c->req.expect == 1 && !c->continued && c->in_len == c->head_len) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		c->continued = 1;
		if (!(c->out = strdup(cont)))
			fatal("out of memory");
		c->out_len = sizeof(cont) - 1;
		c->out_pos = 0;
		c->interim = 1;
		c->state = C_WRITE;
		return 1;
	}
	return 0;
}

/* The response in c->resp is complete: queue it, give back the request's
 * admission, and move past its bytes. */
static void conn_answer(struct worker_ctx *w, struct conn *c)
{
	conn_send(w, c, &c->resp, &c->req, c->rid, c->t0);
	request_done(w, &c->resp);
	response_reset(&c->resp);
	memmove(c->in, c->in + c->req_total, c->in_len - c->req_total);
	c->in_len -= c->req_total;
	conn_request_done(c);
	/* An idle keep-alive connection keeps no buffer (conn_read). */
	if (c->in_len == 0 && c->in)
		buffer_release(w, c);
	c->started_ns = limiter_now_ns();
}

static void conn_run(struct worker_ctx *w, struct conn *c);
static struct worker_ctx *self; /* this worker, for callbacks from the database layer */

/* The database answered a suspended request: send it and go on. */
static void conn_resume(void *owner)
{
	struct conn *c = owner;

	c->wait = NULL;
	conn_answer(self, c);
	conn_run(self, c);
}

/* Handles the request at the front of c->in if complete. Returns 1 if a
 * response was queued, 0 if more bytes are needed. */
static int conn_process(struct worker_ctx *w, struct conn *c)
{
	size_t total, body_len;
	int complete, ready;

	if (c->in_len == 0)
		return 0;
	ready = conn_parse_head(w, c);
	if (ready <= 0)
		return ready < 0;
	body_len = (size_t)(c->req.content_length > 0 ? c->req.content_length : 0);
	total = c->head_len + body_len;
	complete = c->in_len >= total;
	if (c->req.chunked) {
		long wire = http_chunked_feed(&c->chunk, c->in + c->head_len, c->in_len - c->head_len,
		                              (size_t)w->start.cfg->max_body_bytes);
		if (wire == HTTP_ERROR) {
			char msg[256];
			snprintf(msg, sizeof(msg), "Bad Request: %s", c->chunk.error);
			conn_refuse(w, c, 400, msg);
			return 1;
		}
		if (wire == HTTP_TOO_LARGE) {
			too_large(w, c);
			return 1;
		}
		complete = wire > 0;
		if (complete) {
			body_len = c->chunk.out;
			total = c->head_len + (size_t)wire;
		}
	}
	if (!complete)
		return conn_precheck(w, c, total);

	c->t0 = limiter_now_ns();
	snprintf(c->rid, sizeof(c->rid), "%d-%llu", (int)getpid(), ++w->request_seq);
	response_init(&c->resp);
	c->resp.close = !c->req.keep_alive;
	c->req_total = total;
	c->wait = request_handle(w, &c->req, c->in + c->head_len, body_len, c->rid, c->peer,
	                         c->verified ? &c->id : NULL, &c->resp, conn_resume, c);
	if (c->wait) {
		/* Suspended until the database answers (conn_resume); nothing
		 * more is read meanwhile. */
		c->state = C_WAIT;
		conn_watch(c, 0);
		return 1;
	}
	conn_answer(w, c);
	return 1;
}

/* The step functions return STEP_WAIT (wait for epoll), STEP_NEXT (state
 * changed: run the next step) or STEP_CLOSED (c is freed). conn_run loops
 * instead of recursing, so pipelined requests cannot deepen the stack. */
enum step { STEP_WAIT, STEP_NEXT, STEP_CLOSED };

static enum step ssl_wait(struct worker_ctx *w, struct conn *c, int n)
{
	int err = SSL_get_error(c->ssl, n);

	if (err == SSL_ERROR_WANT_READ) {
		conn_watch(c, EPOLLIN);
		return STEP_WAIT;
	}
	if (err == SSL_ERROR_WANT_WRITE) {
		conn_watch(c, EPOLLOUT);
		return STEP_WAIT;
	}
	conn_close(w, c);
	return STEP_CLOSED;
}

/* A connection with no request bytes has no input buffer, so idle
 * keep-alive and freshly handshaken connections hold none of
 * worker_body_budget_bytes: a request's first bytes are read here (one
 * TLS record at most) and copied into a buffer of its own. The worker is
 * single-threaded, so one scratch area serves every connection. */
#define FIRST_BUFFER 16384
static char first_read[FIRST_BUFFER - 1];

/* Grows c->in when less than 4 KiB is free (doubling, up to limit), or
 * refuses the request when it is full. 0, or the step to return. */
static int conn_make_room(struct worker_ctx *w, struct conn *c, size_t limit, enum step *step)
{
	if (c->in_cap - c->in_len < 4096 && c->in_cap < limit + 1) {
		size_t want = c->in_cap * 2;
		int rc = ensure_capacity(w, c, want < limit + 1 ? want : limit + 1);
		if (rc == -2) {
			budget_spent(w, c);
			*step = STEP_NEXT;
			return -1;
		}
		if (rc < 0) {
			conn_close(w, c);
			*step = STEP_CLOSED;
			return -1;
		}
	}
	if (c->in_len >= c->in_cap - 1) {
		/* Buffer full and still no complete request. */
		conn_refuse(w, c, c->head_done ? 413 : 431, "Request too large");
		*step = STEP_NEXT;
		return -1;
	}
	return 0;
}

static enum step conn_read(struct worker_ctx *w, struct conn *c)
{
	size_t limit = HTTP_MAX_HEAD_BYTES + (size_t)w->start.cfg->max_body_bytes + 1;
	enum step step;

	if (conn_process(w, c))
		return STEP_NEXT;
	for (;;) {
		int n, rc;

		if (c->in && conn_make_room(w, c, limit, &step) < 0)
			return step;
		ERR_clear_error();
		n = c->in ? SSL_read(c->ssl, c->in + c->in_len, (int)(c->in_cap - c->in_len - 1))
		          : SSL_read(c->ssl, first_read, (int)sizeof(first_read));
		if (n <= 0)
			return ssl_wait(w, c, n);
		if (c->over_limit) {
			reuse_remove(c);
			too_many_connections(w, c);
			return STEP_NEXT;
		}
		if (!c->in) {
			if ((rc = ensure_capacity(w, c, FIRST_BUFFER)) < 0) {
				if (rc == -2) {
					budget_spent(w, c);
					return STEP_NEXT;
				}
				conn_close(w, c);
				return STEP_CLOSED;
			}
			memcpy(c->in, first_read, (size_t)n);
		}
		if (c->in_len == 0 && !c->head_done && c->served)
			c->started_ns = limiter_now_ns();
		reuse_remove(c);
		c->in_len += (size_t)n;
		c->in[c->in_len] = '\0';
		if (conn_process(w, c))
			return STEP_NEXT;
	}
}

/* Lingering close, as nginx's lingering_close: the refusal is written;
 * send close_notify and FIN, then read and discard whatever the client
 * still sends (raw, never decrypted) until it closes, or for at most
 * lingering_time_s, lingering_timeout_s between reads and 16 times
 * max_body_bytes; a connection over max_connections_per_ip gets what is
 * left of PER_IP_REFUSAL_NS and PER_IP_REFUSAL_LINGER_BYTES. A lingering
 * connection holds no TLS state and no buffer, and is reclaimable. */
static enum step conn_linger_start(struct worker_ctx *w, struct conn *c)
{
	long long now = limiter_now_ns();

	if (w->start.cfg->lingering_time_s == 0) {
		conn_close(w, c);
		return STEP_CLOSED;
	}
	ERR_clear_error();
	SSL_shutdown(c->ssl); /* best effort: a full socket buffer loses only close_notify */
	SSL_free(c->ssl);
	c->ssl = NULL;
	shutdown(c->fd, SHUT_WR);
	if (c->in)
		buffer_release(w, c);
	c->in_len = 0;
	c->state = C_LINGER;
	c->linger_last_read_ns = now;
	if (c->over_limit) {
		c->linger_until_ns = c->accepted_ns + PER_IP_REFUSAL_NS;
		c->linger_bytes_left = PER_IP_REFUSAL_LINGER_BYTES;
	} else {
		c->linger_until_ns = now + w->start.cfg->lingering_time_s * 1000000000LL;
		c->linger_bytes_left = 16 * (size_t)w->start.cfg->max_body_bytes;
	}
	reuse_append(c);
	conn_watch(c, EPOLLIN);
	return STEP_NEXT;
}

static enum step conn_linger(struct worker_ctx *w, struct conn *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, first_read, sizeof(first_read), 0);
		if (n > 0 && (size_t)n < c->linger_bytes_left) {
			c->linger_bytes_left -= (size_t)n;
			c->linger_last_read_ns = limiter_now_ns();
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return STEP_WAIT;
		/* The client closed, failed, or sent more than the bound. */
		conn_close(w, c);
		return STEP_CLOSED;
	}
}

static enum step conn_write(struct worker_ctx *w, struct conn *c)
{
	while (c->out_pos < c->out_len) {
		int n;
		ERR_clear_error();
		n = SSL_write(c->ssl, c->out + c->out_pos, (int)(c->out_len - c->out_pos));
		if (n <= 0)
			return ssl_wait(w, c, n);
		c->out_pos += (size_t)n;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_pos = 0;
	if (c->interim) {
		/* 100 Continue sent: back to reading the same request's body. */
		c->interim = 0;
		c->state = C_READ;
		conn_watch(c, EPOLLIN);
		return STEP_NEXT;
	}
	if (!c->keep_alive) {
		if (c->linger)
			return conn_linger_start(w, c);
		conn_close(w, c);
		return STEP_CLOSED;
	}
	c->state = C_READ;
	c->served++;
	c->idle_since_ns = limiter_now_ns();
	if (c->in_len == 0)
		reuse_append(c);
	conn_watch(c, EPOLLIN);
	return STEP_NEXT;
}

static enum step conn_handshake(struct worker_ctx *w, struct conn *c)
{
	int n;

	ERR_clear_error();
	n = SSL_accept(c->ssl);
	if (n != 1)
		return ssl_wait(w, c, n);
	c->state = C_READ;
	c->idle_since_ns = limiter_now_ns();
	return STEP_NEXT;
}

static void conn_run(struct worker_ctx *w, struct conn *c)
{
	enum step st;

	do {
		switch (c->state) {
		case C_HANDSHAKE:
			st = conn_handshake(w, c);
			break;
		case C_READ:
			st = conn_read(w, c);
			break;
		case C_WAIT:
			st = STEP_WAIT; /* the database's answer resumes it */
			break;
		case C_LINGER:
			st = conn_linger(w, c);
			break;
		default:
			st = conn_write(w, c);
			break;
		}
	} while (st == STEP_NEXT);
}

void conn_sweep(struct worker_ctx *w)
{
	long long now = limiter_now_ns();
	long long body_ns = (long long)w->start.cfg->request_timeout_ms * 1000000LL;
	long long head_ns = w->start.cfg->header_timeout_s * 1000000000LL;
	long long idle_ns = w->start.cfg->idle_timeout_s * 1000000000LL;
	long long linger_quiet_ns = w->start.cfg->lingering_timeout_s * 1000000000LL;
	struct conn *c, *next;

	for (c = conns; c; c = next) {
		next = c->next;
		if (c->over_limit && now - c->accepted_ns > PER_IP_REFUSAL_NS) {
			conn_close(w, c);
		} else if (c->state == C_LINGER) {
			if (now > c->linger_until_ns || now - c->linger_last_read_ns > linger_quiet_ns)
				conn_close(w, c);
		} else if (c->state == C_HANDSHAKE) {
			if (now - c->started_ns > head_ns ||
			    (draining && now - drain_started_ns > 2 * DRAIN_GRACE_NS))
				conn_close(w, c);
		} else if (c->state == C_READ) {
			int idle = c->in_len == 0 && !c->head_done;
			long long quiet_since = c->idle_since_ns > drain_started_ns ? c->idle_since_ns
			                                                            : drain_started_ns;
			/* The first request's head is due header_timeout_s after
			 * accept; later ones may wait idle_timeout_s. */
			if (idle && ((draining && now - quiet_since > DRAIN_GRACE_NS) ||
			             (!c->served && now - c->accepted_ns > head_ns) ||
			             now - c->idle_since_ns > idle_ns)) {
				conn_close(w, c);
			} else if (!idle && ((!c->head_done && now - c->started_ns > head_ns) ||
			                     (c->head_done && now - c->started_ns > head_ns + body_ns))) {
				conn_refuse(w, c, 408, "Request Timeout: the request did not arrive in time");
				conn_run(w, c);
			}
		} else if (c->state == C_WRITE && now - c->idle_since_ns > idle_ns &&
		           now - c->started_ns > idle_ns) {
			/* A client that stopped reading its response. */
			conn_close(w, c);
		}
	}
}

void conn_drain(struct worker_ctx *w, const char *why)
{
	if (draining)
		return;
	draining = 1;
	drain_started_ns = limiter_now_ns();
	drain_deadline_ns = drain_started_ns + (long long)w->start.cfg->shutdown_timeout_s * 1000000000LL;
	atomic_store(&w->start.shm->slots[w->start.slot].state, SLOT_DRAINING);
	log_info("draining (%s): %ld connections open", why, nconns);
}

void conn_init(struct worker_ctx *w, int loop_fd)
{
	self = w;
	epfd = loop_fd;
}

void conn_event(struct worker_ctx *w, void *tag)
{
	struct conn *c = tag;

	if (c->closed)
		return;
	if (c->state == C_WAIT)
		conn_close(w, c); /* parked: only a hang-up or error is reported; the client is gone */
	else
		conn_run(w, c);
}

int conn_draining(void)
{
	return draining;
}

int conn_drained(long long now)
{
	return draining && (nconns == 0 || now > drain_deadline_ns);
}

void conn_close_all(struct worker_ctx *w)
{
	log_info("exiting: %ld connections left", nconns);
	while (conns)
		conn_close(w, conns); /* also drops requests still waiting */
	conn_bury();
}
