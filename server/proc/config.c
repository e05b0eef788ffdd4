/*
 * config.c - parse and check the configuration file and its environment
 * overrides. Runs in the master (start-up and SIGHUP) and in CLI commands.
 * Every key is declared once in config_keys[]; unknown keys and bad values
 * are refused with the file, line and reason.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/lib/log.h"
#include "server/proc/config.h"

enum key_type { KEY_STRING, KEY_LONG, KEY_ENUM, KEY_ENUM_LIST };

struct config_key {
	const char *name;
	enum key_type type;
	size_t offset;
	long min, max;          /* KEY_LONG */
	const char *enum_values; /* KEY_ENUM: space-separated */
};

#define S(k) { #k, KEY_STRING, offsetof(struct config, k), 0, 0, NULL }
#define L(k, lo, hi) { #k, KEY_LONG, offsetof(struct config, k), lo, hi, NULL }
#define E(k, vals) { #k, KEY_ENUM, offsetof(struct config, k), 0, 0, vals }
#define EL(k, vals) { #k, KEY_ENUM_LIST, offsetof(struct config, k), 0, 0, vals }

static const struct config_key config_keys[] = {
	S(listen),
	L(workers, 1, 256),
	L(worker_connections, 1, 100000),
	L(max_connections_per_ip, 0, 100000),
	S(tls_cert),
	S(tls_key),
	S(database_url),
	S(migrate_database_url),
	E(database_statements, "prepared unnamed"),
	EL(jwt_alg, "HS256 RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA"),
	S(jwt_secret_file),
	S(jwt_public_key_file),
	S(jwt_jwks_uri),
	S(jwt_jwks_ca_file),
	L(jwt_jwks_refresh_s, 1, 86400),
	L(jwt_jwks_cooldown_s, 1, 3600),
	S(jwt_jwks_cache_file),
	S(jwt_issuer),
	S(jwt_audience),
	L(jwt_leeway_s, 0, 3600),
	S(jwt_tenant_claim),
	S(public_url),
	S(authorization_servers),
	S(mcp_path),
	L(rate_limit_rps, 1, 10000000),
	L(rate_limit_burst, 1, 10000000),
	L(tenant_rate_limit_rps, 0, 10000000),
	L(tenant_rate_limit_burst, 1, 10000000),
	L(max_inflight, 1, 1000000),
	L(cluster_hosts, 1, 1000),
	L(request_timeout_ms, 100, 3600000),
	L(max_body_bytes, 1024, 67108864),
	L(worker_body_budget_bytes, 65536, 17179869184L),
	L(header_timeout_s, 1, 3600),
	L(idle_timeout_s, 1, 86400),
	L(lingering_time_s, 0, 3600),
	L(lingering_timeout_s, 1, 3600),
	S(allowed_origins),
	L(shutdown_timeout_s, 1, 3600),
	L(require_known_customer, 0, 1),
	S(user),
	E(log_level, "debug info warn error"),
	S(metrics_listen),
	L(renderers, 1, 16),
	L(render_timeout_ms, 100, 600000),
	L(render_queue, 1, 10000),
	L(inline_pdf_max_bytes, 1024, 268435456),
};
#define NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

static char **str_field(struct config *cfg, const struct config_key *k)
{
	return (char **)((char *)cfg + k->offset);
}

static long *long_field(struct config *cfg, const struct config_key *k)
{
	return (long *)((char *)cfg + k->offset);
}

static void set_str(char **field, const char *v)
{
	free(*field);
	*field = strdup(v);
	if (!*field)
		fatal("out of memory");
}

void config_defaults(struct config *cfg)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	memset(cfg, 0, sizeof(*cfg));
	set_str(&cfg->listen, "127.0.0.1:8443");
	cfg->workers = ncpu > 0 ? ncpu : 1;
	cfg->worker_connections = 1024;
	set_str(&cfg->jwt_alg, "HS256");
	cfg->jwt_jwks_refresh_s = 600;
	cfg->jwt_jwks_cooldown_s = 30;
	set_str(&cfg->jwt_jwks_cache_file, "/var/lib/mcp-invoiced/jwks.cache");
	set_str(&cfg->database_statements, "prepared");
	cfg->jwt_leeway_s = 30;
	set_str(&cfg->jwt_tenant_claim, "tenant_id");
	set_str(&cfg->mcp_path, "/mcp");
	cfg->rate_limit_rps = 1000;
	cfg->rate_limit_burst = 1000;
	cfg->tenant_rate_limit_rps = 0;
	cfg->tenant_rate_limit_burst = 100;
	cfg->max_inflight = 64;
	cfg->cluster_hosts = 1;
	cfg->request_timeout_ms = 30000;
	cfg->max_body_bytes = 1048576;
	cfg->worker_body_budget_bytes = 67108864;
	cfg->header_timeout_s = 10;
	cfg->max_connections_per_ip = 256;
	cfg->idle_timeout_s = 75;
	cfg->lingering_time_s = 10;
	cfg->lingering_timeout_s = 2;
	cfg->shutdown_timeout_s = 10;
	set_str(&cfg->log_level, "info");
	cfg->renderers = 1;
	cfg->render_timeout_ms = 10000;
	cfg->render_queue = 32;
	cfg->inline_pdf_max_bytes = 1048576;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < NKEYS; i++)
		if (config_keys[i].type != KEY_LONG)
			free(*str_field(cfg, &config_keys[i]));
	free(cfg->source_path);
	memset(cfg, 0, sizeof(*cfg));
}

static const struct config_key *find_key(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

static int enum_contains(const char *vals, const char *v)
{
	size_t vl = strlen(v);
	const char *p = vals;

	while (*p) {
		const char *e = strchr(p, ' ');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == vl && memcmp(p, v, l) == 0)
			return 1;
		if (!e)
			break;
		p = e + 1;
	}
	return 0;
}

/* Levenshtein distance of a and b, for suggesting a key (short strings). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (lb >= sizeof(row) / sizeof(row[0]))
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (tolower((unsigned char)a[i - 1]) != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/* The key name is most likely a typo of, or NULL when none is close. */
static const char *nearest_key(const char *name)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1, len = strlen(name);

	for (size_t i = 0; i < NKEYS; i++) {
		size_t d = edit_distance(name, config_keys[i].name);
		if (d < best_d) {
			best_d = d;
			best = config_keys[i].name;
		}
	}
	return best && best_d <= (len / 3 > 2 ? len / 3 : 2) ? best : NULL;
}

/* 1 if v is one or more words of vals, separated by single spaces. */
static int list_of(const char *vals, const char *v)
{
	char word[32];

	if (!*v)
		return 0;
	while (*v) {
		size_t n = strcspn(v, " ");
		if (n == 0 || n >= sizeof(word))
			return 0;
		memcpy(word, v, n);
		word[n] = '\0';
		if (!enum_contains(vals, word))
			return 0;
		v += n;
		if (*v == ' ' && !*++v)
			return 0;
	}
	return 1;
}

/* Sets one key; on error writes the reason (without location) into err. */
static int set_key(struct config *cfg, const char *name, const char *value,
                   char *err, size_t errlen)
{
	const struct config_key *k = find_key(name);
	char *end;
	long v;

	if (!k) {
		const char *near = nearest_key(name);
		if (near)
			snprintf(err, errlen, "unknown key '%s' (did you mean '%s'?)", name, near);
		else
			snprintf(err, errlen, "unknown key '%s' (`mcp-invoiced config-keys` lists them)", name);
		return -1;
	}
	switch (k->type) {
	case KEY_LONG:
		errno = 0;
		v = strtol(value, &end, 10);
		if (!*value || *end || errno) {
			snprintf(err, errlen, "%s must be an integer, got '%s'", name, value);
			return -1;
		}
		if (v < k->min || v > k->max) {
			snprintf(err, errlen, "%s must be between %ld and %ld, got %ld",
			         name, k->min, k->max, v);
			return -1;
		}
		*long_field(cfg, k) = v;
		return 0;
	case KEY_ENUM:
		if (!enum_contains(k->enum_values, value)) {
			snprintf(err, errlen, "%s must be one of: %s; got '%s'", name,
			         k->enum_values, value);
			return -1;
		}
		set_str(str_field(cfg, k), value);
		return 0;
	case KEY_ENUM_LIST:
		if (!list_of(k->enum_values, value)) {
			snprintf(err, errlen, "%s must be one or more of: %s (separated by spaces); got '%s'",
			         name, k->enum_values, value);
			return -1;
		}
		set_str(str_field(cfg, k), value);
		return 0;
	case KEY_STRING:
		set_str(str_field(cfg, k), value);
		return 0;
	}
	return -1;
}

static char *trim(char *s)
{
	char *e;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int config_parse_text(struct config *cfg, const char *name, const char *text,
                      char *err, size_t errlen)
{
	char *copy = strdup(text), *line, reason[512];
	int lineno = 0, rc = 0;
	const char *p = text;

	if (!copy)
		fatal("out of memory");
	for (line = copy; line && *p; ) {
		char *nl = strchr(line, '\n'), *eq, *key, *val;
		if (nl)
			*nl = '\0';
		lineno++;
		{
			char *hash = strchr(line, '#');
			if (hash)
				*hash = '\0';
		}
		key = trim(line);
		if (*key) {
			for (const char *c = key; *c; c++) {
				if ((unsigned char)*c < 0x20 && *c != '\t') {
					snprintf(err, errlen, "%s:%d: control character in line", name, lineno);
					rc = -1;
					goto out;
				}
			}
			eq = strchr(key, '=');
			if (!eq) {
				snprintf(err, errlen, "%s:%d: expected 'key = value'", name, lineno);
				rc = -1;
				goto out;
			}
			*eq = '\0';
			val = trim(eq + 1);
			key = trim(key);
			if (set_key(cfg, key, val, reason, sizeof(reason)) < 0) {
				snprintf(err, errlen, "%s:%d: %s", name, lineno, reason);
				rc = -1;
				goto out;
			}
		}
		if (!nl)
			break;
		line = nl + 1;
	}
out:
	free(copy);
	return rc;
}

/* MCP_INVOICED_<KEY> variables: each must name a key (a typo is refused,
 * naming it and the nearest key), and its value is checked as in a file. */
static int apply_env(struct config *cfg, char *err, size_t errlen)
{
	static const char prefix[] = "MCP_INVOICED_";
	char name[128], reason[512];

	for (char **e = environ; *e; e++) {
		const char *eq = strchr(*e, '=');
		size_t n;
		if (strncmp(*e, prefix, sizeof(prefix) - 1) != 0 || !eq)
			continue;
		n = (size_t)(eq - *e) - (sizeof(prefix) - 1);
		if (n >= sizeof(name)) {
			snprintf(err, errlen, "environment %.*s...: names no configuration key", 40, *e);
			return -1;
		}
		for (size_t j = 0; j < n; j++)
			name[j] = (char)tolower((unsigned char)(*e)[sizeof(prefix) - 1 + j]);
		name[n] = '\0';
		if (!find_key(name)) {
			const char *near = nearest_key(name);
			char upper[128] = "";
			for (size_t j = 0; near && near[j] && j < sizeof(upper) - 1; j++)
				upper[j] = (char)toupper((unsigned char)near[j]), upper[j + 1] = '\0';
			snprintf(err, errlen, "environment %.*s names no configuration key%s%s%s", (int)(eq - *e), *e,
			         near ? " (did you mean MCP_INVOICED_" : "", upper, near ? "?)" : "");
			return -1;
		}
		if (set_key(cfg, name, eq + 1, reason, sizeof(reason)) < 0) {
			snprintf(err, errlen, "environment %.*s: %s", (int)(eq - *e), *e, reason);
			return -1;
		}
	}
	return 0;
}

static int read_file(const char *path, char **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long len;

	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || len > 1 << 20 ||
	    fseek(f, 0, SEEK_SET) < 0) {
		snprintf(err, errlen, "%s: cannot read or larger than 1 MiB", path);
		fclose(f);
		return -1;
	}
	buf = malloc((size_t)len + 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		snprintf(err, errlen, "%s: read failed", path);
		free(buf);
		fclose(f);
		return -1;
	}
	buf[len] = '\0';
	if (memchr(buf, '\0', (size_t)len)) {
		snprintf(err, errlen, "%s: contains NUL bytes", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	*out = buf;
	return 0;
}

static int valid_listen(const char *s)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (!colon || colon == s)
		return 0;
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535 || colon[1] == '\0')
		return 0;
	if (s[0] == '[')
		return colon[-1] == ']';
	return 1;
}

static int empty(const char *s)
{
	return !s || !*s;
}

int config_jwks_mode(const struct config *cfg)
{
	return !empty(cfg->jwt_jwks_uri) ||
	       (empty(cfg->jwt_secret_file) && empty(cfg->jwt_public_key_file) &&
	        cfg->jwt_issuer && strncmp(cfg->jwt_issuer, "https://", 8) == 0);
}

/* Where the keys come from: one key file for the one jwt_alg, or a JWKS
 * (an https jwt_jwks_uri, or discovery from an https jwt_issuer) for the
 * public-key algorithms listed in jwt_alg, with somewhere to send clients
 * for tokens (authorization_servers). */
static int validate_keys(const struct config *cfg, const char *where, char *err, size_t errlen)
{
	if (empty(cfg->jwt_issuer) || empty(cfg->jwt_audience)) {
		snprintf(err, errlen, "%s: jwt_issuer is required (and jwt_audience, which defaults to "
		         "public_url)", where);
		return -1;
	}
	if (config_jwks_mode(cfg)) {
		if (!empty(cfg->jwt_secret_file) || !empty(cfg->jwt_public_key_file)) {
			snprintf(err, errlen, "%s: jwt_jwks_uri and a key file (jwt_secret_file, "
			         "jwt_public_key_file) exclude each other", where);
			return -1;
		}
		if (!empty(cfg->jwt_jwks_uri) && strncmp(cfg->jwt_jwks_uri, "https://", 8) != 0) {
			snprintf(err, errlen, "%s: jwt_jwks_uri must be an https:// URL", where);
			return -1;
		}
		if (strcmp(cfg->jwt_alg, "HS256") == 0) {
			snprintf(err, errlen, "%s: keys from a JWKS need jwt_alg to list the public-key "
			         "algorithms the issuer signs with, e.g. \"RS256\" or \"ES256 RS256\"", where);
			return -1;
		}
		if (strncmp(cfg->jwt_issuer, "https://", 8) == 0 && empty(cfg->authorization_servers)) {
			snprintf(err, errlen, "%s: authorization_servers is empty: clients could not find where "
			         "to get a token for this https issuer's JWKS keys", where);
			return -1;
		}
		return 0;
	}
	if (strcmp(cfg->jwt_alg, "HS256") == 0) {
		if (empty(cfg->jwt_secret_file)) {
			snprintf(err, errlen, "%s: jwt_alg = HS256 needs jwt_secret_file", where);
			return -1;
		}
	} else if (empty(cfg->jwt_public_key_file)) {
		snprintf(err, errlen, "%s: jwt_alg = %s needs jwt_public_key_file (or jwt_jwks_uri)", where,
		         cfg->jwt_alg);
		return -1;
	}
	return 0;
}

int config_validate(const struct config *cfg, char *err, size_t errlen)
{
	const char *where = cfg->source_path ? cfg->source_path : "configuration";

	if (!valid_listen(cfg->listen)) {
		snprintf(err, errlen, "%s: listen must be HOST:PORT or [V6]:PORT, got '%s'", where, cfg->listen);
		return -1;
	}
	if (cfg->metrics_listen && *cfg->metrics_listen &&
	    (!valid_listen(cfg->metrics_listen) || strcmp(cfg->metrics_listen, cfg->listen) == 0)) {
		snprintf(err, errlen, "%s: metrics_listen must be HOST:PORT or [V6]:PORT other than listen, "
		         "got '%s'", where, cfg->metrics_listen);
		return -1;
	}
	if (!cfg->tls_cert || !*cfg->tls_cert || !cfg->tls_key || !*cfg->tls_key) {
		snprintf(err, errlen, "%s: tls_cert and tls_key are required", where);
		return -1;
	}
	if (!cfg->database_url || !*cfg->database_url) {
		snprintf(err, errlen, "%s: database_url is required", where);
		return -1;
	}
	if (validate_keys(cfg, where, err, errlen) < 0)
		return -1;
	if (cfg->worker_body_budget_bytes < cfg->max_body_bytes + 16384) {
		snprintf(err, errlen, "%s: worker_body_budget_bytes (%ld) must hold at least one full "
		         "request: max_body_bytes (%ld) plus 16384 for its head", where,
		         cfg->worker_body_budget_bytes, cfg->max_body_bytes);
		return -1;
	}
	if (!*cfg->jwt_tenant_claim) {
		snprintf(err, errlen, "%s: jwt_tenant_claim must not be empty", where);
		return -1;
	}
	if (cfg->mcp_path[0] != '/' || strpbrk(cfg->mcp_path, " ?#")) {
		snprintf(err, errlen, "%s: mcp_path must start with '/' and hold no space, '?' or '#'", where);
		return -1;
	}
	if (cfg->authorization_servers) {
		for (const char *a = cfg->authorization_servers; *a; ) {
			size_t n = strcspn(a, " ");
			if (n && (n <= 8 || strncmp(a, "https://", 8) != 0)) {
				snprintf(err, errlen, "%s: authorization_servers must be https:// URLs separated "
				         "by spaces, got '%.*s'", where, (int)(n > 80 ? 80 : n), a);
				return -1;
			}
			a += n;
			a += strspn(a, " ");
		}
	}
	if (cfg->public_url && *cfg->public_url &&
	    strncmp(cfg->public_url, "https://", 8) != 0 &&
	    strncmp(cfg->public_url, "http://", 7) != 0) {
		snprintf(err, errlen, "%s: public_url must start with https://", where);
		return -1;
	}
	return 0;
}

static void derive_defaults(struct config *cfg)
{
	char buf[512];

	if (!cfg->public_url || !*cfg->public_url) {
		snprintf(buf, sizeof(buf), "https://%s%s", cfg->listen, cfg->mcp_path);
		set_str(&cfg->public_url, buf);
	}
	/* A token must name us (RFC 8707): by default the resource URL itself. */
	if (!cfg->jwt_audience || !*cfg->jwt_audience)
		set_str(&cfg->jwt_audience, cfg->public_url);
	if (!cfg->migrate_database_url && cfg->database_url)
		set_str(&cfg->migrate_database_url, cfg->database_url);
	if (!cfg->allowed_origins)
		set_str(&cfg->allowed_origins, "");
	/* An issuer that is an https URL is, by RFC 8414, its authorization server. */
	if (!cfg->authorization_servers)
		set_str(&cfg->authorization_servers,
		        cfg->jwt_issuer && strncmp(cfg->jwt_issuer, "https://", 8) == 0 &&
		        !strchr(cfg->jwt_issuer, ' ') ? cfg->jwt_issuer : "");
	if (!cfg->metrics_listen)
		set_str(&cfg->metrics_listen, "");
}

int config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	const char *p = path ? path : CONFIG_DEFAULT_PATH;
	char *text = NULL;

	config_defaults(cfg);
	if (path || access(p, F_OK) == 0) {
		if (read_file(p, &text, err, errlen) < 0)
			return -1;
		if (config_parse_text(cfg, p, text, err, errlen) < 0) {
			free(text);
			return -1;
		}
		free(text);
		set_str(&cfg->source_path, p);
	}
	if (apply_env(cfg, err, errlen) < 0)
		return -1;
	derive_defaults(cfg);
	return config_validate(cfg, err, errlen);
}

/* A conninfo "password=" key or a URI "user:secret@" part. */
static int conninfo_has_password(const char *v)
{
	const char *scheme = strstr(v, "://"), *at;

	if (strstr(v, "password"))
		return 1;
	if (!scheme)
		return 0;
	at = strchr(scheme + 3, '@');
	return at && memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) != NULL;
}

void config_dump(const struct config *cfg, char *buf, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < NKEYS && n < cap; i++) {
		const struct config_key *k = &config_keys[i];
		if (k->type == KEY_LONG)
			n += (size_t)snprintf(buf + n, cap - n, "%s = %ld\n", k->name,
			                      *(const long *)((const char *)cfg + k->offset));
		else {
			const char *v = *(char *const *)((const char *)cfg + k->offset);
			if (v && strstr(k->name, "database_url") && conninfo_has_password(v))
				v = "(set; holds a password, not shown)";
			n += (size_t)snprintf(buf + n, cap - n, "%s = %s\n", k->name, v ? v : "");
		}
	}
}

void config_keys_print(FILE *out)
{
	struct config d;
	char dump[8192], *line, *save = NULL;
	size_t i = 0;

	config_defaults(&d);
	config_dump(&d, dump, sizeof(dump));
	for (line = strtok_r(dump, "\n", &save); line && i < NKEYS; line = strtok_r(NULL, "\n", &save), i++) {
		const struct config_key *k = &config_keys[i];
		const char *def = strstr(line, " = ") + 3;
		if (k->type == KEY_LONG)
			fprintf(out, "%s\tinteger\t%ld..%ld\t%s\n", k->name, k->min, k->max, def);
		else if (k->type == KEY_ENUM || k->type == KEY_ENUM_LIST)
			fprintf(out, "%s\tenum\t%s\t%s\n", k->name, k->enum_values, def);
		else
			fprintf(out, "%s\tstring\t-\t%s\n", k->name, def);
	}
	config_free(&d);
}
