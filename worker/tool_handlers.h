/*
 * tool_handlers.h - the handlers the tool table points at. Each runs in a
 * worker, receives validated arguments and talks to PostgreSQL through db.h.
 */
#ifndef MCPI_TOOL_HANDLERS_H
#define MCPI_TOOL_HANDLERS_H

#include "tools.h"

int tool_create_invoice(struct tool_call *call, char **result, struct tool_error *err);
int tool_list_invoices(struct tool_call *call, char **result, struct tool_error *err);
int tool_get_invoice(struct tool_call *call, char **result, struct tool_error *err);
int tool_send_invoice(struct tool_call *call, char **result, struct tool_error *err);
int tool_void_invoice(struct tool_call *call, char **result, struct tool_error *err);
int tool_apply_payment(struct tool_call *call, char **result, struct tool_error *err);
int tool_list_outstanding_balances(struct tool_call *call, char **result, struct tool_error *err);
int tool_upsert_customer(struct tool_call *call, char **result, struct tool_error *err);
int tool_get_customer(struct tool_call *call, char **result, struct tool_error *err);

#endif
