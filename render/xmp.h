/*
 * xmp.h - the XMP metadata packet of a Factur-X invoice PDF: PDF/A-3b
 * identification (pdfaid:part 3, conformance B), the document's title,
 * author, tools and dates (the same values the Info dictionary holds, as
 * PDF/A requires), the Factur-X properties (fx: document type INVOICE,
 * file name factur-x.xml, version 1.0, conformance level EN 16931) and the
 * PDF/A extension schema that declares them. Runs only in the renderer.
 */
#ifndef MCPI_XMP_H
#define MCPI_XMP_H

#include "server/lib/strbuf.h"

#define XMP_FACTURX_FILE "factur-x.xml"
#define XMP_FACTURX_LEVEL "EN 16931"

struct xmp_doc {
	const char *title;    /* valid UTF-8 without control characters (xmp_clean) */
	const char *author;
	const char *creator;  /* xmp:CreatorTool, Info /Creator */
	const char *producer; /* pdf:Producer, Info /Producer */
	const char *date;     /* YYYY-MM-DD: created and modified, 00:00:00 UTC */
};

/* Appends the whole packet (<?xpacket ...?> to <?xpacket end="w"?>). */
void xmp_facturx(struct strbuf *out, const struct xmp_doc *d);

/* Copies s into out (cap bytes, NUL-terminated, cut on a character
 * boundary): bytes that are not UTF-8 become '?', control characters a
 * space. What the Info dictionary and the XMP both hold, identically. */
void xmp_clean(const char *s, char *out, size_t cap);

#endif
