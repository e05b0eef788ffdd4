/*
 * queue.h - a worker's database jobs before and after they are sent:
 * internal to worker/db (the engine in db.c and the queues in queue.c).
 * Runs in workers.
 */
#ifndef MCPI_DB_QUEUE_H
#define MCPI_DB_QUEUE_H

struct db;
struct db_job;
struct tool_error;

#define DB_MAX_ATTEMPTS 3
/* A job waits at most this long for a connection to come (back) up. */
#define DB_DOWN_WAIT_NS 1000000000LL

void db_job_free(struct db_job *job);
/* Delivers the outcome (unless nobody wants it any more). The job stays
 * allocated while a segment still refers to it. */
void db_job_answer(struct db *db, struct db_job *job);
void db_job_fail(struct db *db, struct db_job *job, const char *code, int retryable, const char *message);
/* Queues job (reads or writes) as waiting since now. */
void db_enqueue(struct db *db, struct db_job *job);
/* Runs a job again if it may (attempts left, deadline ahead), else answers
 * it with err (and frees it). */
void db_retry_or_fail(struct db *db, struct db_job *job, const struct tool_error *err);
void db_unlink_job(struct db_job **head, struct db_job **tail, struct db_job *prev, struct db_job *job);
/* The fairness table's slot of the tenant a job serves. */
unsigned db_tenant_slot(const struct db *db, const struct db_job *job);
/* The next read to send (see queue.c), and its predecessor in the queue. */
struct db_job *db_pick_read(struct db *db, long long now, struct db_job **prev_out);
/* 1 if a queued write is still in time. */
int db_write_due(const struct db *db, long long now);
/* Answers TIMEOUT the queued jobs past their deadline (never sent). */
void db_expire_queue(struct db *db, struct db_job **head, struct db_job **tail, long long now);
/* Answers DATABASE_UNAVAILABLE the jobs waiting too long for a connection. */
void db_fail_waiting(struct db *db, struct db_job **head, struct db_job **tail, long long now);
/* Answers DATABASE_UNAVAILABLE every queued job. */
void db_fail_queued(struct db *db, const char *message);

#endif
