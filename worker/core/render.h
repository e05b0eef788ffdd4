/*
 * render.h - a worker's side of the renderer processes: documents to lay
 * out go to an idle renderer channel as one typed message (the data in a
 * sealed memfd, render_proto.h) and the PDF comes back the same way, inside
 * the worker's epoll loop, so a request waiting for its PDF never stops the
 * worker. At most render_queue documents per worker wait or render; one
 * more is refused at once (retryable). A renderer that dies fails the
 * document it had (retryable); the master starts a new one and hands the
 * worker a new channel. Runs only in workers.
 */
#ifndef MCPI_RENDER_H
#define MCPI_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "worker/tools/tool_error.h"

#define RENDER_MAX_CHANNELS 16
#define RENDER_TAG_BASE 16 /* epoll tags RENDER_TAG_BASE + channel index */
#define RENDER_FAIR_SLOTS 64 /* tenants' last-served stamps (hashed; a collision shares one) */

struct render_job;
/* Called exactly once per job not abandoned, never from inside
 * render_submit; the job (and its pdf) is freed when done returns. */
typedef void (*render_done_fn)(struct render_job *job);

struct render_job {
	int kind;                    /* DOC_* */
	char *data;                  /* the document JSON; owned by the job */
	size_t len;                  /* ... with its attachment (see render_job_attach), if any */
	size_t attachment;           /* the last bytes of data: the document's Factur-X XML */
	long long deadline_ns;       /* the caller's: it waits for a renderer until then */
	unsigned tenant_slot;        /* whose document: renderers are shared fairly */
	render_done_fn done;         /* NULL once abandoned */
	void *ctx;
	/* The outcome, valid in done(): */
	int ok;
	unsigned char *pdf;          /* a read-only mapping of the renderer's memfd */
	size_t pdf_len;
	int pages;
	struct tool_error err;
	/* Pool state: */
	struct render_job *next;
	uint32_t id;
	int answered;                /* done() already ran (deadline) */
};

struct render_stats {
	long long rendered, failed, refused, timeouts;
	long long cancelled;         /* documents a renderer was told to stop */
	long long busy_ns;           /* time documents spent in a renderer */
};

struct render_pool {
	int epfd;
	int fds[RENDER_MAX_CHANNELS];          /* -1: free */
	struct render_job *busy[RENDER_MAX_CHANNELS];
	long long sent_ns[RENDER_MAX_CHANNELS];
	int cancel_sent[RENDER_MAX_CHANNELS];  /* RENDER_CANCEL sent for busy[i] */
	unsigned long long served[RENDER_FAIR_SLOTS], served_seq;
	struct render_job *queue, *queue_tail;
	long jobs, max_jobs;                   /* waiting + rendering, and the bound */
	long long timeout_ns;
	uint32_t next_id;
	struct render_stats stats;
};

void render_init(struct render_pool *rp, int epfd, long max_jobs, long timeout_ms);
/* A channel to a renderer from the master (takes fd). */
void render_add_channel(struct render_pool *rp, int fd);
/* A new job rendering kind from data (takes data, malloc'd) for tenant's
 * caller, who waits until deadline_ns for a renderer to take it; from
 * then on the renderer's time budget (render_timeout_ms) counts. */
struct render_job *render_job_new(int kind, char *data, size_t len, const char *tenant,
                                  long long deadline_ns, render_done_fn done, void *ctx);
/* Appends xml (xml_len bytes, at most RENDER_MAX_ATTACHMENT) to a new
 * invoice or credit note job's data: the renderer embeds it, making the
 * PDF Factur-X. */
void render_job_attach(struct render_job *job, const char *xml, size_t xml_len);
/* 0: done will be called. -1: refused at once (queue full: retryable;
 * data over the renderer's limit: not), *err says so and the job is freed. */
int render_submit(struct render_pool *rp, struct render_job *job, struct tool_error *err);
/* The submitter no longer wants the answer: done is never called; a
 * document already in a renderer is cancelled there (RENDER_CANCEL). */
void render_abandon(struct render_pool *rp, struct render_job *job);
void render_on_io(struct render_pool *rp, int idx, unsigned events);
/* Deadlines; call a few times a second. */
void render_tick(struct render_pool *rp, long long now_ns);
/* Frees every job (done is not called) and closes the channels. */
void render_close(struct render_pool *rp);

#endif
