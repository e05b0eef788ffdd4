/*
 * xmp.c - the Factur-X XMP packet (see xmp.h). Runs only in the renderer.
 * The extension schema is the one the Factur-X 1.0 specification gives
 * (its properties' names, types, categories): PDF/A lets a document use
 * only properties of predefined schemas or of schemas it describes.
 */
#include <stdio.h>
#include <string.h>

#include "render/xmp.h"
#include "server/lib/utf8.h"

#define FX_NS "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"

static void xml_text(struct strbuf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': strbuf_puts(b, "&amp;"); break;
		case '<': strbuf_puts(b, "&lt;"); break;
		case '>': strbuf_puts(b, "&gt;"); break;
		case '"': strbuf_puts(b, "&quot;"); break;
		default: strbuf_append(b, s, 1);
		}
	}
}

void xmp_clean(const char *s, char *out, size_t cap)
{
	size_t len = strlen(s), i = 0, o = 0;

	while (i < len && o + 1 < cap) {
		int n = utf8_clip(s + i, len - i, cap - 1 - o);
		if (n == 0) {
			if (utf8_clip(s + i, len - i, 4) > 0)
				break; /* a character that no longer fits */
			out[o++] = '?';
			i++;
			continue;
		}
		for (int k = 0; k < n; k++, i++)
			out[o++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i];
	}
	out[o] = '\0';
}

static void property(struct strbuf *b, const char *name, const char *description)
{
	strbuf_printf(b, "      <rdf:li rdf:parseType=\"Resource\">\n"
	              "       <pdfaProperty:name>%s</pdfaProperty:name>\n"
	              "       <pdfaProperty:valueType>Text</pdfaProperty:valueType>\n"
	              "       <pdfaProperty:category>external</pdfaProperty:category>\n"
	              "       <pdfaProperty:description>%s</pdfaProperty:description>\n"
	              "      </rdf:li>\n", name, description);
}

static void extension_schema(struct strbuf *b)
{
	strbuf_puts(b, "  <rdf:Description rdf:about=\"\"\n"
	            "    xmlns:pdfaExtension=\"http://www.aiim.org/pdfa/ns/extension/\"\n"
	            "    xmlns:pdfaSchema=\"http://www.aiim.org/pdfa/ns/schema#\"\n"
	            "    xmlns:pdfaProperty=\"http://www.aiim.org/pdfa/ns/property#\">\n"
	            "   <pdfaExtension:schemas>\n    <rdf:Bag>\n     <rdf:li rdf:parseType=\"Resource\">\n"
	            "      <pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>\n"
	            "      <pdfaSchema:namespaceURI>" FX_NS "</pdfaSchema:namespaceURI>\n"
	            "      <pdfaSchema:prefix>fx</pdfaSchema:prefix>\n"
	            "      <pdfaSchema:property>\n       <rdf:Seq>\n");
	property(b, "DocumentFileName", "name of the embedded XML invoice file");
	property(b, "DocumentType", "INVOICE");
	property(b, "Version", "The actual version of the Factur-X XML schema");
	property(b, "ConformanceLevel", "The conformance level of the embedded Factur-X data");
	strbuf_puts(b, "       </rdf:Seq>\n      </pdfaSchema:property>\n     </rdf:li>\n    </rdf:Bag>\n"
	            "   </pdfaExtension:schemas>\n  </rdf:Description>\n");
}

void xmp_facturx(struct strbuf *b, const struct xmp_doc *d)
{
	char date[32];

	snprintf(date, sizeof(date), "%.10sT00:00:00+00:00", d->date);
	/* The packet header's begin attribute is a UTF-8 byte order mark. */
	strbuf_puts(b, "<?xpacket begin=\"\xef\xbb\xbf\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
	            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
	            " <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n"
	            "  <rdf:Description rdf:about=\"\" xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\">\n"
	            "   <pdfaid:part>3</pdfaid:part>\n   <pdfaid:conformance>B</pdfaid:conformance>\n"
	            "  </rdf:Description>\n"
	            "  <rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n"
	            "   <dc:format>application/pdf</dc:format>\n"
	            "   <dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">");
	xml_text(b, d->title);
	strbuf_puts(b, "</rdf:li></rdf:Alt></dc:title>\n   <dc:creator><rdf:Seq><rdf:li>");
	xml_text(b, d->author);
	strbuf_puts(b, "</rdf:li></rdf:Seq></dc:creator>\n  </rdf:Description>\n"
	            "  <rdf:Description rdf:about=\"\" xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\">\n"
	            "   <pdf:Producer>");
	xml_text(b, d->producer);
	strbuf_puts(b, "</pdf:Producer>\n  </rdf:Description>\n"
	            "  <rdf:Description rdf:about=\"\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\">\n"
	            "   <xmp:CreatorTool>");
	xml_text(b, d->creator);
	strbuf_printf(b, "</xmp:CreatorTool>\n   <xmp:CreateDate>%s</xmp:CreateDate>\n"
	              "   <xmp:ModifyDate>%s</xmp:ModifyDate>\n   <xmp:MetadataDate>%s</xmp:MetadataDate>\n"
	              "  </rdf:Description>\n", date, date, date);
	strbuf_puts(b, "  <rdf:Description rdf:about=\"\" xmlns:fx=\"" FX_NS "\">\n"
	            "   <fx:DocumentType>INVOICE</fx:DocumentType>\n"
	            "   <fx:DocumentFileName>" XMP_FACTURX_FILE "</fx:DocumentFileName>\n"
	            "   <fx:Version>1.0</fx:Version>\n"
	            "   <fx:ConformanceLevel>" XMP_FACTURX_LEVEL "</fx:ConformanceLevel>\n"
	            "  </rdf:Description>\n");
	extension_schema(b);
	strbuf_puts(b, " </rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"w\"?>");
}
