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
	int chunked;      /* 1: Transfer-Encoding: chunked; 2: another coding (501) */
	int expect;       /* 1: Expect: 100-continue (HTTP/1.1); 2: another expectation (417) */
	const char *error; /* why http_request_semantics refused, for the 400 body */
};

/* Returns the head length (>0) once the blank line is seen, or an
 * http_parse_result. Never reads past buf+len. */
int http_parse_request(const char *buf, size_t len, struct http_request *req);

/* Fills content_length / keep_alive / chunked / expect, and turns an
 * absolute-form target (http[s]://authority/path) into its path; -1 (answer
 * 400) on conflicting or invalid framing, a missing or repeated Host in
 * HTTP/1.1 (RFC 9112 section 3.2), or a target that is neither origin-form,
 * absolute-form nor "*" for OPTIONS. */
int http_request_semantics(struct http_request *req);

/* A chunked request body (RFC 9112 section 7.1) arriving at buf[0..len):
 * the decoder keeps its place in st (zeroed for a new body) and is called
 * again as len grows, so each byte is examined about once however the body
 * arrives. It decodes in place: buf[0..st->out) holds the body so far
 * (st->out never passes the wire bytes it came from). Returns the wire
 * length (> 0) once the last chunk and the trailer section have arrived,
 * the body being buf[0..st->out); else HTTP_PARTIAL, HTTP_ERROR
 * (malformed; the buffer may be changed) or HTTP_TOO_LARGE (more than max
 * body bytes). Chunk extensions (checked against RFC 9112 7.1.1, see
 * http.c) and trailer fields are read and ignored. */
struct http_chunked {
	size_t pos;  /* wire bytes consumed */
	size_t out;  /* body bytes decoded */
	int trailer; /* the last chunk is read; in the trailer section */
	const char *error; /* after HTTP_ERROR: the rule broken, for the 400 body */
};
long http_chunked_feed(struct http_chunked *st, char *buf, size_t len, size_t max);

/* Case-insensitive header lookup; NULL when absent. */
const struct http_header *http_find_header(const struct http_request *req, const char *name);

/* 1 if the header value equals s ignoring case. */
int http_value_is(const struct http_header *h, const char *s);

#endif
