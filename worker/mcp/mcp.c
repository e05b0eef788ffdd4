/*
 * mcp.c - the JSON-RPC envelope of a request: strict parsing, the id, the
 * method, the era and its header rules, then the method (methods.c); and
 * the result and error envelopes. Runs in workers.
 *
 * Eras: a request is "modern" (2026-07-28) when its MCP-Protocol-Version
 * header or its params._meta protocolVersion says so; then the headers must
 * agree with the body (-32020), initialize/ping do not exist (404, -32601),
 * and every result carries resultType and serverInfo in _meta. Otherwise it
 * is a 2025-era request (initialize handshake, ping). No session is kept:
 * any worker can serve any request.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "server/lib/base64.h"
#include "server/lib/json_text.h"
#include "server/lib/strbuf.h"
#include "server/lib/utf8.h"
#include "worker/mcp/rpc.h"

#define META_VERSION "io.modelcontextprotocol/protocolVersion"
#define META_CAPS "io.modelcontextprotocol/clientCapabilities"

static const char *const supported_versions[] = { MCP_MODERN, "2025-11-25", "2025-06-18", "2025-03-26" };
#define NVERSIONS (sizeof(supported_versions) / sizeof(supported_versions[0]))

int mcp_version_supported(const char *version, size_t len)
{
	for (size_t i = 0; i < NVERSIONS; i++)
		if (strlen(supported_versions[i]) == len && memcmp(supported_versions[i], version, len) == 0)
			return 1;
	return 0;
}



json_object *rpc_versions_array(void)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < NVERSIONS; i++)
		json_object_array_add(a, json_object_new_string(supported_versions[i]));
	return a;
}

json_object *rpc_server_info(void)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(MCP_SERVER_NAME));
	json_object_object_add(o, "title", json_object_new_string("Invoices"));
	json_object_object_add(o, "version", json_object_new_string(MCPI_VERSION));
	return o;
}

/* Sends {"jsonrpc","id","result"}; takes ownership of result. The id is
 * spliced in as the text the client sent. */
void rpc_send_result(struct rpc *c, json_object *result)
{
	const char *text;
	size_t len, blen;
	struct strbuf b;
	char *body;

	if (c->modern) {
		json_object *meta = NULL;
		json_object_object_add(result, "resultType", json_object_new_string("complete"));
		if (!json_object_object_get_ex(result, "_meta", &meta)) {
			meta = json_object_new_object();
			json_object_object_add(result, "_meta", meta);
		}
		json_object_object_add(meta, "io.modelcontextprotocol/serverInfo", rpc_server_info());
	}
	text = json_object_to_json_string_length(result, JSON_C_TO_STRING_PLAIN |
	                                         JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	strbuf_init(&b, len + 64);
	strbuf_puts(&b, "{\"jsonrpc\":\"2.0\",\"id\":");
	strbuf_puts(&b, c->id_json);
	strbuf_puts(&b, ",\"result\":");
	strbuf_append(&b, text, len);
	strbuf_puts(&b, "}");
	json_object_put(result);
	body = strbuf_take(&b, &blen);
	response_set_body(c->resp, 200, body, blen);
	if (!c->resp->outcome[0])
		snprintf(c->resp->outcome, sizeof(c->resp->outcome), "ok");
}

void rpc_error(struct rpc *c, int status, int code, const char *message, const char *data)
{
	response_rpc_error(c->resp, status, c->id_json[0] ? c->id_json : NULL, code, message, data);
}

/* ---- request checks ---- */

static int header_eq(const struct http_header *h, const char *s, size_t len)
{
	return h && h->value_len == len && memcmp(h->value, s, len) == 0;
}

/* Compares an Mcp-Name header (plain, or =?base64?...?=) with the body. */
static int mcp_name_matches(const struct http_header *h, const char *name, size_t name_len)
{
	unsigned char buf[512];
	long n;

	if (!h)
		return 0;
	if (h->value_len >= 11 && memcmp(h->value, "=?base64?", 9) == 0 &&
	    memcmp(h->value + h->value_len - 2, "?=", 2) == 0) {
		n = base64_decode(h->value + 9, h->value_len - 11, buf, sizeof(buf), 0);
		return n >= 0 && (size_t)n == name_len && memcmp(buf, name, (size_t)n) == 0;
	}
	return header_eq(h, name, name_len);
}

static int check_modern_headers(struct rpc *c, const char *body_version)
{
	const struct http_header *hv = http_find_header(c->http, "MCP-Protocol-Version");
	const struct http_header *hm = http_find_header(c->http, "Mcp-Method");
	char msg[300];

	if (!hv) {
		rpc_error(c, 400, -32020, "Header mismatch: MCP-Protocol-Version header is required", NULL);
		return -1;
	}
	if (body_version && !header_eq(hv, body_version, strlen(body_version))) {
		snprintf(msg, sizeof(msg), "Header mismatch: MCP-Protocol-Version header '%.*s' does not "
		         "match _meta protocolVersion '%.*s'", utf8_clip(hv->value, hv->value_len, 40),
		         hv->value, utf8_clip(body_version, strlen(body_version), 40), body_version);
		rpc_error(c, 400, -32020, msg, NULL);
		return -1;
	}
	if (!header_eq(hm, c->method, c->method_len)) {
		snprintf(msg, sizeof(msg), "Header mismatch: Mcp-Method header %s the body method '%.*s'",
		         hm ? "does not match" : "is required and must equal",
		         utf8_clip(c->method, c->method_len, 60), c->method);
		rpc_error(c, 400, -32020, msg, NULL);
		return -1;
	}
	if (rpc_method_is(c, "tools/call") || rpc_method_is(c, "resources/read")) {
		const char *member = rpc_method_is(c, "tools/call") ? "name" : "uri";
		json_object *name = NULL;
		if (c->params && json_object_object_get_ex(c->params, member, &name) &&
		    json_object_is_type(name, json_type_string) &&
		    !mcp_name_matches(http_find_header(c->http, "Mcp-Name"), json_object_get_string(name),
		                      (size_t)json_object_get_string_len(name))) {
			const char *n = json_object_get_string(name);
			snprintf(msg, sizeof(msg), "Header mismatch: Mcp-Name header is missing or does not "
			         "match params.%s '%.*s'", member, utf8_clip(n, strlen(n), 60), n);
			rpc_error(c, 400, -32020, msg, NULL);
			return -1;
		}
	}
	return 0;
}

static void unsupported_version(struct rpc *c, const char *requested, size_t len)
{
	json_object *data = json_object_new_object();
	char msg[128];

	json_object_object_add(data, "requested",
	                       json_object_new_string_len(requested, utf8_clip(requested, len, 100)));
	json_object_object_add(data, "supported", rpc_versions_array());
	snprintf(msg, sizeof(msg), "Unsupported protocol version; supported: %s, %s, %s, %s",
	         supported_versions[0], supported_versions[1], supported_versions[2], supported_versions[3]);
	rpc_error(c, 400, -32022, msg, json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN));
	json_object_put(data);
}

/* 2026-07-28: every request's _meta names its protocol version and the
 * client's capabilities (basic/index, "Per-request protocol fields"). */
static int has_required_meta(json_object *meta)
{
	json_object *v = NULL, *caps = NULL;

	return meta && json_object_is_type(meta, json_type_object) &&
	       json_object_object_get_ex(meta, META_VERSION, &v) && json_object_is_type(v, json_type_string) &&
	       json_object_object_get_ex(meta, META_CAPS, &caps) && json_object_is_type(caps, json_type_object);
}

static int valid_id(json_object *id)
{
	return json_object_is_type(id, json_type_string) || json_object_is_type(id, json_type_int);
}

/* The body as one JSON-RPC object: strict JSON first (json-c is lenient,
 * so the raw text is checked: RFC 8259, UTF-8, nothing but whitespace
 * after the value, a NUL byte is not whitespace), then json-c's tree.
 * 0, or -1 answered. */
static int parse_message(struct rpc *c, json_tokener *tok, const char *body, size_t body_len,
                         struct json_text_info *text)
{
	enum json_tokener_error jerr;
	char msg[200];

	if (json_text_scan(body, body_len, text) < 0) {
		snprintf(msg, sizeof(msg), "Parse error: %s (byte %zu)", text->error, text->error_at);
		rpc_error(c, 400, -32700, msg, NULL);
		return -1;
	}
	c->msg = json_tokener_parse_ex(tok, body, (int)body_len);
	jerr = json_tokener_get_error(tok);
	if (jerr != json_tokener_success) {
		/* Strict JSON that json-c still refuses: nested too deep. */
		snprintf(msg, sizeof(msg), "Parse error: %s", json_tokener_error_desc(jerr));
		rpc_error(c, 400, -32700, msg, NULL);
		return -1;
	}
	c->text_problem = text->nul_key ? "an object key contains NUL (\\u0000)"
	                : text->lone_surrogate ? "a string contains an unpaired UTF-16 surrogate "
	                                         "escape (\\ud800-\\udfff); send valid Unicode"
	                : NULL;
	if (json_object_is_type(c->msg, json_type_array)) {
		rpc_error(c, 400, -32600, "Invalid Request: batches are not supported; send one message per POST", NULL);
		return -1;
	}
	if (!json_object_is_type(c->msg, json_type_object)) {
		rpc_error(c, 400, -32600, "Invalid Request: the body must be a JSON-RPC object", NULL);
		return -1;
	}
	return 0;
}

/* The id, echoed as sent (json-c saturates integers past 64 bits). 0, or
 * -1 answered. */
static int read_id(struct rpc *c, const struct json_text_info *text, json_object **jid)
{
	if (!json_object_object_get_ex(c->msg, "id", jid))
		return 0;
	if (!valid_id(*jid)) {
		rpc_error(c, 400, -32600, "Invalid Request: id must be a string or an integer", NULL);
		return -1;
	}
	if (text->id)
		snprintf(c->id_json, sizeof(c->id_json), "%.*s", (int)(text->id_len < sizeof(c->id_json)
		         ? text->id_len : sizeof(c->id_json)), text->id);
	else
		snprintf(c->id_json, sizeof(c->id_json), "%s",
		         json_object_to_json_string_ext(*jid, JSON_C_TO_STRING_PLAIN));
	if (strlen(c->id_json) >= sizeof(c->id_json) - 1) {
		c->id_json[0] = '\0';
		rpc_error(c, 400, -32600, "Invalid Request: id is longer than 150 bytes", NULL);
		return -1;
	}
	return 0;
}

/* jsonrpc, method and params. 0, or -1 answered (also 202 for a client's
 * response or error, which needs none). */
static int read_method(struct rpc *c, json_object *jid)
{
	json_object *jv = NULL, *jm = NULL;

	if (!json_object_object_get_ex(c->msg, "jsonrpc", &jv) || !json_object_is_type(jv, json_type_string) ||
	    strcmp(json_object_get_string(jv), "2.0") != 0) {
		rpc_error(c, 400, -32600, "Invalid Request: jsonrpc must be \"2.0\"", NULL);
		return -1;
	}
	if (!json_object_object_get_ex(c->msg, "method", &jm)) {
		if (jid && (json_object_object_get_ex(c->msg, "result", NULL) ||
		            json_object_object_get_ex(c->msg, "error", NULL))) {
			response_set_body(c->resp, 202, NULL, 0);
			snprintf(c->resp->outcome, sizeof(c->resp->outcome), "accepted");
			return -1;
		}
		rpc_error(c, 400, -32600, "Invalid Request: method is required", NULL);
		return -1;
	}
	if (!json_object_is_type(jm, json_type_string)) {
		rpc_error(c, 400, -32600, "Invalid Request: method must be a string", NULL);
		return -1;
	}
	c->method = json_object_get_string(jm);
	c->method_len = (size_t)json_object_get_string_len(jm);
	snprintf(c->resp->rpc_method, sizeof(c->resp->rpc_method), "%.*s",
	         utf8_clip(c->method, c->method_len, 39), c->method);
	if (json_object_object_get_ex(c->msg, "params", &c->params) && c->params &&
	    !json_object_is_type(c->params, json_type_object)) {
		rpc_error(c, 400, -32600, "Invalid Request: params must be an object", NULL);
		return -1;
	}
	return 0;
}

/* Which era the message speaks (the MCP-Protocol-Version header or the
 * body's _meta) and that era's rules. 0, or -1 answered. */
static int read_era(struct rpc *c, const struct http_header *hv, json_object *jid)
{
	json_object *meta = NULL, *bv = NULL;
	const char *body_version = NULL;

	if (c->params && json_object_object_get_ex(c->params, "_meta", &meta) &&
	    json_object_is_type(meta, json_type_object) &&
	    json_object_object_get_ex(meta, META_VERSION, &bv)) {
		if (!json_object_is_type(bv, json_type_string)) {
			rpc_error(c, 400, -32600, "Invalid Request: _meta protocolVersion must be a string", NULL);
			return -1;
		}
		body_version = json_object_get_string(bv);
	}
	c->modern = (hv && header_eq(hv, MCP_MODERN, strlen(MCP_MODERN))) || body_version;
	if (!c->modern)
		return 0;
	if (check_modern_headers(c, body_version) < 0)
		return -1;
	if (body_version && !mcp_version_supported(body_version, (size_t)json_object_get_string_len(bv))) {
		unsupported_version(c, body_version, strlen(body_version));
		return -1;
	}
	if (jid && !has_required_meta(meta)) {
		rpc_error(c, 400, -32602, "Invalid params: a 2026-07-28 request must carry _meta "
		          "\"" META_VERSION "\" (a string) and \"" META_CAPS "\" (an object)", NULL);
		return -1;
	}
	return 0;
}


struct mcp_wait *mcp_handle(struct worker_ctx *w, const struct http_request *req, const char *body,
                            size_t body_len, const struct auth_identity *id, const char *request_id,
                            struct response *resp, mcp_resume_fn resume, void *owner)
{
	struct rpc c = { .w = w, .http = req, .id = id, .request_id = request_id, .resp = resp,
	                 .resume = resume, .owner = owner };
	const struct http_header *hv = http_find_header(req, "MCP-Protocol-Version");
	json_tokener *tok = json_tokener_new_ex(64);
	json_object *jid = NULL;
	struct json_text_info text = { 0 };

	if (parse_message(&c, tok, body, body_len, &text) < 0 || read_id(&c, &text, &jid) < 0)
		goto out;
	/* Checked once the id is known, so the error carries it. */
	if (hv && !mcp_version_supported(hv->value, hv->value_len)) {
		unsupported_version(&c, hv->value, hv->value_len);
		goto out;
	}
	if (read_method(&c, jid) < 0 || read_era(&c, hv, jid) < 0)
		goto out;
	if (!jid) {
		/* Notifications (notifications/initialized and the like). */
		response_set_body(resp, 202, NULL, 0);
		snprintf(resp->outcome, sizeof(resp->outcome), "accepted");
		goto out;
	}
	mcp_dispatch(&c);
out:
	json_object_put(c.msg);
	json_tokener_free(tok);
	return c.wait;
}
