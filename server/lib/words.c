/*
 * words.c - lists of space-separated words (see words.h). Every process.
 */
#include <string.h>

#include "server/lib/words.h"

int words_contain(const char *list, const char *word)
{
	size_t n = strlen(word);

	if (n == 0)
		return 0;
	for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}
