/* Unit tests for worker/tools/tools.c (validation driven by the tool table),
 * server/auth/cursor.c, server/lib/base64.c and server/lib/currency.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "server/auth/cursor.h"
#include "server/lib/base64.h"
#include "server/lib/currency.h"
#include "server/proto/entry.h"
#include "worker/tools/tools.h"

static json_object *validate(const char *tool, const char *args, struct tool_error *err)
{
	json_object *raw = args ? json_tokener_parse(args) : NULL, *out;
	memset(err, 0, sizeof(*err));
	out = tools_validate(tools_find(tool), raw, err);
	json_object_put(raw);
	return out;
}

static void expect_invalid(const char *tool, const char *args, const char *field, const char *msg)
{
	struct tool_error err;
	json_object *out = validate(tool, args, &err);
	assert_null(out);
	assert_string_equal(err.code, "INVALID_INPUT");
	assert_string_equal(err.field, field);
	if (!strstr(err.message, msg))
		fail_msg("message '%s' lacks '%s'", err.message, msg);
}

static void test_defaults_filled(void **state)
{
	struct tool_error err;
	json_object *out = validate("create_invoice",
	    "{\"customer_id\":\"c\",\"line_items\":[{\"description\":\"d\",\"amount_cents\":5}]}", &err);
	json_object *item;
	(void)state;
	assert_non_null(out);
	item = json_object_array_get_idx(json_object_object_get(out, "line_items"), 0);
	assert_int_equal(json_object_get_int(json_object_object_get(item, "quantity")), 1);
	/* No currency filled in: the database takes the tenant's default_currency, else USD. */
	assert_null(json_object_object_get(out, "currency"));
	json_object_put(out);
	out = validate("list_invoices", "{\"customer_id\":\"c\"}", &err);
	assert_int_equal(json_object_get_int(json_object_object_get(out, "limit")), 20);
	json_object_put(out);
}

static void test_messages_name_field_and_rule(void **state)
{
	(void)state;
	expect_invalid("create_invoice", "{\"customer_id\":\"c\",\"line_items\":[{\"description\":\"d\","
	               "\"amount_cents\":1},{\"description\":\"d\",\"amount_cents\":-5}]}",
	               "line_items[1].amount_cents", "line_items[1].amount_cents must be an integer >= 0, got -5");
	expect_invalid("create_invoice", NULL, "customer_id", "customer_id is required");
	expect_invalid("create_invoice", "{\"customer_id\":\"c\",\"line_items\":[],\"x\":1}", "x", "not a known argument");
	expect_invalid("create_invoice", "{\"customer_id\":\"c\",\"line_items\":[]}", "line_items", "1-100 items, got 0");
	expect_invalid("create_invoice", "{\"customer_id\":\"c\",\"line_items\":[{\"description\":\"d\","
	               "\"amount_cents\":1}],\"due_date\":\"2027-13-01\"}", "due_date", "YYYY-MM-DD");
	expect_invalid("create_invoice", "{\"customer_id\":\"c\",\"line_items\":[{\"description\":\"d\","
	               "\"amount_cents\":1}],\"due_date\":\"2100-02-29\"}", "due_date", "calendar date");
	expect_invalid("create_invoice", "{\"customer_id\":\"c\",\"line_items\":[{\"description\":\"\xff\xfe\","
	               "\"amount_cents\":1}]}", "line_items[0].description", "UTF-8");
	expect_invalid("list_invoices", "{\"customer_id\":\"c\",\"status\":\"lost\"}", "status", "one of");
	/* Found by fuzz_args: an empty string once looped forever. */
	expect_invalid("list_invoices", "{\"customer_id\":\"c\",\"status\":\"\"}", "status", "one of");
	expect_invalid("list_invoices", "{\"customer_id\":\"c\",\"limit\":true}", "limit", "got boolean");
}

static int grant_all(const char *scope, const void *ctx)
{
	(void)scope;
	(void)ctx;
	return 1;
}

static int grant_read(const char *scope, const void *ctx)
{
	(void)ctx;
	return strcmp(scope, "invoices:read") == 0;
}

static void test_table_renders(void **state)
{
	json_object *list = tools_list_json(grant_all, NULL), *ro = tools_list_json(grant_read, NULL);
	char *md = tools_markdown();
	(void)state;
	assert_int_equal(json_object_array_length(list), tools_count());
	assert_ptr_equal(tools_list_json(grant_all, NULL), list); /* cached */
	/* A read-only token sees only the read-only tools. */
	assert_true(json_object_array_length(ro) > 0 && json_object_array_length(ro) < tools_count());
	for (size_t i = 0; i < json_object_array_length(ro); i++) {
		json_object *t = json_object_array_get_idx(ro, i), *ann, *hint;
		assert_true(json_object_object_get_ex(t, "annotations", &ann) &&
		            json_object_object_get_ex(ann, "readOnlyHint", &hint) && json_object_get_boolean(hint));
	}
	for (size_t i = 0; i < tools_count(); i++) {
		json_object *t = json_object_array_get_idx(list, i);
		assert_non_null(json_object_object_get(t, "outputSchema")); /* valid JSON text */
		assert_non_null(strstr(md, tools_at(i)->name));
	}
	free(md);
}

static void test_cursor_roundtrip_and_tamper(void **state)
{
	struct cursor_key k1, k2;
	char cur[CURSOR_MAX + 1], pos[CURSOR_POSITION_MAX];
	(void)state;
	cursor_key_init(&k1, (const unsigned char *)"secret", 6);
	cursor_key_init(&k2, NULL, 0);
	cursor_encode(&k1, "scope-a", "1234567:5f0c2a3e-8b1d-4c6e-9f00-1a2b3c4d5e6f", cur);
	assert_int_equal(cursor_decode(&k1, "scope-a", cur, pos), 0);
	assert_string_equal(pos, "1234567:5f0c2a3e-8b1d-4c6e-9f00-1a2b3c4d5e6f");
	assert_int_equal(cursor_decode(&k1, "scope-b", cur, pos), -1);
	assert_int_equal(cursor_decode(&k2, "scope-a", cur, pos), -1);
	cur[5] = cur[5] == 'A' ? 'B' : 'A';
	assert_int_equal(cursor_decode(&k1, "scope-a", cur, pos), -1);
	assert_int_equal(cursor_decode(&k1, "scope-a", "", pos), -1);
}

static void test_base64(void **state)
{
	unsigned char out[32];
	char enc[64];
	(void)state;
	assert_int_equal(base64url_encode((const unsigned char *)"\xfb\xff", 2, enc), 3);
	assert_string_equal(enc, "-_8");
	assert_int_equal(base64_decode("-_8", 3, out, sizeof(out), 1), 2);
	assert_int_equal(base64_decode("+/8=", 4, out, sizeof(out), 0), 2);
	assert_int_equal(base64_decode("+/8", 3, out, sizeof(out), 0), -1);  /* std needs padding */
	assert_int_equal(base64_decode("-_9", 3, out, sizeof(out), 1), -1);  /* non-zero tail bits */
	assert_int_equal(base64_decode("a", 1, out, sizeof(out), 1), -1);
	assert_int_equal(base64_decode("a=b=", 4, out, sizeof(out), 0), -1);
}

static void test_currency(void **state)
{
	(void)state;
	assert_int_equal(currency_exponent("USD"), 2);
	assert_int_equal(currency_exponent("JPY"), 0);
	assert_int_equal(currency_exponent("KWD"), 3);
	assert_int_equal(currency_exponent("AED"), 2);
	assert_int_equal(currency_exponent("ZWG"), 2);
	assert_int_equal(currency_exponent("XXX"), -1);
	assert_int_equal(currency_exponent("usd"), -1);
	assert_int_equal(currency_exponent("US"), -1);
}

static void test_timestamps_and_booleans(void **state)
{
	struct tool_error err;
	json_object *out;

	(void)state;
	assert_int_equal(tool_timestamp_epoch("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(tool_timestamp_epoch("2000-03-01T00:00:00.999Z"), 951868800);
	assert_int_equal(tool_timestamp_epoch("2026-03-01T12:00:00+14:00"), 1772366400 - 14 * 3600);
	assert_int_equal(tool_timestamp_epoch("2026-03-01T12:00:00-01:30"), 1772366400 + 5400);
	assert_int_equal(tool_timestamp_epoch("9998-12-31T23:59:59Z"), 253370764799LL);
	out = validate("upsert_tax_rate", "{\"code\":\"V\",\"name\":\"v\",\"rate_bps\":1,\"inclusive\":true}", &err);
	assert_non_null(out);
	json_object_put(out);
	expect_invalid("upsert_tax_rate", "{\"code\":\"V\",\"name\":\"v\",\"rate_bps\":1,\"inclusive\":1}",
	               "inclusive", "inclusive must be true or false, got an integer");
	expect_invalid("list_invoices", "{\"min_total_cents\":-1}", "min_total_cents", ">= 0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_filled),
		cmocka_unit_test(test_messages_name_field_and_rule),
		cmocka_unit_test(test_table_renders),
		cmocka_unit_test(test_cursor_roundtrip_and_tamper),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_currency),
		cmocka_unit_test(test_timestamps_and_booleans),
	};
	return cmocka_run_group_tests_name("tools", tests, NULL, NULL);
}
