/*
 * pdf.h - a small paginating PDF engine on cairo's PDF surface with pango
 * for text: a document is a first-page block, a table of fixed-height rows
 * (its header repeated on every page) and a tail block, with "page n of N"
 * on every page; a block taller than what is left of a page continues on
 * the next ones, broken between lines. Deterministic: the same document
 * gives the same bytes.
 * Runs only in the renderer.
 */
#ifndef MCPI_PDF_H
#define MCPI_PDF_H

#include <pango/pango.h>
#include <stddef.h>

#define PDF_MAX_COLS 8
#define PDF_CELL_MAX 256

enum pdf_align { PDF_LEFT, PDF_RIGHT, PDF_CENTER };

struct pdf_column {
	const char *title;
	double width; /* share of the content width */
	enum pdf_align align;
};

struct pdf;

struct pdf_doc {
	const char *title;   /* metadata title, and the page footer */
	const char *author;  /* metadata author (the seller) */
	const char *date;    /* YYYY-MM-DD: the creation date written in the PDF */
	const char *running; /* continuation pages' header line */
	int letter;          /* US Letter instead of A4 */
	int ncols;
	struct pdf_column cols[PDF_MAX_COLS];
	size_t nrows;
	/* Fills the cells of row i. */
	void (*row)(const struct pdf_doc *d, size_t i, char cells[][PDF_CELL_MAX]);
	/* Draw at y and return the y below what they drew; called to measure
	 * (nothing is drawn) and then once per page the block covers (the
	 * engine draws only that page's part). The same y gives the same
	 * layout every time. */
	double (*first)(struct pdf *p, const struct pdf_doc *d, double y);
	double (*tail)(struct pdf *p, const struct pdf_doc *d, double y);
	const void *data;    /* the kind's own data */
};

/* Renders d. 0 with *out (malloc'd, *len bytes) and *pages, or -1 with err. */
int pdf_render_doc(PangoFontMap *fonts, const struct pdf_doc *d, unsigned char **out, size_t *len,
                   int *pages, char *err, size_t errlen);

/* For first/tail: the content box's left edge and width. */
double pdf_left(const struct pdf *p);
double pdf_width(const struct pdf *p);
/* Text in a box of width w at (x, y), wrapped; returns its height. */
double pdf_text(struct pdf *p, double x, double y, double w, const char *s, double size, int bold,
                enum pdf_align align);
/* A horizontal rule of width w at y. */
void pdf_rule(struct pdf *p, double x, double y, double w, int dashed);
/* A light box behind what follows. */
void pdf_shade(struct pdf *p, double x, double y, double w, double h);

#endif
