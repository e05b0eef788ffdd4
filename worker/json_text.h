/*
 * json_text.h - checks on the raw JSON-RPC body that json-c's parsed tree
 * cannot show: json-c accepts bytes that are not UTF-8, cuts object keys at
 * an escaped NUL ("customer_id\u0000junk" becomes "customer_id"), replaces
 * unpaired UTF-16 surrogate escapes with U+FFFD, and saturates integers
 * beyond 64 bits. Runs in workers on untrusted bytes, after json-c has
 * accepted the same text.
 */
#ifndef MCPI_JSON_TEXT_H
#define MCPI_JSON_TEXT_H

#include <stddef.h>

struct json_text_info {
	const char *id;     /* the raw text of the top-level "id" member's value, if */
	size_t id_len;      /* it is a string or number written as "id" (else NULL) */
	int nul_key;        /* some object key contains \u0000 */
	int lone_surrogate; /* some string escapes an unpaired surrogate (\ud800...) */
};

/* Scans body[0..len), a JSON text json-c accepted. Returns 0 with info
 * filled, or -1 when the text is not valid UTF-8 (*bad_at = the offset of
 * the first bad byte). */
int json_text_scan(const char *body, size_t len, struct json_text_info *info, size_t *bad_at);

#endif
