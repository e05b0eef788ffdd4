/*
 * file.c - a whole file read into memory (see file.h). Runs wherever a
 * file is read whole; the caller decides when (before any sandbox).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "server/lib/file.h"

unsigned char *file_read(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t n = 0, cap = 0;
	int saved = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n == cap) {
			unsigned char *p;
			cap = cap ? cap * 2 : 65536;
			if (cap > max + 1)
				cap = max + 1;
			if (n == cap || !(p = realloc(buf, cap + 1))) {
				saved = n == cap ? EFBIG : ENOMEM;
				break;
			}
			buf = p;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			saved = ferror(f) ? EIO : 0;
			break;
		}
	}
	fclose(f);
	if (!saved && n > max)
		saved = EFBIG;
	if (saved) {
		free(buf);
		errno = saved;
		return NULL;
	}
	if (!buf && !(buf = malloc(1))) {
		errno = ENOMEM;
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}
