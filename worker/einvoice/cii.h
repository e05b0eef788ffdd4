/*
 * cii.h - UN/CEFACT Cross Industry Invoice D16B under EN 16931, which is
 * also Factur-X's EN 16931 profile (see cii.c). Runs in workers.
 */
#ifndef MCPI_EINVOICE_CII_H
#define MCPI_EINVOICE_CII_H

#include <json-c/json.h>

#include "server/lib/strbuf.h"

/* Appends the document for a source ei_missing found complete; -1 on a
 * writer failure (out unchanged). */
int cii_write(const json_object *source, struct strbuf *out);

#endif
