/*
 * pdf.c - the paginating engine (see pdf.h). Runs only in the renderer.
 * The document is laid out twice: a dry run that draws nothing counts the
 * pages, so "page n of N" is known on page 1, then the real one. Rows have
 * one height; a block (first, tail) is measured before it is drawn, and one
 * taller than what is left of a page continues on the next pages, broken
 * between lines: the block is drawn once per page it covers, and each pass
 * inks only what starts in that page's window of it.
 */
#include <cairo-pdf.h>
#include <cairo.h>
#include <math.h>
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

/* The vertical extent of a text line or a shaded box of a block: a page
 * break never falls inside one. */
struct span {
	double top, bottom;
};

struct pdf {
	cairo_t *cr;
	PangoContext *ctx;
	PangoLayout *layout;
	struct { int key; PangoFontDescription *fd; } fonts[FONT_CACHE]; /* by size and weight */
	int nfonts;
	double w, h;
	int dry;                 /* counting pages: nothing is drawn, no page is shown */
	int measure;             /* measuring a block: nothing is drawn, its spans are kept */
	struct span *spans;      /* the block being measured; owned */
	size_t nspans, spans_cap;
	int windowed;            /* drawing a block: only what starts in [win_top, win_bottom) */
	double win_top, win_bottom, shift; /* ... is drawn, shift lower on this page */
	int page, pages;
	const struct pdf_doc *doc;
};

typedef double (*block_fn)(struct pdf *p, const struct pdf_doc *d, double y);

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

static void keep_span(struct pdf *p, double top, double bottom)
{
	if (p->nspans == p->spans_cap) {
		p->spans_cap = p->spans_cap ? p->spans_cap * 2 : 64;
		p->spans = g_renew(struct span, p->spans, p->spans_cap);
	}
	p->spans[p->nspans++] = (struct span){ top, bottom };
}

static int in_window(const struct pdf *p, double y)
{
	return !p->windowed || (y >= p->win_top && y < p->win_bottom);
}

/* Draws the layout at (x, y), or in a block's window the lines of it that
 * start there. */
static void draw_layout(struct pdf *p, double x, double y, double height)
{
	PangoLayoutIter *it;

	if (!p->windowed || (in_window(p, y) && y + height <= p->win_bottom)) {
		cairo_move_to(p->cr, x, y + (p->windowed ? p->shift : 0));
		pango_cairo_show_layout(p->cr, p->layout);
		return;
	}
	it = pango_layout_get_iter(p->layout);
	do {
		PangoRectangle logical;
		int top;
		pango_layout_iter_get_line_yrange(it, &top, NULL);
		if (!in_window(p, y + (double)top / PANGO_SCALE))
			continue;
		pango_layout_iter_get_line_extents(it, NULL, &logical);
		cairo_move_to(p->cr, x + (double)logical.x / PANGO_SCALE,
		              y + p->shift + (double)pango_layout_iter_get_baseline(it) / PANGO_SCALE);
		pango_cairo_show_layout_line(p->cr, pango_layout_iter_get_line_readonly(it));
	} while (pango_layout_iter_next_line(it));
	pango_layout_iter_free(it);
}

static void keep_line_spans(struct pdf *p, double y)
{
	PangoLayoutIter *it = pango_layout_get_iter(p->layout);

	do {
		int top, bottom;
		pango_layout_iter_get_line_yrange(it, &top, &bottom);
		keep_span(p, y + (double)top / PANGO_SCALE, y + (double)bottom / PANGO_SCALE);
	} while (pango_layout_iter_next_line(it));
	pango_layout_iter_free(it);
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
	if (p->measure)
		keep_line_spans(p, y);
	else if (!p->dry)
		draw_layout(p, x, y, (double)lh / PANGO_SCALE);
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

	if (p->measure || p->dry || !in_window(p, y))
		return;
	if (p->windowed)
		y += p->shift;
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
		keep_span(p, y, y + h);
	if (p->measure || p->dry || !in_window(p, y))
		return;
	if (p->windowed)
		y += p->shift;
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
	show(p, MARGIN, y, pdf_width(p) / 2, p->doc->author, 7.5, 0, PDF_LEFT, 1);
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

static double page_bottom(const struct pdf *p)
{
	return p->h - MARGIN - FOOTER_H;
}

static void next_page(struct pdf *p)
{
	if (p->page > 0 && !p->dry) {
		footer(p);
		cairo_show_page(p->cr);
	}
	p->page++;
}

/* Where a page's share of a block ends: the lowest y at most limit that no
 * line or shaded box straddles, or limit when one is taller than a page. */
static double safe_break(const struct pdf *p, double top, double limit)
{
	double y = limit;
	int moved = 1;

	while (moved) {
		moved = 0;
		for (size_t i = 0; i < p->nspans; i++) {
			if (p->spans[i].top < y && y < p->spans[i].bottom) {
				y = p->spans[i].top;
				moved = 1;
			}
		}
	}
	return y > top ? y : limit;
}

/* Lays block out from page y, continuing below the running header of new
 * pages while it does not fit; returns the page y below it. */
static double flow_block(struct pdf *p, block_fn block, double y)
{
	double top = y, shift = 0, end, cut;

	p->nspans = 0;
	p->measure = 1;
	end = block(p, p->doc, y);
	p->measure = 0;
	for (;;) {
		cut = end <= page_bottom(p) - shift ? end : safe_break(p, top, page_bottom(p) - shift);
		if (cut <= top)
			cut = end; /* no room at all below the page's top: the rest overflows, no endless pages */
		if (!p->dry) {
			p->windowed = 1;
			p->win_top = top;
			p->win_bottom = cut < end ? cut : INFINITY;
			p->shift = shift;
			block(p, p->doc, y);
			p->windowed = 0;
		}
		if (cut >= end)
			return end + shift;
		next_page(p);
		shift = running_header(p, MARGIN) - cut;
		top = cut;
	}
}

/* The whole document; on a dry run it only counts the pages. */
static void lay_out(struct pdf *p)
{
	const struct pdf_doc *d = p->doc;
	double bottom = page_bottom(p), y, tail_h;
	size_t row = 0;

	p->page = 0;
	next_page(p);
	y = flow_block(p, d->first, MARGIN) + GAP;
	for (;;) {
		size_t fit = bottom - y - ROW_H >= ROW_H ? (size_t)((bottom - y - ROW_H) / ROW_H) : 0, n;
		double rows_top;
		if (fit == 0 && (row < d->nrows || y + ROW_H > bottom)) {
			next_page(p);
			y = running_header(p, MARGIN);
			continue;
		}
		rows_top = table_header(p, y);
		n = d->nrows - row < fit ? d->nrows - row : fit;
		for (size_t k = 0; k < n && !p->dry; k++)
			table_row(p, row + k, rows_top + (double)k * ROW_H);
		row += n;
		y = rows_top + (double)n * ROW_H;
		if (row == d->nrows)
			break;
		next_page(p);
		y = running_header(p, MARGIN);
	}
	p->measure = 1;
	tail_h = d->tail(p, d, 0);
	p->measure = 0;
	if (y + GAP + tail_h > bottom) {
		next_page(p);
		y = running_header(p, MARGIN);
	}
	flow_block(p, d->tail, y + GAP);
	if (!p->dry) {
		footer(p);
		cairo_show_page(p->cr);
	}
}

int pdf_render_doc(PangoFontMap *fonts, const struct pdf_doc *d, unsigned char **out, size_t *len,
                   int *pages, char *err, size_t errlen)
{
	struct sink sink = { 0 };
	struct pdf p = { .doc = d, .w = d->letter ? 612.0 : 595.276, .h = d->letter ? 792.0 : 841.89 };
	cairo_surface_t *surface;
	char date[32];
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
	p.dry = 1;
	lay_out(&p);
	p.pages = p.page;
	p.dry = 0;
	lay_out(&p);
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
	g_free(p.spans);
	g_object_unref(p.layout);
	g_object_unref(p.ctx);
	cairo_destroy(p.cr);
	cairo_surface_destroy(surface);
	free(sink.data);
	return rc;
}
