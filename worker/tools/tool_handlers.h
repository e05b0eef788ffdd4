/*
 * tool_handlers.h - the functions the tool table points at. Each runs in a
 * worker: prepare turns validated arguments into one database query, and
 * finish (where the row needs more than passing on) turns the row into the
 * result. Neither waits for the database.
 */
#ifndef MCPI_TOOL_HANDLERS_H
#define MCPI_TOOL_HANDLERS_H

#include "worker/tools/tools.h"

int tool_create_invoice(struct tool_call *call, struct tool_query *q, struct tool_error *err);
int tool_list_invoices(struct tool_call *call, struct tool_query *q, struct tool_error *err);
int tool_list_invoices_finish(struct tool_call *call, char *const *cols, char **result,
                              struct tool_error *err);
int tool_get_invoice(struct tool_call *call, struct tool_query *q, struct tool_error *err);
int tool_send_invoice(struct tool_call *call, struct tool_query *q, struct tool_error *err);
int tool_void_invoice(struct tool_call *call, struct tool_query *q, struct tool_error *err);
int tool_apply_payment(struct tool_call *call, struct tool_query *q, struct tool_error *err);
int tool_list_outstanding_balances(struct tool_call *call, struct tool_query *q,
                                   struct tool_error *err);
int tool_list_outstanding_balances_finish(struct tool_call *call, char *const *cols, char **result,
                                          struct tool_error *err);
int tool_upsert_customer(struct tool_call *call, struct tool_query *q, struct tool_error *err);
int tool_get_customer(struct tool_call *call, struct tool_query *q, struct tool_error *err);
int tool_list_customers(struct tool_call *call, struct tool_query *q, struct tool_error *err);
int tool_list_customers_finish(struct tool_call *call, char *const *cols, char **result,
                               struct tool_error *err);
int tool_update_invoice(struct tool_call *call, struct tool_query *q, struct tool_error *err);
int tool_create_credit_note(struct tool_call *call, struct tool_query *q, struct tool_error *err);
int tool_apply_credit(struct tool_call *call, struct tool_query *q, struct tool_error *err);
int tool_reverse_payment(struct tool_call *call, struct tool_query *q, struct tool_error *err);
int tool_upsert_tax_rate(struct tool_call *call, struct tool_query *q, struct tool_error *err);
int tool_list_tax_rates(struct tool_call *call, struct tool_query *q, struct tool_error *err);
int tool_upsert_business_profile(struct tool_call *call, struct tool_query *q, struct tool_error *err);
int tool_get_business_profile(struct tool_call *call, struct tool_query *q, struct tool_error *err);
int tool_get_statement(struct tool_call *call, struct tool_query *q, struct tool_error *err);
int tool_get_statement_finish(struct tool_call *call, char *const *cols, char **result,
                              struct tool_error *err);
int tool_get_invoice_pdf(struct tool_call *call, struct tool_query *q, struct tool_error *err);
int tool_get_invoice_pdf_finish(struct tool_call *call, char *const *cols, char **result,
                                struct tool_error *err);
int tool_get_credit_note_pdf(struct tool_call *call, struct tool_query *q, struct tool_error *err);
int tool_get_credit_note_pdf_finish(struct tool_call *call, char *const *cols, char **result,
                                    struct tool_error *err);
int tool_get_einvoice(struct tool_call *call, struct tool_query *q, struct tool_error *err);
int tool_get_einvoice_finish(struct tool_call *call, char *const *cols, char **result,
                             struct tool_error *err);

#endif
