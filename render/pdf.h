/*
 * pdf.h - a small paginating PDF engine on cairo's PDF surface with pango
 * for text: a document is a first-page block, a table of rows
 * (its header repeated on every page) and a tail block, with "page n of N"
 * on every page; a block taller than what is left of a page continues on
 * the next ones, broken between lines; a row is as tall as its tallest
 * cell (wrap columns grow). Deterministic: the same document
 * gives the same bytes.
 * Nothing drawn covers text: a table row is as tall as its tallest cell,
 * measured by the real ascent + descent of the fonts its text is set in
 * (an Arabic name makes its row taller), plus padding; its shade fills
 * exactly its own row, backgrounds are drawn before text, and a rule is
 * drawn below the text it underlines. One-line fields shrink to fit before
 * they are shortened, and are shortened by pango on a grapheme boundary
 * with an ellipsis at the end of the text's own direction.
 * Runs only in the renderer.
 */
#ifndef MCPI_PDF_H
#define MCPI_PDF_H

#include <pango/pango.h>
#include <stddef.h>

#define PDF_MAX_COLS 8
#define PDF_CELL_MAX 2048

enum pdf_align { PDF_LEFT, PDF_RIGHT, PDF_CENTER };

struct pdf_column {
	const char *title;
	double width; /* share of the content width */
	enum pdf_align align;
	int fit;      /* shrink to fit, never shortened (amounts) */
	int wrap;     /* wrapped onto as many lines as it needs: the row grows */
};

struct pdf;

struct pdf_doc {
	const char *title;   /* metadata title, and the page footer */
	const char *author;  /* metadata author (the seller) */
	const char *date;    /* YYYY-MM-DD: the creation date written in the PDF */
	const char *running[3]; /* continuation pages' header: left, middle, right */
	int letter;          /* US Letter instead of A4 */
	int ncols;
	struct pdf_column cols[PDF_MAX_COLS];
	size_t nrows;
	/* Fills the cells of row i (called once per row per run). */
	void (*row)(const struct pdf_doc *d, size_t i, char cells[][PDF_CELL_MAX]);
	/* Draw at y and return the y below what they drew; called to measure
	 * (nothing is drawn) and then once per page the block covers (the
	 * engine draws only that page's part). The same y gives the same
	 * layout every time. */
	double (*first)(struct pdf *p, const struct pdf_doc *d, double y);
	double (*tail)(struct pdf *p, const struct pdf_doc *d, double y);
	const void *data;    /* the kind's own data */
	/* Asked at every new page (NULL: never): 1 stops the layout, and the
	 * document fails as cancelled. */
	int (*cancelled)(void *ctx);
	void *cancel_ctx;
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
/* One line of text in a box of width w: set at size when it fits, else at
 * the size that makes it fit (down to 70% of size), else shortened with an
 * ellipsis. Returns its height. */
double pdf_text_fit(struct pdf *p, double x, double y, double w, const char *s, double size, int bold,
                    enum pdf_align align);
/* The height of s on one line at size: the tallest ascent + descent of
 * the fonts its characters are set in. */
double pdf_line_height(struct pdf *p, const char *s, double size, int bold);
/* The natural width of s on one line at size. */
double pdf_text_width(struct pdf *p, const char *s, double size, int bold);
/* A horizontal rule of width w at y. */
void pdf_rule(struct pdf *p, double x, double y, double w, int dashed);
/* first and tail: [top, bottom) of the block stays on one page (a page
 * break falls before it, unless it is taller than a page). */
void pdf_keep(struct pdf *p, double top, double bottom);
/* A light box behind what follows. */
void pdf_shade(struct pdf *p, double x, double y, double w, double h);

#endif
