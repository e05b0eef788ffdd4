/* libFuzzer driver: arbitrary configuration text. A refusal must say where
 * (the name and a line) and why. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/proc/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char err[512] = "", *text = malloc(size + 1);

	memcpy(text, data, size);
	text[size] = '\0';
	config_defaults(&cfg);
	if (config_parse_text(&cfg, "fuzz.conf", text, err, sizeof(err)) < 0) {
		if (strncmp(err, "fuzz.conf:", 10) != 0)
			__builtin_trap();
	} else {
		(void)config_validate(&cfg, err, sizeof(err));
	}
	config_free(&cfg);
	free(text);
	return 0;
}
