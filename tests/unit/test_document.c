/* Unit tests for worker/tools/document.c (resource URIs), server/lib/currency.c
 * (amounts with their exponent) and base64's standard alphabet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "server/lib/base64.h"
#include "server/lib/currency.h"
#include "worker/tools/document.h"
#include "worker/tools/tools.h"

static const struct tool_def *parse(const char *uri, json_object **args)
{
	return document_parse_uri(uri, strlen(uri), args);
}

static void test_statement_uris(void **state)
{
	json_object *args;
	const struct tool_def *def;
	(void)state;
	def = parse("invoiced://statements/c-1:x/USD/2026-10-31.pdf?period_start=2026-10-01&type=open_item", &args);
	assert_non_null(def);
	assert_string_equal(def->name, "get_statement");
	assert_string_equal(json_get_string(args, "customer_id"), "c-1:x");
	assert_string_equal(json_get_string(args, "currency"), "USD");
	assert_string_equal(json_get_string(args, "period_end"), "2026-10-31");
	assert_string_equal(json_get_string(args, "period_start"), "2026-10-01");
	assert_string_equal(json_get_string(args, "type"), "open_item");
	json_object_put(args);
	def = parse("invoiced://statements/c1/JPY/2026-10-31.pdf", &args);
	assert_non_null(def);
	assert_null(json_get_string(args, "period_start"));
	json_object_put(args);
	/* Not ours: other schemes, missing parts, unknown or repeated
	 * parameters, extra path segments, trailing bytes. */
	static const char *const bad[] = {
		"file:///etc/passwd", "invoiced://statements/", "invoiced://statements/c1/USD/2026-10-31",
		"invoiced://statements/c1/USD/2026-10-31.pdfx", "invoiced://statements/c1//2026-10-31.pdf",
		"invoiced://statements/c1/USD/x/2026-10-31.pdf", "invoiced://statements/c1/USD/2026-10-31.pdf?x=1",
		"invoiced://statements/c1/USD/2026-10-31.pdf?type=a&type=b", "invoiced://statements/c1/USD/2026-10-31.pdf?type",
		"invoiced://invoices/.pdf", "invoiced://invoices/a/b.pdf", "invoiced://invoices/abc.pdf?x=1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(parse(bad[i], &args));
		assert_null(args);
	}
	/* A NUL inside the URI is refused. */
	assert_null(document_parse_uri("invoiced://invoices/a\0b.pdf", 26, &args));
}

static void test_invoice_uris(void **state)
{
	json_object *args;
	const struct tool_def *def = parse("invoiced://invoices/5f0c2a3e-8b1d-4c6e-9f00-1a2b3c4d5e6f.pdf", &args);
	(void)state;
	assert_non_null(def);
	assert_string_equal(def->name, "get_invoice_pdf");
	assert_string_equal(json_get_string(args, "invoice_id"), "5f0c2a3e-8b1d-4c6e-9f00-1a2b3c4d5e6f");
	json_object_put(args);
}

static void test_currency_format(void **state)
{
	char b[64];
	(void)state;
	currency_format(123456, 2, b, sizeof(b));
	assert_string_equal(b, "1,234.56");
	currency_format(-5, 3, b, sizeof(b));
	assert_string_equal(b, "-0.005");
	currency_format(1000, 0, b, sizeof(b));
	assert_string_equal(b, "1,000");
	currency_format(0, 2, b, sizeof(b));
	assert_string_equal(b, "0.00");
	currency_format(999999999999999LL, 0, b, sizeof(b));
	assert_string_equal(b, "999,999,999,999,999");
	currency_format(-9223372036854775807LL - 1, 2, b, sizeof(b));
	assert_string_equal(b, "-92,233,720,368,547,758.08");
}

static void test_base64_standard(void **state)
{
	char out[16];
	(void)state;
	assert_int_equal(base64_encode((const unsigned char *)"\xfb\xff", 2, out), 4);
	assert_string_equal(out, "+/8=");
	assert_int_equal(base64_encode((const unsigned char *)"a", 1, out), 4);
	assert_string_equal(out, "YQ==");
	assert_int_equal(base64url_encode((const unsigned char *)"\xfb\xff", 2, out), 3);
	assert_string_equal(out, "-_8");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_statement_uris),
		cmocka_unit_test(test_invoice_uris),
		cmocka_unit_test(test_currency_format),
		cmocka_unit_test(test_base64_standard),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
