/*
 * queue.c - a worker's database jobs before and after they are sent (see
 * queue.h): their lifecycle, the read and write queues, the fair choice of
 * the next read across tenants, and the answers for jobs that can no
 * longer be sent (deadline passed, connection down). Runs in workers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/lib/clock.h"
#include "server/lib/fnv.h"
#include "server/lib/log.h"
#include "worker/db/db.h"
#include "worker/db/queue.h"
#include "worker/db/statements.h"

struct db_job *db_job_new(const char *stmt, int nparams, const char *const *params, int write,
                          int ncols, long long deadline_ns, db_done_fn done, void *ctx)
{
	struct db_job *job = calloc(1, sizeof(*job));

	if (!job || nparams > DB_MAX_PARAMS || ncols > DB_MAX_COLUMNS)
		fatal("db_job_new: out of memory or too many parameters");
	job->stmt = stmt;
	job->nparams = nparams;
	for (int i = 0; i < nparams; i++)
		if (params[i] && !(job->params[i] = strdup(params[i])))
			fatal("out of memory");
	job->write = write;
	job->ncols = ncols;
	job->deadline_ns = deadline_ns;
	job->done = done;
	job->ctx = ctx;
	return job;
}

void db_job_free(struct db_job *job)
{
	for (int i = 0; i < job->nparams; i++)
		free(job->params[i]);
	for (int i = 0; i < DB_MAX_COLUMNS; i++)
		free(job->cols[i]);
	free(job);
}

/* Delivers the outcome (unless nobody wants it any more). The job stays
 * allocated while a segment still refers to it. */
void db_job_answer(struct db *db, struct db_job *job)
{
	if (job->answered)
		return;
	job->answered = 1;
	if (!job->done)
		return;
	/* done may submit the connection's next request: that job is only
	 * queued (db_submit sends nothing while dispatching), so the lists
	 * being walked here stay intact. */
	db->dispatching++;
	job->done(job);
	db->dispatching--;
}

void db_job_fail(struct db *db, struct db_job *job, const char *code, int retryable,
                     const char *message)
{
	for (int i = 0; i < DB_MAX_COLUMNS; i++) {
		free(job->cols[i]);
		job->cols[i] = NULL;
	}
	job->ok = 0;
	tool_error_set(&job->err, code, NULL, retryable, "%s", message);
	db_job_answer(db, job);
}

static void push(struct db_job **head, struct db_job **tail, struct db_job *job)
{
	job->next = NULL;
	if (*tail)
		(*tail)->next = job;
	else
		*head = job;
	*tail = job;
	job->answered = 0;
}

void db_enqueue(struct db *db, struct db_job *job)
{
	job->queued_ns = clock_now_ns();
	if (job->write)
		push(&db->writes, &db->writes_tail, job);
	else
		push(&db->reads, &db->reads_tail, job);
	db->stats.queued++;
}

/* Runs a job again if it may (attempts left, deadline ahead), else answers
 * it with err. */
void db_retry_or_fail(struct db *db, struct db_job *job, const struct tool_error *err)
{
	int in_time = clock_now_ns() < job->deadline_ns;

	if (job->done && job->attempts < DB_MAX_ATTEMPTS && in_time) {
		db_enqueue(db, job);
		return;
	}
	if (!job->done) {
		db_job_free(job);
		return;
	}
	job->ok = 0;
	if (in_time)
		job->err = *err;
	else
		tool_error_set(&job->err, "TIMEOUT", NULL, 1, "the database did not finish in time; "
		               "nothing was stored: retry later");
	db_job_answer(db, job);
	db_job_free(job);
}

/* Unlinks job (whose predecessor is prev) from a queue. */
void db_unlink_job(struct db_job **head, struct db_job **tail, struct db_job *prev, struct db_job *job)
{
	if (prev)
		prev->next = job->next;
	else
		*head = job->next;
	if (*tail == job)
		*tail = prev;
	job->next = NULL;
}

/* The tenant a job serves (every statement's $1), as a slot of the
 * fairness table; the seed keeps tenants from choosing their slot. */
unsigned db_tenant_slot(const struct db *db, const struct db_job *job)
{
	const char *t = job->nparams > 0 && job->params[0] ? job->params[0] : "";

	return (unsigned)((fnv1a64(t, strlen(t)) ^ db->fair_seed) % DB_FAIR_SLOTS);
}

/* The next read to send: among those in time, the oldest of the tenant
 * served longest ago, so one tenant's pile of reads is interleaved with
 * every other tenant's instead of served first-come first-served. A
 * heavy read goes only onto an idle connection (so at most one heavy
 * statement is ever ahead of another read); when it is the one due,
 * nothing else is sent until the connection is idle, so it never starves. */
struct db_job *db_pick_read(struct db *db, long long now, struct db_job **prev_out)
{
	struct db_job *best = NULL, *best_prev = NULL, *prev = NULL;
	unsigned long long best_stamp = 0;

	for (struct db_job *job = db->reads; job; prev = job, job = job->next) {
		unsigned long long stamp;
		if (now >= job->deadline_ns)
			continue;
		stamp = db->served[db_tenant_slot(db, job)];
		if (!best || stamp < best_stamp) {
			best = job;
			best_prev = prev;
			best_stamp = stamp;
		}
	}
	*prev_out = best_prev;
	if (best && db_statement_named(best->stmt)->heavy && db->nsegs > 0)
		return NULL;
	return best;
}

int db_write_due(const struct db *db, long long now)
{
	for (const struct db_job *job = db->writes; job; job = job->next)
		if (now < job->deadline_ns)
			return 1;
	return 0;
}

void db_expire_queue(struct db *db, struct db_job **head, struct db_job **tail, long long now)
{
	struct db_job *prev = NULL, *job = *head, *next;

	for (; job; job = next) {
		next = job->next;
		if (now < job->deadline_ns) {
			prev = job;
			continue;
		}
		if (prev)
			prev->next = next;
		else
			*head = next;
		if (*tail == job)
			*tail = prev;
		db->stats.queued--;
		/* Never sent: certainly not executed. */
		if (job->done)
			db_job_fail(db, job, "TIMEOUT", 1, "the database did not answer in time; nothing was "
			                            "stored: retry later");
		db_job_free(job);
	}
}

/* Waiting for a connection that is not there: answered within
 * DB_DOWN_WAIT_NS of the loss (or of its arrival, if later), never left to
 * wait for its own (longer) deadline. */
void db_fail_waiting(struct db *db, struct db_job **head, struct db_job **tail, long long now)
{
	struct db_job *prev = NULL, *job = *head, *next;

	for (; job; job = next) {
		next = job->next;
		if (now - (job->queued_ns > db->down_since_ns ? job->queued_ns : db->down_since_ns) <
		    DB_DOWN_WAIT_NS) {
			prev = job;
			continue;
		}
		db_unlink_job(head, tail, prev, job);
		db->stats.queued--;
		if (job->done)
			db_job_fail(db, job, "DATABASE_UNAVAILABLE", 1, job->write
			         ? "the database is unavailable; nothing was stored: retry later"
			         : "the database is unavailable; retry later");
		db_job_free(job);
	}
}

void db_fail_queued(struct db *db, const char *message)
{
	struct db_job *lists[2] = { db->reads, db->writes }, *job, *next;

	db->reads = db->writes = db->reads_tail = db->writes_tail = NULL;
	for (int i = 0; i < 2; i++) {
		for (job = lists[i]; job; job = next) {
			next = job->next;
			db->stats.queued--;
			if (job->done)
				db_job_fail(db, job, "DATABASE_UNAVAILABLE", 1, message);
			db_job_free(job);
		}
	}
}

void db_abandon(struct db *db, struct db_job *job)
{
	struct db_job **lists[2] = { &db->reads, &db->writes }, **tails[2] = { &db->reads_tail, &db->writes_tail };

	for (int i = 0; i < 2; i++) {
		struct db_job *prev = NULL;
		for (struct db_job *j = *lists[i]; j; prev = j, j = j->next) {
			if (j != job)
				continue;
			if (prev)
				prev->next = j->next;
			else
				*lists[i] = j->next;
			if (*tails[i] == j)
				*tails[i] = prev;
			db->stats.queued--;
			db_job_free(job);
			return;
		}
	}
	job->done = NULL; /* in flight: freed when its segment completes */
}
