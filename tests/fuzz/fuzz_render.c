/* libFuzzer driver: what a worker may send a renderer. The first byte
 * picks the document kind, the rest is its JSON; whatever it is, the
 * renderer lays it out or refuses it with a reason, and never crashes. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "render/documents.h"
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
	unsigned char *pdf = NULL;
	size_t len = 0;
	int pages = 0;
	char err[256];

	if (!fonts && !(fonts = fonts_init(err, sizeof(err)))) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	if (size < 1)
		return 0;
	if (documents_render(fonts, data[0] % 4, (const char *)data + 1, size - 1, NULL, NULL, &pdf, &len, &pages, err,
	                     sizeof(err)) == 0 && (!pdf || len < 100 || pages < 1))
		__builtin_trap();
	free(pdf);
	return 0;
}
