/* Unit tests for the tool declarations (worker/tools/tools.c, tools.h) and
 * the code that turns them into queries (worker/tools/tool_query.c) and
 * statements (worker/db/statements.c): every tool's parameters resolve
 * (argument names exist in its argument table), their count is the
 * statement's, a lock key names a parameter; a broken declaration is
 * refused; a call's query carries each parameter where its name says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "server/auth/auth.h"
#include "server/auth/cursor.h"
#include "worker/db/statements.h"
#include "worker/tools/tools.h"

static const struct arg_spec *arg_named(const struct tool_def *def, const char *name, size_t len)
{
	for (const struct arg_spec *a = def->args; a->name; a++)
		if (strlen(a->name) == len && strncmp(a->name, name, len) == 0)
			return a;
	return NULL;
}

static int highest_placeholder(const char *sql)
{
	int most = 0;

	for (const char *s = strchr(sql, '$'); s; s = strchr(s + 1, '$'))
		most = atoi(s + 1) > most ? atoi(s + 1) : most;
	return most;
}

/* Every declared parameter names a source, a computed value of a tool with
 * a prepare, or arguments of its own table. Checked here independently of
 * tool_statement_check. */
static void expect_resolves(const struct tool_def *def, const char *p)
{
	static const char *const sources = " @tenant @subject @request_id @fingerprint @require_known_customer ";
	char word[64];

	snprintf(word, sizeof(word), " %s ", p);
	if (strstr(sources, word))
		return;
	if (strncmp(p, "@except ", 8) == 0) {
		for (const char *w = p + 8; *w; w += strspn(w, " ")) {
			size_t n = strcspn(w, " ");
			if (!arg_named(def, w, n))
				fail_msg("%s: '%s' names no argument '%.*s'", def->name, p, (int)n, w);
			w += n;
		}
		return;
	}
	if (*p == '%') {
		if (!def->prepare)
			fail_msg("%s: computed %s but no prepare computes it", def->name, p);
		return;
	}
	size_t n = strcspn(p, ":|");
	if (!arg_named(def, p, n) || (p[n] == '|' && !arg_named(def, p + n + 1, strlen(p + n + 1))) ||
	    (p[n] == ':' && strcmp(p + n, ":text") != 0))
		fail_msg("%s: parameter '%s' is no source, computed value or argument", def->name, p);
}

static void test_every_declaration_resolves(void **state)
{
	char why[256];
	int locked = 0;

	(void)state;
	assert_true(tools_count() >= 20);
	/* first each declaration alone (the statement table refuses to be
	 * built from a broken one: fatal) */
	for (size_t i = 0; i < tools_count(); i++) {
		const struct tool_def *def = tools_at(i);
		for (int k = 0; k < tool_statement_nparams(&def->stmt); k++)
			expect_resolves(def, def->stmt.params[k]);
		if (tool_statement_check(def, why, sizeof(why)) < 0)
			fail_msg("%s", why);
	}
	for (size_t i = 0; i < tools_count(); i++) {
		const struct tool_def *def = tools_at(i);
		const struct db_statement *s = db_statement_named(tool_statement_name(def));
		int n = tool_statement_nparams(&def->stmt);
		/* the prepared statement is the declaration's, with as many $n */
		assert_ptr_equal(s->params, def->stmt.params);
		if (highest_placeholder(s->sql) != n)
			fail_msg("%s: %d parameters declared, its SQL uses $%d", def->name, n, highest_placeholder(s->sql));
		assert_int_equal(!def->read_only, strstr(s->sql, "mcp_try_") != NULL);
		if (def->stmt.lock_key) {
			assert_false(def->read_only);
			if (db_statement_lock_index(s) < 0)
				fail_msg("%s: lock key %s is no parameter", def->name, def->stmt.lock_key);
			assert_string_equal(def->stmt.params[db_statement_lock_index(s)], def->stmt.lock_key);
			locked++;
		}
	}
	/* update/send/void/apply_payment/create_credit_note/apply_credit lock their invoice */
	assert_int_equal(locked, 6);
	assert_int_equal(db_statement_lock_index(db_statement_named("reverse_payment")), -1);
	assert_int_equal(db_statement_lock_index(db_statement_named("read_timeout")), -1);
}

/* A copy of a real declaration with one thing broken: the check refuses it. */
static void expect_refused(const char *tool, void (*breakit)(struct tool_def *), const char *why_has)
{
	struct tool_def def = *tools_find(tool);
	char why[256] = "";

	breakit(&def);
	assert_int_equal(tool_statement_check(&def, why, sizeof(why)), -1);
	if (!strstr(why, why_has))
		fail_msg("why '%s' lacks '%s'", why, why_has);
}

static void misspelled(struct tool_def *d) { d->stmt.params[3] = "invoice"; }
static void bad_except(struct tool_def *d) { d->stmt.params[9] = "@except invoice_id nothing"; }
static void bad_alias(struct tool_def *d) { d->stmt.params[7] = "vat_id|vat"; }
static void bad_source(struct tool_def *d) { d->stmt.params[0] = "@tenant_id"; }
static void bad_conversion(struct tool_def *d) { d->stmt.params[6] = "address:json"; }
static void one_too_many(struct tool_def *d) { d->stmt.params[3] = "number"; }
static void one_too_few(struct tool_def *d) { d->stmt.params[2] = NULL; }
static void lock_nothing(struct tool_def *d) { d->stmt.lock_key = "payment_id"; }
static void lock_a_read(struct tool_def *d) { d->stmt.lock_key = "invoice_id"; }
static void computed_unhooked(struct tool_def *d) { d->stmt.params[1] = "%after_id"; }
static void write_with_sql(struct tool_def *d) { d->stmt.sql = "SELECT mcp_send_invoice($1, $2, $3, $4)"; }

static void test_broken_declarations_refused(void **state)
{
	(void)state;
	expect_refused("apply_payment", misspelled, "'invoice'");
	expect_refused("update_invoice", bad_except, "'nothing'");
	expect_refused("upsert_customer", bad_alias, "vat_id|vat");
	expect_refused("send_invoice", bad_source, "@tenant_id");
	expect_refused("upsert_customer", bad_conversion, "address:json");
	expect_refused("get_invoice", one_too_many, "4 parameters declared, the SQL uses $3");
	expect_refused("get_invoice", one_too_few, "2 parameters declared, the SQL uses $3");
	expect_refused("apply_payment", lock_nothing, "lock key 'payment_id'");
	expect_refused("get_invoice", lock_a_read, "lock key");
	expect_refused("get_customer", computed_unhooked, "%after_id");
	expect_refused("send_invoice", write_with_sql, "generated");
}

struct built {
	struct tool_call call;
	struct tool_query q;
	struct tool_error err;
	int rc;
};

static struct auth_identity id = { .sub = "alice", .tenant = "acme" };
static struct cursor_key ck;

static void build(struct built *b, const char *tool, const char *args)
{
	json_object *raw = json_tokener_parse(args), *valid;
	const struct tool_def *def = tools_find(tool);

	memset(b, 0, sizeof(*b));
	valid = tools_validate(def, raw, &b->err);
	json_object_put(raw);
	if (!valid)
		fail_msg("%s %s: %s", tool, args, b->err.message);
	b->call = (struct tool_call){ .id = &id, .request_id = "req-1", .tool_name = tool, .cursor_key = &ck,
	                              .args = valid };
	b->rc = tool_query_build(def, &b->call, &b->q, &b->err);
}

static void done(struct built *b)
{
	tool_call_cleanup(&b->call);
	json_object_put(b->call.args);
}

static void test_query_by_name(void **state)
{
	struct built b;

	(void)state;
	build(&b, "apply_payment", "{\"invoice_id\":\"5f0c2a3e-8b1d-4c6e-9f00-1a2b3c4d5e6f\",\"amount_cents\":2500,\"idempotency_key\":\"k1\"}");
	assert_int_equal(b.rc, 0);
	assert_string_equal(b.q.stmt, "apply_payment");
	assert_int_equal(b.q.nparams, 10);
	assert_false(b.q.read_only);
	assert_string_equal(b.q.params[0], "acme");
	assert_string_equal(b.q.params[1], "alice");
	assert_string_equal(b.q.params[2], "req-1");
	assert_string_equal(b.q.params[3], "5f0c2a3e-8b1d-4c6e-9f00-1a2b3c4d5e6f");
	assert_string_equal(b.q.params[4], "2500");
	assert_null(b.q.params[5]); /* paid_at not given */
	assert_string_equal(b.q.params[8], "k1");
	assert_non_null(strstr(b.q.params[9], "\"amount_cents\":2500"));
	assert_null(strstr(b.q.params[9], "idempotency_key"));
	/* the batch sorts on the declared lock key: this call's invoice */
	assert_string_equal(b.q.params[db_statement_lock_index(db_statement_named("apply_payment"))], "5f0c2a3e-8b1d-4c6e-9f00-1a2b3c4d5e6f");
	done(&b);

	/* an address object goes with the e-invoice fields, tax_id fills vat_id */
	build(&b, "upsert_customer", "{\"customer_id\":\"c1\",\"name\":\"Zed\",\"tax_id\":\"DE123456789\","
	      "\"address\":{\"lines\":[\"Hauptstr. 1\"],\"city\":\"Berlin\",\"country_code\":\"DE\"}}");
	assert_int_equal(b.rc, 0);
	assert_int_equal(b.q.nparams, 9);
	assert_null(b.q.params[6]);
	assert_string_equal(b.q.params[7], "DE123456789");
	assert_non_null(strstr(b.q.params[8], "\"city\":\"Berlin\""));
	assert_null(strstr(b.q.params[8], "DE123456789"));
	done(&b);
	build(&b, "upsert_customer", "{\"customer_id\":\"c1\",\"name\":\"Zed\",\"address\":\"1 Main St\"}");
	assert_string_equal(b.q.params[6], "1 Main St");
	done(&b);

	/* absent boolean is false; an integer as text */
	build(&b, "upsert_tax_rate", "{\"code\":\"VAT0\",\"name\":\"Zero\",\"rate_bps\":0}");
	assert_string_equal(b.q.params[5], "0");
	assert_string_equal(b.q.params[6], "false");
	done(&b);

	/* lines as JSON, no amount */
	build(&b, "create_credit_note", "{\"invoice_id\":\"5f0c2a3e-8b1d-4c6e-9f00-1a2b3c4d5e6f\",\"reason\":\"r\",\"line_items\":"
	      "[{\"description\":\"d\",\"amount_cents\":5}]}");
	assert_int_equal(b.rc, 0);
	assert_null(b.q.params[4]);
	assert_non_null(strstr(b.q.params[5], "\"amount_cents\":5"));
	done(&b);

	/* a prepare's refusal is the call's */
	build(&b, "get_invoice", "{}");
	assert_int_equal(b.rc, -1);
	assert_string_equal(b.err.code, "INVALID_INPUT");
	done(&b);
}

static void test_computed_parameters(void **state)
{
	struct built b;
	char cursor[CURSOR_MAX + 1], args[CURSOR_MAX + 100];

	(void)state;
	build(&b, "list_invoices", "{\"status\":\"sent\"}");
	assert_int_equal(b.rc, 0);
	assert_true(b.q.read_only);
	assert_int_equal(b.q.ncols, 3);
	assert_string_equal(b.q.params[1], "{\"status\":\"sent\",\"sort\":\"newest\"}");
	assert_string_equal(b.q.params[2], "20");
	assert_null(b.q.params[3]);
	assert_null(b.q.params[4]);
	cursor_encode(&ck, b.call.scope, "1700000000000000:00000000-0000-0000-0000-00000000000a", cursor);
	done(&b);
	snprintf(args, sizeof(args), "{\"status\":\"sent\",\"cursor\":\"%s\"}", cursor);
	build(&b, "list_invoices", args);
	assert_int_equal(b.rc, 0);
	assert_string_equal(b.q.params[1], "{\"status\":\"sent\",\"sort\":\"newest\"}");
	assert_string_equal(b.q.params[3], "1700000000000000");
	assert_string_equal(b.q.params[4], "00000000-0000-0000-0000-00000000000a");
	done(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_declaration_resolves),
		cmocka_unit_test(test_broken_declarations_refused),
		cmocka_unit_test(test_query_by_name),
		cmocka_unit_test(test_computed_parameters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
