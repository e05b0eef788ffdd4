/*
 * db.h - the worker's one PostgreSQL connection, asynchronous: non-blocking
 * libpq in pipeline mode inside the worker's epoll loop, so a request that
 * waits for the database never stops the worker from serving others.
 * Runs only in workers.
 *
 * Reads are sent each in its own pipeline segment (its own implicit
 * transaction), never held back for a commit. Writes that arrive while a
 * write batch is in flight wait and then go together as the next batch
 * (ahead of queued reads): one implicit
 * transaction, one commit, one WAL flush (group commit). Each member runs
 * through a wrapper whose exception block is a subtransaction, so one
 * member's error never changes another's outcome; every member is answered
 * only after the commit (the segment's Sync) has returned.
 */
#ifndef MCPI_DB_H
#define MCPI_DB_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "worker/tools/tool_error.h"

#define DB_MAX_COLUMNS 4
#define DB_MAX_PARAMS 12
#define DB_BATCH_MAX 32 /* members per batch: under PostgreSQL's 64 cached subtransactions */
#define DB_PIPELINE_DEPTH 2 /* segments in flight: one running, one ready behind it */
#define DB_FAIR_SLOTS 256   /* tenants' last-served stamps (hashed; a collision shares one) */

struct db_job;
/* Called exactly once per job not abandoned, never from inside db_submit.
 * The job (and its cols) is freed by the engine when done returns; done
 * may take a column by setting cols[i] to NULL. */
typedef void (*db_done_fn)(struct db_job *job);

struct db_job {
	/* Set by db_job_new: */
	const char *stmt;                /* statement name in db.c's table */
	int nparams;
	char *params[DB_MAX_PARAMS];     /* copies owned by the job; NULL = SQL NULL */
	int write;                       /* 1: a group-committed member */
	int ncols;                       /* result columns expected */
	long long deadline_ns;
	db_done_fn done;                 /* NULL once abandoned */
	void *ctx;
	/* The outcome, valid in done(): */
	int ok;
	char *cols[DB_MAX_COLUMNS];      /* ok: malloc'd text, NULL for SQL NULL */
	struct tool_error err;           /* !ok */
	/* Engine state: */
	struct db_job *next;
	int attempts;                    /* sends so far */
	int solo;                        /* send alone (it timed out on a lock in a batch) */
	int rerun;                       /* its segment's outcome says: run it again */
	int answered;                    /* done() already ran (deadline) */
	long long sent_ns;
	long long queued_ns;             /* when it last joined a queue */
};

struct db_segment;
struct shm_histogram;

struct db_stats {
	long long queued;                /* jobs waiting to be sent */
	long long in_flight;             /* jobs sent, results pending */
	long long batches, members;      /* write batches sent and members in them */
	long long round_trips, round_trip_us; /* segments completed and their time */
	long long cancels;
};

struct db {
	PGconn *conn;
	const char *conninfo;
	long statement_timeout_ms;
	long long next_attempt_ns;       /* reconnect back-off */
	int state;                       /* see db.c */
	int refused;                     /* the last failure will not heal by itself */
	int unnamed;                     /* database_statements = unnamed: no prepared statements */
	atomic_int *up;                  /* optional: 1 while connected (scoreboard) */
	struct shm_histogram *round_trip_hist; /* optional: segment round trips (metrics) */
	long long idle_attempt_ns;       /* next reconnect while down with nothing queued */
	/* epoll registration of the connection's socket */
	int epfd;
	void *tag;
	int watched_fd;
	unsigned watched_events;         /* what epoll has for watched_fd */
	unsigned connect_events;         /* what PQconnectPoll waits for */
	long long connect_deadline_ns;   /* a (re)connect not ready by then is given up */
	long long down_since_ns;         /* when the last connection was lost */
	/* jobs waiting to be sent, oldest first */
	struct db_job *reads, *reads_tail, *writes, *writes_tail;
	/* segments sent, in the order their results will come */
	struct db_segment *segs, *segs_tail;
	int nsegs;
	int batch_in_flight;
	int dispatching;                 /* inside a done callback: submit only queues */
	/* Fair reads: when each tenant (slot) was last served */
	unsigned long long served[DB_FAIR_SLOTS], served_seq;
	unsigned long long fair_seed;
	PGcancel *cancel;
	pid_t canceller;                 /* child running PQcancel, reaped in db_tick */
	struct db_stats stats;
};

void db_init(struct db *db, const char *conninfo, long statement_timeout_ms);
/* Worker start-up: connects now (blocking), prepares the statements, then
 * switches to non-blocking pipeline mode. On failure db->refused tells a
 * configuration problem (no such database or role, authentication refused,
 * schema not migrated) from an outage; later reconnects are non-blocking. */
int db_connect(struct db *db);
/* Puts the connection's socket in epfd with tag as its data pointer; the
 * engine keeps the registration current from then on. */
void db_attach(struct db *db, int epfd, void *tag);
/* Closes the connection and frees every job (done is not called). */
void db_close(struct db *db);

/* A new job for stmt with copies of params. Never fails (aborts on OOM). */
struct db_job *db_job_new(const char *stmt, int nparams, const char *const *params, int write,
                          int ncols, long long deadline_ns, db_done_fn done, void *ctx);
/* Queues job. 0: done will be called later. -1: refused at once (the
 * database is down and not due for a retry): *err says so, job is freed. */
int db_submit(struct db *db, struct db_job *job, struct tool_error *err);
/* The submitter no longer wants the answer (its client went away): done is
 * never called; the engine frees the job when it may. */
void db_abandon(struct db *db, struct db_job *job);

/* The socket is ready (events from epoll). */
void db_on_io(struct db *db, unsigned events);
/* Deadlines, reconnects, the canceller; call a few times a second. */
void db_tick(struct db *db, long long now_ns);

#endif
