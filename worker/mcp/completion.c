/*
 * completion.c - completion/complete (see completion.h). Runs in workers.
 * Only the tenant's own ids are ever offered: the database query runs as
 * the caller's tenant, like every tool.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "server/lib/currency.h"
#include "server/lib/utf8.h"
#include "worker/mcp/completion.h"
#include "worker/mcp/prompts.h"
#include "worker/tools/document.h"

/* The URI templates served under resources/templates/list (RFC 6570). */
static const char *const templates[] = { DOC_STATEMENT_TEMPLATE, DOC_INVOICE_TEMPLATE,
                                         DOC_CREDIT_NOTE_TEMPLATE, DOC_UBL_INVOICE_TEMPLATE,
                                         DOC_CII_INVOICE_TEMPLATE, DOC_UBL_CREDIT_NOTE_TEMPLATE,
                                         DOC_CII_CREDIT_NOTE_TEMPLATE };

/* 1 if the template has a variable called name ({a}, {?a,b}, {/a} ...). */
static int template_has_var(const char *tpl, const char *name, size_t name_len)
{
	const char *p = tpl;

	while ((p = strchr(p, '{')) != NULL) {
		const char *end = strchr(p, '}');
		if (!end)
			return 0;
		p++;
		if (strchr("+#./;?&", *p))
			p++;
		while (p < end) {
			size_t n = strcspn(p, ",}");
			if (n == name_len && memcmp(p, name, n) == 0)
				return 1;
			p += n + 1;
		}
		p = end + 1;
	}
	return 0;
}

static const char *find_template(const char *uri, size_t len)
{
	for (size_t i = 0; i < sizeof(templates) / sizeof(templates[0]); i++)
		if (strlen(templates[i]) == len && memcmp(templates[i], uri, len) == 0)
			return templates[i];
	return NULL;
}

static int starts_with(const char *s, const char *prefix, int fold)
{
	size_t n = strlen(prefix);
	return fold ? strncasecmp(s, prefix, n) == 0 : strncmp(s, prefix, n) == 0;
}

static json_object *currencies(const char *prefix)
{
	json_object *out = json_object_new_array();
	char code[4];

	for (size_t i = 0; currency_code_at(i, code); i++)
		if (starts_with(code, prefix, 1) && json_object_array_length(out) <= COMPLETION_MAX_VALUES)
			json_object_array_add(out, json_object_new_string(code));
	return out;
}

static json_object *words(const char *list, const char *prefix)
{
	json_object *out = json_object_new_array();
	char w[64];

	while (*list) {
		size_t n = strcspn(list, " ");
		snprintf(w, sizeof(w), "%.*s", (int)n, list);
		if (starts_with(w, prefix, 0))
			json_object_array_add(out, json_object_new_string(w));
		list += n;
		list += strspn(list, " ");
	}
	return out;
}

/* The first (or last) days of this month and the 23 before it, newest
 * first: the usual statement periods (this month's end included: a
 * statement may be dated at the end of the month under way). */
static json_object *month_bounds(const char *prefix, int last_day)
{
	json_object *out = json_object_new_array();
	time_t now = time(NULL);
	struct tm tm;
	char d[48];

	gmtime_r(&now, &tm);
	for (int k = 0; k < 24; k++) {
		int y = tm.tm_year + 1900, m = tm.tm_mon + 1 - k; /* k = 0: this month */
		while (m < 1) {
			m += 12;
			y--;
		}
		if (last_day) {
			static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
			int dd = days[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
			snprintf(d, sizeof(d), "%04d-%02d-%02d", y, m, dd);
		} else {
			snprintf(d, sizeof(d), "%04d-%02d-01", y, m);
		}
		if (starts_with(d, prefix, 0))
			json_object_array_add(out, json_object_new_string(d));
	}
	return out;
}

/* What to offer for an argument: a database kind (into cc->kind) or values. */
static void choose(struct completion_call *cc, const char *name, const struct arg_spec *spec)
{
	if (strcmp(name, "customer_id") == 0 || strcmp(name, "invoice_number") == 0 ||
	    strcmp(name, "invoice_id") == 0)
		snprintf(cc->kind, sizeof(cc->kind), "%s", name);
	else if (strcmp(name, "currency") == 0)
		cc->values = currencies(cc->prefix);
	else if (strcmp(name, "period_end") == 0)
		cc->values = month_bounds(cc->prefix, 1);
	else if (strcmp(name, "period_start") == 0)
		cc->values = month_bounds(cc->prefix, 0);
	else if (strcmp(name, "type") == 0 && !spec)
		cc->values = words("activity open_item", cc->prefix);
	else if (strcmp(name, "profile") == 0 && !spec)
		cc->values = words("en16931 peppol", cc->prefix);
	else if (spec && spec->type == ARG_ENUM)
		cc->values = words(spec->enum_values, cc->prefix);
	else
		cc->values = json_object_new_array(); /* free text: nothing to suggest */
}

static const char *string_member(json_object *o, const char *name, size_t *len)
{
	json_object *v = NULL;
	if (!o || !json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/* The argument being completed: a prompt's argument (its spec) or a
 * resource template's variable (no spec). 0, or -1 with msg. */
static int argument_spec(json_object *ref, const char *type, size_t type_len, const char *name,
                         size_t name_len, const struct arg_spec **spec, char *msg, size_t msg_cap)
{
	size_t n = 0;

	*spec = NULL;
	if (type_len == 10 && memcmp(type, "ref/prompt", 10) == 0) {
		const char *pname = string_member(ref, "name", &n);
		const struct prompt_def *p = pname ? prompts_find(pname, n) : NULL;
		const struct arg_spec *sp;
		if (!p) {
			snprintf(msg, msg_cap, "Invalid params: unknown prompt '%.*s'; prompts/list names them",
			         pname ? utf8_clip(pname, n, 60) : 0, pname ? pname : "");
			return -1;
		}
		for (sp = p->args; sp->name && strcmp(sp->name, name) != 0; sp++)
			;
		if (!sp->name) {
			snprintf(msg, msg_cap, "Invalid params: prompt %s has no argument '%.*s'", p->name,
			         utf8_clip(name, name_len, 60), name);
			return -1;
		}
		*spec = sp;
		return 0;
	}
	if (type_len == 12 && memcmp(type, "ref/resource", 12) == 0) {
		const char *uri = string_member(ref, "uri", &n);
		const char *tpl = uri ? find_template(uri, n) : NULL;
		if (!tpl) {
			snprintf(msg, msg_cap, "Invalid params: '%.*s' is not one of this server's resource "
			         "templates; resources/templates/list names them",
			         uri ? utf8_clip(uri, n, 100) : 0, uri ? uri : "");
			return -1;
		}
		if (!template_has_var(tpl, name, name_len)) {
			snprintf(msg, msg_cap, "Invalid params: template %s has no variable '%.*s'", tpl,
			         utf8_clip(name, name_len, 60), name);
			return -1;
		}
		return 0;
	}
	snprintf(msg, msg_cap, "Invalid params: ref.type must be \"ref/prompt\" or \"ref/resource\"");
	return -1;
}

int completion_prepare(json_object *params, struct completion_call *cc, struct tool_query *q,
                       char *msg, size_t msg_cap)
{
	json_object *ref = NULL, *arg = NULL, *ctx = NULL, *ctx_args = NULL;
	const char *type, *name, *value, *customer;
	size_t type_len = 0, name_len = 0, value_len = 0, customer_len = 0;
	const struct arg_spec *spec = NULL;

	if (!params || !json_object_object_get_ex(params, "ref", &ref) ||
	    !json_object_is_type(ref, json_type_object) ||
	    !(type = string_member(ref, "type", &type_len))) {
		snprintf(msg, msg_cap, "Invalid params: ref must be {\"type\": \"ref/prompt\", \"name\": ...} "
		         "or {\"type\": \"ref/resource\", \"uri\": ...}");
		return -1;
	}
	if (!json_object_object_get_ex(params, "argument", &arg) || !json_object_is_type(arg, json_type_object) ||
	    !(name = string_member(arg, "name", &name_len)) || !(value = string_member(arg, "value", &value_len))) {
		snprintf(msg, msg_cap, "Invalid params: argument must be {\"name\": string, \"value\": string}");
		return -1;
	}
	if (strlen(name) != name_len || strlen(value) != value_len || utf8_length(value, value_len) < 0) {
		snprintf(msg, msg_cap, "Invalid params: argument name and value must be UTF-8 without NUL");
		return -1;
	}
	if (value_len >= sizeof(cc->prefix)) {
		snprintf(msg, msg_cap, "Invalid params: argument.value is longer than %zu bytes",
		         sizeof(cc->prefix) - 1);
		return -1;
	}
	memcpy(cc->prefix, value, value_len + 1);
	if (argument_spec(ref, type, type_len, name, name_len, &spec, msg, msg_cap) < 0)
		return -1;
	choose(cc, name, spec);
	if (cc->values)
		return 0;
	json_object_object_get_ex(params, "context", &ctx);
	if (ctx && json_object_is_type(ctx, json_type_object))
		json_object_object_get_ex(ctx, "arguments", &ctx_args);
	customer = string_member(ctx_args, "customer_id", &customer_len);
	if (customer && strlen(customer) == customer_len && customer_len < sizeof(cc->customer_buf)) {
		memcpy(cc->customer_buf, customer, customer_len + 1);
		cc->customer = cc->customer_buf;
	}
	snprintf(cc->limit, sizeof(cc->limit), "%d", COMPLETION_MAX_VALUES);
	q->stmt = "complete";
	q->nparams = 5;
	q->params[0] = cc->tenant;
	q->params[1] = cc->kind;
	q->params[2] = cc->prefix;
	q->params[3] = strcmp(cc->kind, "invoice_number") == 0 ? cc->customer : NULL;
	q->params[4] = cc->limit;
	q->read_only = 1;
	q->ncols = 1;
	return 0;
}

json_object *completion_result(json_object *values)
{
	json_object *result = json_object_new_object(), *c = json_object_new_object();
	size_t n = json_object_array_length(values);
	int more = n > COMPLETION_MAX_VALUES;

	if (more)
		json_object_array_del_idx(values, COMPLETION_MAX_VALUES, n - COMPLETION_MAX_VALUES);
	json_object_object_add(c, "values", values);
	if (!more)
		json_object_object_add(c, "total", json_object_new_int((int)n));
	json_object_object_add(c, "hasMore", json_object_new_boolean(more));
	json_object_object_add(result, "completion", c);
	return result;
}

void completion_cleanup(struct completion_call *cc)
{
	json_object_put(cc->values);
	cc->values = NULL;
}
