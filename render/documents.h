/*
 * documents.h - the documents the renderer lays out (a customer
 * statement, an invoice, a credit note) from the JSON the worker sends. The JSON is
 * untrusted here (it passed through a worker): every member is looked up
 * with its type checked, and a missing one prints as empty. Runs only in
 * the renderer (and the fuzz target).
 */
#ifndef MCPI_DOCUMENTS_H
#define MCPI_DOCUMENTS_H

#include <pango/pango.h>
#include <stddef.h>

#include "render/facturx.h"

/* Renders document kind (DOC_STATEMENT, DOC_INVOICE, DOC_CREDIT_NOTE) from json. 0 with
 * *pdf malloc'd (*len bytes, *pages), or -1 with err. fx (NULL: none; an
 * invoice or a credit note only) makes the document a Factur-X PDF/A-3b
 * with fx's XML embedded. cancelled (may be NULL) is asked at every new page; 1 stops
 * the document (-1). */
int documents_render(PangoFontMap *fonts, int kind, const char *json, size_t json_len,
                     const struct facturx_embed *fx, int (*cancelled)(void *ctx), void *cancel_ctx,
                     unsigned char **pdf, size_t *len, int *pages, char *err, size_t errlen);

#endif
