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

/* minor units shown with the exponent and thousands separators:
 * (123456, 2) -> "1,234.56"; (-5, 3) -> "-0.005"; (1000, 0) -> "1,000". */
void currency_format(long long minor, int exponent, char *buf, size_t cap);

/* The i-th active code (alphabetical), or NULL past the end. */
const char *currency_code_at(size_t i, char out[4]);

#endif
