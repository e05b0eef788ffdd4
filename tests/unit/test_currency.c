/* Unit tests for server/lib/currency.c: exponents, amounts written with them
 * (grouping, signs, the extremes of one invoice), and the code iterator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "server/lib/currency.h"
#include "worker/tools/tools.h"

/* As the prompts write amounts: the currency's exponent (2 when the code
 * is unknown), then the code. */
static void expect_format(long long minor, const char *code, const char *want)
{
	char buf[64], full[80];
	int exp = currency_exponent(code);
	currency_format(minor, exp < 0 ? 2 : exp, buf, sizeof(buf));
	snprintf(full, sizeof(full), "%s %s", buf, code);
	assert_string_equal(full, want);
}

static void test_format_follows_the_exponent(void **state)
{
	(void)state;
	expect_format(0, "USD", "0.00 USD");
	expect_format(5, "USD", "0.05 USD");
	expect_format(-5, "USD", "-0.05 USD");
	expect_format(123456, "USD", "1,234.56 USD");
	expect_format(100000, "USD", "1,000.00 USD");
	expect_format(99999, "USD", "999.99 USD");
	expect_format(500, "JPY", "500 JPY");
	expect_format(1234567, "JPY", "1,234,567 JPY");
	expect_format(1500, "KWD", "1.500 KWD");
	expect_format(1, "KWD", "0.001 KWD");
	expect_format(12345, "CLF", "1.2345 CLF");
	expect_format(TOOL_MAX_INVOICE_CENTS, "USD", "9,999,999,999,999.99 USD");
	expect_format(-9223372036854775807LL - 1, "USD", "-92,233,720,368,547,758.08 USD");
	expect_format(250, "ZZZ", "2.50 ZZZ"); /* unknown: two decimals */
}

static void test_format_truncates_safely(void **state)
{
	char buf[6];
	(void)state;
	currency_format(123456, 2, buf, sizeof(buf));
	assert_string_equal(buf, "1,234");
}

static void test_codes_are_listed_in_order(void **state)
{
	char code[4], prev[4] = "";
	size_t n = 0;
	(void)state;
	for (size_t i = 0; currency_code_at(i, code); i++, n++) {
		assert_int_equal(strlen(code), 3);
		assert_true(strcmp(prev, code) < 0);
		assert_true(currency_exponent(code) >= 0);
		memcpy(prev, code, sizeof(prev));
	}
	assert_true(n > 150);
	assert_null(currency_code_at(n, code));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_follows_the_exponent),
		cmocka_unit_test(test_format_truncates_safely),
		cmocka_unit_test(test_codes_are_listed_in_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
