/*
 * facturx.c - cairo's invoice PDF made a Factur-X PDF/A-3b with libqpdf's
 * C API (see facturx.h). Runs only in the renderer: the ICC profile is
 * read at start-up, before the sandbox; a conversion works in memory only
 * (qpdf reads cairo's bytes and writes a new buffer: no files, no
 * sockets). What cairo already gives PDF/A: every font embedded (subsets
 * with ToUnicode), no images (so none interpolated), no actions, no
 * encryption, DeviceRGB only (which the sRGB output intent qualifies).
 * What is added here: a /CIDToGIDMap where cairo leaves it implicit, the
 * XMP packet (xmp.c) as the catalog's uncompressed /Metadata, an Info
 * dictionary with the same values, the /OutputIntents (GTS_PDFA1, sRGB),
 * the embedded file with its /Params and a file
 * specification that is both in /Names /EmbeddedFiles and in the catalog's
 * /AF, a trailer /ID (deterministic: a digest of the written file, so the
 * same invoice gives the same bytes), PDF 1.7 (PDF/A-3's base) in the
 * header, and an end-of-line before every endstream.
 */
#include <cairo.h>
#include <qpdf/qpdf-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/facturx.h"
#include "render/xmp.h"
#include "server/lib/file.h"
#include "server/lib/strbuf.h"

#define ICC_MAX (1u << 20)
#define META_TEXT_MAX 512 /* bytes of title or author in the metadata */

int facturx_profile_load(struct facturx_profile *p, char *err, size_t errlen)
{
	size_t n = 0;
	unsigned char *buf = file_read(FACTURX_ICC_PATH, ICC_MAX, &n);

	/* An ICC profile declares its size in its first four bytes. */
	if (!buf || n < 132 || ((size_t)buf[0] << 24 | (size_t)buf[1] << 16 | (size_t)buf[2] << 8 | buf[3]) != n ||
	    memcmp(buf + 36, "acsp", 4) != 0) {
		snprintf(err, errlen, "cannot read the sRGB ICC profile %s (install the Debian package %s)",
		         FACTURX_ICC_PATH, FACTURX_ICC_PACKAGE);
		free(buf);
		return -1;
	}
	p->icc = buf;
	p->len = n;
	return 0;
}

/* A new stream holding data, its dictionary's other keys parsed from dict. */
static qpdf_oh stream_of(qpdf_data q, const void *data, size_t len, const char *dict)
{
	qpdf_oh s = qpdf_oh_new_stream(q), d, extra;

	qpdf_oh_replace_stream_data(q, s, data, len, qpdf_oh_new_null(q), qpdf_oh_new_null(q));
	d = qpdf_oh_get_dict(q, s);
	extra = qpdf_oh_parse(q, dict);
	qpdf_oh_begin_dict_key_iter(q, extra);
	while (qpdf_oh_dict_more_keys(q)) {
		const char *key = qpdf_oh_dict_next_key(q);
		qpdf_oh_replace_key(q, d, key, qpdf_oh_get_key(q, extra, key));
	}
	return s;
}

/* The Info dictionary, replacing cairo's: the values the XMP holds. */
static void info(qpdf_data q, const struct xmp_doc *x, const char *pdf_date)
{
	qpdf_oh d = qpdf_oh_new_dictionary(q);

	qpdf_oh_replace_key(q, d, "/Title", qpdf_oh_new_unicode_string(q, x->title));
	qpdf_oh_replace_key(q, d, "/Author", qpdf_oh_new_unicode_string(q, x->author));
	qpdf_oh_replace_key(q, d, "/Creator", qpdf_oh_new_unicode_string(q, x->creator));
	qpdf_oh_replace_key(q, d, "/Producer", qpdf_oh_new_unicode_string(q, x->producer));
	qpdf_oh_replace_key(q, d, "/CreationDate", qpdf_oh_new_string(q, pdf_date));
	qpdf_oh_replace_key(q, d, "/ModDate", qpdf_oh_new_string(q, pdf_date));
	qpdf_oh_replace_key(q, qpdf_get_trailer(q), "/Info", qpdf_make_indirect_object(q, d));
}

/* factur-x.xml: its stream, file specification, name tree entry and /AF. */
static void attach(qpdf_data q, qpdf_oh root, const struct facturx_embed *fx, const char *pdf_date)
{
	char dict[160];
	qpdf_oh file, spec, names, ef;

	snprintf(dict, sizeof(dict), "<< /Type /EmbeddedFile /Subtype /text#2Fxml /Params << /ModDate (%s) "
	         "/Size %zu >> >>", pdf_date, fx->xml_len);
	file = stream_of(q, fx->xml, fx->xml_len, dict);
	spec = qpdf_oh_parse(q, "<< /Type /Filespec /F (" XMP_FACTURX_FILE ") /UF (" XMP_FACTURX_FILE ") "
	                     "/Desc (Factur-X invoice, profile " XMP_FACTURX_LEVEL ") /AFRelationship /Alternative >>");
	ef = qpdf_oh_new_dictionary(q);
	qpdf_oh_replace_key(q, ef, "/F", file);
	qpdf_oh_replace_key(q, ef, "/UF", file);
	qpdf_oh_replace_key(q, spec, "/EF", ef);
	spec = qpdf_make_indirect_object(q, spec);
	names = qpdf_oh_get_key(q, root, "/Names");
	if (!qpdf_oh_is_dictionary(q, names)) {
		names = qpdf_oh_new_dictionary(q);
		qpdf_oh_replace_key(q, root, "/Names", names);
	}
	ef = qpdf_oh_parse(q, "<< /Names [ (" XMP_FACTURX_FILE ") ] >>");
	qpdf_oh_append_item(q, qpdf_oh_get_key(q, ef, "/Names"), spec);
	qpdf_oh_replace_key(q, names, "/EmbeddedFiles", ef);
	qpdf_oh_replace_key(q, root, "/AF", qpdf_oh_wrap_in_array(q, spec));
}

/* PDF/A (ISO 19005-3 6.2.11.3.2) wants a CIDToGIDMap in every
 * CIDFontType2 font; cairo leaves it out when it is the identity (its
 * subsets number their glyphs in CID order), which is what absent means. */
static void cid_to_gid_maps(qpdf_data q)
{
	int size = (int)qpdf_oh_get_int_value(q, qpdf_oh_get_key(q, qpdf_get_trailer(q), "/Size"));

	for (int id = 1; id < size; id++) {
		qpdf_oh o = qpdf_get_object_by_id(q, id, 0);
		if (qpdf_oh_is_dictionary(q, o) && qpdf_oh_is_name_and_equals(q, qpdf_oh_get_key(q, o, "/Subtype"),
		                                                              "/CIDFontType2") &&
		    !qpdf_oh_has_key(q, o, "/CIDToGIDMap"))
			qpdf_oh_replace_key(q, o, "/CIDToGIDMap", qpdf_oh_new_name(q, "/Identity"));
		qpdf_oh_release(q, o);
	}
}

static void output_intent(qpdf_data q, qpdf_oh root, const struct facturx_profile *p)
{
	qpdf_oh intent = qpdf_oh_parse(q, "<< /Type /OutputIntent /S /GTS_PDFA1 /OutputConditionIdentifier "
	                               "(sRGB IEC61966-2.1) /RegistryName (http://www.color.org) "
	                               "/Info (sRGB IEC61966-2.1) >>");

	qpdf_oh_replace_key(q, intent, "/DestOutputProfile", stream_of(q, p->icc, p->len, "<< /N 3 >>"));
	qpdf_oh_replace_key(q, root, "/OutputIntents", qpdf_oh_wrap_in_array(q, intent));
}

/* The catalog and trailer additions; qpdf's error (if any) is checked after. */
static void build(qpdf_data q, const struct facturx_meta *m, const struct facturx_embed *fx)
{
	char title[META_TEXT_MAX], author[META_TEXT_MAX], producer[128], pdf_date[32];
	struct xmp_doc x = { title, author, "mcp-invoiced", producer, m->date };
	struct strbuf xmp;
	qpdf_oh root = qpdf_get_root(q);

	xmp_clean(m->title, title, sizeof(title));
	xmp_clean(m->author, author, sizeof(author));
	snprintf(producer, sizeof(producer), "mcp-invoiced %s (cairo %s, qpdf %s)", MCPI_VERSION,
	         cairo_version_string(), qpdf_get_qpdf_version());
	snprintf(pdf_date, sizeof(pdf_date), "D:%.4s%.2s%.2s000000+00'00'", m->date, m->date + 5, m->date + 8);
	strbuf_init(&xmp, 8192);
	xmp_facturx(&xmp, &x);
	qpdf_oh_replace_key(q, root, "/Metadata", stream_of(q, xmp.data, xmp.len, "<< /Type /Metadata /Subtype /XML >>"));
	strbuf_free(&xmp);
	info(q, &x, pdf_date);
	cid_to_gid_maps(q);
	output_intent(q, root, fx->profile);
	attach(q, root, fx, pdf_date);
}

int facturx_convert(const unsigned char *pdf, size_t len, const struct facturx_meta *m,
                    const struct facturx_embed *fx, unsigned char **out, size_t *out_len, char *err,
                    size_t errlen)
{
	qpdf_data q;
	const char *step = "read the PDF";
	int rc = -1;

	if (strlen(m->date) != 10) {
		snprintf(err, errlen, "the document has no date");
		return -1;
	}
	q = qpdf_init();
	qpdf_silence_errors(q);
	if (qpdf_read_memory(q, "invoice", (const char *)pdf, len, NULL) & QPDF_ERRORS)
		goto fail;
	step = "add the PDF/A-3 structures";
	build(q, m, fx);
	if (qpdf_has_error(q))
		goto fail;
	step = "write the PDF";
	if (qpdf_init_write_memory(q) & QPDF_ERRORS)
		goto fail;
	qpdf_set_deterministic_ID(q, QPDF_TRUE);
	qpdf_set_newline_before_endstream(q, QPDF_TRUE);
	qpdf_force_pdf_version(q, "1.7");
	if (qpdf_write(q) & QPDF_ERRORS)
		goto fail;
	*out_len = qpdf_get_buffer_length(q);
	*out = malloc(*out_len ? *out_len : 1);
	if (!*out) {
		snprintf(err, errlen, "out of memory for the Factur-X PDF");
		goto out;
	}
	memcpy(*out, qpdf_get_buffer(q), *out_len);
	rc = 0;
	goto out;
fail:
	snprintf(err, errlen, "cannot %s as Factur-X: %s", step,
	         qpdf_has_error(q) ? qpdf_get_error_full_text(q, qpdf_get_error(q)) : "unknown qpdf error");
out:
	qpdf_cleanup(&q);
	return rc;
}
