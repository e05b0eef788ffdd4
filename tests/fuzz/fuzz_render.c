/* libFuzzer driver: what a worker may send a renderer. The first byte
 * picks the document kind (bits 0-1) and whether an invoice carries a
 * Factur-X attachment (bit 2: then the second byte says how much of the
 * rest, in 255ths, is the attachment at its end); the rest is its JSON.
 * Whatever it is, the renderer lays it out (and makes it Factur-X) or
 * refuses it with a reason, and never crashes. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/documents.h"
#include "render/facturx.h"
#include "render/fonts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);
const char *__lsan_default_options(void);

/* fontconfig, cairo and pango keep per-process caches (fonts, patterns,
 * glyphs) that they never free: not ours to report. */
const char *__lsan_default_suppressions(void)
{
	return "leak:libfontconfig.so\nleak:libcairo.so\nleak:libpango\nleak:libharfbuzz.so\n"
	       "leak:libglib-2.0.so\nleak:libgobject-2.0.so\nleak:libfreetype.so\n";
}

const char *__lsan_default_options(void)
{
	return "print_suppressions=0";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static PangoFontMap *fonts;
	static struct facturx_profile icc;
	struct facturx_embed fx = { &icc, NULL, 0 };
	unsigned char *pdf = NULL;
	size_t len = 0, skip = 1;
	int pages = 0;
	char err[256];

	if ((!fonts && !(fonts = fonts_init(err, sizeof(err)))) ||
	    (!icc.icc && facturx_profile_load(&icc, err, sizeof(err)) < 0)) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	if (size < 2)
		return 0;
	if (data[0] & 4) {
		skip = 2;
		fx.xml_len = (size - skip) * data[1] / 255;
		fx.xml = data + size - fx.xml_len;
	}
	if (documents_render(fonts, data[0] % 4, (const char *)data + skip, size - skip - fx.xml_len,
	                     fx.xml ? &fx : NULL, NULL, NULL, &pdf, &len, &pages, err, sizeof(err)) == 0 &&
	    (!pdf || len < 100 || pages < 1 || (fx.xml && memcmp(pdf, "%PDF-1.7", 8) != 0)))
		__builtin_trap();
	free(pdf);
	return 0;
}
