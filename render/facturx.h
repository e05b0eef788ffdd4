/*
 * facturx.h - turns the invoice (or credit note) PDF cairo wrote into a
 * Factur-X / ZUGFeRD PDF (profile EN 16931) with libqpdf: PDF/A-3b
 * structures cairo cannot write (XMP metadata, an sRGB output intent, a
 * document ID, PDF 1.7) and the document's CII XML embedded as
 * factur-x.xml, an associated file of the document (/AFRelationship
 * /Alternative). Runs only in the renderer:
 * the only process that links PDF code.
 */
#ifndef MCPI_FACTURX_H
#define MCPI_FACTURX_H

#include <stddef.h>

/* Debian's icc-profiles-free: read once at start-up, before the sandbox. */
#define FACTURX_ICC_PATH "/usr/share/color/icc/sRGB.icc"
#define FACTURX_ICC_PACKAGE "icc-profiles-free"

struct facturx_profile {
	unsigned char *icc; /* the ICC profile's bytes, kept for the process's life */
	size_t len;
};

/* Reads FACTURX_ICC_PATH into p. 0, or -1 with err naming the file and its package. */
int facturx_profile_load(struct facturx_profile *p, char *err, size_t errlen);

/* What an invoice's or credit note's PDF becomes Factur-X with. */
struct facturx_embed {
	const struct facturx_profile *profile;
	const unsigned char *xml; /* the CII XML, embedded byte for byte */
	size_t xml_len;
};

/* The document's own metadata, for the Info dictionary and the XMP. */
struct facturx_meta {
	const char *title, *author;
	const char *date; /* YYYY-MM-DD */
};

/* Rewrites pdf (len bytes, as cairo wrote it) into *out (malloc'd,
 * *out_len bytes). Deterministic: the same input gives the same bytes.
 * 0, or -1 with err. */
int facturx_convert(const unsigned char *pdf, size_t len, const struct facturx_meta *m,
                    const struct facturx_embed *fx, unsigned char **out, size_t *out_len, char *err,
                    size_t errlen);

#endif
