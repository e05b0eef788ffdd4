/*
 * xmlw.h - a thin layer over libxml2's xmlTextWriter for the e-invoice
 * writers: elements named with their prefix ("cbc:ID"), text made valid XML
 * 1.0 first (invalid UTF-8 and characters XML forbids become U+FFFD), empty
 * values skipped (Peppol R008: no empty elements). Runs in workers.
 */
#ifndef MCPI_EINVOICE_XMLW_H
#define MCPI_EINVOICE_XMLW_H

#include "server/lib/strbuf.h"

struct xmlw;

/* A writer with the XML declaration written; NULL on allocation failure. */
struct xmlw *xmlw_new(void);
/* Appends the finished document to out and frees w; -1 if any write failed. */
int xmlw_finish(struct xmlw *w, struct strbuf *out);
void xmlw_free(struct xmlw *w);

void xmlw_open(struct xmlw *w, const char *name);
void xmlw_close(struct xmlw *w);
/* An attribute of the element just opened. */
void xmlw_attr(struct xmlw *w, const char *name, const char *value);
/* <name>text</name>, nothing when text is NULL or "". */
void xmlw_text(struct xmlw *w, const char *name, const char *text);
/* <name attr="value">text</name>, nothing when text is NULL or "". */
void xmlw_text_attr(struct xmlw *w, const char *name, const char *attr, const char *value, const char *text);

#endif
