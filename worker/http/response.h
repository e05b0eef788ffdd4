/*
 * response.h - an HTTP response being built for one request: status, extra
 * header lines, a malloc'd body, and what the access log should say.
 * Built in workers by request.c and mcp.c, serialized by http_response.c.
 */
#ifndef MCPI_RESPONSE_H
#define MCPI_RESPONSE_H

#include <stddef.h>

struct response {
	int status;
	char headers[1536]; /* extra "Name: value\r\n" lines */
	size_t headers_len;
	char *body;         /* owned; freed by response_reset */
	size_t body_len;
	int close;          /* close the connection after sending */
	int admitted;       /* holds an in-flight slot until request_done */
	int unmetered;      /* a health probe: not counted in the request metrics */
	long long db_us;    /* time spent waiting for the database (0: none) */
	/* For the access log: */
	char rpc_method[40];
	char tool[48];
	char outcome[32];
	char tenant[129];
	char subject[128];
};

void response_init(struct response *r);
void response_reset(struct response *r);
void response_header(struct response *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Takes ownership of body (malloc'd). */
void response_set_body(struct response *r, int status, char *body, size_t len);
/* A JSON-RPC error body with id_json (pre-rendered; NULL = no id member)
 * and optional pre-rendered data JSON. */
void response_rpc_error(struct response *r, int status, const char *id_json, int code,
                        const char *message, const char *data_json);
/* Serializes status line, standard headers and body into a new buffer. */
char *response_serialize(const struct response *r, const char *request_id, int keep_alive,
                         size_t *len);

#endif
