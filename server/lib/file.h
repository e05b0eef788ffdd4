/*
 * file.h - a whole file read into memory, bounded. A leaf: used by any
 * process at start-up (the renderer's ICC profile) and by command-line
 * modes.
 */
#ifndef MCPI_FILE_H
#define MCPI_FILE_H

#include <stddef.h>

/* The bytes of path (malloc'd, NUL-terminated after *len bytes), or NULL
 * with errno (EFBIG: more than max bytes). */
unsigned char *file_read(const char *path, size_t max, size_t *len);

#endif
