/*
 * fonts.h - the renderer's private fontconfig configuration: exactly the
 * font files below (fonts-noto-core, fonts-noto-cjk, fonts-dejavu-core),
 * loaded once at start-up, so output never depends on what else is
 * installed. Runs only in the renderer.
 */
#ifndef MCPI_FONTS_H
#define MCPI_FONTS_H

#include <pango/pango.h>
#include <stddef.h>

/* The families text is set in, in fallback order (Latin, Arabic, CJK,
 * symbols). */
#define FONTS_FAMILIES "Noto Sans,Noto Sans Arabic,Noto Sans CJK JP,DejaVu Sans"

/* Loads the fonts into a private configuration and returns a font map
 * bound to it (kept for the process's life), or NULL with err filled
 * (naming the missing file and its package). */
PangoFontMap *fonts_init(char *err, size_t errlen);

#endif
