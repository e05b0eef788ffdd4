/*
 * ubl.h - OASIS UBL 2.1 Invoice / CreditNote under EN 16931, core or Peppol
 * BIS Billing 3.0 (see ubl.c). Runs in workers.
 */
#ifndef MCPI_EINVOICE_UBL_H
#define MCPI_EINVOICE_UBL_H

#include <json-c/json.h>

#include "server/lib/strbuf.h"

/* Appends the document for a source ei_missing found complete; -1 on a
 * writer failure (out unchanged). */
int ubl_write(const json_object *source, int peppol, struct strbuf *out);

#endif
