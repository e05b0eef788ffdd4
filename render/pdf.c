/*
 * pdf.c - the paginating engine (see pdf.h). Runs only in the renderer.
 * Pagination is decided before anything is drawn (rows have one height,
 * the blocks are measured first), so "page n of N" is known on page 1.
 */
#include <cairo-pdf.h>
#include <cairo.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/fonts.h"
#include "render/pdf.h"

#define MARGIN 42.0
#define ROW_H 14.0
#define BODY_SIZE 8.5
#define FOOTER_H 18.0
#define GAP 12.0

#define FONT_CACHE 12

struct pdf {
	cairo_t *cr;
	PangoContext *ctx;
	PangoLayout *layout;
	struct { int key; PangoFontDescription *fd; } fonts[FONT_CACHE]; /* by size and weight */
	int nfonts;
	double w, h;
	int measure;
	int page, pages;
	const struct pdf_doc *doc;
};

struct sink {
	unsigned char *data;
	size_t len, cap;
	int failed;
};

static cairo_status_t sink_write(void *closure, const unsigned char *data, unsigned int n)
{
	struct sink *s = closure;

	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 65536;
		unsigned char *p;
		while (cap < s->len + n)
			cap *= 2;
		if (!(p = realloc(s->data, cap))) {
			s->failed = 1;
			return CAIRO_STATUS_WRITE_ERROR;
		}
		s->data = p;
		s->cap = cap;
	}
	memcpy(s->data + s->len, data, n);
	s->len += n;
	return CAIRO_STATUS_SUCCESS;
}

double pdf_left(const struct pdf *p)
{
	(void)p;
	return MARGIN;
}

double pdf_width(const struct pdf *p)
{
	return p->w - 2 * MARGIN;
}

/* Descriptions are made once per size and weight: parsing one per cell
 * was a tenth of a page's time. */
static void set_font(struct pdf *p, double size, int bold)
{
	int key = (int)(size * 10) * 2 + (bold != 0), i;
	PangoFontDescription *fd;

	for (i = 0; i < p->nfonts; i++)
		if (p->fonts[i].key == key)
			break;
	if (i == p->nfonts) {
		fd = pango_font_description_from_string(FONTS_FAMILIES);
		pango_font_description_set_size(fd, (int)(size * PANGO_SCALE));
		pango_font_description_set_weight(fd, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
		if (p->nfonts == FONT_CACHE) {
			pango_layout_set_font_description(p->layout, fd);
			pango_font_description_free(fd);
			return;
		}
		p->fonts[p->nfonts].key = key;
		p->fonts[p->nfonts++].fd = fd;
	}
	pango_layout_set_font_description(p->layout, p->fonts[i].fd);
}

static PangoAlignment pango_align(enum pdf_align a)
{
	return a == PDF_RIGHT ? PANGO_ALIGN_RIGHT : a == PDF_CENTER ? PANGO_ALIGN_CENTER : PANGO_ALIGN_LEFT;
}

static double show(struct pdf *p, double x, double y, double w, const char *s, double size, int bold,
                   enum pdf_align align, int one_line)
{
	int lw, lh;

	set_font(p, size, bold);
	pango_layout_set_width(p->layout, (int)(w * PANGO_SCALE));
	pango_layout_set_ellipsize(p->layout, one_line ? PANGO_ELLIPSIZE_END : PANGO_ELLIPSIZE_NONE);
	pango_layout_set_wrap(p->layout, PANGO_WRAP_WORD_CHAR);
	pango_layout_set_alignment(p->layout, pango_align(align));
	pango_layout_set_text(p->layout, s ? s : "", -1);
	pango_layout_get_size(p->layout, &lw, &lh);
	if (!p->measure) {
		cairo_move_to(p->cr, x, y);
		pango_cairo_show_layout(p->cr, p->layout);
	}
	return (double)lh / PANGO_SCALE;
}

double pdf_text(struct pdf *p, double x, double y, double w, const char *s, double size, int bold,
                enum pdf_align align)
{
	return show(p, x, y, w, s, size, bold, align, 0);
}

void pdf_rule(struct pdf *p, double x, double y, double w, int dashed)
{
	static const double dash[] = { 3.0, 2.0 };

	if (p->measure)
		return;
	cairo_save(p->cr);
	cairo_set_line_width(p->cr, 0.6);
	cairo_set_source_rgb(p->cr, 0.45, 0.45, 0.45);
	if (dashed)
		cairo_set_dash(p->cr, dash, 2, 0);
	cairo_move_to(p->cr, x, y);
	cairo_line_to(p->cr, x + w, y);
	cairo_stroke(p->cr);
	cairo_restore(p->cr);
}

void pdf_shade(struct pdf *p, double x, double y, double w, double h)
{
	if (p->measure)
		return;
	cairo_save(p->cr);
	cairo_set_source_rgb(p->cr, 0.94, 0.95, 0.97);
	cairo_rectangle(p->cr, x, y, w, h);
	cairo_fill(p->cr);
	cairo_restore(p->cr);
}

/* The top of a continuation page; returns the y below it. */
static double running_header(struct pdf *p, double y)
{
	double h = pdf_text(p, MARGIN, y, pdf_width(p), p->doc->running, BODY_SIZE, 1, PDF_LEFT);
	pdf_rule(p, MARGIN, y + h + 3, pdf_width(p), 0);
	return y + h + GAP;
}

static void footer(struct pdf *p)
{
	char text[400];
	double y = p->h - MARGIN + 4;

	pdf_rule(p, MARGIN, y - 4, pdf_width(p), 0);
	snprintf(text, sizeof(text), "%s  \xc2\xb7  Page %d of %d", p->doc->title, p->page, p->pages);
	pdf_text(p, MARGIN, y, pdf_width(p), text, 7.5, 0, PDF_RIGHT);
	pdf_text(p, MARGIN, y, pdf_width(p) / 2, p->doc->author, 7.5, 0, PDF_LEFT);
}

static double table_header(struct pdf *p, double y)
{
	double x = MARGIN;

	pdf_shade(p, MARGIN, y - 2, pdf_width(p), ROW_H);
	for (int c = 0; c < p->doc->ncols; c++) {
		double cw = p->doc->cols[c].width * pdf_width(p);
		show(p, x + 2, y, cw - 4, p->doc->cols[c].title, BODY_SIZE, 1, p->doc->cols[c].align, 1);
		x += cw;
	}
	pdf_rule(p, MARGIN, y + ROW_H - 2, pdf_width(p), 0);
	return y + ROW_H + 1;
}

static void table_row(struct pdf *p, size_t i, double y)
{
	char cells[PDF_MAX_COLS][PDF_CELL_MAX];
	double x = MARGIN;

	memset(cells, 0, sizeof(cells));
	p->doc->row(p->doc, i, cells);
	if (i % 2 == 1)
		pdf_shade(p, MARGIN, y - 2, pdf_width(p), ROW_H);
	for (int c = 0; c < p->doc->ncols; c++) {
		double cw = p->doc->cols[c].width * pdf_width(p);
		cells[c][PDF_CELL_MAX - 1] = '\0';
		show(p, x + 2, y, cw - 4, cells[c], BODY_SIZE, 0, p->doc->cols[c].align, 1);
		x += cw;
	}
}

struct plan {
	size_t first_rows, cont_rows;
	int tail_own_page;
};

/* Decides the pages before drawing. */
static int paginate(struct pdf *p, struct plan *pl)
{
	double bottom = p->h - MARGIN - FOOTER_H, first_h, cont_h, tail_h, space_left;
	size_t rest;

	p->measure = 1;
	first_h = p->doc->first(p, p->doc, MARGIN) + GAP;
	cont_h = running_header(p, MARGIN);
	tail_h = p->doc->tail(p, p->doc, 0) + GAP;
	p->measure = 0;
	pl->first_rows = (size_t)((bottom - first_h - ROW_H) / ROW_H);
	pl->cont_rows = (size_t)((bottom - cont_h - ROW_H) / ROW_H);
	if (pl->first_rows < 1 || pl->cont_rows < 1)
		return -1;
	if (p->doc->nrows <= pl->first_rows) {
		p->pages = 1;
		space_left = bottom - (first_h + ROW_H + (double)p->doc->nrows * ROW_H);
	} else {
		rest = p->doc->nrows - pl->first_rows;
		p->pages = 1 + (int)((rest + pl->cont_rows - 1) / pl->cont_rows);
		rest -= (size_t)(p->pages - 2) * pl->cont_rows;
		space_left = bottom - (cont_h + ROW_H + (double)rest * ROW_H);
	}
	pl->tail_own_page = space_left < tail_h;
	if (pl->tail_own_page)
		p->pages++;
	return 0;
}

static void next_page(struct pdf *p)
{
	if (p->page > 0) {
		footer(p);
		cairo_show_page(p->cr);
	}
	p->page++;
}

int pdf_render_doc(PangoFontMap *fonts, const struct pdf_doc *d, unsigned char **out, size_t *len,
                   int *pages, char *err, size_t errlen)
{
	struct sink sink = { 0 };
	struct pdf p = { .doc = d, .w = d->letter ? 612.0 : 595.276, .h = d->letter ? 792.0 : 841.89 };
	cairo_surface_t *surface;
	struct plan pl;
	char date[32];
	double y;
	size_t row = 0;
	int rc = -1;

	surface = cairo_pdf_surface_create_for_stream(sink_write, &sink, p.w, p.h);
	snprintf(date, sizeof(date), "%.10sT00:00:00Z", d->date);
	cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, d->title);
	cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_AUTHOR, d->author);
	cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "mcp-invoiced");
	cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE, date);
	p.cr = cairo_create(surface);
	p.ctx = pango_font_map_create_context(fonts);
	pango_cairo_update_context(p.cr, p.ctx);
	p.layout = pango_layout_new(p.ctx);
	cairo_set_source_rgb(p.cr, 0.1, 0.1, 0.1);
	if (paginate(&p, &pl) < 0) {
		snprintf(err, errlen, "the document's first block does not fit on a page");
		goto out;
	}
	next_page(&p);
	y = d->first(&p, d, MARGIN) + GAP;
	y = table_header(&p, y);
	for (; row < d->nrows && row < pl.first_rows; row++, y += ROW_H)
		table_row(&p, row, y);
	while (row < d->nrows) {
		next_page(&p);
		y = table_header(&p, running_header(&p, MARGIN));
		for (size_t k = 0; k < pl.cont_rows && row < d->nrows; k++, row++, y += ROW_H)
			table_row(&p, row, y);
	}
	if (pl.tail_own_page) {
		next_page(&p);
		y = running_header(&p, MARGIN);
	}
	d->tail(&p, d, y + GAP);
	footer(&p);
	cairo_show_page(p.cr);
	cairo_surface_finish(surface);
	if (sink.failed || cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
		snprintf(err, errlen, "cairo could not write the PDF: %s",
		         cairo_status_to_string(cairo_surface_status(surface)));
		goto out;
	}
	*out = sink.data;
	*len = sink.len;
	*pages = p.page;
	sink.data = NULL;
	rc = 0;
out:
	for (int i = 0; i < p.nfonts; i++)
		pango_font_description_free(p.fonts[i].fd);
	g_object_unref(p.layout);
	g_object_unref(p.ctx);
	cairo_destroy(p.cr);
	cairo_surface_destroy(surface);
	free(sink.data);
	return rc;
}
