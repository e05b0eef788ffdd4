/*
 * db.c - the worker's asynchronous PostgreSQL connection (see db.h). Runs in
 * workers only; every query is a prepared statement with parameters, every
 * result is cleared, and a segment that failed is rolled back by the server
 * at its Sync before anything else runs.
 *
 * The connection is in libpq's pipeline mode. What was sent is a FIFO of
 * segments, each ended by a Sync: a read (one statement), a write batch
 * (a lock_timeout setting, then its members) or the set-up after
 * a (re)connect. Results come back in that order; each statement's result
 * is followed by a NULL from PQgetResult, and each segment ends with
 * PGRES_PIPELINE_SYNC, which for a batch means its implicit transaction has
 * committed (or, after an error, rolled back).
 *
 * The statements it prepares, and what their errors mean, are in
 * statements.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server/lib/clock.h"
#include "server/lib/fnv.h"
#include "server/lib/log.h"
#include "shm/shm.h"
#include "worker/db/db.h"
#include "worker/db/queue.h"
#include "worker/db/statements.h"

enum { DB_DOWN, DB_CONNECTING, DB_SETUP, DB_READY };
enum seg_kind { SEG_SETUP, SEG_READ, SEG_BATCH };

struct db_segment {
	struct db_segment *next;
	enum seg_kind kind;
	struct db_job *jobs;      /* the read, or the members in statement order */
	int lead;                 /* statements before the first job (batch: lock_timeout) */
	int nstmts;               /* statements before the Sync */
	int done_stmts;           /* results consumed */
	int awaiting_null;        /* a result was read; its NULL terminator is next */
	int failed;               /* an error no wrapper caught: nothing in it committed */
	int cancelled;
	long long sent_ns;
};

/* One statement of the table: by name when the connection prepared them,
 * else as unnamed (PgBouncer in transaction mode, database_statements =
 * unnamed): each Parse goes with its own Bind in the same transaction. */
static int send_statement(struct db *db, const char *name, int nparams, const char *const *params)
{
	if (db->unnamed)
		return PQsendQueryParams(db->conn, db_statement_named(name)->sql, nparams, NULL, params, NULL, NULL, 0);
	return PQsendQueryPrepared(db->conn, name, nparams, params, NULL, NULL, 0);
}

#define RECONNECT_BACKOFF_NS 500000000LL
#define IDLE_RECONNECT_NS 2000000000LL
/* A (re)connect not ready by then is given up and tried again. */
#define DB_CONNECT_TIMEOUT_NS 2000000000LL
/* A segment still unanswered this long after its deadline (its statement
 * cancelled, its statement_timeout passed): the connection is dead even
 * if TCP has not said so (a host gone, a network partition, a stopped
 * backend). */
#define DB_HANG_GRACE_NS 1000000000LL

/* ---- jobs ---- */





/* ---- queues ---- */




/* ---- epoll ---- */

static void watch(struct db *db)
{
	int fd = db->conn ? PQsocket(db->conn) : -1;
	unsigned events = EPOLLIN;
	struct epoll_event ev = { .data.ptr = db->tag };

	if (db->epfd < 0)
		return;
	if (db->state == DB_CONNECTING) {
		events = db->connect_events; /* set by connect_step from PQconnectPoll */
	} else if (db->conn && PQflush(db->conn) == 1) {
		events |= EPOLLOUT;
	}
	if (fd == db->watched_fd && events == db->watched_events)
		return;
	ev.events = events;
	if (fd == db->watched_fd && epoll_ctl(db->epfd, EPOLL_CTL_MOD, fd, &ev) == 0) {
		db->watched_events = events;
		return;
	}
	/* A new socket, or one whose registration went with a descriptor
	 * libpq closed (the number may have been reused at once). */
	if (db->watched_fd >= 0)
		epoll_ctl(db->epfd, EPOLL_CTL_DEL, db->watched_fd, NULL);
	db->watched_fd = fd;
	db->watched_events = events;
	if (fd >= 0 && epoll_ctl(db->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		log_error("database socket: epoll_ctl: %s", strerror(errno));
}

void db_attach(struct db *db, int epfd, void *tag)
{
	db->epfd = epfd;
	db->tag = tag;
	watch(db);
}

/* ---- connection ---- */

void db_init(struct db *db, const char *conninfo, long statement_timeout_ms)
{
	memset(db, 0, sizeof(*db));
	db->conninfo = conninfo;
	db->statement_timeout_ms = statement_timeout_ms;
	db->epfd = -1;
	db->watched_fd = -1;
	db->fair_seed = (unsigned long long)clock_now_ns() * 0x9E3779B97F4A7C15ULL ^ (unsigned long long)getpid();
}

/* Drops the connection (unregistering its socket first: the descriptor
 * number may be reused at once). Segments in flight are failed. */
static void drop_connection(struct db *db)
{
	struct db_segment *seg;

	if (db->epfd >= 0 && db->watched_fd >= 0)
		epoll_ctl(db->epfd, EPOLL_CTL_DEL, db->watched_fd, NULL);
	db->watched_fd = -1;
	db->watched_events = 0;
	if (db->up)
		atomic_store(db->up, 0);
	if (db->cancel)
		PQfreeCancel(db->cancel);
	db->cancel = NULL;
	if (db->conn)
		PQfinish(db->conn);
	db->conn = NULL;
	if (db->state != DB_DOWN)
		db->down_since_ns = clock_now_ns();
	db->state = DB_DOWN;
	db->batch_in_flight = 0;
	db->nsegs = 0;
	while ((seg = db->segs)) {
		struct db_job *job, *next;
		db->segs = seg->next;
		for (job = seg->jobs; job; job = next) {
			static const struct tool_error lost = {
				.code = "DATABASE_UNAVAILABLE", .retryable = 1,
				.message = "the database connection was lost; the call may or may not have "
				           "taken effect: retry it (with the same idempotency_key)" };
			next = job->next;
			db->stats.in_flight--;
			/* A read changed nothing: run it again once connected. A
			 * write may have committed: the agent decides, and an
			 * idempotency key makes the retry safe. */
			if (!job->write && !job->answered) {
				db_retry_or_fail(db, job, &lost);
			} else {
				if (!job->answered && job->done)
					db_job_fail(db, job, lost.code, 1, lost.message);
				db_job_free(job);
			}
		}
		free(seg);
	}
	db->segs_tail = NULL;
}

void db_close(struct db *db)
{
	struct db_job *job;

	drop_connection(db);
	while ((job = db->reads)) {
		db->reads = job->next;
		db_job_free(job);
	}
	while ((job = db->writes)) {
		db->writes = job->next;
		db_job_free(job);
	}
	db->reads_tail = db->writes_tail = NULL;
	if (db->canceller > 0)
		waitpid(db->canceller, NULL, 0);
	db->canceller = 0;
}

/* A server-side FATAL at connection time is a verdict on our settings,
 * except the ones that pass with time. */
static int refusal_is_permanent(const char *msg)
{
	static const char *const transient[] = {
		"starting up", "shutting down", "in recovery", "too many", "connection slots",
	};

	if (!strstr(msg, "FATAL:"))
		return 0;
	for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
		if (strstr(msg, transient[i]))
			return 0;
	return 1;
}

/* Row-level security does not bind superusers, BYPASSRLS roles or the
 * tables' owner: say so once, loudly, if that is who we are. */
static void warn_if_rls_bypassed(struct db *db)
{
	static int checked;
	PGresult *r;

	if (checked++)
		return;
	r = PQexec(db->conn, "SELECT rolsuper OR rolbypassrls OR pg_has_role(current_user, "
	                     "(SELECT relowner FROM pg_class WHERE relname = 'invoices'), 'USAGE'), "
	                     "current_user FROM pg_roles WHERE rolname = current_user");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't')
		log_warn("database role %s bypasses row-level security (superuser, BYPASSRLS or "
		         "table owner); tenants are then kept apart by query filters alone. "
		         "Connect as mcp_invoiced_app.", PQgetvalue(r, 0, 1));
	PQclear(r);
}

/* The backstop statement_timeout for the session. Through PgBouncer in
 * transaction mode a session SET would reach whichever server connection
 * runs it (and stay there for other clients): set it on the role instead
 * (README), and this sends a harmless no-op. */
static void set_timeout_sql(const struct db *db, char *sql, size_t cap)
{
	if (db->unnamed) {
		snprintf(sql, cap, "SELECT 1");
		return;
	}
	/* A backstop only: deadlines are kept by the engine (db_tick). */
	snprintf(sql, cap, "SET statement_timeout = %ld", db->statement_timeout_ms + 2000);
}

static void send_pending(struct db *db);

/* The connection is set up: ready for jobs. */
static int enter_pipeline_done(struct db *db)
{
	if (!(db->cancel = PQgetCancel(db->conn)))
		log_warn("no cancel handle: statements past their deadline will run to the backstop");
	db->state = DB_READY;
	if (db->up)
		atomic_store(db->up, 1);
	send_pending(db);
	return 0;
}

static int enter_pipeline(struct db *db)
{
	if (PQsetnonblocking(db->conn, 1) != 0 || PQenterPipelineMode(db->conn) != 1) {
		log_error("cannot enter pipeline mode: %s", PQerrorMessage(db->conn));
		return -1;
	}
	return enter_pipeline_done(db);
}

int db_connect(struct db *db)
{
	char sql[128];
	PGresult *r;

	drop_connection(db);
	db->refused = 0;
	db->conn = PQconnectdb(db->conninfo);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		/* The libpq message names host and reason, never the password. */
		db->refused = refusal_is_permanent(PQerrorMessage(db->conn));
		log_error("database connection failed: %s", PQerrorMessage(db->conn));
		goto fail;
	}
	set_timeout_sql(db, sql, sizeof(sql));
	r = PQexec(db->conn, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_error("cannot set statement_timeout: %s", PQerrorMessage(db->conn));
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	for (size_t i = 0; i < db_statements_count() && !db->unnamed; i++) {
		r = PQprepare(db->conn, db_statement_at(i)->name, db_statement_at(i)->sql, 0, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			log_error("cannot prepare %s: %s (has `mcp-invoiced migrate` run?)",
			          db_statement_at(i)->name, PQresultErrorMessage(r));
			PQclear(r);
			db->refused = 1; /* the schema is missing or older than this binary */
			goto fail;
		}
		PQclear(r);
	}
	warn_if_rls_bypassed(db);
	if (enter_pipeline(db) < 0)
		goto fail;
	log_info("database connected");
	watch(db);
	return 0;
fail:
	drop_connection(db);
	db->next_attempt_ns = clock_now_ns() + RECONNECT_BACKOFF_NS;
	return -1;
}


static void connect_failed(struct db *db, const char *why)
{
	log_error("database connection failed: %s", why);
	drop_connection(db);
	db->next_attempt_ns = clock_now_ns() + RECONNECT_BACKOFF_NS;
	db_fail_queued(db, "the database is unavailable; retry later");
}

/* After the socket connected: statement_timeout and the statements,
 * pipelined, as one set-up segment. */
static void start_setup(struct db *db)
{
	struct db_segment *seg = calloc(1, sizeof(*seg));
	char sql[128];

	if (!seg)
		fatal("out of memory");
	if (PQsetnonblocking(db->conn, 1) != 0 || PQenterPipelineMode(db->conn) != 1) {
		free(seg);
		connect_failed(db, PQerrorMessage(db->conn));
		return;
	}
	set_timeout_sql(db, sql, sizeof(sql));
	PQsendQueryParams(db->conn, sql, 0, NULL, NULL, NULL, NULL, 0);
	if (!db->unnamed)
		for (size_t i = 0; i < db_statements_count(); i++)
			PQsendPrepare(db->conn, db_statement_at(i)->name, db_statement_at(i)->sql, 0, NULL);
	PQpipelineSync(db->conn);
	seg->kind = SEG_SETUP;
	seg->nstmts = 1 + (db->unnamed ? 0 : (int)db_statements_count());
	seg->sent_ns = clock_now_ns();
	db->segs = db->segs_tail = seg;
	db->nsegs = 1;
	db->state = DB_SETUP;
}

static void connect_step(struct db *db)
{
	switch (PQconnectPoll(db->conn)) {
	case PGRES_POLLING_READING:
		db->connect_events = EPOLLIN;
		break;
	case PGRES_POLLING_WRITING:
		db->connect_events = EPOLLOUT;
		break;
	case PGRES_POLLING_OK:
		start_setup(db);
		break;
	default:
		db->refused = refusal_is_permanent(PQerrorMessage(db->conn));
		connect_failed(db, PQerrorMessage(db->conn));
		return;
	}
	/* While connecting, libpq may close the socket and open another
	 * (several addresses or hosts, or GSSAPI/SSL refused), perhaps with
	 * the same number: register it anew after every step. */
	if (db->state == DB_CONNECTING && db->watched_fd >= 0) {
		epoll_ctl(db->epfd, EPOLL_CTL_DEL, db->watched_fd, NULL);
		db->watched_fd = -1;
	}
	watch(db);
}

static void start_connect(struct db *db)
{
	db->conn = PQconnectStart(db->conninfo);
	if (!db->conn || PQstatus(db->conn) == CONNECTION_BAD) {
		connect_failed(db, db->conn ? PQerrorMessage(db->conn) : "out of memory");
		return;
	}
	db->state = DB_CONNECTING;
	db->connect_events = EPOLLOUT;
	db->connect_deadline_ns = clock_now_ns() + DB_CONNECT_TIMEOUT_NS;
	connect_step(db);
}

/* ---- sending ---- */

static int send_job(struct db *db, struct db_job *job)
{
	job->attempts++;
	job->sent_ns = clock_now_ns();
	return send_statement(db, job->stmt, job->nparams, (const char *const *)job->params) == 1 ? 0 : -1;
}

static struct db_segment *segment_new(struct db *db, enum seg_kind kind)
{
	struct db_segment *seg = calloc(1, sizeof(*seg));

	if (!seg)
		fatal("out of memory");
	seg->kind = kind;
	seg->sent_ns = clock_now_ns();
	db->nsegs++;
	if (db->segs_tail)
		db->segs_tail->next = seg;
	else
		db->segs = seg;
	db->segs_tail = seg;
	return seg;
}


static void seg_add(struct db *db, struct db_segment *seg, struct db_job *job, struct db_job **last)
{
	if (*last)
		(*last)->next = job;
	else
		seg->jobs = job;
	*last = job;
	seg->nstmts++;
	db->stats.queued--;
	db->stats.in_flight++;
}

/* Moves up to max writes, oldest first, into seg; a job marked solo goes
 * alone. A job past its deadline is never sent: it stays queued, and
 * db_tick answers it. */
static void take_writes(struct db *db, struct db_segment *seg, int max, long long now)
{
	struct db_job *prev = NULL, *job = db->writes, *next, *last = NULL;

	for (; job && max > 0; job = next) {
		next = job->next;
		if (now >= job->deadline_ns || (last && job->solo)) {
			prev = job;
			continue;
		}
		db_unlink_job(&db->writes, &db->writes_tail, prev, job);
		seg_add(db, seg, job, &last);
		max--;
		if (job->solo)
			break;
	}
}



/* The milliseconds a segment's statements may run: until the latest of
 * its jobs' deadlines (at least 1: 0 would mean no limit). */
static void timeout_param(char *buf, size_t cap, long long deadline_ns, long long now)
{
	long long ms = (deadline_ns - now) / 1000000;

	snprintf(buf, cap, "%lld", ms < 1 ? 1 : ms);
}

/* The row a write locks first (the parameter its declaration names as the
 * lock key), or "". */
static const char *lock_key(const struct db_job *job)
{
	int i = db_statement_lock_index(db_statement_named(job->stmt));

	return i >= 0 && i < job->nparams && job->params[i] ? job->params[i] : "";
}

/* Orders a batch's members by the invoice they lock: batches of different
 * workers then take their row locks in one order and cannot deadlock. */
static void sort_members(struct db_segment *seg)
{
	struct db_job *sorted = NULL, *job = seg->jobs, *next;

	for (; job; job = next) {
		struct db_job **at = &sorted;
		next = job->next;
		while (*at && strcmp(lock_key(*at), lock_key(job)) <= 0)
			at = &(*at)->next;
		job->next = *at;
		*at = job;
	}
	seg->jobs = sorted;
}


static int send_batch(struct db *db, long long now)
{
	struct db_segment *seg;
	long long latest = 0;
	char ms[24];
	const char *param[1] = { ms };

	if (!db_write_due(db, now))
		return 0; /* every queued write is past its deadline: db_tick answers them */
	seg = segment_new(db, SEG_BATCH);
	take_writes(db, seg, DB_BATCH_MAX, now);
	sort_members(seg);
	for (struct db_job *job = seg->jobs; job; job = job->next)
		if (job->deadline_ns > latest)
			latest = job->deadline_ns;
	timeout_param(ms, sizeof(ms), latest, now);
	seg->lead = 1;
	seg->nstmts++;
	if (send_statement(db, "batch_lock_timeout", 1, param) != 1)
		return -1;
	for (struct db_job *job = seg->jobs; job; job = job->next)
		if (send_job(db, job) < 0)
			return -1;
	if (PQpipelineSync(db->conn) != 1)
		return -1;
	db->batch_in_flight = 1;
	db->stats.batches++;
	db->stats.members += seg->nstmts - seg->lead;
	return 0;
}

static int send_read(struct db *db, struct db_job *job, long long now)
{
	struct db_segment *seg = segment_new(db, SEG_READ);
	char ms[24];
	const char *param[1] = { ms };

	seg_add(db, seg, job, &(struct db_job *){ NULL });
	seg->lead = 1;
	seg->nstmts++;
	db->served[db_tenant_slot(db, job)] = ++db->served_seq;
	timeout_param(ms, sizeof(ms), job->deadline_ns, now);
	if (send_statement(db, "read_timeout", 1, param) != 1 || send_job(db, job) < 0 ||
	    PQpipelineSync(db->conn) != 1)
		return -1;
	return 0;
}

/* The head segment is past a deadline: its statement should end at once
 * (statement_timeout, cancel). Until it does, nothing more is sent on a
 * connection that may be dead: work waits here, where a new connection
 * can take it. */
static int head_overdue(const struct db *db, long long now)
{
	if (!db->segs || db->segs->kind == SEG_SETUP)
		return 0;
	for (const struct db_job *job = db->segs->jobs; job; job = job->next)
		if (now >= job->deadline_ns)
			return 1;
	return 0;
}

/* Sends what is queued, writes first. PostgreSQL runs a connection's
 * statements one after another, so at most DB_PIPELINE_DEPTH segments are
 * in flight: work that arrives later waits here, where a write batch can
 * still go ahead of reads, and reads are chosen fairly across tenants,
 * instead of behind every read already sent. */
static void send_pending(struct db *db)
{
	long long now = clock_now_ns();
	struct db_job *job, *prev;

	if (db->state != DB_READY || head_overdue(db, now))
		return;
	if (db->writes && !db->batch_in_flight && db->nsegs < DB_PIPELINE_DEPTH && send_batch(db, now) < 0)
		goto lost;
	while (db->nsegs < DB_PIPELINE_DEPTH && (job = db_pick_read(db, now, &prev))) {
		db_unlink_job(&db->reads, &db->reads_tail, prev, job);
		if (send_read(db, job, now) < 0)
			goto lost;
	}
	if (PQflush(db->conn) < 0)
		goto lost;
	watch(db);
	return;
lost:
	log_warn("database connection lost while sending: %s", PQerrorMessage(db->conn));
	drop_connection(db);
	db->next_attempt_ns = clock_now_ns();
}

int db_submit(struct db *db, struct db_job *job, struct tool_error *err)
{
	/* Down and not yet due for another try: say so now. Otherwise queue:
	 * db_tick connects (never from here, so no other job's done runs
	 * inside a submit). */
	if (db->state == DB_DOWN && clock_now_ns() < db->next_attempt_ns) {
		tool_error_set(err, "DATABASE_UNAVAILABLE", NULL, 1, "the database is unavailable; retry later");
		db_job_free(job);
		return -1;
	}
	db_enqueue(db, job);
	if (!db->dispatching)
		send_pending(db);
	return 0;
}


/* ---- results ---- */

static char *copy_value(const PGresult *r, int col)
{
	char *v;

	if (PQgetisnull(r, 0, col))
		return NULL;
	if (!(v = strdup(PQgetvalue(r, 0, col))))
		fatal("out of memory");
	return v;
}

/* The n-th job of a segment (0-based), or NULL. */
static struct db_job *nth_job(struct db_segment *seg, int n)
{
	struct db_job *job = seg->jobs;

	while (job && n-- > 0)
		job = job->next;
	return job;
}

/* One statement's result within the head segment. */
static void on_result(struct db *db, struct db_segment *seg, PGresult *r)
{
	ExecStatusType st = PQresultStatus(r);
	int idx = seg->done_stmts - seg->lead;
	struct db_job *job = idx >= 0 ? nth_job(seg, idx) : NULL;

	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		if (st != PGRES_PIPELINE_ABORTED && !seg->cancelled && seg->kind != SEG_READ)
			log_warn("database %s failed: %s", seg->kind == SEG_SETUP ? "set-up" : "batch",
			         PQresultErrorMessage(r));
		seg->failed = 1;
		if (seg->kind == SEG_SETUP)
			db->refused = 1; /* the schema is missing or older than this binary */
		if (seg->kind == SEG_READ && job && st != PGRES_PIPELINE_ABORTED) {
			/* A read's error is its own. It is run again when that is safe:
			 * a serialization failure or deadlock, or a cancel meant for
			 * a statement before it. */
			job->rerun = db_map_error(state, PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY),
			                          PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL), &job->err) ||
			             (state && strcmp(state, "57014") == 0 && clock_now_ns() < job->deadline_ns);
		}
		return;
	}
	if (!job || seg->kind == SEG_SETUP)
		return;
	if (seg->kind == SEG_READ) {
		if (PQntuples(r) != 1 || PQnfields(r) != job->ncols) {
			log_error("%s returned %d rows of %d columns", job->stmt, PQntuples(r), PQnfields(r));
			tool_error_set(&job->err, "INTERNAL", NULL, 0, "unexpected database result");
			return;
		}
		for (int i = 0; i < job->ncols; i++)
			job->cols[i] = copy_value(r, i);
		job->ok = 1;
		return;
	}
	/* A batch member: (result, sqlstate, message, detail). */
	if (PQntuples(r) != 1 || PQnfields(r) != 4) {
		log_error("%s returned %d rows of %d columns", job->stmt, PQntuples(r), PQnfields(r));
		tool_error_set(&job->err, "INTERNAL", NULL, 0, "unexpected database result");
		return;
	}
	if (!PQgetisnull(r, 0, 0)) {
		job->cols[0] = copy_value(r, 0);
		job->ok = 1;
	} else if (db_map_error(PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2),
	                        PQgetisnull(r, 0, 3) ? NULL : PQgetvalue(r, 0, 3), &job->err)) {
		/* Rolled back inside its own subtransaction: run it again. One
		 * that waited 200 ms for a row lock held elsewhere goes again
		 * alone, as often as its deadline allows (those tries are not
		 * counted), so it never holds up the other writes for longer. */
		job->rerun = 1;
		if (strcmp(PQgetvalue(r, 0, 1), "55P03") == 0) {
			job->solo = 1;
			job->attempts--;
		}
	}
}

/* The head segment's Sync arrived: committed unless it failed. */
static void segment_done(struct db *db, struct db_segment *seg)
{
	struct db_job *job, *next;
	long long now = clock_now_ns();

	db->stats.round_trips++;
	db->stats.round_trip_us += (now - seg->sent_ns) / 1000;
	if (db->round_trip_hist)
		shm_histogram_observe(db->round_trip_hist, (now - seg->sent_ns) / 1000);
	if (seg->kind == SEG_SETUP) {
		int failed = seg->failed;
		free(seg);
		if (failed) {
			log_error("database set-up failed (has `mcp-invoiced migrate` run?)");
			connect_failed(db, "set-up failed");
			return;
		}
		if (enter_pipeline_done(db) == 0)
			log_info("database connected");
		return;
	}
	if (seg->kind == SEG_BATCH)
		db->batch_in_flight = 0;
	for (job = seg->jobs; job; job = next) {
		static const struct tool_error rolled_back = {
			.code = "TIMEOUT", .retryable = 1,
			.message = "the database did not finish in time; nothing was stored: retry" };
		next = job->next;
		db->stats.in_flight--;
		if (!job->done || job->answered) {
			db_job_free(job);
		} else if (seg->kind == SEG_BATCH && seg->failed) {
			/* Nothing of this batch committed: running it again is safe. */
			db_retry_or_fail(db, job, &rolled_back);
		} else if (job->rerun && !job->ok) {
			job->rerun = 0;
			db_retry_or_fail(db, job, &job->err);
		} else {
			if (!job->ok && !job->err.code)
				tool_error_set(&job->err, "TIMEOUT", NULL, 1,
				               "the database did not answer in time; retry later");
			db_job_answer(db, job);
			db_job_free(job);
		}
	}
	free(seg);
}

static void read_results(struct db *db)
{
	while (db->segs && db->conn && !PQisBusy(db->conn)) {
		struct db_segment *seg = db->segs;
		PGresult *r = PQgetResult(db->conn);
		if (!r) {
			if (!seg->awaiting_null)
				break; /* nothing more yet */
			seg->awaiting_null = 0;
			seg->done_stmts++;
			continue;
		}
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			db->nsegs--;
			db->segs = seg->next;
			if (!db->segs)
				db->segs_tail = NULL;
			segment_done(db, seg);
			continue;
		}
		if (seg->done_stmts < seg->nstmts) {
			on_result(db, seg, r);
			seg->awaiting_null = 1;
		} else {
			/* An error after the last statement: the commit failed. */
			log_warn("database commit failed: %s", PQresultErrorMessage(r));
			seg->failed = 1;
		}
		PQclear(r);
	}
}

void db_on_io(struct db *db, unsigned events)
{
	if (!db->conn)
		return;
	if (db->state == DB_CONNECTING) {
		connect_step(db);
		return;
	}
	if ((events & EPOLLOUT) && PQflush(db->conn) < 0)
		goto lost;
	if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && PQconsumeInput(db->conn) != 1)
		goto lost;
	read_results(db);
	if (db->conn && PQstatus(db->conn) != CONNECTION_OK)
		goto lost;
	send_pending(db);
	watch(db);
	return;
lost:
	log_warn("database connection lost: %s", db->conn ? PQerrorMessage(db->conn) : "");
	drop_connection(db);
	db->next_attempt_ns = clock_now_ns();
}

/* ---- deadlines ---- */

/* Cancels the statement running now without blocking the loop: libpq 15
 * has only the blocking PQcancel, so a short-lived child sends it. */
static void cancel_running(struct db *db, struct db_segment *seg)
{
	pid_t pid;

	if (!db->cancel || db->canceller > 0 || seg->cancelled)
		return;
	seg->cancelled = 1;
	pid = fork();
	if (pid == 0) {
		char err[256];
		PQcancel(db->cancel, err, sizeof(err));
		_exit(0);
	}
	if (pid > 0) {
		db->canceller = pid;
		db->stats.cancels++;
	}
}



/* The latest deadline of a segment's jobs (answered or not). */
static long long segment_deadline(const struct db_segment *seg)
{
	long long latest = 0;

	for (const struct db_job *job = seg->jobs; job; job = job->next)
		if (job->deadline_ns > latest)
			latest = job->deadline_ns;
	return latest;
}

void db_tick(struct db *db, long long now)
{
	struct db_segment *seg;

	if (db->canceller > 0 && waitpid(db->canceller, NULL, WNOHANG) != 0)
		db->canceller = 0;
	db_expire_queue(db, &db->reads, &db->reads_tail, now);
	db_expire_queue(db, &db->writes, &db->writes_tail, now);
	if (db->state != DB_READY) {
		db_fail_waiting(db, &db->reads, &db->reads_tail, now);
		db_fail_waiting(db, &db->writes, &db->writes_tail, now);
	}
	if ((db->state == DB_CONNECTING || db->state == DB_SETUP) && now >= db->connect_deadline_ns) {
		connect_failed(db, "no answer in time");
		return;
	}
	for (seg = db->segs; seg; seg = seg->next) {
		for (struct db_job *job = seg->jobs; job; job = job->next) {
			if (job->answered || now < job->deadline_ns)
				continue;
			/* The client gets TIMEOUT now; the statement is cancelled
			 * below, and the connection goes on. */
			job->ok = 0;
			tool_error_set(&job->err, "TIMEOUT", NULL, 1, job->write
			               ? "the database did not answer in time; the call may still take "
			                 "effect: retry with the same idempotency_key"
			               : "the database did not answer in time; retry later");
			db_job_answer(db, job);
		}
	}
	/* The statement running now is cancelled once any job of its segment
	 * is past its deadline, whether that job was answered already (it
	 * waited in the pipeline) or its client is gone. */
	if ((seg = db->segs) && seg->kind != SEG_SETUP && seg->jobs) {
		long long earliest = seg->jobs->deadline_ns;
		for (struct db_job *job = seg->jobs; job; job = job->next)
			if (job->deadline_ns < earliest)
				earliest = job->deadline_ns;
		if (now >= earliest)
			cancel_running(db, seg);
		if (now >= segment_deadline(seg) + DB_HANG_GRACE_NS) {
			log_warn("database connection lost: no answer %lld ms after a statement's deadline",
			         (now - segment_deadline(seg)) / 1000000);
			drop_connection(db);
			db->next_attempt_ns = now;
		}
	}
	/* Down: reconnect when work is waiting, and every few seconds anyway,
	 * so that readiness (/readyz) comes back without traffic. */
	if (db->state == DB_DOWN && now >= db->next_attempt_ns &&
	    (db->reads || db->writes || now >= db->idle_attempt_ns)) {
		db->idle_attempt_ns = now + IDLE_RECONNECT_NS;
		start_connect(db);
	}
	send_pending(db); /* what the answers above queued */
}
