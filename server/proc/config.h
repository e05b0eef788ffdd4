/*
 * config.h - the server's configuration: `key = value` file plus
 * MCP_INVOICED_<KEY> environment overrides. Parsed by the master (and the CLI
 * sub-commands); workers inherit the parsed struct across fork.
 */
#ifndef MCPI_CONFIG_H
#define MCPI_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#define CONFIG_DEFAULT_PATH "/etc/mcp-invoiced/mcp-invoiced.conf"

struct config {
	char *listen;
	long workers;
	long worker_connections;
	char *tls_cert;
	char *tls_key;
	char *database_url;
	char *migrate_database_url;
	char *database_statements; /* prepared | unnamed (PgBouncer transaction mode) */
	char *jwt_alg;              /* one algorithm with a key file; a space-separated list with a JWKS */
	char *jwt_secret_file;
	char *jwt_public_key_file;
	char *jwt_jwks_uri;         /* https URL of the issuer's JWKS; "" = discover it from jwt_issuer */
	char *jwt_jwks_ca_file;     /* PEM bundle trusted for JWKS and discovery fetches; "" = system store */
	long jwt_jwks_refresh_s;    /* fetch the JWKS again this long after the last success */
	long jwt_jwks_cooldown_s;   /* at most one fetch per this long, however many ask */
	char *jwt_jwks_cache_file;  /* the last good key set, loaded when the provider is unreachable */
	char *jwt_issuer;
	char *jwt_audience;
	long jwt_leeway_s;
	char *jwt_tenant_claim;
	char *public_url;
	char *authorization_servers; /* space-separated https URLs for RFC 9728 metadata */
	char *mcp_path;
	long rate_limit_rps;
	long rate_limit_burst;
	long tenant_rate_limit_rps;
	long tenant_rate_limit_burst;
	long max_inflight;
	long cluster_hosts;         /* servers sharing the limits above behind one balancer */
	long request_timeout_ms;
	long max_body_bytes;
	long worker_body_budget_bytes; /* request bytes one worker may buffer, all connections */
	long header_timeout_s;
	long max_connections_per_ip; /* 0 = no cap; counted over all workers (peer_limit.h) */
	long idle_timeout_s;
	long lingering_time_s;    /* after a refusal, discard what the client still sends this long; 0 = close at once */
	long lingering_timeout_s; /* ... and at most this long between two reads */
	char *allowed_origins;
	long shutdown_timeout_s;
	char *user;
	char *log_level;
	char *metrics_listen; /* "" = /metrics on the main listener, loopback clients only */
	long require_known_customer; /* 1: create_invoice refuses customer_ids never saved */
	long renderers;            /* PDF renderer processes */
	long render_timeout_ms;    /* one document's time budget in a renderer */
	long render_queue;         /* documents one worker may have waiting or rendering */
	long inline_pdf_max_bytes; /* largest PDF embedded in a tool result */
	char *source_path; /* the file it was read from */
};

/*
 * Loads path (NULL = default path; a missing default file is allowed and
 * leaves defaults, a missing explicit file is an error), then environment
 * overrides, then checks the whole. On error returns -1 and writes
 * "file:line: reason" into err. The caller frees with config_free.
 */
int config_load(struct config *cfg, const char *path, char *err, size_t errlen);

/* Parses config text (for tests and fuzzing); name labels error messages. */
int config_parse_text(struct config *cfg, const char *name, const char *text,
                      char *err, size_t errlen);

/* Fills defaults; must precede config_parse_text. */
void config_defaults(struct config *cfg);

/* Whole-configuration checks (required keys, cross-key rules). */
int config_validate(const struct config *cfg, char *err, size_t errlen);

void config_free(struct config *cfg);

/* 1 if the keys come from a JWKS: jwt_jwks_uri is set, or neither key file
 * is and jwt_issuer is an https URL (discovery). */
int config_jwks_mode(const struct config *cfg);

/* Writes the effective configuration (secrets are paths, never contents). */
void config_dump(const struct config *cfg, char *buf, size_t cap);
/* Every key of the table, one per line: name, type, range or values, and
 * the built-in default, tab-separated (`mcp-invoiced config-keys`: the man
 * page check compares mcp-invoiced.conf(5) against it). */
void config_keys_print(FILE *out);

#endif
