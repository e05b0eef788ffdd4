/*
 * http.c - HTTP/1.1 request-head parser (RFC 9112), never allocating and
 * returning "consumed / partial / error" like picohttpparser. Runs in
 * workers. Strict by design: CRLF line endings, token characters in methods
 * and field names, no obsolete line folding, no NUL or control bytes.
 */
#include <string.h>
#include <strings.h>

#include "worker/http/http.h"

static int is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_field_vchar(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* Finds the CRLF ending the line at p; returns its offset or -1 if
 * incomplete, -2 for a bare CR or LF. */
static long line_end(const char *buf, size_t start, size_t len)
{
	for (size_t i = start; i < len; i++) {
		if (buf[i] == '\r') {
			if (i + 1 >= len)
				return -1;
			return buf[i + 1] == '\n' ? (long)i : -2;
		}
		if (buf[i] == '\n')
			return -2;
	}
	return -1;
}

static int parse_request_line(const char *buf, size_t end, struct http_request *req)
{
	size_t i = 0, start;

	while (i < end && is_tchar((unsigned char)buf[i]))
		i++;
	if (i == 0 || i >= end || buf[i] != ' ')
		return -1;
	req->method = buf;
	req->method_len = i;
	start = ++i;
	while (i < end && (unsigned char)buf[i] > 0x20 && (unsigned char)buf[i] < 0x7f)
		i++;
	if (i == start || i >= end || buf[i] != ' ')
		return -1;
	req->target = buf + start;
	req->target_len = i - start;
	i++;
	if (end - i != 8 || memcmp(buf + i, "HTTP/1.", 7) != 0 ||
	    (buf[i + 7] != '0' && buf[i + 7] != '1'))
		return -1;
	req->minor_version = buf[i + 7] - '0';
	return 0;
}

int http_parse_request(const char *buf, size_t len, struct http_request *req)
{
	size_t pos = 0;
	long end;

	req->num_headers = 0;
	/* Tolerate one leading empty line (RFC 9112 section 2.2). */
	if (len >= 2 && buf[0] == '\r' && buf[1] == '\n')
		pos = 2;
	end = line_end(buf, pos, len);
	if (end == -1)
		return len > HTTP_MAX_HEAD_BYTES ? HTTP_TOO_LARGE : HTTP_PARTIAL;
	if (end == -2 || parse_request_line(buf + pos, (size_t)end - pos, req) < 0)
		return HTTP_ERROR;
	pos = (size_t)end + 2;

	for (;;) {
		struct http_header *h;
		size_t i, colon, vs, ve;

		end = line_end(buf, pos, len);
		if (end == -1)
			return len > HTTP_MAX_HEAD_BYTES ? HTTP_TOO_LARGE : HTTP_PARTIAL;
		if (end == -2)
			return HTTP_ERROR;
		if ((size_t)end == pos) {
			pos += 2;
			return pos > HTTP_MAX_HEAD_BYTES ? HTTP_TOO_LARGE : (int)pos;
		}
		if (req->num_headers == HTTP_MAX_HEADERS)
			return HTTP_TOO_LARGE;
		i = pos;
		while (i < (size_t)end && is_tchar((unsigned char)buf[i]))
			i++;
		/* Empty name, obs-fold (leading space) or space before colon. */
		if (i == pos || i >= (size_t)end || buf[i] != ':')
			return HTTP_ERROR;
		colon = i;
		vs = colon + 1;
		while (vs < (size_t)end && (buf[vs] == ' ' || buf[vs] == '\t'))
			vs++;
		ve = (size_t)end;
		while (ve > vs && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t'))
			ve--;
		for (i = vs; i < ve; i++)
			if (!is_field_vchar((unsigned char)buf[i]))
				return HTTP_ERROR;
		h = &req->headers[req->num_headers++];
		h->name = buf + pos;
		h->name_len = colon - pos;
		h->value = buf + vs;
		h->value_len = ve - vs;
		pos = (size_t)end + 2;
	}
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int chunk_refuse(struct http_chunked *st, const char *why)
{
	st->error = why;
	return HTTP_ERROR;
}

static size_t skip_bws(const char *buf, size_t pos, size_t len)
{
	while (pos < len && (buf[pos] == ' ' || buf[pos] == '\t'))
		pos++;
	return pos;
}

static size_t skip_token(const char *buf, size_t pos, size_t len)
{
	while (pos < len && is_tchar((unsigned char)buf[pos]))
		pos++;
	return pos;
}

/* quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE, qdtext = HTAB /
 * SP / %x21 / %x23-5B / %x5D-7E / obs-text, quoted-pair = "\" ( HTAB / SP /
 * VCHAR / obs-text ) (RFC 9110 5.6.4): no CR, LF or other control byte.
 * buf[pos] is the opening quote; returns the offset after the closing one,
 * HTTP_PARTIAL or HTTP_ERROR. */
static long quoted_string_end(struct http_chunked *st, const char *buf, size_t pos, size_t len)
{
	for (pos++; pos < len; pos++) {
		unsigned char c = (unsigned char)buf[pos];
		if (c == '"')
			return (long)pos + 1;
		if (c == '\\') {
			if (++pos >= len)
				return HTTP_PARTIAL;
			c = (unsigned char)buf[pos];
		}
		if (c != '\t' && (c < 0x20 || c == 0x7f))
			return chunk_refuse(st, "chunk extension: a quoted value holds no CR, LF or control byte "
			                        "(RFC 9112 7.1.1 chunk-ext-val, RFC 9110 5.6.4 qdtext)");
	}
	return HTTP_PARTIAL;
}

/* The chunk extensions from buf[pos] (just after the chunk-size) to the
 * CR ending the line: returns the CR's offset, HTTP_PARTIAL or HTTP_ERROR.
 * RFC 9112 7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name
 * [ BWS "=" BWS chunk-ext-val ] ), chunk-ext-name = token, chunk-ext-val =
 * token / quoted-string. BWS (optional whitespace) may thus stand only
 * before ";" and on either side of "=": "5 \r\n", "5\t\r\n" and "5;a \r\n"
 * are refused, "5 ;a = b\r\n" is not. A parser in front of us that
 * reads such a line otherwise would frame the body otherwise. */
static long chunk_ext_end(struct http_chunked *st, const char *buf, size_t pos, size_t len)
{
	for (;;) {
		size_t ws = pos;
		long quoted;

		pos = skip_bws(buf, pos, len);
		if (pos >= len)
			return HTTP_PARTIAL;
		if (buf[pos] == '\r' || buf[pos] == '\n') {
			if (pos != ws)
				return chunk_refuse(st, "chunk line: whitespace may stand only before \";\" and around "
				                        "\"=\" (RFC 9112 7.1: chunk = chunk-size [ chunk-ext ] CRLF)");
			return (long)pos;
		}
		if (buf[pos] != ';')
			return chunk_refuse(st, "chunk line: only \";\" extensions may follow the chunk size (RFC 9112 "
			                        "7.1.1: chunk-ext = *( BWS \";\" BWS chunk-ext-name [ BWS \"=\" BWS "
			                        "chunk-ext-val ] ))");
		pos = skip_bws(buf, pos + 1, len);
		ws = skip_token(buf, pos, len);
		if (ws >= len)
			return HTTP_PARTIAL;
		if (ws == pos)
			return chunk_refuse(st, "chunk extension: the name must be a token (RFC 9112 7.1.1: "
			                        "chunk-ext-name = token)");
		pos = skip_bws(buf, ws, len);
		if (pos >= len)
			return HTTP_PARTIAL;
		if (buf[pos] != '=') {
			pos = ws; /* no value: what follows the name is checked from the top */
			continue;
		}
		pos = skip_bws(buf, pos + 1, len);
		if (pos >= len)
			return HTTP_PARTIAL;
		if (buf[pos] == '"') {
			if ((quoted = quoted_string_end(st, buf, pos, len)) < 0)
				return quoted;
			pos = (size_t)quoted;
		} else if ((ws = skip_token(buf, pos, len)) == pos) {
			return chunk_refuse(st, "chunk extension: the value must be a token or a quoted-string "
			                        "(RFC 9112 7.1.1: chunk-ext-val = token / quoted-string)");
		} else {
			pos = ws;
		}
	}
}

/* One chunk (size line, data, CRLF) at buf[st->pos..len): moves its data
 * down to buf[st->out] and returns 1; 0 for the last chunk (size 0);
 * HTTP_PARTIAL until the whole chunk is there; or an error. */
static int next_chunk(struct http_chunked *st, char *buf, size_t len, size_t max)
{
	size_t pos = st->pos, size = 0;
	int digits = 0, v;
	long cr;

	while (pos < len && (v = hex_value(buf[pos])) >= 0) {
		if (++digits > 8)
			return HTTP_TOO_LARGE;
		size = size * 16 + (size_t)v;
		pos++;
	}
	if (pos >= len)
		return HTTP_PARTIAL;
	if (digits == 0)
		return chunk_refuse(st, "chunk line: it starts with the size in hex digits (RFC 9112 7.1: "
		                        "chunk-size = 1*HEXDIG)");
	if ((cr = chunk_ext_end(st, buf, pos, len)) < 0)
		return (int)cr;
	pos = (size_t)cr;
	if (buf[pos] == '\r' && pos + 1 >= len)
		return HTTP_PARTIAL;
	if (buf[pos] != '\r' || buf[pos + 1] != '\n')
		return chunk_refuse(st, "chunk line: it ends in CRLF (RFC 9112 7.1: chunk = chunk-size "
		                        "[ chunk-ext ] CRLF)");
	pos += 2;
	if (size == 0) {
		st->pos = pos;
		return 0;
	}
	if (size > max - st->out)
		return HTTP_TOO_LARGE;
	if (len - pos < size + 2)
		return HTTP_PARTIAL;
	if (buf[pos + size] != '\r' || buf[pos + size + 1] != '\n')
		return chunk_refuse(st, "chunk data: exactly chunk-size bytes, then CRLF (RFC 9112 7.1: chunk = "
		                        "chunk-size [ chunk-ext ] CRLF chunk-data CRLF)");
	memmove(buf + st->out, buf + pos, size);
	st->out += size;
	st->pos = pos + size + 2;
	return 1;
}

long http_chunked_feed(struct http_chunked *st, char *buf, size_t len, size_t max)
{
	int r;

	while (!st->trailer) {
		r = next_chunk(st, buf, len, max);
		if (r < 0)
			return r;
		if (r == 0)
			st->trailer = 1;
	}
	/* Trailer section: field lines up to an empty line. */
	for (;;) {
		static const char trailer_rule[] = "chunked trailer: field lines name \":\" value, each ending "
		                                   "in CRLF, then an empty line (RFC 9112 7.1.2)";
		long end = line_end(buf, st->pos, len);
		size_t i;
		if (end == -1)
			return HTTP_PARTIAL;
		if (end == -2)
			return chunk_refuse(st, trailer_rule);
		if ((size_t)end == st->pos)
			return (long)(st->pos + 2);
		for (i = st->pos; i < (size_t)end && is_tchar((unsigned char)buf[i]); i++)
			;
		if (i == st->pos || buf[i] != ':')
			return chunk_refuse(st, trailer_rule);
		for (; i < (size_t)end; i++)
			if (!is_field_vchar((unsigned char)buf[i]))
				return chunk_refuse(st, trailer_rule);
		st->pos = (size_t)end + 2;
	}
}

const struct http_header *http_find_header(const struct http_request *req, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < req->num_headers; i++)
		if (req->headers[i].name_len == n &&
		    strncasecmp(req->headers[i].name, name, n) == 0)
			return &req->headers[i];
	return NULL;
}

int http_value_is(const struct http_header *h, const char *s)
{
	size_t n = strlen(s);
	return h && h->value_len == n && strncasecmp(h->value, s, n) == 0;
}

/* Does the comma-separated list in h contain token (case-insensitive)? */
static int value_has_token(const struct http_header *h, const char *token)
{
	size_t n = strlen(token), i = 0;

	while (i < h->value_len) {
		size_t s, e;
		while (i < h->value_len && (h->value[i] == ' ' || h->value[i] == ','))
			i++;
		s = i;
		while (i < h->value_len && h->value[i] != ',')
			i++;
		e = i;
		while (e > s && h->value[e - 1] == ' ')
			e--;
		if (e - s == n && strncasecmp(h->value + s, token, n) == 0)
			return 1;
	}
	return 0;
}

/* absolute-form (RFC 9112 section 3.2.2): keep the path (and query) as the
 * target; the authority must not be empty. */
static int absolute_form_to_path(struct http_request *req)
{
	const char *t = req->target;
	size_t n = req->target_len, skip, auth;

	if (n >= 7 && strncasecmp(t, "http://", 7) == 0)
		skip = 7;
	else if (n >= 8 && strncasecmp(t, "https://", 8) == 0)
		skip = 8;
	else
		return -1;
	auth = skip;
	while (auth < n && t[auth] != '/' && t[auth] != '?' && t[auth] != '#')
		auth++;
	if (auth == skip || (auth < n && t[auth] == '#'))
		return -1;
	if (auth == n) {
		req->target = "/";
		req->target_len = 1;
	} else if (t[auth] == '?') {
		return -1; /* "http://h?q" has no path to route */
	} else {
		req->target = t + auth;
		req->target_len = n - auth;
	}
	return 0;
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_unreserved_or_sub_delim(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("-._~!$&'()*+,;=", c));
}

/* RFC 3986 dec-octet "." dec-octet "." dec-octet "." dec-octet, exactly s[0..n). */
static int ipv4_valid(const char *s, size_t n)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t start = i;
		int v = 0;
		if (part > 0) {
			if (i >= n || s[i] != '.')
				return 0;
			start = ++i;
		}
		while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 3)
			v = v * 10 + (s[i++] - '0');
		if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
			return 0;
	}
	return i == n;
}

/* RFC 3986 IPv6address: eight 16-bit pieces (the last two may be an IPv4
 * address), with at most one "::" standing for one or more zero pieces. */
static int ipv6_valid(const char *s, size_t n)
{
	size_t i = 0;
	int pieces = 0, gap = 0;

	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 1;
		i = 2;
	} else if (n >= 1 && s[0] == ':') {
		return 0;
	}
	while (i < n) {
		size_t start = i;
		while (i < n && is_hex(s[i]) && i - start < 4)
			i++;
		if (i < n && s[i] == '.') {
			/* An IPv4 tail takes two pieces and ends the address. */
			if (!ipv4_valid(s + start, n - start) || pieces > 6)
				return 0;
			pieces += 2;
			i = n;
			break;
		}
		if (i == start || (i < n && s[i] != ':'))
			return 0;
		pieces++;
		if (i == n)
			break;
		if (++i == n)
			return 0; /* a trailing single ':' */
		if (s[i] == ':') {
			if (gap)
				return 0;
			gap = 1;
			i++;
		}
	}
	return gap ? pieces <= 7 : pieces == 8;
}

/* RFC 3986 IPvFuture: "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ). */
static int ipvfuture_valid(const char *s, size_t n)
{
	size_t i = 1;

	if (n < 4 || (s[0] != 'v' && s[0] != 'V'))
		return 0;
	while (i < n && is_hex(s[i]))
		i++;
	if (i == 1 || i + 1 >= n || s[i] != '.')
		return 0;
	for (i++; i < n; i++)
		if (!is_unreserved_or_sub_delim(s[i]) && s[i] != ':')
			return 0;
	return 1;
}

/* Host = uri-host [ ":" port ] (RFC 9110 7.2), uri-host = IP-literal /
 * IPv4address / reg-name (RFC 3986 3.2.2; a reg-name also covers every
 * IPv4 address, and may be empty). NULL if valid, else the rule broken. */
static const char *host_error(const char *v, size_t n)
{
	size_t i = 0, port_digits = 0;
	long port = 0;

	if (n > 0 && v[0] == '[') {
		const char *close = memchr(v, ']', n);
		size_t inner;
		if (!close)
			return "Host: an IP literal must be an IPv6 address in brackets ([::1])";
		inner = (size_t)(close - v) - 1;
		if (!ipv6_valid(v + 1, inner) && !ipvfuture_valid(v + 1, inner))
			return "Host: an IP literal must be an IPv6 address in brackets ([::1])";
		i = inner + 2;
	} else {
		for (; i < n && v[i] != ':'; i++) {
			if (v[i] == '%' && i + 2 < n && is_hex(v[i + 1]) && is_hex(v[i + 2]))
				i += 2;
			else if (!is_unreserved_or_sub_delim(v[i]))
				return "Host: a reg-name holds only letters, digits, -._~!$&'()*+,;= and %XX escapes";
		}
	}
	if (i == n)
		return NULL;
	if (v[i] != ':')
		return "Host: only \":\" and a port may follow the IP literal";
	for (i++; i < n; i++, port_digits++) {
		if (v[i] < '0' || v[i] > '9' || port_digits == 5)
			return "Host: the port must be a number from 0 to 65535";
		port = port * 10 + (v[i] - '0');
	}
	return port > 65535 ? "Host: the port must be a number from 0 to 65535" : NULL;
}

static int refuse(struct http_request *req, const char *why)
{
	req->error = why;
	return -1;
}

int http_request_semantics(struct http_request *req)
{
	const struct http_header *conn = http_find_header(req, "Connection");
	int hosts = 0;

	req->content_length = -1;
	req->chunked = 0;
	req->expect = 0;
	req->error = NULL;
	if (req->target[0] != '/' && absolute_form_to_path(req) < 0 &&
	    !(req->target_len == 1 && req->target[0] == '*' && req->method_len == 7 &&
	      memcmp(req->method, "OPTIONS", 7) == 0))
		return refuse(req, "the request target must be a path or an absolute http(s) URL");
	for (size_t i = 0; i < req->num_headers; i++) {
		const struct http_header *h = &req->headers[i];
		if (h->name_len == 14 && strncasecmp(h->name, "Content-Length", 14) == 0) {
			long long v = 0;
			if (h->value_len == 0 || h->value_len > 15)
				return refuse(req, "Content-Length must be 1 to 15 digits");
			for (size_t j = 0; j < h->value_len; j++) {
				if (h->value[j] < '0' || h->value[j] > '9')
					return refuse(req, "Content-Length must be 1 to 15 digits");
				v = v * 10 + (h->value[j] - '0');
			}
			if (req->content_length >= 0 && req->content_length != v)
				return refuse(req, "conflicting Content-Length headers");
			req->content_length = v;
		} else if (h->name_len == 17 && strncasecmp(h->name, "Transfer-Encoding", 17) == 0) {
			/* Only "chunked" alone is understood (RFC 9112 section 6.1). */
			req->chunked = (req->chunked == 0 && http_value_is(h, "chunked")) ? 1 : 2;
		} else if (h->name_len == 4 && strncasecmp(h->name, "Host", 4) == 0) {
			const char *why = host_error(h->value, h->value_len);
			if (why)
				return refuse(req, why);
			hosts++;
		} else if (h->name_len == 6 && strncasecmp(h->name, "Expect", 6) == 0 &&
		           req->minor_version == 1) {
			/* HTTP/1.0 peers do not know Expect: ignore it (RFC 9110 10.1.1). */
			req->expect = (req->expect == 0 && http_value_is(h, "100-continue")) ? 1 : 2;
		}
	}
	if (hosts > 1 || (req->minor_version == 1 && hosts == 0))
		return refuse(req, "HTTP/1.1 requests need exactly one Host header");
	/* Both framing headers at once is a smuggling vector (RFC 9112 6.3). */
	if (req->chunked && req->content_length >= 0)
		return refuse(req, "Content-Length and Transfer-Encoding must not both be sent");
	if (req->minor_version == 0)
		req->keep_alive = conn && value_has_token(conn, "keep-alive");
	else
		req->keep_alive = !(conn && value_has_token(conn, "close"));
	return 0;
}
