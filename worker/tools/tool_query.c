/*
 * tool_query.c - a tool's statement from its declaration (tools.h, struct
 * tool_statement): the parameters of a validated call resolved by name
 * (the caller, the request, arguments converted by their type, what the
 * tool's prepare computed), a write's generated SQL, and the check of
 * every declaration (the unit test and every process that prepares
 * statements run it). Runs in workers (and the CLI, which prints the
 * statement table).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/auth/auth.h"
#include "server/lib/log.h"
#include "server/proc/config.h"
#include "worker/tools/tools.h"

#define EXCEPT "@except "

static const char *const sources[] = { "@tenant", "@subject", "@request_id", "@fingerprint",
                                       "@require_known_customer" };

const char *tool_statement_name(const struct tool_def *def)
{
	return def->stmt.name ? def->stmt.name : def->name;
}

int tool_statement_nparams(const struct tool_statement *st)
{
	int n = 0;

	while (n <= TOOL_MAX_PARAMS && st->params[n])
		n++;
	return n;
}

int tool_statement_param(const char *const *params, const char *name)
{
	for (int i = 0; params && name && i < TOOL_MAX_PARAMS && params[i]; i++)
		if (strcmp(params[i], name) == 0)
			return i;
	return -1;
}

void tool_call_set(struct tool_call *call, const char *name, const char *value)
{
	size_t n = sizeof(call->computed) / sizeof(call->computed[0]);

	for (size_t i = 0; i < n; i++)
		if (!call->computed[i].name || strcmp(call->computed[i].name, name) == 0) {
			call->computed[i].name = name;
			call->computed[i].value = value;
			return;
		}
	fatal("more than %zu computed parameters", n);
}

static const struct arg_spec *arg_named(const struct arg_spec *args, const char *name, size_t len)
{
	for (; args && args->name; args++)
		if (strlen(args->name) == len && strncmp(args->name, name, len) == 0)
			return args;
	return NULL;
}

/* An argument's value as a statement parameter (see tools.h). */
static const char *arg_value(struct tool_call *call, const struct arg_spec *spec, int text_only)
{
	json_object *v = NULL;
	int given = json_object_object_get_ex(call->args, spec->name, &v) && v;

	if (spec->type == ARG_BOOLEAN)
		return given && json_object_get_boolean(v) ? "true" : "false";
	if (!given)
		return NULL;
	if (json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	if (text_only)
		return NULL;
	if (spec->type == ARG_INTEGER) {
		if (call->nnum >= (int)(sizeof(call->num) / sizeof(call->num[0])))
			fatal("more than %zu integer parameters", sizeof(call->num) / sizeof(call->num[0]));
		snprintf(call->num[call->nnum], sizeof(call->num[0]), "%lld", (long long)json_object_get_int64(v));
		return call->num[call->nnum++];
	}
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

/* One parameter, by its declared name; NULL is SQL NULL. */
static const char *param_value(const struct tool_def *def, struct tool_call *call, const char *p)
{
	const char *bar = strchr(p, '|'), *colon = strchr(p, ':'), *v;
	size_t len = bar ? (size_t)(bar - p) : colon ? (size_t)(colon - p) : strlen(p);

	if (strcmp(p, "@tenant") == 0)
		return call->id->tenant;
	if (strcmp(p, "@subject") == 0)
		return call->id->sub;
	if (strcmp(p, "@request_id") == 0)
		return call->request_id;
	if (strcmp(p, "@fingerprint") == 0)
		return tool_args_fingerprint(call);
	if (strcmp(p, "@require_known_customer") == 0)
		return call->cfg && call->cfg->require_known_customer ? "true" : "false";
	if (strncmp(p, EXCEPT, strlen(EXCEPT)) == 0)
		return tool_args_except(call, p + strlen(EXCEPT));
	if (*p == '%') {
		for (size_t i = 0; i < sizeof(call->computed) / sizeof(call->computed[0]); i++)
			if (call->computed[i].name && strcmp(call->computed[i].name, p) == 0)
				return call->computed[i].value;
		return NULL;
	}
	v = arg_value(call, arg_named(def->args, p, len), colon != NULL);
	if (!v && bar)
		v = arg_value(call, arg_named(def->args, bar + 1, strlen(bar + 1)), 0);
	return v;
}

int tool_query_build(const struct tool_def *def, struct tool_call *call, struct tool_query *q,
                     struct tool_error *err)
{
	if (def->prepare && def->prepare(call, err) < 0)
		return -1;
	*q = (struct tool_query){ .stmt = tool_statement_name(def), .nparams = tool_statement_nparams(&def->stmt),
	                          .read_only = def->read_only, .ncols = def->stmt.ncols ? def->stmt.ncols : 1 };
	for (int i = 0; i < q->nparams; i++)
		q->params[i] = param_value(def, call, def->stmt.params[i]);
	return 0;
}

int tool_statement_sql(const struct tool_def *def, char *buf, size_t cap)
{
	int n = tool_statement_nparams(&def->stmt);
	size_t used = (size_t)snprintf(buf, cap, "SELECT result::text, err_state, err_message, err_detail"
	                               " FROM mcp_try_%s(", tool_statement_name(def));

	for (int i = 1; i <= n && used < cap; i++)
		used += (size_t)snprintf(buf + used, cap - used, "%s$%d", i > 1 ? ", " : "", i);
	if (used < cap)
		used += (size_t)snprintf(buf + used, cap - used, ")");
	return used < cap ? 0 : -1;
}

/* Whether one declared parameter resolves against def; why says what not. */
static int param_resolves(const struct tool_def *def, const char *p, char *why, size_t cap)
{
	const char *bar = strchr(p, '|'), *colon = strchr(p, ':');
	size_t len = bar ? (size_t)(bar - p) : colon ? (size_t)(colon - p) : strlen(p);

	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
		if (strcmp(p, sources[i]) == 0)
			return 0;
	if (strncmp(p, EXCEPT, strlen(EXCEPT)) == 0) {
		for (const char *w = p + strlen(EXCEPT); *w; w += strspn(w, " ")) {
			size_t n = strcspn(w, " ");
			if (!arg_named(def->args, w, n)) {
				snprintf(why, cap, "%s: %s names no argument '%.*s'", def->name, p, (int)n, w);
				return -1;
			}
			w += n;
		}
		return 0;
	}
	if (*p == '%' && p[1] && def->prepare)
		return 0;
	if (*p == '@' || *p == '%' || !arg_named(def->args, p, len) || (colon && strcmp(colon, ":text") != 0) ||
	    (bar && !arg_named(def->args, bar + 1, strlen(bar + 1)))) {
		snprintf(why, cap, "%s: parameter '%s' resolves to no source, computed value or argument", def->name, p);
		return -1;
	}
	return 0;
}

/* The highest $n in sql. */
static int highest_placeholder(const char *sql)
{
	int most = 0;

	for (const char *s = strchr(sql, '$'); s; s = strchr(s + 1, '$')) {
		int n = atoi(s + 1);
		most = n > most ? n : most;
	}
	return most;
}

int tool_statement_check(const struct tool_def *def, char *why, size_t cap)
{
	const struct tool_statement *st = &def->stmt;
	int n = tool_statement_nparams(st);
	char sql[512];

	if (n > TOOL_MAX_PARAMS || n == 0) {
		snprintf(why, cap, "%s: %d parameters (1 to %d)", def->name, n, TOOL_MAX_PARAMS);
		return -1;
	}
	for (int i = 0; i < n; i++)
		if (param_resolves(def, st->params[i], why, cap) < 0)
			return -1;
	if (!def->read_only == !!st->sql || (st->sql ? 0 : tool_statement_sql(def, sql, sizeof(sql))) < 0) {
		snprintf(why, cap, "%s: a read declares its SQL, a write's is generated", def->name);
		return -1;
	}
	if (highest_placeholder(st->sql ? st->sql : sql) != n) {
		snprintf(why, cap, "%s: %d parameters declared, the SQL uses $%d", def->name, n,
		         highest_placeholder(st->sql ? st->sql : sql));
		return -1;
	}
	if (st->lock_key && (def->read_only || tool_statement_param(st->params, st->lock_key) < 0)) {
		snprintf(why, cap, "%s: lock key '%s' names no parameter of a write", def->name, st->lock_key);
		return -1;
	}
	return 0;
}
