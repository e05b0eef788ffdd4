/* Unit tests for the database engine (worker/db/db.c, included here) with a
 * fake libpq: this file defines the PGconn and PGresult it hands the
 * engine, records every statement the engine sends, and answers them as
 * each test scripts (a row, a wrapper's caught error, an error that aborts
 * the segment). What they pin down: which members of a batch run again
 * (lock timeout: alone and uncounted; deadlock: counted, then CONFLICT),
 * that a batch failing as a whole is sent again, that reads are re-run on
 * a serialization failure, that a job past its deadline is never sent,
 * that reads are taken fairly across tenants, and what a lost connection
 * answers. A real PostgreSQL runs the same paths in the integration tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "worker/db/db.c"

/* ---- the fake libpq ---- */

#define FAKE_MAX 512

struct fake_stmt {
	char name[64];          /* prepared name, or "(sql)" for text */
	int nparams;
	char params[DB_MAX_PARAMS][64];
	int sync;               /* a PQpipelineSync, not a statement */
};

struct pg_result {
	ExecStatusType status;
	int ntuples, nfields;
	char *values[DB_MAX_COLUMNS];
	char state[8], message[64];
};

struct pg_conn {
	ConnStatusType status;
	struct fake_stmt sent[FAKE_MAX];
	int nsent, ran;
	PGresult *out[FAKE_MAX * 2];
	int nout, next_out;
	int consume_fails;      /* the next PQconsumeInput reports a lost connection */
};

struct pg_cancel {
	int unused;
};

/* How a test answers a statement: a value (result column), a wrapper's
 * caught error (its SQLSTATE in the row), or an error ending the segment. */
enum answer_kind { ANSWER_VALUE, ANSWER_CAUGHT, ANSWER_ERROR };
struct answer {
	enum answer_kind kind;
	const char *value;
	const char *state;
};
typedef struct answer (*answer_fn)(const struct fake_stmt *s, int nth);
static answer_fn answerer;
static int answered_stmts;
static int b_seen; /* sends of the invoice "b" answered so far */

static PGresult *result_new(ExecStatusType st)
{
	PGresult *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->status = st;
	return r;
}

static void push(PGconn *c, PGresult *r)
{
	assert_true(c->nout < (int)(sizeof(c->out) / sizeof(c->out[0])));
	c->out[c->nout++] = r;
}

static int is_write(const char *name)
{
	const struct db_statement *s;

	for (size_t i = 0; i < db_statements_count(); i++)
		if (strcmp((s = db_statement_at(i))->name, name) == 0)
			return strstr(s->sql, "mcp_try_") != NULL;
	return 0;
}

/* Runs what was sent since the last run, as PostgreSQL would: results in
 * order, each followed by NULL; after an error the segment's remaining
 * statements are aborted until its Sync. */
static void fake_run(PGconn *c)
{
	int aborted = 0;

	for (; c->ran < c->nsent; c->ran++) {
		struct fake_stmt *s = &c->sent[c->ran];
		PGresult *r;
		struct answer a = { ANSWER_VALUE, "{}", NULL };
		if (s->sync) {
			push(c, result_new(PGRES_PIPELINE_SYNC));
			aborted = 0;
			continue;
		}
		if (aborted) {
			push(c, result_new(PGRES_PIPELINE_ABORTED));
			push(c, NULL);
			continue;
		}
		if (strcmp(s->name, "(sql)") != 0 && strcmp(s->name, "(prepare)") != 0 &&
		    strcmp(s->name, "batch_lock_timeout") != 0 && strcmp(s->name, "read_timeout") != 0 && answerer)
			a = answerer(s, answered_stmts++);
		if (a.kind == ANSWER_ERROR) {
			r = result_new(PGRES_FATAL_ERROR);
			snprintf(r->state, sizeof(r->state), "%s", a.state);
			snprintf(r->message, sizeof(r->message), "scripted error %s", a.state);
			aborted = 1;
		} else {
			r = result_new(PGRES_TUPLES_OK);
			r->ntuples = 1;
			if (is_write(s->name)) {
				r->nfields = 4;
				if (a.kind == ANSWER_CAUGHT) {
					r->values[1] = strdup(a.state);
					r->values[2] = strdup("caught");
				} else {
					r->values[0] = strdup(a.value);
				}
			} else {
				r->nfields = 1;
				r->values[0] = strdup(a.value);
			}
		}
		push(c, r);
		push(c, NULL);
	}
}

static void record(PGconn *c, const char *name, int nparams, const char *const *params, int sync)
{
	struct fake_stmt *s;

	assert_true(c->nsent < FAKE_MAX);
	s = &c->sent[c->nsent++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->nparams = nparams;
	s->sync = sync;
	for (int i = 0; i < nparams && i < DB_MAX_PARAMS; i++)
		snprintf(s->params[i], sizeof(s->params[i]), "%s", params && params[i] ? params[i] : "(null)");
}

PGconn *PQconnectdb(const char *conninfo)
{
	PGconn *c = calloc(1, sizeof(*c));

	(void)conninfo;
	assert_non_null(c);
	c->status = CONNECTION_OK;
	return c;
}
PGconn *PQconnectStart(const char *conninfo)
{
	return PQconnectdb(conninfo);
}
PostgresPollingStatusType PQconnectPoll(PGconn *c)
{
	(void)c;
	return PGRES_POLLING_OK;
}
ConnStatusType PQstatus(const PGconn *c)
{
	return c->status;
}
char *PQerrorMessage(const PGconn *c)
{
	(void)c;
	return "fake";
}
void PQfinish(PGconn *c)
{
	for (int i = c->next_out; i < c->nout; i++)
		PQclear(c->out[i]);
	free(c);
}
PGresult *PQexec(PGconn *c, const char *sql)
{
	PGresult *r = result_new(PGRES_TUPLES_OK);

	(void)c;
	(void)sql;
	r->ntuples = 1;
	r->nfields = 2;
	r->values[0] = strdup("f");
	r->values[1] = strdup("mcp_invoiced_app");
	return r;
}
PGresult *PQprepare(PGconn *c, const char *name, const char *sql, int n, const Oid *types)
{
	(void)c, (void)name, (void)sql, (void)n, (void)types;
	return result_new(PGRES_COMMAND_OK);
}
void PQclear(PGresult *r)
{
	if (!r)
		return;
	for (int i = 0; i < DB_MAX_COLUMNS; i++)
		free(r->values[i]);
	free(r);
}
ExecStatusType PQresultStatus(const PGresult *r)
{
	return r ? r->status : PGRES_FATAL_ERROR;
}
char *PQresultErrorMessage(const PGresult *r)
{
	return (char *)r->message;
}
char *PQresultErrorField(const PGresult *r, int field)
{
	if (field == PG_DIAG_SQLSTATE)
		return r->state[0] ? (char *)r->state : NULL;
	if (field == PG_DIAG_MESSAGE_PRIMARY)
		return (char *)r->message;
	return NULL;
}
int PQntuples(const PGresult *r)
{
	return r->ntuples;
}
int PQnfields(const PGresult *r)
{
	return r->nfields;
}
int PQgetisnull(const PGresult *r, int row, int col)
{
	(void)row;
	return r->values[col] == NULL;
}
char *PQgetvalue(const PGresult *r, int row, int col)
{
	(void)row;
	return r->values[col] ? r->values[col] : "";
}
int PQsetnonblocking(PGconn *c, int arg)
{
	(void)c, (void)arg;
	return 0;
}
int PQenterPipelineMode(PGconn *c)
{
	(void)c;
	return 1;
}
PGcancel *PQgetCancel(PGconn *c)
{
	(void)c;
	return calloc(1, sizeof(PGcancel));
}
void PQfreeCancel(PGcancel *k)
{
	free(k);
}
int PQcancel(PGcancel *k, char *err, int len)
{
	(void)k, (void)err, (void)len;
	return 1;
}
int PQsocket(const PGconn *c)
{
	(void)c;
	return -1;
}
int PQflush(PGconn *c)
{
	(void)c;
	return 0;
}
int PQsendQueryParams(PGconn *c, const char *sql, int n, const Oid *types, const char *const *values,
                      const int *lengths, const int *formats, int result_format)
{
	(void)sql, (void)types, (void)lengths, (void)formats, (void)result_format;
	record(c, "(sql)", n, values, 0);
	return 1;
}
int PQsendPrepare(PGconn *c, const char *name, const char *sql, int n, const Oid *types)
{
	(void)name, (void)sql, (void)n, (void)types;
	record(c, "(prepare)", 0, NULL, 0);
	return 1;
}
int PQsendQueryPrepared(PGconn *c, const char *name, int n, const char *const *values, const int *lengths,
                        const int *formats, int result_format)
{
	(void)lengths, (void)formats, (void)result_format;
	record(c, name, n, values, 0);
	return 1;
}
int PQpipelineSync(PGconn *c)
{
	record(c, "(sync)", 0, NULL, 1);
	return 1;
}
int PQconsumeInput(PGconn *c)
{
	if (c->consume_fails) {
		c->status = CONNECTION_BAD;
		return 0;
	}
	return 1;
}
int PQisBusy(PGconn *c)
{
	return c->next_out >= c->nout;
}
PGresult *PQgetResult(PGconn *c)
{
	return c->next_out < c->nout ? c->out[c->next_out++] : NULL;
}

/* ---- the tests ---- */

struct outcome {
	int calls, ok;
	char code[32];
	char value[64];
};

static void done(struct db_job *job)
{
	struct outcome *o = job->ctx;

	o->calls++;
	o->ok = job->ok;
	snprintf(o->code, sizeof(o->code), "%s", job->ok ? "" : job->err.code);
	snprintf(o->value, sizeof(o->value), "%s", job->ok && job->cols[0] ? job->cols[0] : "");
}

static struct db db;

static int setup(void **state)
{
	(void)state;
	answerer = NULL;
	answered_stmts = 0;
	b_seen = 0;
	db_init(&db, "fake", 3000);
	assert_int_equal(db_connect(&db), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	db_close(&db);
	return 0;
}

static long long in(long long ms)
{
	return clock_now_ns() + ms * 1000000LL;
}

static void submit(const char *stmt, const char *tenant, const char *key, int write, struct outcome *o,
                   long long deadline)
{
	const char *params[DB_MAX_PARAMS] = { tenant, "sub", "req", key, "1", NULL, NULL, NULL, NULL, key, "{}" };
	struct tool_error err;
	int n = write ? (strcmp(stmt, "apply_payment") == 0 ? 10 : 4) : 1;

	assert_int_equal(db_submit(&db, db_job_new(stmt, n, params, write, write ? 1 : 1, deadline, done, o),
	                           &err), 0);
}

/* Runs the pipeline until nothing more is sent. */
static void settle(void)
{
	for (int i = 0; i < 20 && db.conn && db.conn->ran < db.conn->nsent; i++) {
		fake_run(db.conn);
		db_on_io(&db, EPOLLIN);
	}
}

static int sends_of(const char *stmt, const char *key)
{
	int n = 0;

	for (int i = 0; db.conn && i < db.conn->nsent; i++)
		n += strcmp(db.conn->sent[i].name, stmt) == 0 && (!key || strcmp(db.conn->sent[i].params[3], key) == 0);
	return n;
}

/* key's first times sends are answered with a caught error state. */
static struct answer caught_for(const struct fake_stmt *s, const char *key, const char *state, int times,
                                int *seen)
{
	struct answer ok = { ANSWER_VALUE, "{\"done\":true}", NULL }, caught = { ANSWER_CAUGHT, NULL, state };

	if (strcmp(s->params[3], key) == 0 && (*seen)++ < times)
		return caught;
	return ok;
}

static struct answer b_not_found(const struct fake_stmt *s, int nth)
{
	(void)nth;
	if (strcmp(s->params[3], "b") == 0)
		return (struct answer){ ANSWER_CAUGHT, NULL, "MI404" };
	return (struct answer){ ANSWER_VALUE, "{\"done\":true}", NULL };
}

static void test_a_members_error_is_its_own(void **state)
{
	struct outcome a = { 0 }, b = { 0 }, c = { 0 };
	(void)state;
	answerer = b_not_found;
	submit("send_invoice", "t", "a", 1, &a, in(3000));
	submit("send_invoice", "t", "b", 1, &b, in(3000));
	submit("send_invoice", "t", "c", 1, &c, in(3000));
	settle();
	assert_int_equal(a.calls + b.calls + c.calls, 3);
	assert_true(a.ok && c.ok);
	assert_false(b.ok);
	assert_string_equal(b.code, "NOT_FOUND");
	assert_int_equal(sends_of("send_invoice", "b"), 1); /* not run again */
}

static struct answer b_lock_timeout_three_times(const struct fake_stmt *s, int nth)
{
	(void)nth;
	return caught_for(s, "b", "55P03", 3, &b_seen);
}

static void test_a_member_stuck_on_a_lock_goes_again_alone_and_uncounted(void **state)
{
	struct outcome a = { 0 }, b = { 0 };
	(void)state;
	answerer = b_lock_timeout_three_times;
	submit("send_invoice", "t", "a", 1, &a, in(3000));
	submit("send_invoice", "t", "b", 1, &b, in(3000));
	settle();
	/* Three lock timeouts do not use up b's three attempts: the fourth
	 * send succeeds; each retry went alone (the lead, b, the Sync). */
	assert_true(a.ok && b.ok);
	assert_int_equal(b.calls, 1);
	assert_int_equal(sends_of("send_invoice", "b"), 4);
	assert_int_equal(sends_of("send_invoice", "a"), 1);
	for (int i = 0, nth = 0; i < db.conn->nsent; i++) {
		if (strcmp(db.conn->sent[i].name, "send_invoice") != 0 || strcmp(db.conn->sent[i].params[3], "b") != 0)
			continue;
		if (nth++ == 0)
			continue;
		assert_string_equal(db.conn->sent[i - 1].name, "batch_lock_timeout");
		assert_string_equal(db.conn->sent[i + 1].name, "(sync)");
	}
}

static struct answer b_deadlocks(const struct fake_stmt *s, int nth)
{
	(void)nth;
	return caught_for(s, "b", "40P01", 99, &b_seen);
}

static void test_a_deadlock_is_retried_three_times_then_conflict(void **state)
{
	struct outcome b = { 0 };
	(void)state;
	answerer = b_deadlocks;
	submit("send_invoice", "t", "b", 1, &b, in(3000));
	settle();
	assert_int_equal(b.calls, 1);
	assert_false(b.ok);
	assert_string_equal(b.code, "CONFLICT");
	assert_int_equal(sends_of("send_invoice", "b"), DB_MAX_ATTEMPTS);
}

static struct answer second_batch_fails(const struct fake_stmt *s, int nth)
{
	(void)s;
	if (nth == 1)
		return (struct answer){ ANSWER_ERROR, NULL, "57014" };
	return (struct answer){ ANSWER_VALUE, "{\"done\":true}", NULL };
}

static void test_a_batch_that_fails_whole_is_sent_again(void **state)
{
	struct outcome x = { 0 }, a = { 0 }, b = { 0 };
	(void)state;
	answerer = second_batch_fails;
	submit("send_invoice", "t", "x", 1, &x, in(3000)); /* goes at once, alone */
	submit("send_invoice", "t", "a", 1, &a, in(3000)); /* a and b wait: the next batch */
	submit("send_invoice", "t", "b", 1, &b, in(3000));
	settle();
	/* a's error (no wrapper caught it) aborted its batch, so nothing of it
	 * committed: a and b both went again, and succeeded. */
	assert_true(x.ok);
	assert_true(a.ok && b.ok);
	assert_int_equal(a.calls + b.calls, 2);
	assert_int_equal(sends_of("send_invoice", "a"), 2);
	assert_int_equal(sends_of("send_invoice", "b"), 2);
}

static struct answer read_serialization_failure_once(const struct fake_stmt *s, int nth)
{
	(void)s;
	if (nth == 0)
		return (struct answer){ ANSWER_ERROR, NULL, "40001" };
	return (struct answer){ ANSWER_VALUE, "{\"read\":2}", NULL };
}

static void test_a_read_is_rerun_after_a_serialization_failure(void **state)
{
	struct outcome r = { 0 };
	(void)state;
	answerer = read_serialization_failure_once;
	submit("list_tax_rates", "t", NULL, 0, &r, in(3000));
	settle();
	assert_int_equal(r.calls, 1);
	assert_true(r.ok);
	assert_string_equal(r.value, "{\"read\":2}");
	assert_int_equal(sends_of("list_tax_rates", NULL), 2);
}

static void test_a_job_past_its_deadline_is_never_sent(void **state)
{
	struct outcome late = { 0 };
	(void)state;
	submit("list_tax_rates", "t", NULL, 0, &late, in(-1));
	submit("send_invoice", "t", "x", 1, &late, in(-1));
	settle();
	assert_int_equal(sends_of("list_tax_rates", NULL) + sends_of("send_invoice", NULL), 0);
	db_tick(&db, clock_now_ns());
	assert_int_equal(late.calls, 2);
	assert_string_equal(late.code, "TIMEOUT");
}

static void test_reads_are_taken_fairly_across_tenants(void **state)
{
	struct outcome o[6] = { { 0 } };
	char order[8] = { 0 };
	int n = 0;
	(void)state;
	/* The connection is busy with two segments (the depth): the rest wait
	 * and are taken oldest first of the tenant served longest ago. */
	for (int i = 0; i < 5; i++)
		submit("list_tax_rates", "heavy-tenant", NULL, 0, &o[i], in(3000));
	submit("list_tax_rates", "light-tenant", NULL, 0, &o[5], in(3000));
	settle();
	for (int i = 0; i < db.conn->nsent && n < 6; i++)
		if (strcmp(db.conn->sent[i].name, "list_tax_rates") == 0)
			order[n++] = db.conn->sent[i].params[0][0];
	assert_string_equal(order, "hhlhhh");
}

static void test_a_lost_connection_fails_writes_and_reruns_reads(void **state)
{
	struct outcome w = { 0 }, r = { 0 };
	(void)state;
	submit("send_invoice", "t", "w", 1, &w, in(3000));
	submit("list_tax_rates", "t", NULL, 0, &r, in(3000));
	db.conn->consume_fails = 1;
	db_on_io(&db, EPOLLIN);
	/* The write may have committed: the agent is told, never a success. */
	assert_int_equal(w.calls, 1);
	assert_string_equal(w.code, "DATABASE_UNAVAILABLE");
	/* The read changed nothing: it waits for the new connection. */
	assert_int_equal(r.calls, 0);
	db_tick(&db, clock_now_ns());
	settle();
	assert_int_equal(r.calls, 1);
	assert_true(r.ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_a_members_error_is_its_own, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_member_stuck_on_a_lock_goes_again_alone_and_uncounted, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_a_deadlock_is_retried_three_times_then_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_batch_that_fails_whole_is_sent_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_read_is_rerun_after_a_serialization_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_job_past_its_deadline_is_never_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reads_are_taken_fairly_across_tenants, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_lost_connection_fails_writes_and_reruns_reads, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
