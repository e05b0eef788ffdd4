/*
 * einvoice.h - EN 16931 e-invoices (issue 22) written from the JSON that
 * mcp_einvoice_source returns (docs/einvoice.md): UBL 2.1 Invoice/CreditNote
 * (EN 16931 core or Peppol BIS Billing 3.0) and UN/CEFACT CII D16B (which is
 * also Factur-X's EN 16931 profile). Pure functions: no I/O, no database;
 * run by workers (get_einvoice, the invoiced:// e-invoice resources).
 */
#ifndef MCPI_EINVOICE_H
#define MCPI_EINVOICE_H

#include <json-c/json.h>

#include "server/lib/strbuf.h"

enum einvoice_syntax { EINVOICE_UBL, EINVOICE_CII };
enum einvoice_profile { EINVOICE_EN16931, EINVOICE_PEPPOL };

/* Writes the document for `source` (the mcp_einvoice_source JSON) into xml. Returns 0; or -1 when
 * the invoice cannot be a valid EN 16931 document, with *missing set to a new JSON array naming
 * EVERY missing business term: {"term": "BT-31", "name": "Seller VAT identifier",
 * "argument": "upsert_business_profile.vat_id"} (caller frees). On -1 xml is left unchanged;
 * *missing stays NULL when the failure is not the source's (EINVOICE_PEPPOL with EINVOICE_CII,
 * which Peppol BIS 3.0 does not define, or the XML writer running out of memory). */
int einvoice_write(const struct json_object *source, enum einvoice_syntax syntax,
                   enum einvoice_profile profile, struct strbuf *xml, struct json_object **missing);

#endif
