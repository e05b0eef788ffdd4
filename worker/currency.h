/*
 * currency.h - ISO 4217 currency codes and their minor-unit exponents.
 * Pure lookup, used by workers to validate tool arguments.
 */
#ifndef MCPI_CURRENCY_H
#define MCPI_CURRENCY_H

/* Minor-unit exponent of an active ISO 4217 code (USD 2, JPY 0, KWD 3), or
 * -1 when the code is unknown. */
int currency_exponent(const char *code);

#endif
