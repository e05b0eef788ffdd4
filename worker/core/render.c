/*
 * render.c - the worker's renderer channels and document queue (see
 * render.h). Runs only in workers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "server/lib/clock.h"
#include "server/lib/fnv.h"
#include "server/lib/log.h"
#include "server/proto/render_proto.h"
#include "worker/core/render.h"

void render_init(struct render_pool *rp, int epfd, long max_jobs, long timeout_ms)
{
	memset(rp, 0, sizeof(*rp));
	rp->epfd = epfd;
	rp->max_jobs = max_jobs;
	/* A renderer ends itself at its budget; the worker waits a little
	 * longer so that case is reported as the renderer's failure. */
	rp->timeout_ns = (timeout_ms + 1000) * 1000000LL;
	for (int i = 0; i < RENDER_MAX_CHANNELS; i++)
		rp->fds[i] = -1;
}

static void job_free(struct render_job *job)
{
	free(job->data);
	render_payload_free(job->pdf, job->pdf_len, 1);
	free(job);
}

struct render_job *render_job_new(int kind, char *data, size_t len, const char *tenant,
                                  long long deadline_ns, render_done_fn done, void *ctx)
{
	struct render_job *job = calloc(1, sizeof(*job));

	if (!job)
		fatal("out of memory");
	job->kind = kind;
	job->data = data;
	job->len = len;
	job->tenant_slot = (unsigned)(fnv1a64(tenant, strlen(tenant)) % RENDER_FAIR_SLOTS);
	job->deadline_ns = deadline_ns;
	job->done = done;
	job->ctx = ctx;
	return job;
}

void render_job_attach(struct render_job *job, const char *xml, size_t xml_len)
{
	char *p = realloc(job->data, job->len + xml_len + 1);

	if (!p)
		fatal("out of memory");
	memcpy(p + job->len, xml, xml_len);
	p[job->len + xml_len] = '\0';
	job->data = p;
	job->len += xml_len;
	job->attachment = xml_len;
}

/* Runs done (once) and frees the job unless it still sits in a channel. */
static void finish(struct render_pool *rp, struct render_job *job, int in_channel)
{
	if (!job->answered && job->done) {
		job->answered = 1;
		if (job->ok)
			rp->stats.rendered++;
		else
			rp->stats.failed++;
		rp->jobs--;
		job->done(job);
	} else if (!job->answered) {
		job->answered = 1;
		rp->jobs--;
	}
	if (!in_channel)
		job_free(job);
}

static void fail(struct render_pool *rp, struct render_job *job, int in_channel, const char *code,
                 int retryable, const char *msg)
{
	job->ok = 0;
	tool_error_set(&job->err, code, NULL, retryable, "%s", msg);
	finish(rp, job, in_channel);
}

static void drop_channel(struct render_pool *rp, int i);

/* Takes the next job off the queue: the oldest of the tenant served
 * longest ago, so one tenant's pile of documents is interleaved with
 * every other tenant's instead of rendered first-come first-served. */
static struct render_job *take_fair(struct render_pool *rp)
{
	struct render_job **best = NULL;

	for (struct render_job **pp = &rp->queue; *pp; pp = &(*pp)->next)
		if (!best || rp->served[(*pp)->tenant_slot] < rp->served[(*best)->tenant_slot])
			best = pp;
	if (!best)
		return NULL;
	struct render_job *job = *best;
	*best = job->next;
	rp->queue_tail = NULL;
	for (struct render_job *j = rp->queue; j; j = j->next)
		rp->queue_tail = j;
	job->next = NULL;
	rp->served[job->tenant_slot] = ++rp->served_seq;
	return job;
}

/* Sends queued jobs to idle channels. */
static void dispatch(struct render_pool *rp)
{
	for (int i = 0; i < RENDER_MAX_CHANNELS && rp->queue; i++) {
		struct render_job *job;
		struct render_msg m;
		if (rp->fds[i] < 0 || rp->busy[i])
			continue;
		job = take_fair(rp);
		memset(&m, 0, sizeof(m));
		m.type = RENDER_REQUEST;
		m.id = job->id;
		m.kind = (uint32_t)job->kind;
		m.attachment = job->attachment;
		if (render_msg_send(rp->fds[i], &m, job->data, job->len) < 0) {
			if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN) {
				/* That renderer is gone (its hang-up not yet seen):
				 * the document waits for another channel. */
				job->next = rp->queue;
				rp->queue = job;
				if (!rp->queue_tail)
					rp->queue_tail = job;
				drop_channel(rp, i);
				continue;
			}
			log_warn("cannot send a document to the renderer: %s", strerror(errno));
			fail(rp, job, 0, "RENDERER_UNAVAILABLE", 1, "the PDF renderer could not take the "
			     "document; retry shortly");
			continue;
		}
		free(job->data);
		job->data = NULL;
		rp->busy[i] = job;
		rp->cancel_sent[i] = 0;
		rp->sent_ns[i] = clock_now_ns();
	}
}

void render_add_channel(struct render_pool *rp, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };

	for (int i = 0; i < RENDER_MAX_CHANNELS; i++) {
		if (rp->fds[i] >= 0)
			continue;
		rp->fds[i] = fd;
		rp->busy[i] = NULL;
		ev.data.ptr = (void *)(intptr_t)(RENDER_TAG_BASE + i);
		epoll_ctl(rp->epfd, EPOLL_CTL_ADD, fd, &ev);
		dispatch(rp);
		return;
	}
	log_warn("more renderer channels than %d; closing one", RENDER_MAX_CHANNELS);
	close(fd);
}

int render_submit(struct render_pool *rp, struct render_job *job, struct tool_error *err)
{
	if (job->len > RENDER_MAX_INPUT) {
		/* Never sent: no retry could make it fit. */
		rp->stats.refused++;
		tool_error_set(err, "INVALID_INPUT", job->kind == DOC_STATEMENT ? "period_start" : NULL, 0,
		               "this document's data is %zu bytes, over the PDF renderer's limit of %u; %s",
		               job->len, RENDER_MAX_INPUT, job->kind == DOC_STATEMENT
		               ? "narrow the statement's period (period_start, period_end)"
		               : "split the invoice's lines over several invoices");
		job_free(job);
		return -1;
	}
	if (rp->jobs >= rp->max_jobs) {
		rp->stats.refused++;
		tool_error_set(err, "RENDERER_UNAVAILABLE", NULL, 1, "this worker already has %ld documents "
		               "waiting for the PDF renderer (render_queue); retry shortly", rp->max_jobs);
		job_free(job);
		return -1;
	}
	job->id = ++rp->next_id;
	if (!job->deadline_ns)
		job->deadline_ns = clock_now_ns() + rp->timeout_ns;
	rp->jobs++;
	if (rp->queue_tail)
		rp->queue_tail->next = job;
	else
		rp->queue = job;
	rp->queue_tail = job;
	dispatch(rp);
	return 0;
}

/* Tells channel i's renderer to stop its document (at its next page):
 * nobody waits for it any more. The reply still comes, and frees the
 * channel. */
static void cancel_in_renderer(struct render_pool *rp, int i)
{
	struct render_msg m;

	if (rp->cancel_sent[i])
		return;
	memset(&m, 0, sizeof(m));
	m.type = RENDER_CANCEL;
	m.id = rp->busy[i]->id;
	if (render_msg_send(rp->fds[i], &m, NULL, 0) == 0) {
		rp->cancel_sent[i] = 1;
		rp->stats.cancelled++;
	}
}

void render_abandon(struct render_pool *rp, struct render_job *job)
{
	struct render_job **pp;

	for (int i = 0; i < RENDER_MAX_CHANNELS; i++) {
		if (rp->busy[i] == job) {
			job->done = NULL; /* freed when its reply (or the renderer's end) comes */
			if (!job->answered) {
				job->answered = 1;
				rp->jobs--;
			}
			cancel_in_renderer(rp, i);
			return;
		}
	}
	for (pp = &rp->queue; *pp; pp = &(*pp)->next) {
		if (*pp == job) {
			*pp = job->next;
			if (rp->queue_tail == job) {
				rp->queue_tail = NULL;
				for (struct render_job *j = rp->queue; j; j = j->next)
					rp->queue_tail = j;
			}
			rp->jobs--;
			job_free(job);
			return;
		}
	}
}

static void drop_channel(struct render_pool *rp, int i)
{
	struct render_job *job = rp->busy[i];

	epoll_ctl(rp->epfd, EPOLL_CTL_DEL, rp->fds[i], NULL);
	close(rp->fds[i]);
	rp->fds[i] = -1;
	rp->busy[i] = NULL;
	if (job)
		fail(rp, job, 0, "RENDERER_UNAVAILABLE", 1, "the PDF renderer stopped while rendering this "
		     "document (a new one is starting); retry");
}

void render_on_io(struct render_pool *rp, int i, unsigned events)
{
	struct render_msg m;
	unsigned char *pdf;
	size_t len;
	int r;

	if (i < 0 || i >= RENDER_MAX_CHANNELS || rp->fds[i] < 0)
		return;
	while ((r = render_msg_recv(rp->fds[i], RENDER_REPLY, RENDER_MAX_OUTPUT, 1, &m, &pdf, &len)) == 1) {
		struct render_job *job = rp->busy[i];
		if (!job) {
			log_warn("a renderer reply for no waiting document was dropped");
			render_payload_free(pdf, len, 1);
			continue;
		}
		if (m.id != job->id) {
			/* A renderer answers its channel's one request: a reply that
			 * names another (or none) still ends this one. */
			log_warn("the renderer answered request %u for document %u: %s", m.id, job->id,
			         m.status == 0 ? "a PDF" : m.error);
			m.status = -1;
		}
		rp->busy[i] = NULL;
		rp->stats.busy_ns += clock_now_ns() - rp->sent_ns[i];
		if (m.status == 0 && pdf) {
			job->ok = 1;
			job->pdf = pdf;
			job->pdf_len = len;
			job->pages = (int)m.pages;
			finish(rp, job, 0);
		} else {
			render_payload_free(pdf, len, 1);
			log_error("the renderer refused a document: %s", m.error);
			fail(rp, job, 0, "INTERNAL", 0, "the PDF renderer refused the document");
		}
	}
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) || (events & (EPOLLHUP | EPOLLERR)))
		drop_channel(rp, i);
	dispatch(rp);
}

void render_tick(struct render_pool *rp, long long now_ns)
{
	struct render_job **pp = &rp->queue;

	while (*pp) {
		struct render_job *job = *pp;
		if (now_ns < job->deadline_ns) {
			pp = &job->next;
			continue;
		}
		*pp = job->next;
		rp->stats.timeouts++;
		fail(rp, job, 0, "TIMEOUT", 1, "no PDF renderer became free in time; retry later");
	}
	rp->queue_tail = NULL;
	for (struct render_job *j = rp->queue; j; j = j->next)
		rp->queue_tail = j;
	for (int i = 0; i < RENDER_MAX_CHANNELS; i++) {
		struct render_job *job = rp->busy[i];
		if (!job || job->answered)
			continue;
		/* The budget counts from the moment a renderer took it. */
		if (now_ns >= rp->sent_ns[i] + rp->timeout_ns) {
			rp->stats.timeouts++;
			fail(rp, job, 1, "TIMEOUT", 1, "the PDF took longer than its time budget "
			     "(render_timeout_ms); retry later");
		} else if (now_ns >= job->deadline_ns) {
			rp->stats.timeouts++;
			fail(rp, job, 1, "TIMEOUT", 1, "the PDF was not ready before the call's deadline "
			     "(request_timeout_ms); retry later");
			cancel_in_renderer(rp, i); /* its caller has its answer */
		}
	}
}

void render_close(struct render_pool *rp)
{
	while (rp->queue) {
		struct render_job *job = rp->queue;
		rp->queue = job->next;
		job_free(job);
	}
	rp->queue_tail = NULL;
	for (int i = 0; i < RENDER_MAX_CHANNELS; i++) {
		if (rp->busy[i])
			job_free(rp->busy[i]);
		rp->busy[i] = NULL;
		if (rp->fds[i] >= 0)
			close(rp->fds[i]);
		rp->fds[i] = -1;
	}
	rp->jobs = 0;
}
