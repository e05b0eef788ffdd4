/*
 * currency.h - ISO 4217 currency codes and their minor-unit exponents.
 * Pure lookup, used by workers to validate tool arguments.
 */
#ifndef MCPI_CURRENCY_H
#define MCPI_CURRENCY_H

#include <stddef.h>

/* Minor-unit exponent of an active ISO 4217 code (USD 2, JPY 0, KWD 3), or
 * -1 when the code is unknown. */
int currency_exponent(const char *code);

/* Minor units as a decimal amount in the currency's exponent, digits
 * grouped in threes, then the code: 123456 USD -> "1,234.56 USD", 500 JPY ->
 * "500 JPY", -5 USD -> "-0.05 USD" (an unknown code is shown with 2
 * decimals). Always NUL-terminates buf. */
void currency_format(char *buf, size_t cap, long long minor, const char *code);

/* The i-th active code (alphabetical), or NULL past the end. */
const char *currency_code_at(size_t i, char out[4]);

#endif
