/*
 * schema.c - the tool table as JSON Schema for tools/list (input and
 * output schemas) and as the README's markdown table. Runs in workers;
 * tools_markdown also in the CLI.
 */
#include <stdio.h>

#include "server/lib/log.h"
#include "server/proto/entry.h"
#include "worker/tools/tools.h"

static json_object *schema_of_object(const struct arg_spec *specs);

static json_object *schema_of(const struct arg_spec *sp)
{
	json_object *s = json_object_new_object();

	switch (sp->type) {
	case ARG_STRING:
		json_object_object_add(s, "type", json_object_new_string("string"));
		json_object_object_add(s, "minLength", json_object_new_int64(sp->min));
		json_object_object_add(s, "maxLength", json_object_new_int64(sp->max));
		if (sp->charset == CHARS_ID)
			json_object_object_add(s, "pattern", json_object_new_string("^[A-Za-z0-9_.:-]+$"));
		else if (sp->charset == CHARS_UUID)
			json_object_object_add(s, "format", json_object_new_string("uuid"));
		else if (sp->charset == CHARS_EMAIL)
			json_object_object_add(s, "format", json_object_new_string("email"));
		break;
	case ARG_ENUM: {
		json_object *e = json_object_new_array();
		char buf[256], *save = NULL;
		snprintf(buf, sizeof(buf), "%s", sp->enum_values);
		for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
			json_object_array_add(e, json_object_new_string(t));
		json_object_object_add(s, "type", json_object_new_string("string"));
		json_object_object_add(s, "enum", e);
		break;
	}
	case ARG_DATE:
		json_object_object_add(s, "type", json_object_new_string("string"));
		json_object_object_add(s, "format", json_object_new_string("date"));
		break;
	case ARG_TIMESTAMP:
		json_object_object_add(s, "type", json_object_new_string("string"));
		json_object_object_add(s, "format", json_object_new_string("date-time"));
		break;
	case ARG_CURRENCY:
		json_object_object_add(s, "type", json_object_new_string("string"));
		json_object_object_add(s, "pattern", json_object_new_string("^[A-Z]{3}$"));
		break;
	case ARG_INTEGER:
		json_object_object_add(s, "type", json_object_new_string("integer"));
		json_object_object_add(s, "minimum", json_object_new_int64(sp->min));
		json_object_object_add(s, "maximum", json_object_new_int64(sp->max));
		if (sp->has_default)
			json_object_object_add(s, "default", json_object_new_int64(sp->default_int));
		break;
	case ARG_BOOLEAN:
		json_object_object_add(s, "type", json_object_new_string("boolean"));
		break;
	case ARG_OBJECT:
		if (sp->or_string) {
			json_object *any = json_object_new_array(), *str = json_object_new_object();
			json_object_object_add(str, "type", json_object_new_string("string"));
			json_object_object_add(str, "minLength", json_object_new_int64(sp->min));
			json_object_object_add(str, "maxLength", json_object_new_int64(sp->max));
			json_object_array_add(any, str);
			json_object_array_add(any, schema_of_object(sp->items));
			json_object_object_add(s, "anyOf", any);
		} else {
			json_object_put(s);
			s = schema_of_object(sp->items);
		}
		break;
	case ARG_OBJECT_ARRAY:
	case ARG_ARRAY:
		json_object_object_add(s, "type", json_object_new_string("array"));
		json_object_object_add(s, "minItems", json_object_new_int64(sp->min));
		json_object_object_add(s, "maxItems", json_object_new_int64(sp->max));
		json_object_object_add(s, "items", sp->type == ARG_ARRAY ? schema_of(sp->items)
		                                                         : schema_of_object(sp->items));
		break;
	}
	if (sp->default_str)
		json_object_object_add(s, "default", json_object_new_string(sp->default_str));
	json_object_object_add(s, "description", json_object_new_string(sp->description));
	return s;
}

static json_object *schema_of_object(const struct arg_spec *specs)
{
	json_object *s = json_object_new_object(), *props = json_object_new_object();
	json_object *req = json_object_new_array();

	for (const struct arg_spec *sp = specs; sp->name; sp++) {
		json_object_object_add(props, sp->name, schema_of(sp));
		if (sp->required)
			json_object_array_add(req, json_object_new_string(sp->name));
	}
	json_object_object_add(s, "type", json_object_new_string("object"));
	json_object_object_add(s, "properties", props);
	json_object_object_add(s, "required", req);
	json_object_object_add(s, "additionalProperties", json_object_new_boolean(0));
	return s;
}

/* A "type" array (["string", "null"]) is legal JSON Schema but not
 * portable: clients that map tool schemas onto a single-type dialect
 * (Gemini's OpenAPI subset, the Inspector's portability check) reject it.
 * Each becomes anyOf single-type branches, everywhere in schema. */
static void split_type_unions(json_object *schema)
{
	json_object *type;

	if (json_object_is_type(schema, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(schema); i++)
			split_type_unions(json_object_array_get_idx(schema, i));
		return;
	}
	if (!json_object_is_type(schema, json_type_object))
		return;
	json_object_object_foreach(schema, key, value) {
		(void)key;
		split_type_unions(value);
	}
	if (json_object_object_get_ex(schema, "type", &type) && json_object_is_type(type, json_type_array) &&
	    !json_object_object_get_ex(schema, "anyOf", NULL)) {
		json_object *branches = json_object_new_array();
		for (size_t i = 0; i < json_object_array_length(type); i++) {
			json_object *b = json_object_new_object();
			json_object_object_add(b, "type", json_object_get(json_object_array_get_idx(type, i)));
			json_object_array_add(branches, b);
		}
		json_object_object_del(schema, "type");
		json_object_object_add(schema, "anyOf", branches);
	}
}

/* The declared success schema, widened so that an error result (isError,
 * structuredContent.error) also validates: clients such as the official
 * TypeScript SDK check structuredContent against outputSchema either way. */
static json_object *output_schema_of(const struct tool_def *t)
{
	json_object *schema = json_tokener_parse(t->output_schema), *props, *req = NULL;
	json_object *any = json_object_new_array(), *ok = json_object_new_object();
	json_object *failed = json_object_new_object(), *failed_req = json_object_new_array();

	props = json_object_object_get(schema, "properties");
	json_object_object_add(props, "error", json_tokener_parse(
		"{\"type\":\"object\",\"description\":\"Present only when isError is true.\","
		"\"properties\":{\"code\":{\"type\":\"string\",\"enum\":[\"INVALID_INPUT\",\"NOT_FOUND\","
		"\"INVALID_STATE\",\"CONFLICT\",\"DATABASE_UNAVAILABLE\",\"TIMEOUT\",\"RENDERER_UNAVAILABLE\","
		"\"INTERNAL\"]},"
		"\"message\":{\"type\":\"string\"},\"field\":{\"type\":\"string\"},"
		"\"retryable\":{\"type\":\"boolean\"}},\"required\":[\"code\",\"message\",\"retryable\"]}"));
	if (json_object_object_get_ex(schema, "required", &req)) {
		json_object_object_add(ok, "required", json_object_get(req));
		json_object_object_del(schema, "required");
	}
	json_object_array_add(failed_req, json_object_new_string("error"));
	json_object_object_add(failed, "required", failed_req);
	split_type_unions(schema);
	json_object_array_add(any, ok);
	json_object_array_add(any, failed);
	json_object_object_add(schema, "anyOf", any);
	return schema;
}

/* One tool's tools/list entry. */
static json_object *tool_entry(const struct tool_def *t)
{
	json_object *o = json_object_new_object(), *ann = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(t->name));
	json_object_object_add(o, "title", json_object_new_string(t->title));
	json_object_object_add(o, "description", json_object_new_string(t->description));
	json_object_object_add(o, "inputSchema", schema_of_object(t->args));
	json_object_object_add(o, "outputSchema", output_schema_of(t));
	json_object_object_add(ann, "title", json_object_new_string(t->title));
	json_object_object_add(ann, "readOnlyHint", json_object_new_boolean(t->read_only));
	json_object_object_add(ann, "destructiveHint", json_object_new_boolean(t->destructive));
	json_object_object_add(ann, "idempotentHint", json_object_new_boolean(t->idempotent));
	json_object_object_add(ann, "openWorldHint", json_object_new_boolean(0));
	json_object_object_add(o, "annotations", ann);
	return o;
}

json_object *tools_list_json(int (*allowed)(const char *scope, const void *ctx), const void *ctx)
{
	/* Built once per set of visible tools (a token's scopes pick one of
	 * a handful) and shared. */
	static struct { unsigned long mask; json_object *list; } cache[16];
	static json_object *all[TOOLS_MAX];
	unsigned long mask = 0;
	size_t i;

	for (i = 0; i < tools_count(); i++)
		if (allowed(tools_at(i)->scope, ctx))
			mask |= 1UL << i;
	for (i = 0; i < sizeof(cache) / sizeof(cache[0]) && cache[i].list; i++)
		if (cache[i].mask == mask)
			return cache[i].list;
	if (i == sizeof(cache) / sizeof(cache[0]))
		fatal("tools_list_json: more scope combinations than expected");
	cache[i].mask = mask;
	cache[i].list = json_object_new_array();
	for (size_t t = 0; t < tools_count(); t++) {
		if (!(mask & (1UL << t)))
			continue;
		if (!all[t])
			all[t] = tool_entry(tools_at(t));
		json_object_array_add(cache[i].list, json_object_get(all[t]));
	}
	return cache[i].list;
}

static size_t append_args(char *buf, size_t cap, size_t n, const struct arg_spec *specs,
                          const char *prefix)
{
	for (const struct arg_spec *sp = specs; sp->name && n < cap; sp++) {
		n += (size_t)snprintf(buf + n, cap - n, "%s`%s%s`%s", n && buf[n - 1] != ' ' && buf[n - 1] != '(' ? ", " : "",
		                      prefix, sp->name, sp->required ? "" : "?");
		/* an ARG_ARRAY's items is one spec, not a list of fields */
		if (sp->items && sp->type != ARG_ARRAY) {
			char sub[64];
			snprintf(sub, sizeof(sub), "%s%s.", sp->name, sp->type == ARG_OBJECT ? "" : "[]");

			n += (size_t)snprintf(buf + n, cap - n, " (");
			n = append_args(buf, cap, n, sp->items, sub);
			n += (size_t)snprintf(buf + n, cap - n, ")");
		}
	}
	return n;
}

char *tools_markdown(void)
{
	size_t cap = 16384, n = 0;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
	n += (size_t)snprintf(buf, cap, "| tool | what it does | scope | arguments (`?` = optional) | hints |\n"
	                                "| --- | --- | --- | --- | --- |\n");
	for (size_t i = 0; i < tools_count() && n < cap; i++) {
		const struct tool_def *t = tools_at(i);
		n += (size_t)snprintf(buf + n, cap - n, "| `%s` | %s | `%s` | ", t->name, t->title, t->scope);
		n = append_args(buf, cap, n, t->args, "");
		n += (size_t)snprintf(buf + n, cap - n, " | %s%s%s |\n",
		                      t->read_only ? "read-only" : "writes",
		                      t->destructive ? ", destructive" : "",
		                      t->idempotent ? ", idempotent" : "");
	}
	return buf;
}
