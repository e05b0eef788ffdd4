/*
 * fonts.c - the renderer's pinned fonts (see fonts.h). Runs only in the
 * renderer, before it serves any request.
 */
#include <fontconfig/fontconfig.h>
#include <pango/pangocairo.h>
#include <pango/pangofc-fontmap.h>
#include <stdio.h>
#include <unistd.h>

#include "render/fonts.h"

static const struct { const char *path, *package; } font_files[] = {
	{ "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf", "fonts-noto-core" },
	{ "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf", "fonts-noto-core" },
	{ "/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf", "fonts-noto-core" },
	{ "/usr/share/fonts/truetype/noto/NotoSansArabic-Bold.ttf", "fonts-noto-core" },
	{ "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "fonts-noto-cjk" },
	{ "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", "fonts-noto-cjk" },
	{ "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "fonts-dejavu-core" },
	{ "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", "fonts-dejavu-core" },
};

/* No <dir>, no <include>, no cache: only the application fonts added below. */
static const char private_config[] =
	"<?xml version=\"1.0\"?><!DOCTYPE fontconfig SYSTEM \"fonts.dtd\"><fontconfig></fontconfig>";

PangoFontMap *fonts_init(char *err, size_t errlen)
{
	FcConfig *config = FcConfigCreate();
	PangoFontMap *map;

	if (!config || !FcConfigParseAndLoadFromMemory(config, (const FcChar8 *)private_config, FcTrue)) {
		snprintf(err, errlen, "cannot create a fontconfig configuration");
		return NULL;
	}
	for (size_t i = 0; i < sizeof(font_files) / sizeof(font_files[0]); i++) {
		if (access(font_files[i].path, R_OK) != 0 ||
		    !FcConfigAppFontAddFile(config, (const FcChar8 *)font_files[i].path)) {
			snprintf(err, errlen, "cannot load the font %s (install the Debian package %s)",
			         font_files[i].path, font_files[i].package);
			FcConfigDestroy(config);
			return NULL;
		}
	}
	FcConfigSetCurrent(config);
	map = pango_cairo_font_map_new_for_font_type(CAIRO_FONT_TYPE_FT);
	if (!map) {
		snprintf(err, errlen, "cannot create a pango font map");
		return NULL;
	}
	pango_fc_font_map_set_config(PANGO_FC_FONT_MAP(map), config);
	return map;
}
