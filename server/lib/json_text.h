/*
 * json_text.h - a strict RFC 8259 check of a raw JSON text, and what
 * json-c's parsed tree cannot show. json-c's tokener also reads comments,
 * leading zeros, "1." and "1e", raw control characters in strings, NaN and
 * Infinity, single quotes, trailing commas and True/NULL, accepts bytes that
 * are not UTF-8, cuts object keys at an escaped NUL ("customer_id\u0000junk"
 * becomes "customer_id"), replaces unpaired UTF-16 surrogate escapes with
 * U+FFFD, and saturates integers beyond 64 bits. Runs in workers on
 * untrusted bytes (JSON-RPC bodies, the parts of bearer tokens), after
 * json-c has accepted the same text.
 */
#ifndef MCPI_JSON_TEXT_H
#define MCPI_JSON_TEXT_H

#include <stddef.h>

struct json_text_info {
	const char *id;     /* the raw text of the top-level "id" member's value, if */
	size_t id_len;      /* it is a string or number written as "id" (else NULL) */
	int nul_key;        /* some object key contains \u0000 */
	int lone_surrogate; /* some string escapes an unpaired surrogate (\ud800...) */
	size_t error_at;    /* on -1: the offset of the first offending byte */
	char error[96];     /* on -1: the rule it breaks, e.g. "a comment (...) is not JSON" */
};

/* Scans text[0..len): exactly one JSON value (RFC 8259, UTF-8) with only
 * whitespace around it. 0 with info filled, or -1 with info->error and
 * info->error_at. */
int json_text_scan(const char *text, size_t len, struct json_text_info *info);

#endif
