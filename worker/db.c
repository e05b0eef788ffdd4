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

#include "../server/log.h"
#include "../shm/limiter.h"
#include "../shm/shm.h"
#include "db.h"

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
};

/* Reads, and the mcp_try_* form of every write (4 columns: result, sqlstate,
 * message, detail). */
static const struct statement statements[] = {
	{ "list_invoices", "SELECT (r->'invoices')::text, r->'next'->>'key', r->'next'->>'id'"
	                   " FROM mcp_find_invoices($1, $2::jsonb, $3::int, $4, $5::uuid) AS r" },
	{ "get_invoice", "SELECT mcp_get_invoice_by($1, $2::uuid, $3)::text" },
	{ "list_customers", "SELECT (r->'customers')::text, r->>'next'"
	                    " FROM mcp_list_customers($1, $2, $3::int, $4) AS r" },
	{ "list_tax_rates", "SELECT mcp_list_tax_rates($1)::text" },
	{ "list_outstanding_balances", "SELECT (r - 'next')::text, r->'next'->>'currency', r->'next'->>'customer_id'"
	                               " FROM mcp_list_outstanding($1, $2, $3, $4::date, $5::int, $6, $7) AS r" },
	{ "get_customer", "SELECT mcp_get_customer($1, $2)::text" },
	{ "prompt_overdue", "SELECT mcp_prompt_overdue($1, $2, $3::int)::text" },
	{ "prompt_balances", "SELECT mcp_list_outstanding($1, NULL, $2, COALESCE($3::date,"
	                     " (date_trunc('month', current_date) - interval '1 day')::date), $4::int,"
	                     " NULL, NULL)::text" },
	{ "prompt_candidates", "SELECT mcp_prompt_candidates($1, $2, $3::bigint, $4, $5, $6::int)::text" },
	{ "complete", "SELECT mcp_complete($1, $2, $3, $4, $5::int)::text" },
	{ "get_business_profile", "SELECT mcp_get_business_profile($1)::text" },
	{ "get_statement", "SELECT r::text, r->>'currency', r->>'period_end', r->>'period_start'"
	                   " FROM mcp_statement($1, $2, $3, $4::date, $5::date, $6) AS r" },
	{ "get_invoice_document", "SELECT r::text, r->>'currency', r->>'invoice_id'"
	                          " FROM mcp_invoice_document($1, $2::uuid) AS r" },
	{ "expire_idempotency_keys", "SELECT mcp_expire_idempotency_keys()::text" },
	{ "create_invoice", "SELECT result::text, err_state, err_message, err_detail"
	                    " FROM mcp_try_create_invoice($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)" },
	{ "update_invoice", "SELECT result::text, err_state, err_message, err_detail"
	                    " FROM mcp_try_update_invoice($1, $2, $3, $4, $5, $6, $7, $8, $9)" },
	{ "create_credit_note", "SELECT result::text, err_state, err_message, err_detail"
	                        " FROM mcp_try_create_credit_note($1, $2, $3, $4, $5, $6, $7, $8, $9)" },
	{ "apply_credit", "SELECT result::text, err_state, err_message, err_detail"
	                  " FROM mcp_try_apply_credit($1, $2, $3, $4, $5, $6, $7, $8)" },
	{ "reverse_payment", "SELECT result::text, err_state, err_message, err_detail"
	                     " FROM mcp_try_reverse_payment($1, $2, $3, $4, $5, $6, $7)" },
	{ "upsert_tax_rate", "SELECT result::text, err_state, err_message, err_detail"
	                     " FROM mcp_try_upsert_tax_rate($1, $2, $3, $4, $5, $6, $7)" },
	{ "send_invoice", "SELECT result::text, err_state, err_message, err_detail"
	                  " FROM mcp_try_send_invoice($1, $2, $3, $4)" },
	{ "void_invoice", "SELECT result::text, err_state, err_message, err_detail"
	                  " FROM mcp_try_void_invoice($1, $2, $3, $4, $5)" },
	{ "apply_payment", "SELECT result::text, err_state, err_message, err_detail"
	                   " FROM mcp_try_apply_payment($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)" },
	{ "upsert_customer", "SELECT result::text, err_state, err_message, err_detail"
	                     " FROM mcp_try_upsert_customer($1, $2, $3, $4, $5, $6, $7)" },
	{ "upsert_business_profile", "SELECT result::text, err_state, err_message, err_detail"
	                             " FROM mcp_try_upsert_business_profile($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)" },
	/* Every batch: a member stuck on a row lock gives up quickly and is
	 * tried again alone, so one lock wait never holds the others back. */
	{ "batch_lock_timeout", "SELECT set_config('lock_timeout', '200ms', true)" },
};
#define NSTATEMENTS (sizeof(statements) / sizeof(statements[0]))

static const char *statement_sql(const char *name)
{
	for (size_t i = 0; i < NSTATEMENTS; i++)
		if (strcmp(statements[i].name, name) == 0)
			return statements[i].sql;
	fatal("no statement named %s", name);
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
	int in_time = limiter_now_ns() < job->deadline_ns;

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
		events = db->watched_events; /* set by connect_step from PQconnectPoll */
	} else if (db->conn && PQflush(db->conn) == 1) {
		events |= EPOLLOUT;
	}
	if (fd != db->watched_fd) {
		if (db->watched_fd >= 0)
			epoll_ctl(db->epfd, EPOLL_CTL_DEL, db->watched_fd, NULL);
		db->watched_fd = fd;
		if (fd >= 0) {
			ev.events = events;
			epoll_ctl(db->epfd, EPOLL_CTL_ADD, fd, &ev);
		}
		db->watched_events = events;
	} else if (fd >= 0 && events != db->watched_events) {
		ev.events = events;
		epoll_ctl(db->epfd, EPOLL_CTL_MOD, fd, &ev);
		db->watched_events = events;
	}
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
	db->next_attempt_ns = limiter_now_ns() + RECONNECT_BACKOFF_NS;
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
	db->next_attempt_ns = limiter_now_ns() + RECONNECT_BACKOFF_NS;
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
	seg->sent_ns = limiter_now_ns();
	db->segs = db->segs_tail = seg;
	db->nsegs = 1;
	db->state = DB_SETUP;
}

static void connect_step(struct db *db)
{
	switch (PQconnectPoll(db->conn)) {
	case PGRES_POLLING_READING:
		db->watched_events = EPOLLIN;
		break;
	case PGRES_POLLING_WRITING:
		db->watched_events = EPOLLOUT;
		break;
	case PGRES_POLLING_OK:
		start_setup(db);
		break;
	default:
		db->refused = refusal_is_permanent(PQerrorMessage(db->conn));
		connect_failed(db, PQerrorMessage(db->conn));
		return;
	}
	/* The socket may change while connecting (several addresses). */
	if (db->state == DB_CONNECTING && db->watched_fd != PQsocket(db->conn)) {
		unsigned events = db->watched_events;
		if (db->watched_fd >= 0)
			epoll_ctl(db->epfd, EPOLL_CTL_DEL, db->watched_fd, NULL);
		db->watched_fd = -1;
		db->watched_events = events;
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
	db->watched_events = EPOLLOUT;
	connect_step(db);
}

/* ---- sending ---- */

static int send_job(struct db *db, struct db_job *job)
{
	job->attempts++;
	job->sent_ns = limiter_now_ns();
	return send_statement(db, job->stmt, job->nparams, (const char *const *)job->params) == 1 ? 0 : -1;
}

static struct db_segment *segment_new(struct db *db, enum seg_kind kind)
{
	struct db_segment *seg = calloc(1, sizeof(*seg));

	if (!seg)
		fatal("out of memory");
	seg->kind = kind;
	seg->sent_ns = limiter_now_ns();
	db->nsegs++;
	if (db->segs_tail)
		db->segs_tail->next = seg;
	else
		db->segs = seg;
	db->segs_tail = seg;
	return seg;
}

/* Moves up to max jobs from the front of a queue into seg; a job marked
 * solo goes alone. */
static void take_jobs(struct db *db, struct db_job **head, struct db_job **tail,
                      struct db_segment *seg, int max)
{
	struct db_job *last = NULL;

	while (*head && max-- > 0 && !(last && (*head)->solo)) {
		struct db_job *job = *head;
		*head = job->next;
		if (!*head)
			*tail = NULL;
		job->next = NULL;
		if (last)
			last->next = job;
		else
			seg->jobs = job;
		last = job;
		seg->nstmts++;
		db->stats.queued--;
		db->stats.in_flight++;
		if (job->solo)
			break;
	}
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

static int send_batch(struct db *db)
{
	struct db_segment *seg = segment_new(db, SEG_BATCH);

	take_jobs(db, &db->writes, &db->writes_tail, seg, DB_BATCH_MAX);
	sort_members(seg);
	seg->lead = 1;
	seg->nstmts++;
	if (send_statement(db, "batch_lock_timeout", 0, NULL) != 1)
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

/* Sends what is queued, writes first. PostgreSQL runs a connection's
 * statements one after another, so at most DB_PIPELINE_DEPTH segments are
 * in flight: work that arrives later waits here, where a write batch can
 * still go ahead of reads, instead of behind every read already sent. */
static void send_pending(struct db *db)
{
	if (db->state != DB_READY)
		return;
	if (db->writes && !db->batch_in_flight && db->nsegs < DB_PIPELINE_DEPTH && send_batch(db) < 0)
		goto lost;
	while (db->reads && db->nsegs < DB_PIPELINE_DEPTH) {
		struct db_segment *seg = segment_new(db, SEG_READ);
		take_jobs(db, &db->reads, &db->reads_tail, seg, 1);
		if (send_job(db, seg->jobs) < 0 || PQpipelineSync(db->conn) != 1)
			goto lost;
	}
	if (PQflush(db->conn) < 0)
		goto lost;
	watch(db);
	return;
lost:
	log_warn("database connection lost while sending: %s", PQerrorMessage(db->conn));
	drop_connection(db);
	db->next_attempt_ns = limiter_now_ns();
}

int db_submit(struct db *db, struct db_job *job, struct tool_error *err)
{
	/* Down and not yet due for another try: say so now. Otherwise queue:
	 * db_tick connects (never from here, so no other job's done runs
	 * inside a submit). */
	if (db->state == DB_DOWN && limiter_now_ns() < db->next_attempt_ns) {
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
			             (state && strcmp(state, "57014") == 0 && limiter_now_ns() < job->deadline_ns);
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
	long long now = limiter_now_ns();

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
	db->next_attempt_ns = limiter_now_ns();
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

void db_tick(struct db *db, long long now)
{
	struct db_segment *seg;

	if (db->canceller > 0 && waitpid(db->canceller, NULL, WNOHANG) != 0)
		db->canceller = 0;
	expire_queue(db, &db->reads, &db->reads_tail, now);
	expire_queue(db, &db->writes, &db->writes_tail, now);
	for (seg = db->segs; seg; seg = seg->next) {
		for (struct db_job *job = seg->jobs; job; job = job->next) {
			if (job->answered || now < job->deadline_ns)
				continue;
			/* The client gets TIMEOUT now; the statement, if it is the
			 * one running, is cancelled, and the connection goes on. */
			job->ok = 0;
			tool_error_set(&job->err, "TIMEOUT", NULL, 1, job->write
			               ? "the database did not answer in time; the call may still take "
			                 "effect: retry with the same idempotency_key"
			               : "the database did not answer in time; retry later");
			job_answer(db, job);
			if (seg == db->segs)
				cancel_running(db, seg);
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
