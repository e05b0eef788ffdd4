/*
 * tool_error.h - the error a tool call returns to the agent (code, message,
 * field, retryable). Its own header so the database layer and the tool table
 * need not include each other. Used in workers.
 */
#ifndef MCPI_TOOL_ERROR_H
#define MCPI_TOOL_ERROR_H

/* Room for every missing e-invoice business term in one message. */
#define TOOL_ERROR_MESSAGE_MAX 2048

/* A business or validation failure, returned to the agent as a tool result
 * with isError. code is one of the documented codes. */
struct tool_error {
	const char *code;
	char message[TOOL_ERROR_MESSAGE_MAX];
	char field[128];
	int retryable;
};

void tool_error_set(struct tool_error *err, const char *code, const char *field,
                    int retryable, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
