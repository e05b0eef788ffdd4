/*
 * document.h - the PDF documents the server renders (customer statements,
 * invoices, credit notes) and the e-invoices (their XML): their kinds, their
 * invoiced:// resource URIs, and the tool result or resource contents that
 * carry a rendered PDF or an XML document. Runs in workers.
 */
#ifndef MCPI_DOCUMENT_H
#define MCPI_DOCUMENT_H

#include <json-c/json.h>
#include <stddef.h>

#include "server/proto/render_proto.h"

struct tool_def;
struct tool_error;

#define DOC_MIME "application/pdf"
#define DOC_STATEMENT_TEMPLATE "invoiced://statements/{customer_id}/{currency}/{period_end}.pdf{?period_start,type}"
#define DOC_INVOICE_TEMPLATE "invoiced://invoices/{invoice_id}.pdf"
#define DOC_CREDIT_NOTE_TEMPLATE "invoiced://credit-notes/{credit_note_id}.pdf"
#define DOC_UBL_INVOICE_TEMPLATE "invoiced://invoices/{invoice_id}.ubl.xml{?profile}"
#define DOC_CII_INVOICE_TEMPLATE "invoiced://invoices/{invoice_id}.cii.xml"
#define DOC_UBL_CREDIT_NOTE_TEMPLATE "invoiced://credit-notes/{credit_note_id}.ubl.xml{?profile}"
#define DOC_CII_CREDIT_NOTE_TEMPLATE "invoiced://credit-notes/{credit_note_id}.cii.xml"
#define DOC_XML_MIME "application/xml"
#define DOC_URI_MAX 256

/* Parses an invoiced:// URI of one of the templates above into the tool
 * that renders it and its arguments (a new object the caller frees, not
 * yet validated). NULL when the URI is not one of ours. */
const struct tool_def *document_parse_uri(const char *uri, size_t len, json_object **args);

/* The text of a tools/call result carrying a rendered document: content
 * (a short summary, a resource_link, and with want_inline the PDF as an
 * embedded resource) and structuredContent (structured plus a "pdf"
 * member). -1 with err set when want_inline and the PDF exceeds cap.
 * Returns malloc'd JSON text of the result object's members, without braces. */
char *document_tool_result(int kind, const char *structured, const char *uri,
                           const unsigned char *pdf, size_t pdf_len, int pages, int want_inline,
                           long cap, struct tool_error *err);

/* The members of a resources/read result for uri: "contents":[...]
 * (malloc'd JSON text). */
char *document_read_contents(const char *uri, const unsigned char *pdf, size_t pdf_len);

/* The same two for a text document (an e-invoice's XML): the tool result's
 * content is structured as text plus the document as an embedded text
 * resource at uri; resources/read answers the text. Malloc'd JSON text of
 * the result's members. */
char *document_text_tool_result(const char *structured, const char *uri, const char *mime,
                                const char *text, size_t len);
char *document_read_text(const char *uri, const char *mime, const char *text, size_t len);

#endif
