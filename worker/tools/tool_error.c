/*
 * tool_error.c - filling a tool error (see tool_error.h). Runs in workers.
 */
#include <stdarg.h>
#include <stdio.h>

#include "worker/tools/tool_error.h"

void tool_error_set(struct tool_error *err, const char *code, const char *field,
                    int retryable, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	err->retryable = retryable;
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}
