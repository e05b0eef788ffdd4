/*
 * http.h - a non-allocating HTTP/1.1 request-head parser. Runs in workers on
 * untrusted bytes. The request's pointers point into the caller's buffer.
 */
#ifndef MCPI_HTTP_H
#define MCPI_HTTP_H

#include <stddef.h>

#define HTTP_MAX_HEADERS 64
#define HTTP_MAX_HEAD_BYTES 16384

enum http_parse_result {
	HTTP_PARTIAL = -2,   /* need more bytes */
	HTTP_ERROR = -1,     /* malformed: answer 400 */
	HTTP_TOO_LARGE = -3, /* head over 16 KiB or too many headers: 431 */
};

struct http_header {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

struct http_request {
	const char *method;
	size_t method_len;
	const char *target;
	size_t target_len;
	int minor_version;
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t num_headers;
	/* Derived by http_request_semantics: */
	long long content_length; /* -1 when absent */
	int keep_alive;
	int chunked;
};

/* Returns the head length (>0) once the blank line is seen, or an
 * http_parse_result. Never reads past buf+len. */
int http_parse_request(const char *buf, size_t len, struct http_request *req);

/* Fills content_length / keep_alive / chunked; -1 on conflicting or invalid
 * Content-Length (answer 400). */
int http_request_semantics(struct http_request *req);

/* Case-insensitive header lookup; NULL when absent. */
const struct http_header *http_find_header(const struct http_request *req, const char *name);

/* 1 if the header value equals s ignoring case. */
int http_value_is(const struct http_header *h, const char *s);

#endif
