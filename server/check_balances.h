/*
 * check_balances.h - `mcp-invoiced check-balances`: compares the kept open
 * balances (sql/migrations/0011_balances.sql) with the invoices.
 */
#ifndef MCPI_CHECK_BALANCES_H
#define MCPI_CHECK_BALANCES_H

#include <stdio.h>

#include "server/proc/config.h"

/* Prints every difference to out. Returns 0 when there is none, 1 when
 * there are differences, -1 when the check could not run. */
int check_balances_run(const struct config *cfg, FILE *out);

#endif
