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
#define ROW_PAD 1.0 /* above and below a table row's text (the fonts' own line height has room) */
#define BODY_SIZE 8.5
#define RUNNING_SIZE 8.0
#define MIN_FIT 0.7 /* one-line text shrinks at most to this share of its size ... */
#define MIN_FIT_AMOUNT 0.5 /* ... and an amount, which is never shortened, to this */
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
	int sizing;              /* measuring a table row: nothing is drawn or kept */
	double *row_heights;     /* each row's height, found by the dry run; owned */
	double ascii_h[2];       /* one line of ASCII text at BODY_SIZE, regular and bold */
	const struct pdf_doc *doc;
	int stopped;            /* the caller went away: the layout ends at the next page */
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

static void prepare(struct pdf *p, double w, const char *s, double size, int bold, enum pdf_align align,
                    int one_line)
{
	set_font(p, size, bold);
	pango_layout_set_width(p->layout, (int)(w * PANGO_SCALE));
	pango_layout_set_single_paragraph_mode(p->layout, one_line);
	pango_layout_set_ellipsize(p->layout, one_line ? PANGO_ELLIPSIZE_END : PANGO_ELLIPSIZE_NONE);
	pango_layout_set_wrap(p->layout, PANGO_WRAP_WORD_CHAR);
	pango_layout_set_alignment(p->layout, pango_align(align));
	pango_layout_set_text(p->layout, s ? s : "", -1);
}

/* Draws (or measures, or keeps the spans of) the prepared layout at (x, y);
 * returns its height. */
static double emit(struct pdf *p, double x, double y)
{
	int lw, lh;

	pango_layout_get_size(p->layout, &lw, &lh);
	if (p->sizing)
		return (double)lh / PANGO_SCALE;
	if (p->measure)
		keep_line_spans(p, y);
	else if (!p->dry)
		draw_layout(p, x, y, (double)lh / PANGO_SCALE);
	return (double)lh / PANGO_SCALE;
}

static double show(struct pdf *p, double x, double y, double w, const char *s, double size, int bold,
                   enum pdf_align align, int one_line)
{
	prepare(p, w, s, size, bold, align, one_line);
	return emit(p, x, y);
}

double pdf_text(struct pdf *p, double x, double y, double w, const char *s, double size, int bold,
                enum pdf_align align)
{
	return show(p, x, y, w, s, size, bold, align, 0);
}

/* s set on one line at size, unwrapped: its width, height and baseline. */
static void natural(struct pdf *p, const char *s, double size, int bold, double *w, double *h, double *base)
{
	int lw, lh;

	set_font(p, size, bold);
	pango_layout_set_width(p->layout, -1);
	pango_layout_set_single_paragraph_mode(p->layout, 1);
	pango_layout_set_ellipsize(p->layout, PANGO_ELLIPSIZE_NONE);
	pango_layout_set_text(p->layout, s ? s : "", -1);
	pango_layout_get_size(p->layout, &lw, &lh);
	*w = (double)lw / PANGO_SCALE;
	*h = (double)lh / PANGO_SCALE;
	*base = (double)pango_layout_get_baseline(p->layout) / PANGO_SCALE;
}

double pdf_text_width(struct pdf *p, const char *s, double size, int bold)
{
	double w, h, base;

	natural(p, s, size, bold, &w, &h, &base);
	return w;
}

double pdf_line_height(struct pdf *p, const char *s, double size, int bold)
{
	double w, h, base;

	natural(p, s, size, bold, &w, &h, &base);
	return h;
}

/* One line at size, or smaller (to min_share of size, in tenths of a
 * point: the font cache's key) so that it fits w; what still does not fit
 * is shortened. A smaller size is set on the baseline the full size would
 * have. Returns the height from y to the bottom of the line. */
static double show_fit(struct pdf *p, double x, double y, double w, const char *s, double size, int bold,
                       enum pdf_align align, double min_share)
{
	double nw, nh, base, fw, fh, fbase, fitted, shift;

	prepare(p, w, s, size, bold, align, 1);
	if (!pango_layout_is_ellipsized(p->layout))
		return emit(p, x, y); /* it fits: one layout, the common case */
	natural(p, s, size, bold, &nw, &nh, &base);
	fitted = floor(size * w / nw * 10.0) / 10.0;
	if (fitted < size * min_share)
		fitted = ceil(size * min_share * 10.0) / 10.0;
	natural(p, s, fitted, bold, &fw, &fh, &fbase);
	shift = base - fbase;
	return shift + show(p, x, y + shift, w, s, fitted, bold, align, 1);
}

double pdf_text_fit(struct pdf *p, double x, double y, double w, const char *s, double size, int bold,
                    enum pdf_align align)
{
	return show_fit(p, x, y, w, s, size, bold, align, MIN_FIT);
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

void pdf_keep(struct pdf *p, double top, double bottom)
{
	if (p->measure)
		keep_span(p, top, bottom);
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

/* The top of a continuation page: seller, customer and document, each on
 * one line in its third; returns the y below it. */
static double running_header(struct pdf *p, double y)
{
	static const double share[3] = { 0.3, 0.35, 0.35 };
	static const enum pdf_align align[3] = { PDF_LEFT, PDF_CENTER, PDF_RIGHT };
	double x = MARGIN, h = 0;

	for (int i = 0; i < 3; i++) {
		double t = show_fit(p, x + 2, y, share[i] * pdf_width(p) - 4, p->doc->running[i], RUNNING_SIZE, 1,
		                    align[i], MIN_FIT);
		h = t > h ? t : h;
		x += share[i] * pdf_width(p);
	}
	pdf_rule(p, MARGIN, y + h + 3, pdf_width(p), 0);
	return y + h + GAP;
}

static void footer(struct pdf *p)
{
	char text[400];
	double y = p->h - MARGIN + 4, w = pdf_width(p);

	pdf_rule(p, MARGIN, y - 4, w, 0);
	snprintf(text, sizeof(text), "%s  \xc2\xb7  Page %d of %d", p->doc->title, p->page, p->pages);
	show_fit(p, MARGIN + w * 0.45, y, w * 0.55, text, 7.5, 0, PDF_RIGHT, MIN_FIT);
	show_fit(p, MARGIN, y, w * 0.43, p->doc->author, 7.5, 0, PDF_LEFT, MIN_FIT);
}

static int ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* A cell: one line that shrinks to fit, or (a wrap column) wrapped text;
 * returns its height. */
static double cell(struct pdf *p, const struct pdf_column *col, double x, double y, const char *text, int bold)
{
	double cw = col->width * pdf_width(p);

	/* An empty cell has no height: pango would give an empty line the
	 * tallest metrics of every fallback font. */
	if (!*text)
		return 0;
	/* Sizing a one-line cell of ASCII text: it is set in Noto Sans, whose
	 * line height is known, so no layout is needed (the dry run measures
	 * thousands of cells). */
	if (p->sizing && (!col->wrap || bold) && ascii(text))
		return p->ascii_h[bold != 0];
	if (col->wrap && !bold)
		return show(p, x + 2, y, cw - 4, text, BODY_SIZE, 0, col->align, 0);
	return show_fit(p, x + 2, y, cw - 4, text, BODY_SIZE, bold, col->align, col->fit ? MIN_FIT_AMOUNT : MIN_FIT);
}

/* Lays out a row's cells at y (cells NULL: the column titles); with
 * sizing set only measures. Returns the row's height: its tallest cell,
 * by the real line heights of the fonts its text uses, plus padding. */
static double row_cells(struct pdf *p, char (*cells)[PDF_CELL_MAX], double y)
{
	double x = MARGIN, h = 0;

	for (int c = 0; c < p->doc->ncols; c++) {
		const struct pdf_column *col = &p->doc->cols[c];
		double t = cell(p, col, x, y + ROW_PAD, cells ? cells[c] : col->title, !cells);
		h = t > h ? t : h;
		x += col->width * pdf_width(p);
	}
	return h + 2 * ROW_PAD;
}

static double measure_row(struct pdf *p, char (*cells)[PDF_CELL_MAX])
{
	double h;

	p->sizing = 1;
	h = row_cells(p, cells, 0);
	p->sizing = 0;
	return h;
}

/* Backgrounds first: a row's shade fills exactly its own height and its
 * text lies ROW_PAD inside it, so no shade or rule reaches another row's
 * text; the rule under the titles is below their lines. */
static double table_header(struct pdf *p, double y)
{
	double h = measure_row(p, NULL);

	pdf_shade(p, MARGIN, y, pdf_width(p), h);
	row_cells(p, NULL, y);
	pdf_rule(p, MARGIN, y + h, pdf_width(p), 0);
	return y + h + 1;
}

static void fill_cells(struct pdf *p, size_t i, char (*cells)[PDF_CELL_MAX])
{
	memset(cells, 0, sizeof(char[PDF_MAX_COLS][PDF_CELL_MAX]));
	p->doc->row(p->doc, i, cells);
	for (int c = 0; c < PDF_MAX_COLS; c++)
		cells[c][PDF_CELL_MAX - 1] = '\0';
}

/* Row i's height: measured on the dry run, remembered for the real one. */
static double row_height(struct pdf *p, size_t i)
{
	char (*cells)[PDF_CELL_MAX];

	if (!p->dry || p->row_heights[i] > 0)
		return p->row_heights[i];
	cells = g_malloc(sizeof(char[PDF_MAX_COLS][PDF_CELL_MAX]));
	fill_cells(p, i, cells);
	p->row_heights[i] = measure_row(p, cells);
	g_free(cells);
	return p->row_heights[i];
}

static void table_row(struct pdf *p, size_t i, double y)
{
	char (*cells)[PDF_CELL_MAX] = g_malloc(sizeof(char[PDF_MAX_COLS][PDF_CELL_MAX]));

	fill_cells(p, i, cells);
	if (i % 2 == 1)
		pdf_shade(p, MARGIN, y, pdf_width(p), p->row_heights[i]);
	row_cells(p, cells, y);
	g_free(cells);
}

static double page_bottom(const struct pdf *p)
{
	return p->h - MARGIN - FOOTER_H;
}

static void next_page(struct pdf *p)
{
	if (!p->stopped && p->doc->cancelled && p->doc->cancelled(p->doc->cancel_ctx))
		p->stopped = 1;
	if (p->page > 0 && !p->dry) {
		footer(p);
		cairo_show_page(p->cr);
	}
	p->page++;
}

/* Where a page's share of a block ends: the lowest y at most limit that no
 * line, shaded box or kept part straddles (top or above: nothing fits). */
static double safe_break(const struct pdf *p, double limit)
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
	return y;
}

/* Lays block out from page y, continuing below the running header of new
 * pages while it does not fit; returns the page y below it. fresh: y is
 * the top of a page. What does not fit below y starts on the next page;
 * only a part taller than a whole page is cut (or, with no room at all
 * below a page's top, overflows: never endless pages). */
static double flow_block(struct pdf *p, block_fn block, double y, int fresh)
{
	double top = y, shift = 0, end, cut;

	p->nspans = 0;
	p->measure = 1;
	end = block(p, p->doc, y);
	p->measure = 0;
	for (;;) {
		double limit = page_bottom(p) - shift;
		cut = end <= limit ? end : safe_break(p, limit);
		if (cut <= top && !fresh) {
			next_page(p);
			shift = running_header(p, MARGIN) - top;
			fresh = 1;
			continue;
		}
		if (cut <= top)
			cut = limit > top ? limit : end;
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
		fresh = 1;
	}
}

/* The whole document; on a dry run it only counts the pages. */
static void lay_out(struct pdf *p)
{
	const struct pdf_doc *d = p->doc;
	double bottom = page_bottom(p), y, page_top = -1;
	size_t row = 0;

	p->page = 0;
	next_page(p);
	y = flow_block(p, d->first, MARGIN, 1) + GAP;
	for (;;) {
		double header_h = measure_row(p, NULL) + 1;
		double need = header_h + (row < d->nrows ? row_height(p, row) : 0);
		/* No room for the titles and the next row: a new page, unless this
		 * is a page's top (a row taller than a page overflows). */
		if (y + need > bottom && y > page_top) {
			next_page(p);
			if (p->stopped)
				return;
			y = page_top = running_header(p, MARGIN);
			continue;
		}
		y = table_header(p, y);
		for (int first = 1; row < d->nrows && (first || y + row_height(p, row) <= bottom); first = 0) {
			if (!p->dry)
				table_row(p, row, y);
			y += row_height(p, row++);
		}
		if (row >= d->nrows)
			break;
		next_page(p);
		if (p->stopped)
			return;
		y = page_top = running_header(p, MARGIN);
	}
	flow_block(p, d->tail, y + GAP, 0);
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
	cairo_font_options_t *fo;
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
	/* Unhinted metrics and unrounded glyph positions: widths are the
	 * fonts' own (hinting rounded each glyph to a whole point, so "fits"
	 * was measured on a different text than the one printed at 8.5 pt). */
	fo = cairo_font_options_create();
	cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
	cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
	pango_cairo_context_set_font_options(p.ctx, fo);
	cairo_font_options_destroy(fo);
	pango_context_set_round_glyph_positions(p.ctx, FALSE);
	pango_cairo_update_context(p.cr, p.ctx);
	p.layout = pango_layout_new(p.ctx);
	cairo_set_source_rgb(p.cr, 0.1, 0.1, 0.1);
	p.row_heights = g_new0(double, d->nrows ? d->nrows : 1);
	p.ascii_h[0] = pdf_line_height(&p, "Hg", BODY_SIZE, 0);
	p.ascii_h[1] = pdf_line_height(&p, "Hg", BODY_SIZE, 1);
	p.dry = 1;
	lay_out(&p);
	p.pages = p.page;
	p.dry = 0;
	if (!p.stopped)
		lay_out(&p);
	cairo_surface_finish(surface);
	if (p.stopped) {
		snprintf(err, errlen, "cancelled: its caller was answered or has gone");
		goto out;
	}
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
	g_free(p.row_heights);
	g_object_unref(p.layout);
	g_object_unref(p.ctx);
	cairo_destroy(p.cr);
	cairo_surface_destroy(surface);
	free(sink.data);
	return rc;
}
