/*
 * tool_handlers.h - the hooks the tool table points at, for tools whose
 * logic goes beyond their declared statement (tools.h). Each runs in a
 * worker: prepare checks what only code can check and computes "%name"
 * parameters (cursors), finish (where the row needs more than passing on)
 * turns the row into the result. Neither waits for the database.
 */
#ifndef MCPI_TOOL_HANDLERS_H
#define MCPI_TOOL_HANDLERS_H

#include "worker/tools/tools.h"

int tool_create_invoice(struct tool_call *call, struct tool_error *err);
int tool_update_invoice(struct tool_call *call, struct tool_error *err);
int tool_get_invoice(struct tool_call *call, struct tool_error *err);
int tool_list_invoices(struct tool_call *call, struct tool_error *err);
int tool_list_invoices_finish(struct tool_call *call, char *const *cols, char **result,
                              struct tool_error *err);
int tool_apply_payment(struct tool_call *call, struct tool_error *err);
int tool_list_outstanding_balances(struct tool_call *call, struct tool_error *err);
int tool_list_outstanding_balances_finish(struct tool_call *call, char *const *cols, char **result,
                                          struct tool_error *err);
int tool_upsert_customer(struct tool_call *call, struct tool_error *err);
int tool_list_customers(struct tool_call *call, struct tool_error *err);
int tool_list_customers_finish(struct tool_call *call, char *const *cols, char **result,
                               struct tool_error *err);
int tool_create_credit_note(struct tool_call *call, struct tool_error *err);
int tool_upsert_business_profile(struct tool_call *call, struct tool_error *err);
int tool_get_statement(struct tool_call *call, struct tool_error *err);
int tool_get_statement_finish(struct tool_call *call, char *const *cols, char **result,
                              struct tool_error *err);
int tool_get_invoice_pdf_finish(struct tool_call *call, char *const *cols, char **result,
                                struct tool_error *err);
int tool_get_credit_note_pdf_finish(struct tool_call *call, char *const *cols, char **result,
                                    struct tool_error *err);
int tool_get_einvoice(struct tool_call *call, struct tool_error *err);
int tool_get_einvoice_finish(struct tool_call *call, char *const *cols, char **result,
                             struct tool_error *err);

#endif
