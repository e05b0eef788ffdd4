/* libFuzzer driver: the header-value parsers a client controls, reached as
 * statics by including their files (the exported functions are renamed so
 * they do not clash with the linked modules): admission.c's url_origin,
 * loopback_host, origin_allowed and content_type_json, and mcp.c's
 * mcp_name_matches (plain or =?base64?...?=). Each value lies in a buffer
 * of exactly its length (no NUL), so a read past it is caught. The first
 * byte picks the parser; every answer is checked against the rule it
 * implements. */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define admission_preflight fuzz_unused_admission_preflight
#define admission_check_head fuzz_unused_admission_check_head
#define admission_enter fuzz_unused_admission_enter
#define admission_leave fuzz_unused_admission_leave
#define admission_peer_key fuzz_unused_admission_peer_key
#include "worker/admission.c"

#define mcp_handle fuzz_unused_mcp_handle
#define mcp_wait_cancel fuzz_unused_mcp_wait_cancel
#define mcp_version_supported fuzz_unused_mcp_version_supported
#define rpc_server_info fuzz_unused_rpc_server_info
#define rpc_versions_array fuzz_unused_rpc_versions_array
#define rpc_send_result fuzz_unused_rpc_send_result
#define rpc_error fuzz_unused_rpc_error
#include "worker/mcp/mcp.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A plain reading of loopback_host's rule, for comparison. */
static int is_loopback(const char *p, size_t n)
{
	size_t host = 0, i;

	if (n >= 9 && strncasecmp(p, "localhost", 9) == 0)
		host = 9;
	else if (n >= 5 && memcmp(p, "[::1]", 5) == 0)
		host = 5;
	else if (n >= 4 && memcmp(p, "127.", 4) == 0) {
		host = 4;
		while (host < n && (isdigit((unsigned char)p[host]) || p[host] == '.'))
			host++;
	} else
		return 0;
	if (host == n)
		return 1;
	if (p[host] != ':' || host + 1 == n)
		return 0;
	for (i = host + 1; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return 1;
}

static int same(const char *v, size_t n, const char *s)
{
	return n == strlen(s) && strncasecmp(v, s, n) == 0;
}

static void check_origin(const unsigned char *data, size_t size)
{
	static struct config cfg;
	struct http_header h;
	char *v = malloc(size ? size : 1);
	size_t skip;
	int own, listed, loopback;

	/* origin_allowed reads these three fields only. */
	cfg.public_url = "https://invoices.example.com:8443/mcp";
	cfg.allowed_origins = " https://a.example  https://b.example:9 ";
	memcpy(v, data, size);
	h = (struct http_header){ .name = "Origin", .name_len = 6, .value = v, .value_len = size };
	skip = size >= 7 && strncasecmp(v, "http://", 7) == 0 ? 7
	     : size >= 8 && strncasecmp(v, "https://", 8) == 0 ? 8 : 0;
	own = same(v, size, "https://invoices.example.com:8443");
	listed = same(v, size, "https://a.example") || same(v, size, "https://b.example:9");
	loopback = skip && is_loopback(v + skip, size - skip);
	/* Allowed exactly when: the server's own origin, one of the listed
	 * ones, or (only while the server listens on loopback) a loopback one. */
	cfg.listen = "127.0.0.1:8443";
	if (origin_allowed(&cfg, &h) != (own || listed || loopback))
		__builtin_trap();
	cfg.listen = "0.0.0.0:8443";
	if (origin_allowed(&cfg, &h) != (own || listed))
		__builtin_trap();
	free(v);
}

static void check_url_origin(const unsigned char *data, size_t size)
{
	char url[300], out[64];
	size_t n = size < sizeof(url) - 1 ? size : sizeof(url) - 1;

	memcpy(url, data, n);
	url[n] = '\0';
	url_origin(url, out, sizeof(out));
	/* A prefix of the URL, NUL-terminated within out. */
	if (strlen(out) >= sizeof(out) || strncmp(out, url, strlen(out)) != 0)
		__builtin_trap();
}

static void check_content_type(const unsigned char *data, size_t size)
{
	char *v = malloc(size ? size : 1);
	struct http_header h;
	int ok, want;

	memcpy(v, data, size);
	h = (struct http_header){ .name = "Content-Type", .name_len = 12, .value = v, .value_len = size };
	ok = content_type_json(&h);
	want = size >= 16 && strncasecmp(v, "application/json", 16) == 0 &&
	       (size == 16 || v[16] == ';' || v[16] == ' ');
	if (ok != want || content_type_json(NULL) != 0)
		__builtin_trap();
	free(v);
}

static void check_loopback(const unsigned char *data, size_t size)
{
	char *v = malloc(size ? size : 1);

	memcpy(v, data, size);
	if (loopback_host(v, size) != is_loopback(v, size))
		__builtin_trap();
	free(v);
}

/* data = name NUL header-value. */
static void check_mcp_name(const unsigned char *data, size_t size)
{
	const unsigned char *nul = memchr(data, 0, size);
	size_t name_len = nul ? (size_t)(nul - data) : size;
	size_t value_len = nul ? size - name_len - 1 : 0;
	char *name = malloc(name_len ? name_len : 1), *value = malloc(value_len ? value_len : 1);
	char enc[9 + 4 * 200 + 3];
	struct http_header h;
	int ok;

	memcpy(name, data, name_len);
	if (value_len)
		memcpy(value, nul + 1, value_len);
	h = (struct http_header){ .name = "Mcp-Name", .name_len = 8, .value = value, .value_len = value_len };
	ok = mcp_name_matches(&h, name, name_len);
	/* A match is the name itself or its =?base64?...?= form. */
	if (ok && !(value_len == name_len && memcmp(value, name, name_len) == 0) &&
	    !(value_len >= 11 && memcmp(value, "=?base64?", 9) == 0))
		__builtin_trap();
	if (mcp_name_matches(NULL, name, name_len) != 0)
		__builtin_trap();
	/* The name always matches itself, plainly and base64-encoded. */
	h.value = name;
	h.value_len = name_len;
	if (!(name_len >= 11 && memcmp(name, "=?base64?", 9) == 0) && !mcp_name_matches(&h, name, name_len))
		__builtin_trap();
	if (name_len <= 300) {
		size_t n;
		memcpy(enc, "=?base64?", 9);
		n = base64_encode((const unsigned char *)name, name_len, enc + 9);
		memcpy(enc + 9 + n, "?=", 2);
		h.value = enc;
		h.value_len = 9 + n + 2;
		if (!mcp_name_matches(&h, name, name_len))
			__builtin_trap();
	}
	free(name);
	free(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 5) {
	case 0: check_origin(data + 1, size - 1); break;
	case 1: check_url_origin(data + 1, size - 1); break;
	case 2: check_content_type(data + 1, size - 1); break;
	case 3: check_loopback(data + 1, size - 1); break;
	default: check_mcp_name(data + 1, size - 1); break;
	}
	return 0;
}
