/*
 * xmlw.c - the e-invoice writers' XML output through libxml2's
 * xmlTextWriter (see xmlw.h). Runs in workers. libxml2 escapes &, <, > and
 * quotes; it does not refuse characters XML 1.0 forbids (C0 controls,
 * U+FFFE/U+FFFF) or invalid UTF-8, so text passes through clean() first.
 */
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlwriter.h>

#include "worker/einvoice/xmlw.h"

struct xmlw {
	xmlBufferPtr buf;
	xmlTextWriterPtr tw;
	int failed;
};

struct xmlw *xmlw_new(void)
{
	struct xmlw *w = calloc(1, sizeof *w);

	if (!w)
		return NULL;
	w->buf = xmlBufferCreate();
	w->tw = w->buf ? xmlNewTextWriterMemory(w->buf, 0) : NULL;
	if (!w->tw || xmlTextWriterSetIndent(w->tw, 1) < 0 ||
	    xmlTextWriterSetIndentString(w->tw, BAD_CAST "  ") < 0 ||
	    xmlTextWriterStartDocument(w->tw, "1.0", "UTF-8", NULL) < 0) {
		xmlw_free(w);
		return NULL;
	}
	return w;
}

void xmlw_free(struct xmlw *w)
{
	if (!w)
		return;
	if (w->tw)
		xmlFreeTextWriter(w->tw);
	if (w->buf)
		xmlBufferFree(w->buf);
	free(w);
}

int xmlw_finish(struct xmlw *w, struct strbuf *out)
{
	int rc = -1;

	if (!w->failed && xmlTextWriterEndDocument(w->tw) >= 0 && xmlTextWriterFlush(w->tw) >= 0) {
		strbuf_append(out, (const char *)xmlBufferContent(w->buf), (size_t)xmlBufferLength(w->buf));
		rc = 0;
	}
	xmlw_free(w);
	return rc;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0; *cp its code point. */
static size_t utf8_seq(const unsigned char *s, size_t left, unsigned *cp)
{
	size_t n, i;
	unsigned c = s[0], min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
	if (!n || n > left)
		return 0;
	min = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
	c &= 0x7F >> n;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return n;
}

static int xml_char(unsigned c)
{
	return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c != 0xFFFE && c != 0xFFFF);
}

/* s as valid XML 1.0 text (caller frees): bad bytes/characters -> U+FFFD. */
static char *clean(const char *s)
{
	size_t len = strlen(s), i = 0, o = 0, n;
	char *out = malloc(len * 3 + 1);
	unsigned cp;

	if (!out)
		return NULL;
	while (i < len) {
		n = utf8_seq((const unsigned char *)s + i, len - i, &cp);
		if (n && xml_char(cp)) {
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
			continue;
		}
		memcpy(out + o, "\xEF\xBF\xBD", 3);
		o += 3;
		i += n ? n : 1;
	}
	out[o] = '\0';
	return out;
}

void xmlw_open(struct xmlw *w, const char *name)
{
	if (xmlTextWriterStartElement(w->tw, BAD_CAST name) < 0)
		w->failed = 1;
}

void xmlw_close(struct xmlw *w)
{
	if (xmlTextWriterEndElement(w->tw) < 0)
		w->failed = 1;
}

void xmlw_attr(struct xmlw *w, const char *name, const char *value)
{
	char *v = clean(value ? value : "");

	if (!v || xmlTextWriterWriteAttribute(w->tw, BAD_CAST name, BAD_CAST v) < 0)
		w->failed = 1;
	free(v);
}

void xmlw_text_attr(struct xmlw *w, const char *name, const char *attr, const char *value, const char *text)
{
	char *t;

	if (!text || !*text)
		return;
	t = clean(text);
	xmlw_open(w, name);
	if (attr)
		xmlw_attr(w, attr, value);
	if (!t || xmlTextWriterWriteString(w->tw, BAD_CAST t) < 0)
		w->failed = 1;
	xmlw_close(w);
	free(t);
}

void xmlw_text(struct xmlw *w, const char *name, const char *text)
{
	xmlw_text_attr(w, name, NULL, NULL, text);
}
