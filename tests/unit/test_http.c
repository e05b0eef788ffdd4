/* Unit tests for worker/http/http.c: the request-head parser and its semantics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "worker/http/http.h"

static int parse(const char *s, struct http_request *req)
{
	int n = http_parse_request(s, strlen(s), req);
	if (n > 0 && http_request_semantics(req) < 0)
		return HTTP_ERROR;
	return n;
}

static void test_complete_request(void **state)
{
	const char *s = "POST /mcp?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n"
	                "Content-Type:  application/json \r\n\r\n{\"a\":1}";
	struct http_request req;
	const struct http_header *h;
	(void)state;
	assert_int_equal(parse(s, &req), (int)(strstr(s, "\r\n\r\n") - s) + 4);
	assert_int_equal(req.method_len, 4);
	assert_memory_equal(req.method, "POST", 4);
	assert_int_equal(req.target_len, 8);
	assert_int_equal(req.minor_version, 1);
	assert_int_equal(req.num_headers, 3);
	assert_int_equal(req.content_length, 12);
	assert_int_equal(req.keep_alive, 1);
	h = http_find_header(&req, "content-type");
	assert_non_null(h);
	assert_int_equal(h->value_len, 16); /* surrounding whitespace trimmed */
	assert_true(http_value_is(h, "APPLICATION/JSON"));
	assert_null(http_find_header(&req, "Origin"));
}

static void test_partial_at_every_length(void **state)
{
	const char *s = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	struct http_request req;
	(void)state;
	for (size_t i = 0; i < strlen(s); i++)
		assert_int_equal(http_parse_request(s, i, &req), HTTP_PARTIAL);
	assert_int_equal(http_parse_request(s, strlen(s), &req), (int)strlen(s));
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"GET / HTTP/1.1\nHost: a\n\n",
		"GET  / HTTP/1.1\r\n\r\n",
		"GET / HTTP/2.0\r\n\r\n",
		"GET / HTTP/1.1 \r\n\r\n",
		"G@T / HTTP/1.1\r\n\r\n",
		" GET / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
		"GET / HTTP/1.1\r\n: x\r\n\r\n",
		"GET / HTTP/1.1\r\nName : x\r\n\r\n",
		"GET / HTTP/1.1\r\n folded\r\n\r\n",
		"GET / HTTP/1.1\r\nA: \x01\r\n\r\n",
		"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n",
		"GET /\x7f HTTP/1.1\r\n\r\n",
	};
	struct http_request req;
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(http_parse_request(bad[i], strlen(bad[i]), &req), HTTP_ERROR);
}

static void test_framing_semantics(void **state)
{
	struct http_request req;
	(void)state;
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", &req), HTTP_ERROR);
	assert_true(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", &req) > 0);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n", &req), HTTP_ERROR);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1e3\r\n\r\n", &req), HTTP_ERROR);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999999999\r\n\r\n", &req), HTTP_ERROR);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", &req), HTTP_ERROR);
	assert_true(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", &req) > 0);
	assert_int_equal(req.chunked, 1);
	assert_true(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n", &req) > 0);
	assert_int_equal(req.keep_alive, 0);
	assert_true(parse("GET / HTTP/1.0\r\n\r\n", &req) > 0);
	assert_int_equal(req.keep_alive, 0);
	assert_true(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &req) > 0);
	assert_int_equal(req.keep_alive, 1);
}

static void test_limits(void **state)
{
	static char big[HTTP_MAX_HEAD_BYTES + 100];
	char many[8192];
	size_t n;
	struct http_request req;
	(void)state;
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	memset(big + 19, 'a', sizeof(big) - 19);
	assert_int_equal(http_parse_request(big, sizeof(big), &req), HTTP_TOO_LARGE);
	n = (size_t)snprintf(many, sizeof(many), "GET / HTTP/1.1\r\n");
	for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "H%d: v\r\n", i);
	n += (size_t)snprintf(many + n, sizeof(many) - n, "\r\n");
	assert_int_equal(http_parse_request(many, n, &req), HTTP_TOO_LARGE);
}

/* Decodes in one call from a fresh state. */
static long chunked(const char *in, char *copy, size_t max, size_t *body_len)
{
	struct http_chunked st = { 0 };
	long r;

	memcpy(copy, in, strlen(in) + 1);
	r = http_chunked_feed(&st, copy, strlen(in), max);
	*body_len = st.out;
	return r;
}

static void test_chunked_body(void **state)
{
	const char *body = "4\r\nWiki\r\n7;ext=1\r\npedia i\r\nB\r\nn \r\nchunks.\r\n0\r\nX-Trailer: t\r\n\r\nNEXT";
	char copy[256];
	size_t n = 0, wire = strlen(body) - 4;
	struct http_chunked st;
	(void)state;
	assert_int_equal(chunked(body, copy, 1000, &n), (long)wire);
	assert_int_equal(n, 22);
	assert_memory_equal(copy, "Wikipedia in \r\nchunks.", 22);
	assert_memory_equal(copy + wire, "NEXT", 4); /* what follows is untouched */
	/* Arriving a byte at a time, the same state carries on: partial until
	 * the end, then the same body, each byte looked at about once. */
	memset(&st, 0, sizeof(st));
	memcpy(copy, body, strlen(body) + 1);
	for (size_t i = 0; i < wire; i++)
		assert_int_equal(http_chunked_feed(&st, copy, i, 1000), HTTP_PARTIAL);
	assert_int_equal(http_chunked_feed(&st, copy, wire, 1000), (long)wire);
	assert_int_equal(st.out, 22);
	assert_memory_equal(copy, "Wikipedia in \r\nchunks.", 22);
	/* And from a fresh state at every prefix. */
	for (size_t i = 0; i < wire; i++) {
		memset(&st, 0, sizeof(st));
		memcpy(copy, body, i);
		assert_int_equal(http_chunked_feed(&st, copy, i, 1000), HTTP_PARTIAL);
	}
	assert_int_equal(chunked("0\r\n\r\n", copy, 10, &n), 5);
	assert_int_equal(n, 0);
	assert_int_equal(chunked(body, copy, 21, &n), HTTP_TOO_LARGE);
	assert_int_equal(chunked("123456789\r\n", copy, 1000, &n), HTTP_TOO_LARGE);
	assert_int_equal(chunked("x\r\n", copy, 1000, &n), HTTP_ERROR);
	assert_int_equal(chunked("4\nWiki\r\n0\r\n\r\n", copy, 1000, &n), HTTP_ERROR);
	assert_int_equal(chunked("4\r\nWikiXX0\r\n\r\n", copy, 1000, &n), HTTP_ERROR);
	assert_int_equal(chunked("0\r\nbad trailer\r\n\r\n", copy, 1000, &n), HTTP_ERROR);
	assert_int_equal(chunked("4;\x01\r\nWiki\r\n0\r\n\r\n", copy, 1000, &n), HTTP_ERROR);
}

/* The rule a refused chunked body names, from a fresh state. */
static const char *chunked_error(const char *in)
{
	struct http_chunked st = { 0 };
	char copy[256];

	memcpy(copy, in, strlen(in) + 1);
	if (http_chunked_feed(&st, copy, strlen(in), 1000) != HTTP_ERROR)
		return NULL;
	return st.error;
}

/* RFC 9112 7.1/7.1.1: whitespace only before ";" and around "=", quoted
 * extension values without CR, LF or control bytes. */
static void test_chunk_line_grammar(void **state)
{
	static const char *refused[][2] = {
		{ "4 \r\nWiki\r\n0\r\n\r\n", "chunk = chunk-size [ chunk-ext ] CRLF" },
		{ "4\t\r\nWiki\r\n0\r\n\r\n", "chunk = chunk-size [ chunk-ext ] CRLF" },
		{ "4;a \r\nWiki\r\n0\r\n\r\n", "chunk = chunk-size [ chunk-ext ] CRLF" },
		{ "4;a=b\t\r\nWiki\r\n0\r\n\r\n", "chunk = chunk-size [ chunk-ext ] CRLF" },
		{ "4;a=\"x\r\ny\"\r\nWiki\r\n0\r\n\r\n", "qdtext" },
		{ "4;a=\"x\ny\"\r\nWiki\r\n0\r\n\r\n", "qdtext" },
		{ "4;a=\"x\\\r\"\r\nWiki\r\n0\r\n\r\n", "qdtext" },
		{ "4 x\r\nWiki\r\n0\r\n\r\n", "chunk-ext = *( BWS \";\"" },
		{ "4;\r\nWiki\r\n0\r\n\r\n", "chunk-ext-name = token" },
		{ "4;=b\r\nWiki\r\n0\r\n\r\n", "chunk-ext-name = token" },
		{ "4;a=\r\nWiki\r\n0\r\n\r\n", "chunk-ext-val = token / quoted-string" },
		{ "4;a=b\"c\"\r\nWiki\r\n0\r\n\r\n", "chunk-ext = *( BWS \";\"" },
		{ "x\r\n", "chunk-size = 1*HEXDIG" },
		{ "4\nWiki\r\n0\r\n\r\n", "CRLF" },
		{ "4\r\nWikiXX0\r\n\r\n", "chunk-data CRLF" },
		{ "0\r\nbad trailer\r\n\r\n", "RFC 9112 7.1.2" },
	};
	static const char *accepted[] = {
		"4 ;a\r\nWiki\r\n0\r\n\r\n",
		"4\t; a = b ;c\r\nWiki\r\n0 ;z\r\n\r\n",
		"4;a=\"x;\\\"y\\\" \tz\x80\";b=c\r\nWiki\r\n0\r\n\r\n",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		const char *why = chunked_error(refused[i][0]);
		assert_non_null(why);
		assert_non_null(strstr(why, "RFC 9112"));
		assert_non_null(strstr(why, refused[i][1]));
	}
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		char copy[256];
		size_t n = 0;
		assert_int_equal(chunked(accepted[i], copy, 1000, &n), (long)strlen(accepted[i]));
		assert_int_equal(n, 4);
		assert_memory_equal(copy, "Wiki", 4);
	}
	/* A quoted value cut anywhere is partial, not an error. */
	for (size_t i = 0; i < strlen(accepted[2]); i++) {
		struct http_chunked st = { 0 };
		char copy[256];
		memcpy(copy, accepted[2], i);
		assert_int_equal(http_chunked_feed(&st, copy, i, 1000), HTTP_PARTIAL);
	}
}

static void test_transfer_codings(void **state)
{
	struct http_request req;
	(void)state;
	assert_true(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", &req) > 0);
	assert_int_equal(req.chunked, 1);
	assert_true(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", &req) > 0);
	assert_int_equal(req.chunked, 2);
	assert_true(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", &req) > 0);
	assert_int_equal(req.chunked, 2);
}

static void test_host_target_and_expect(void **state)
{
	struct http_request req;
	(void)state;
	/* Exactly one Host in HTTP/1.1; optional in 1.0. */
	assert_int_equal(parse("GET / HTTP/1.1\r\n\r\n", &req), HTTP_ERROR);
	assert_string_equal(req.error, "HTTP/1.1 requests need exactly one Host header");
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", &req), HTTP_ERROR);
	assert_true(parse("GET / HTTP/1.0\r\n\r\n", &req) > 0);
	/* absolute-form routes by its path. */
	assert_true(parse("POST https://h:1/mcp?x HTTP/1.1\r\nHost: h\r\n\r\n", &req) > 0);
	assert_int_equal(req.target_len, 6);
	assert_memory_equal(req.target, "/mcp?x", 6);
	assert_true(parse("GET HTTP://h HTTP/1.1\r\nHost: h\r\n\r\n", &req) > 0);
	assert_int_equal(req.target_len, 1);
	assert_memory_equal(req.target, "/", 1);
	assert_int_equal(parse("GET https:///mcp HTTP/1.1\r\nHost: h\r\n\r\n", &req), HTTP_ERROR);
	assert_int_equal(parse("GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n", &req), HTTP_ERROR);
	assert_int_equal(parse("GET mcp HTTP/1.1\r\nHost: h\r\n\r\n", &req), HTTP_ERROR);
	assert_int_equal(parse("GET * HTTP/1.1\r\nHost: h\r\n\r\n", &req), HTTP_ERROR);
	assert_true(parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", &req) > 0);
	/* Expect: 100-continue, anything else, and HTTP/1.0 (ignored). */
	assert_true(parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\n\r\n", &req) > 0);
	assert_int_equal(req.expect, 1);
	assert_true(parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n", &req) > 0);
	assert_int_equal(req.expect, 2);
	assert_true(parse("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", &req) > 0);
	assert_int_equal(req.expect, 0);
}

/* Host is uri-host [":" port] (RFC 9110 7.2, RFC 3986 3.2.2). */
static void host(const char *value, const char *want_error)
{
	char head[512];
	struct http_request req;
	int rc;

	snprintf(head, sizeof(head), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", value);
	rc = parse(head, &req);
	if (!want_error && rc <= 0)
		fail_msg("Host '%s' refused: %s", value, req.error ? req.error : "(parse)");
	if (want_error && (rc != HTTP_ERROR || !req.error || !strstr(req.error, want_error)))
		fail_msg("Host '%s': want '%s', got %d '%s'", value, want_error, rc, req.error ? req.error : "");
}

static void test_host_value(void **state)
{
	static const char *const good[] = {
		"example.com", "example.com:443", "EXAMPLE.com:8443", "localhost", "127.0.0.1:18443",
		"a-b_c~d.e", "%41bc", "x!$&'()*+,;=y", "h:", "h:0", "h:65535", "", "[::1]", "[::1]:443",
		"[2001:db8::1]", "[2001:db8:0:0:0:0:2:1]", "[::ffff:192.0.2.1]", "[fe80::1:2]:8",
		"[::]", "[1:2:3:4:5:6:7::]", "[1:2:3:4:5:6::8]", "[1::]", "[1:2:3:4:5:6:1.2.3.4]",
		"[v7.a:b]", "999.1.1.1", "1.2.3", ":80",
	};
	static const struct { const char *value, *error; } bad[] = {
		{ "a b", "reg-name" }, { "a/b", "reg-name" }, { "a@b", "reg-name" }, { "a\"b", "reg-name" },
		{ "a%4", "reg-name" }, { "a%zz", "reg-name" }, { "a?b", "reg-name" }, { "a#b", "reg-name" },
		{ "\xc3\xa9.com", "reg-name" }, { "a\\b", "reg-name" },
		{ "h:x", "port" }, { "h:65536", "port" }, { "h:123456", "port" }, { "h:1:2", "port" },
		{ "h: 80", "port" },
		{ "[::1", "IPv6" }, { "::1", "port" }, { "[]", "IPv6" }, { "[1:2:3:4:5:6:7:8:9]", "IPv6" },
		{ "[1::2::3]", "IPv6" }, { "[12345::]", "IPv6" }, { "[g::]", "IPv6" }, { "[::1]x", "port" },
		{ "[::1]:x", "port" }, { "[1:2:3:4:5:6:7]", "IPv6" }, { "[::1.2.3]", "IPv6" },
		{ "[::1.2.3.256]", "IPv6" }, { "[::01.2.3.4]", "IPv6" }, { "[1.2.3.4]", "IPv6" },
		{ "[v.a]", "IPv6" }, { "[vx.a]", "IPv6" }, { "[v1.]", "IPv6" }, { "[::1%eth0]", "IPv6" },
		{ "[:1]", "IPv6" }, { "[1:]", "IPv6" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		host(good[i], NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		host(bad[i].value, bad[i].error);
	/* HTTP/1.0 may omit Host, but one it sends must be valid too. */
	{
		struct http_request req;
		assert_int_equal(parse("GET / HTTP/1.0\r\nHost: a b\r\n\r\n", &req), HTTP_ERROR);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_complete_request),
		cmocka_unit_test(test_partial_at_every_length),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_framing_semantics),
		cmocka_unit_test(test_host_target_and_expect),
		cmocka_unit_test(test_host_value),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_chunked_body),
		cmocka_unit_test(test_chunk_line_grammar),
		cmocka_unit_test(test_transfer_codings),
	};
	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
