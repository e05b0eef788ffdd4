/*
 * response.c - build and serialize HTTP/1.1 responses. Runs in workers.
 * Every response carries Content-Length, Cache-Control: no-store, HSTS and
 * the request id, so agents can quote it when reporting a problem.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/lib/log.h"
#include "worker/http/response.h"

void response_init(struct response *r)
{
	memset(r, 0, sizeof(*r));
	r->status = 500;
}

void response_reset(struct response *r)
{
	free(r->body);
	response_init(r);
}

void response_header(struct response *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(r->headers + r->headers_len, sizeof(r->headers) - r->headers_len - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || r->headers_len + (size_t)n + 2 >= sizeof(r->headers))
		fatal("response header overflow (broken invariant)");
	r->headers_len += (size_t)n;
	memcpy(r->headers + r->headers_len, "\r\n", 2);
	r->headers_len += 2;
}

void response_set_body(struct response *r, int status, char *body, size_t len)
{
	free(r->body);
	r->status = status;
	r->body = body;
	r->body_len = len;
}

void response_rpc_error(struct response *r, int status, const char *id_json, int code,
                        const char *message, const char *data_json)
{
	size_t cap = strlen(message) * 6 + (data_json ? strlen(data_json) : 0) + 256;
	char *body = malloc(cap);
	size_t n;

	if (!body)
		fatal("out of memory");
	/* MCP's schema allows no null id: an error about a message whose id is
	 * unknown (parse error, HTTP-level refusal) carries no id at all. */
	n = (size_t)snprintf(body, cap, "{\"jsonrpc\":\"2.0\",%s%s%s\"error\":{\"code\":%d,\"message\":",
	                     id_json ? "\"id\":" : "", id_json ? id_json : "", id_json ? "," : "", code);
	log_escape(body, cap - 64 - (data_json ? strlen(data_json) : 0), &n, message);
	if (data_json)
		n += (size_t)snprintf(body + n, cap - n, ",\"data\":%s", data_json);
	n += (size_t)snprintf(body + n, cap - n, "}}");
	response_set_body(r, status, body, n);
	snprintf(r->outcome, sizeof(r->outcome), "rpc_error_%d", -code);
}

static const char *reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

char *response_serialize(const struct response *r, const char *request_id, int keep_alive,
                         size_t *len)
{
	size_t cap = r->headers_len + r->body_len + 512, n;
	char *out = malloc(cap);

	if (!out)
		fatal("out of memory");
	n = (size_t)snprintf(out, cap,
	    "HTTP/1.1 %d %s\r\n"
	    "Content-Length: %zu\r\n"
	    "%s"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Strict-Transport-Security: max-age=31536000\r\n"
	    "X-Request-Id: %s\r\n"
	    "Connection: %s\r\n",
	    r->status, reason_phrase(r->status), r->body_len,
	    r->body_len && !strstr(r->headers, "Content-Type:") ? "Content-Type: application/json\r\n" : "",
	    request_id, keep_alive ? "keep-alive" : "close");
	memcpy(out + n, r->headers, r->headers_len);
	n += r->headers_len;
	memcpy(out + n, "\r\n", 2);
	n += 2;
	if (r->body_len) {
		memcpy(out + n, r->body, r->body_len);
		n += r->body_len;
	}
	*len = n;
	return out;
}
