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
 * The SQL lives in sql/migrations as functions; this table only names them,
 * so `make bench` can run the very same statements through pgbench. Writes
 * run through the mcp_try_* wrappers (0004_batch_members.sql).
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

struct statement {
	const char *name;
	const char *sql;
	int heavy; /* reads whose cost grows with a customer's ledger: never queued behind another */
};

/* Reads, and the mcp_try_* form of every write (4 columns: result, sqlstate,
 * message, detail). */
static const struct statement statements[] = {
	{ "list_invoices", "SELECT (r->'invoices')::text, r->'next'->>'key', r->'next'->>'id'"
	                   " FROM mcp_find_invoices($1, $2::jsonb, $3::int, $4, $5::uuid) AS r", 0 },
	{ "get_invoice", "SELECT mcp_get_invoice_by($1, $2::uuid, $3)::text", 0 },
	{ "list_customers", "SELECT (r->'customers')::text, r->>'next'"
	                    " FROM mcp_list_customers($1, $2, $3::int, $4) AS r", 0 },
	{ "list_tax_rates", "SELECT mcp_list_tax_rates($1)::text", 0 },
	{ "list_outstanding_balances", "SELECT (r - 'next')::text, r->'next'->>'currency', r->'next'->>'customer_id'"
	                               " FROM mcp_list_outstanding($1, $2, $3, $4::date, $5::int, $6, $7) AS r", 1 },
	{ "get_customer", "SELECT mcp_get_customer($1, $2)::text", 0 },
	{ "prompt_overdue", "SELECT mcp_prompt_overdue($1, $2, $3::int)::text", 1 },
	{ "prompt_balances", "SELECT mcp_list_outstanding($1, NULL, $2, COALESCE($3::date,"
	                     " (date_trunc('month', current_date) - interval '1 day')::date), $4::int,"
	                     " NULL, NULL)::text", 1 },
	{ "prompt_candidates", "SELECT mcp_prompt_candidates($1, $2, $3::bigint, $4, $5, $6::int)::text", 0 },
	{ "complete", "SELECT mcp_complete($1, $2, $3, $4, $5::int)::text", 0 },
	{ "get_business_profile", "SELECT mcp_get_business_profile($1)::text", 0 },
	{ "get_statement", "SELECT r::text, r->>'currency', r->>'period_end', r->>'period_start'"
	                   " FROM mcp_statement($1, $2, $3, $4::date, $5::date, $6) AS r", 1 },
	{ "get_invoice_document", "SELECT r::text, r->>'currency', r->>'invoice_id'"
	                          " FROM mcp_invoice_document($1, $2::uuid) AS r", 1 },
	{ "get_credit_note_document", "SELECT r::text, r->>'currency', r->>'credit_note_id'"
	                              " FROM mcp_credit_note_document($1, $2::uuid) AS r", 1 },
	{ "expire_idempotency_keys", "SELECT mcp_expire_idempotency_keys()::text", 0 },
	{ "create_invoice", "SELECT result::text, err_state, err_message, err_detail"
	                    " FROM mcp_try_create_invoice($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)", 0 },
	{ "update_invoice", "SELECT result::text, err_state, err_message, err_detail"
	                    " FROM mcp_try_update_invoice($1, $2, $3, $4, $5, $6, $7, $8, $9)", 0 },
	{ "create_credit_note", "SELECT result::text, err_state, err_message, err_detail"
	                        " FROM mcp_try_create_credit_note($1, $2, $3, $4, $5, $6, $7, $8, $9)", 0 },
	{ "apply_credit", "SELECT result::text, err_state, err_message, err_detail"
	                  " FROM mcp_try_apply_credit($1, $2, $3, $4, $5, $6, $7, $8)", 0 },
	{ "reverse_payment", "SELECT result::text, err_state, err_message, err_detail"
	                     " FROM mcp_try_reverse_payment($1, $2, $3, $4, $5, $6, $7)", 0 },
	{ "upsert_tax_rate", "SELECT result::text, err_state, err_message, err_detail"
	                     " FROM mcp_try_upsert_tax_rate($1, $2, $3, $4, $5, $6, $7)", 0 },
	{ "send_invoice", "SELECT result::text, err_state, err_message, err_detail"
	                  " FROM mcp_try_send_invoice($1, $2, $3, $4)", 0 },
	{ "void_invoice", "SELECT result::text, err_state, err_message, err_detail"
	                  " FROM mcp_try_void_invoice($1, $2, $3, $4, $5)", 0 },
	{ "apply_payment", "SELECT result::text, err_state, err_message, err_detail"
	                   " FROM mcp_try_apply_payment($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", 0 },
	{ "upsert_customer", "SELECT result::text, err_state, err_message, err_detail"
	                     " FROM mcp_try_upsert_customer($1, $2, $3, $4, $5, $6, $7, $8)", 0 },
	{ "upsert_business_profile", "SELECT result::text, err_state, err_message, err_detail"
	                             " FROM mcp_try_upsert_business_profile($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)", 0 },
	/* Every batch: a member stuck on a row lock gives up quickly and is
	 * tried again alone, so one lock wait never holds the others back; no
	 * statement runs past the last member's deadline. */
	{ "batch_lock_timeout", "SELECT set_config('lock_timeout', '200ms', true),"
	                        " set_config('statement_timeout', $1, true)", 0 },
	/* Every read: no statement runs past its own deadline. */
	{ "read_timeout", "SELECT set_config('statement_timeout', $1, true)", 0 },
};
#define NSTATEMENTS (sizeof(statements) / sizeof(statements[0]))

static const struct statement *statement_named(const char *name)
{
	for (size_t i = 0; i < NSTATEMENTS; i++)
		if (strcmp(statements[i].name, name) == 0)
			return &statements[i];
	fatal("no statement named %s", name);
}

static const char *statement_sql(const char *name)
{
	return statement_named(name)->sql;
}

/* One statement of the table: by name when the connection prepared them,
 * else as unnamed (PgBouncer in transaction mode, database_statements =
 * unnamed): each Parse goes with its own Bind in the same transaction. */
static int send_statement(struct db *db, const char *name, int nparams, const char *const *params)
{
	if (db->unnamed)
		return PQsendQueryParams(db->conn, statement_sql(name), nparams, NULL, params, NULL, NULL, 0);
	return PQsendQueryPrepared(db->conn, name, nparams, params, NULL, NULL, 0);
}

#define RECONNECT_BACKOFF_NS 500000000LL
#define IDLE_RECONNECT_NS 2000000000LL
#define MAX_ATTEMPTS 3
/* A (re)connect not ready by then is given up and tried again. */
#define DB_CONNECT_TIMEOUT_NS 2000000000LL
/* A job waits at most this long for a connection to come (back) up. */
#define DB_DOWN_WAIT_NS 1000000000LL
/* A segment still unanswered this long after its deadline (its statement
 * cancelled, its statement_timeout passed): the connection is dead even
 * if TCP has not said so (a host gone, a network partition, a stopped
 * backend). */
#define DB_HANG_GRACE_NS 1000000000LL

/* ---- jobs ---- */

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

static void job_free(struct db_job *job)
{
	for (int i = 0; i < job->nparams; i++)
		free(job->params[i]);
	for (int i = 0; i < DB_MAX_COLUMNS; i++)
		free(job->cols[i]);
	free(job);
}

/* Delivers the outcome (unless nobody wants it any more). The job stays
 * allocated while a segment still refers to it. */
static void job_answer(struct db *db, struct db_job *job)
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

static void job_fail(struct db *db, struct db_job *job, const char *code, int retryable,
                     const char *message)
{
	for (int i = 0; i < DB_MAX_COLUMNS; i++) {
		free(job->cols[i]);
		job->cols[i] = NULL;
	}
	job->ok = 0;
	tool_error_set(&job->err, code, NULL, retryable, "%s", message);
	job_answer(db, job);
}

/* ---- SQLSTATE to tool errors ---- */

/* Maps an error to a tool error; returns 1 if the statement may simply be
 * run again (serialization failure, deadlock, lock timeout: nothing of it
 * was kept). */
static int map_error(const char *state, const char *msg, const char *detail, struct tool_error *err)
{
	if (!state)
		state = "";
	if (!msg)
		msg = "database error";
	/* Our own functions raise MInnn codes: message for the agent, the
	 * field in DETAIL. */
	if (strncmp(state, "MI", 2) == 0) {
		const char *code = strcmp(state, "MI404") == 0 ? "NOT_FOUND"
		                 : strcmp(state, "MI409") == 0 ? "CONFLICT"
		                 : strcmp(state, "MI422") == 0 ? "INVALID_STATE"
		                 : "INVALID_INPUT";
		tool_error_set(err, code, detail && *detail ? detail : NULL, 0, "%s", msg);
		return 0;
	}
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0) {
		tool_error_set(err, "CONFLICT", NULL, 1, "concurrent update; retry the call");
		return 1;
	}
	if (strcmp(state, "57014") == 0) {
		tool_error_set(err, "TIMEOUT", NULL, 1, "the database did not answer in time; retry later");
		return 0;
	}
	if (strcmp(state, "22003") == 0) {
		tool_error_set(err, "INVALID_INPUT", NULL, 0, "an amount is out of range: %s", msg);
		return 0;
	}
	if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0) {
		tool_error_set(err, "INVALID_INPUT", NULL, 0, "rejected by a database rule: %s", msg);
		return 0;
	}
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 || strncmp(state, "53", 2) == 0) {
		tool_error_set(err, "DATABASE_UNAVAILABLE", NULL, 1, "the database is unavailable; retry later");
		return 0;
	}
	log_error("unexpected database error %s: %s", state, msg);
	tool_error_set(err, "INTERNAL", NULL, 0, "internal database error (SQLSTATE %s)", state);
	return 0;
}

/* ---- queues ---- */

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

static void enqueue(struct db *db, struct db_job *job)
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
static void retry_or_fail(struct db *db, struct db_job *job, const struct tool_error *err)
{
	int in_time = clock_now_ns() < job->deadline_ns;

	if (job->done && job->attempts < MAX_ATTEMPTS && in_time) {
		enqueue(db, job);
		return;
	}
	if (!job->done) {
		job_free(job);
		return;
	}
	job->ok = 0;
	if (in_time)
		job->err = *err;
	else
		tool_error_set(&job->err, "TIMEOUT", NULL, 1, "the database did not finish in time; "
		               "nothing was stored: retry later");
	job_answer(db, job);
	job_free(job);
}

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
				retry_or_fail(db, job, &lost);
			} else {
				if (!job->answered && job->done)
					job_fail(db, job, lost.code, 1, lost.message);
				job_free(job);
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
		job_free(job);
	}
	while ((job = db->writes)) {
		db->writes = job->next;
		job_free(job);
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
	for (size_t i = 0; i < NSTATEMENTS && !db->unnamed; i++) {
		r = PQprepare(db->conn, statements[i].name, statements[i].sql, 0, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			log_error("cannot prepare %s: %s (has `mcp-invoiced migrate` run?)",
			          statements[i].name, PQresultErrorMessage(r));
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

static void fail_queued(struct db *db, const char *message)
{
	struct db_job *lists[2] = { db->reads, db->writes }, *job, *next;

	db->reads = db->writes = db->reads_tail = db->writes_tail = NULL;
	for (int i = 0; i < 2; i++) {
		for (job = lists[i]; job; job = next) {
			next = job->next;
			db->stats.queued--;
			if (job->done)
				job_fail(db, job, "DATABASE_UNAVAILABLE", 1, message);
			job_free(job);
		}
	}
}

static void connect_failed(struct db *db, const char *why)
{
	log_error("database connection failed: %s", why);
	drop_connection(db);
	db->next_attempt_ns = clock_now_ns() + RECONNECT_BACKOFF_NS;
	fail_queued(db, "the database is unavailable; retry later");
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
		for (size_t i = 0; i < NSTATEMENTS; i++)
			PQsendPrepare(db->conn, statements[i].name, statements[i].sql, 0, NULL);
	PQpipelineSync(db->conn);
	seg->kind = SEG_SETUP;
	seg->nstmts = 1 + (db->unnamed ? 0 : (int)NSTATEMENTS);
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

/* Unlinks job (whose predecessor is prev) from a queue. */
static void unlink_job(struct db_job **head, struct db_job **tail, struct db_job *prev, struct db_job *job)
{
	if (prev)
		prev->next = job->next;
	else
		*head = job->next;
	if (*tail == job)
		*tail = prev;
	job->next = NULL;
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
		unlink_job(&db->writes, &db->writes_tail, prev, job);
		seg_add(db, seg, job, &last);
		max--;
		if (job->solo)
			break;
	}
}

/* The tenant a job serves (every statement's $1), as a slot of the
 * fairness table; the seed keeps tenants from choosing their slot. */
static unsigned tenant_slot(const struct db *db, const struct db_job *job)
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
static struct db_job *pick_read(struct db *db, long long now, struct db_job **prev_out)
{
	struct db_job *best = NULL, *best_prev = NULL, *prev = NULL;
	unsigned long long best_stamp = 0;

	for (struct db_job *job = db->reads; job; prev = job, job = job->next) {
		unsigned long long stamp;
		if (now >= job->deadline_ns)
			continue;
		stamp = db->served[tenant_slot(db, job)];
		if (!best || stamp < best_stamp) {
			best = job;
			best_prev = prev;
			best_stamp = stamp;
		}
	}
	*prev_out = best_prev;
	if (best && statement_named(best->stmt)->heavy && db->nsegs > 0)
		return NULL;
	return best;
}

/* The milliseconds a segment's statements may run: until the latest of
 * its jobs' deadlines (at least 1: 0 would mean no limit). */
static void timeout_param(char *buf, size_t cap, long long deadline_ns, long long now)
{
	long long ms = (deadline_ns - now) / 1000000;

	snprintf(buf, cap, "%lld", ms < 1 ? 1 : ms);
}

/* The row a write locks first: the invoice, for the tools that name one
 * (reverse_payment names a payment, so its invoice is not known here). */
static const char *lock_key(const struct db_job *job)
{
	static const char *const by_invoice[] = { "apply_payment", "send_invoice", "void_invoice",
	                                          "update_invoice", "create_credit_note", "apply_credit" };

	for (size_t i = 0; i < sizeof(by_invoice) / sizeof(by_invoice[0]); i++)
		if (job->nparams > 3 && job->params[3] && strcmp(job->stmt, by_invoice[i]) == 0)
			return job->params[3];
	return "";
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

static int write_due(const struct db *db, long long now)
{
	for (const struct db_job *job = db->writes; job; job = job->next)
		if (now < job->deadline_ns)
			return 1;
	return 0;
}

static int send_batch(struct db *db, long long now)
{
	struct db_segment *seg;
	long long latest = 0;
	char ms[24];
	const char *param[1] = { ms };

	if (!write_due(db, now))
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
	db->served[tenant_slot(db, job)] = ++db->served_seq;
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
	while (db->nsegs < DB_PIPELINE_DEPTH && (job = pick_read(db, now, &prev))) {
		unlink_job(&db->reads, &db->reads_tail, prev, job);
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
		job_free(job);
		return -1;
	}
	enqueue(db, job);
	if (!db->dispatching)
		send_pending(db);
	return 0;
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
			job_free(job);
			return;
		}
	}
	job->done = NULL; /* in flight: freed when its segment completes */
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
			job->rerun = map_error(state, PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY),
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
	} else if (map_error(PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2),
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
			job_free(job);
		} else if (seg->kind == SEG_BATCH && seg->failed) {
			/* Nothing of this batch committed: running it again is safe. */
			retry_or_fail(db, job, &rolled_back);
		} else if (job->rerun && !job->ok) {
			job->rerun = 0;
			retry_or_fail(db, job, &job->err);
		} else {
			if (!job->ok && !job->err.code)
				tool_error_set(&job->err, "TIMEOUT", NULL, 1,
				               "the database did not answer in time; retry later");
			job_answer(db, job);
			job_free(job);
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

static void expire_queue(struct db *db, struct db_job **head, struct db_job **tail, long long now)
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
			job_fail(db, job, "TIMEOUT", 1, "the database did not answer in time; nothing was "
			                            "stored: retry later");
		job_free(job);
	}
}

/* Waiting for a connection that is not there: answered within
 * DB_DOWN_WAIT_NS of the loss (or of its arrival, if later), never left to
 * wait for its own (longer) deadline. */
static void fail_waiting(struct db *db, struct db_job **head, struct db_job **tail, long long now)
{
	struct db_job *prev = NULL, *job = *head, *next;

	for (; job; job = next) {
		next = job->next;
		if (now - (job->queued_ns > db->down_since_ns ? job->queued_ns : db->down_since_ns) <
		    DB_DOWN_WAIT_NS) {
			prev = job;
			continue;
		}
		unlink_job(head, tail, prev, job);
		db->stats.queued--;
		if (job->done)
			job_fail(db, job, "DATABASE_UNAVAILABLE", 1, job->write
			         ? "the database is unavailable; nothing was stored: retry later"
			         : "the database is unavailable; retry later");
		job_free(job);
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
	expire_queue(db, &db->reads, &db->reads_tail, now);
	expire_queue(db, &db->writes, &db->writes_tail, now);
	if (db->state != DB_READY) {
		fail_waiting(db, &db->reads, &db->reads_tail, now);
		fail_waiting(db, &db->writes, &db->writes_tail, now);
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
			job_answer(db, job);
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
