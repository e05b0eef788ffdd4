/* libFuzzer driver: arbitrary strings as pagination cursors. Without the
 * key, no input may decode. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/auth/cursor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cursor_key k;
	static int init;
	char *s = malloc(size + 1), pos[CURSOR_POSITION_MAX];

	if (!init) {
		cursor_key_init(&k, NULL, 0);
		init = 1;
	}
	memcpy(s, data, size);
	s[size] = '\0';
	if (cursor_decode(&k, "scope", s, pos) == 0)
		__builtin_trap();
	free(s);
	return 0;
}
