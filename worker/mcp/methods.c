/*
 * methods.c - the MCP methods a worker answers: initialize and discover,
 * tools, prompts, completions and resources; a call that needs the database
 * or a renderer waits (struct mcp_wait) and is answered when they are.
 * Runs in workers.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/lib/clock.h"
#include "server/lib/log.h"
#include "server/lib/words.h"
#include "server/lib/strbuf.h"
#include "server/lib/utf8.h"
#include "worker/mcp/completion.h"
#include "worker/mcp/prompts.h"
#include "worker/mcp/rpc.h"
#include "worker/tools/document.h"

static const char instructions[] =
	"Invoices for the tenant in your token. Amounts are integers in minor units of the "
	"invoice currency (cents for USD). create_invoice makes a draft; list_invoices finds "
	"invoices by customer. Errors come back as tool results with structuredContent.error "
	"{code, message, field, retryable}: fix the named field, or retry when retryable.";

/* What both eras declare besides tools. */
static void add_capabilities(json_object *caps)
{
	json_object *prompts = json_object_new_object();

	json_object_object_add(prompts, "listChanged", json_object_new_boolean(0));
	json_object_object_add(caps, "prompts", prompts);
	json_object_object_add(caps, "completions", json_object_new_object());
	json_object_object_add(caps, "resources", json_object_new_object());
}

static void do_initialize(struct rpc *c)
{
	json_object *result = json_object_new_object(), *caps = json_object_new_object();
	json_object *tools = json_object_new_object(), *v = NULL;
	const char *version = "2025-11-25";

	if (c->params && json_object_object_get_ex(c->params, "protocolVersion", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    mcp_version_supported(json_object_get_string(v), (size_t)json_object_get_string_len(v)) &&
	    strcmp(json_object_get_string(v), MCP_MODERN) != 0)
		version = json_object_get_string(v);
	json_object_object_add(tools, "listChanged", json_object_new_boolean(0));
	json_object_object_add(caps, "tools", tools);
	add_capabilities(caps);
	json_object_object_add(result, "protocolVersion", json_object_new_string(version));
	json_object_object_add(result, "capabilities", caps);
	json_object_object_add(result, "serverInfo", rpc_server_info());
	json_object_object_add(result, "instructions", json_object_new_string(instructions));
	rpc_send_result(c, result);
}

static void do_discover(struct rpc *c)
{
	json_object *result = json_object_new_object(), *caps = json_object_new_object();

	json_object_object_add(caps, "tools", json_object_new_object());
	add_capabilities(caps);
	json_object_object_add(result, "supportedVersions", rpc_versions_array());
	json_object_object_add(result, "capabilities", caps);
	json_object_object_add(result, "instructions", json_object_new_string(instructions));
	json_object_object_add(result, "ttlMs", json_object_new_int(3600000));
	json_object_object_add(result, "cacheScope", json_object_new_string("public"));
	c->modern = 1;
	rpc_send_result(c, result);
}

/* A list whose content depends on the token: 2026-07-28 results say how
 * long it may be cached, and only by this caller. */
static void send_list_result(struct rpc *c, json_object *result)
{
	if (c->modern) {
		json_object_object_add(result, "ttlMs", json_object_new_int(3600000));
		json_object_object_add(result, "cacheScope", json_object_new_string("private"));
	}
	rpc_send_result(c, result);
}

/* A token sees in tools/list only the tools its scopes let it call. */
static int token_grants(const char *scope, const void *id)
{
	return auth_has_scope(id, scope);
}

static void do_tools_list(struct rpc *c)
{
	json_object *result = json_object_new_object();

	json_object_object_add(result, "tools", json_object_get(tools_list_json(token_grants, c->id)));
	send_list_result(c, result);
}

/* ---- resources: the rendered documents ---- */

static json_object *resource_template(const char *uri_template, const char *name, const char *title,
                                      const char *description, const char *mime)
{
	json_object *t = json_object_new_object();

	json_object_object_add(t, "uriTemplate", json_object_new_string(uri_template));
	json_object_object_add(t, "name", json_object_new_string(name));
	json_object_object_add(t, "title", json_object_new_string(title));
	json_object_object_add(t, "description", json_object_new_string(description));
	json_object_object_add(t, "mimeType", json_object_new_string(mime));
	return t;
}

static void private_cache(struct rpc *c, json_object *result)
{
	if (c->modern) {
		json_object_object_add(result, "ttlMs", json_object_new_int(0));
		json_object_object_add(result, "cacheScope", json_object_new_string("private"));
	}
}

/* The e-invoices (get_einvoice): UBL (profile en16931 or peppol) and CII. */
static void einvoice_templates(json_object *list)
{
	json_object_array_add(list, resource_template(DOC_UBL_INVOICE_TEMPLATE, "invoice-ubl",
		"Invoice (EN 16931 UBL 2.1 XML)", "One sent invoice as a UBL 2.1 e-invoice (get_einvoice); "
		"profile en16931 (default) or peppol (Peppol BIS Billing 3.0).", DOC_XML_MIME));
	json_object_array_add(list, resource_template(DOC_CII_INVOICE_TEMPLATE, "invoice-cii",
		"Invoice (EN 16931 CII XML)", "One sent invoice as a UN/CEFACT CII D16B e-invoice, the XML of "
		"a Factur-X EN 16931 PDF (get_einvoice).", DOC_XML_MIME));
	json_object_array_add(list, resource_template(DOC_UBL_CREDIT_NOTE_TEMPLATE, "credit-note-ubl",
		"Credit note (EN 16931 UBL 2.1 XML)", "One credit note as a UBL 2.1 CreditNote (get_einvoice); "
		"profile en16931 (default) or peppol.", DOC_XML_MIME));
	json_object_array_add(list, resource_template(DOC_CII_CREDIT_NOTE_TEMPLATE, "credit-note-cii",
		"Credit note (EN 16931 CII XML)", "One credit note as a CII D16B document of type 381 "
		"(get_einvoice).", DOC_XML_MIME));
}

/* Documents are rendered on demand from URIs the tools return: nothing is
 * listed, the templates are published. */
static void do_resources_list(struct rpc *c, int templates)
{
	json_object *result = json_object_new_object(), *list = json_object_new_array();

	if (templates) {
		json_object_array_add(list, resource_template(DOC_STATEMENT_TEMPLATE, "statement",
			"Customer statement (PDF)", "A customer's statement in one currency as of period_end "
			"(the figures are get_statement's); period_start defaults to the first of the month, "
			"type to activity (or open_item).", DOC_MIME));
		json_object_array_add(list, resource_template(DOC_INVOICE_TEMPLATE, "invoice",
			"Invoice (PDF)", "One invoice as a PDF document (get_invoice_pdf).", DOC_MIME));
		json_object_array_add(list, resource_template(DOC_CREDIT_NOTE_TEMPLATE, "credit-note",
			"Credit note (PDF)", "One credit note as a PDF document (get_credit_note_pdf).", DOC_MIME));
		einvoice_templates(list);
	}
	json_object_object_add(result, templates ? "resourceTemplates" : "resources", list);
	private_cache(c, result);
	rpc_send_result(c, result);
}

static void do_prompts_list(struct rpc *c)
{
	json_object *result = json_object_new_object();

	json_object_object_add(result, "prompts", prompts_list_json(token_grants, c->id));
	send_list_result(c, result);
}

static json_object *text_block(const char *text)
{
	json_object *content = json_object_new_array(), *block = json_object_new_object();
	json_object_object_add(block, "type", json_object_new_string("text"));
	json_object_object_add(block, "text", json_object_new_string(text));
	json_object_array_add(content, block);
	return content;
}

static void tool_error_result(struct rpc *c, const struct tool_error *err)
{
	json_object *result = json_object_new_object(), *sc = json_object_new_object();
	json_object *e = json_object_new_object();
	char text[TOOL_ERROR_MESSAGE_MAX + 100];

	json_object_object_add(e, "code", json_object_new_string(err->code));
	json_object_object_add(e, "message", json_object_new_string(err->message));
	if (err->field[0])
		json_object_object_add(e, "field", json_object_new_string(err->field));
	json_object_object_add(e, "retryable", json_object_new_boolean(err->retryable));
	json_object_object_add(sc, "error", e);
	snprintf(text, sizeof(text), "%s: %s", err->code, err->message);
	json_object_object_add(result, "content", text_block(text));
	json_object_object_add(result, "structuredContent", sc);
	json_object_object_add(result, "isError", json_object_new_boolean(1));
	snprintf(c->resp->outcome, sizeof(c->resp->outcome), "%s", err->code);
	rpc_send_result(c, result);
}

#define SERVER_INFO_JSON "{\"name\":\"" MCP_SERVER_NAME "\",\"title\":\"Invoices\",\"version\":\"" MCPI_VERSION "\"}"

/* Sends a result whose members (JSON text without the braces) are already
 * made, adding what a 2026-07-28 result carries. Takes ownership of members. */
static void send_members(struct rpc *c, char *members, int private_cache)
{
	size_t n = strlen(members), len;
	struct strbuf b;
	char *body;

	strbuf_init(&b, n + 400);
	strbuf_puts(&b, "{\"jsonrpc\":\"2.0\",\"id\":");
	strbuf_puts(&b, c->id_json);
	strbuf_puts(&b, ",\"result\":{");
	strbuf_append(&b, members, n);
	if (c->modern && private_cache)
		strbuf_puts(&b, ",\"ttlMs\":0,\"cacheScope\":\"private\"");
	if (c->modern)
		strbuf_puts(&b, ",\"resultType\":\"complete\",\"_meta\":{"
		                "\"io.modelcontextprotocol/serverInfo\":" SERVER_INFO_JSON "}");
	strbuf_puts(&b, "}}");
	free(members);
	body = strbuf_take(&b, &len);
	response_set_body(c->resp, 200, body, len);
	snprintf(c->resp->outcome, sizeof(c->resp->outcome), "ok");
}

/* A successful tool result, spliced from the JSON text the database made
 * (no object tree): the text block carries the same JSON, escaped, for
 * clients that do not read structuredContent. Takes ownership of structured. */
static void send_tool_result(struct rpc *c, char *structured)
{
	size_t n = strlen(structured);
	struct strbuf b;

	strbuf_init(&b, 2 * n + 200);
	strbuf_puts(&b, "\"content\":[{\"type\":\"text\",\"text\":");
	strbuf_json_string(&b, structured, n);
	strbuf_puts(&b, "}],\"structuredContent\":");
	strbuf_append(&b, structured, n);
	strbuf_puts(&b, ",\"isError\":false");
	free(structured);
	send_members(c, strbuf_take(&b, NULL), 0);
}

/* A method waiting for the database (see mcp.h): a tools/call, a
 * prompts/get or a completion/complete. It owns what its answer needs. */
enum wait_kind { WAIT_TOOL, WAIT_PROMPT, WAIT_COMPLETION };

struct mcp_wait {
	struct rpc rpc;              /* only resp, id_json and modern are used */
	enum wait_kind kind;
	const struct tool_def *def;  /* WAIT_TOOL */
	struct tool_call call;
	const struct prompt_def *prompt; /* WAIT_PROMPT */
	struct prompt_call pcall;
	struct completion_call ccall;    /* WAIT_COMPLETION */
	struct auth_identity id;
	char request_id[64];
	struct db_job *job;          /* until the database answers */
	long long submitted_ns;
	struct render_job *rjob;     /* then, for a document, until its PDF comes */
	char *structured;            /* the document's data, while it renders */
	const char *read_uri;        /* resources/read: the URI asked for (in uri) */
	char uri[DOC_URI_MAX + 1];
	mcp_resume_fn resume;
	void *owner;
};

static struct mcp_wait *wait_new(struct rpc *c, enum wait_kind kind)
{
	struct mcp_wait *wt = calloc(1, sizeof(*wt));

	if (!wt)
		fatal("out of memory");
	wt->rpc = (struct rpc){ .w = c->w, .resp = c->resp, .modern = c->modern };
	memcpy(wt->rpc.id_json, c->id_json, sizeof(c->id_json));
	wt->kind = kind;
	wt->id = *c->id;
	snprintf(wt->request_id, sizeof(wt->request_id), "%s", c->request_id);
	wt->resume = c->resume;
	wt->owner = c->owner;
	return wt;
}

/* A document this large leaves megabytes of freed heap (its JSON text,
 * copies, the parse for the summary) that glibc keeps unless asked. */
#define DOC_TRIM_BYTES (256 * 1024)

static void wait_free(struct mcp_wait *wt)
{
	int trim = wt->structured && strlen(wt->structured) > DOC_TRIM_BYTES;

	free(wt->structured);
	tool_call_cleanup(&wt->call);
	json_object_put(wt->call.args);
	json_object_put(wt->pcall.args);
	completion_cleanup(&wt->ccall);
	free(wt);
	if (trim)
		malloc_trim(0);
}

/* A failed tool call: a tool error result, or for resources/read a
 * JSON-RPC error carrying the URI (not found: -32602 in 2026-07-28,
 * -32002 before; retryable failures: -32603 with the code). */
static void answer_error(struct mcp_wait *wt, const struct tool_error *err)
{
	json_object *data;

	if (!wt->read_uri) {
		tool_error_result(&wt->rpc, err);
		return;
	}
	data = json_object_new_object();
	json_object_object_add(data, "uri", json_object_new_string(wt->read_uri));
	json_object_object_add(data, "code", json_object_new_string(err->code));
	json_object_object_add(data, "retryable", json_object_new_boolean(err->retryable));
	snprintf(wt->rpc.resp->outcome, sizeof(wt->rpc.resp->outcome), "%s", err->code);
	if (strcmp(err->code, "NOT_FOUND") == 0 || strcmp(err->code, "INVALID_INPUT") == 0)
		rpc_error(&wt->rpc, 200, wt->rpc.modern || strcmp(err->code, "INVALID_INPUT") == 0 ? -32602 : -32002,
		          strcmp(err->code, "NOT_FOUND") == 0 ? "Resource not found" : err->message,
		          json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN));
	else
		rpc_error(&wt->rpc, 200, -32603, err->message,
		          json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN));
	json_object_put(data);
}

/* The renderer answered (or the time budget passed): the tool result with
 * the PDF, or the resource contents; then hand the connection back. */
static void render_answered(struct render_job *job)
{
	struct mcp_wait *wt = job->ctx;
	mcp_resume_fn resume = wt->resume;
	void *owner = wt->owner;
	struct tool_error err;
	char *members;

	memset(&err, 0, sizeof(err));
	wt->rjob = NULL;
	if (!job->ok) {
		answer_error(wt, &job->err);
	} else if (wt->read_uri) {
		members = document_read_contents(wt->read_uri, job->pdf, job->pdf_len);
		send_members(&wt->rpc, members, 1);
	} else {
		json_object *want = NULL;
		json_object_object_get_ex(wt->call.args, "inline", &want);
		members = document_tool_result(wt->def->document, wt->structured, wt->call.scope, job->pdf,
		                               job->pdf_len, job->pages, json_object_get_boolean(want),
		                               wt->rpc.w->start.cfg->inline_pdf_max_bytes, &err);
		if (members)
			send_members(&wt->rpc, members, 0);
		else
			answer_error(wt, &err);
	}
	wait_free(wt);
	resume(owner);
}

/* The document's data is in; its PDF comes from a renderer. Takes
 * structured. 0: render_answered will run; -1: answered already. */
static int start_render(struct mcp_wait *wt, char *structured)
{
	struct tool_error err;
	char *copy = strdup(structured);

	memset(&err, 0, sizeof(err));
	if (!copy)
		fatal("out of memory");
	wt->structured = structured;
	wt->rjob = render_job_new(wt->def->document, copy, strlen(copy), wt->id.tenant,
	                          wt->submitted_ns + wt->rpc.w->start.cfg->request_timeout_ms * 1000000LL,
	                          render_answered, wt);
	if (wt->call.embed)
		render_job_attach(wt->rjob, wt->call.embed, wt->call.embed_len);
	if (render_submit(&wt->rpc.w->render, wt->rjob, &err) < 0) {
		wt->rjob = NULL;
		answer_error(wt, &err);
		return -1;
	}
	return 0;
}

/* The database could not answer a prompts/get or completion/complete:
 * a JSON-RPC error that says whether to retry. */
static void rpc_db_error(struct rpc *c, const struct tool_error *err)
{
	json_object *data = json_object_new_object();
	char msg[TOOL_ERROR_MESSAGE_MAX + 100];

	json_object_object_add(data, "code", json_object_new_string(err->code));
	json_object_object_add(data, "retryable", json_object_new_boolean(err->retryable));
	snprintf(msg, sizeof(msg), "%s: %s", err->code, err->message);
	rpc_error(c, 200, -32603, msg, json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN));
	json_object_put(data);
}

/* A prompt's or completion's row: one JSON text column. */
static json_object *row_json(struct db_job *job)
{
	return job->cols[0] ? json_tokener_parse(job->cols[0]) : NULL;
}

/* A text document the tool made (an e-invoice): embedded in the tool
 * result, or the resources/read contents. Takes structured. */
static void send_text_document(struct mcp_wait *wt, char *structured)
{
	const struct tool_call *call = &wt->call;

	if (wt->read_uri)
		send_members(&wt->rpc, document_read_text(wt->read_uri, call->embed_mime, call->embed, call->embed_len), 1);
	else
		send_members(&wt->rpc, document_text_tool_result(structured, call->scope, call->embed_mime, call->embed,
		                                                 call->embed_len), 0);
	free(structured);
}

/* 1 when a document went on to the renderer (render_answered finishes). */
static int answer_tool(struct mcp_wait *wt, struct db_job *job)
{
	struct tool_error err;
	char *out = NULL;

	memset(&err, 0, sizeof(err));
	if (!job->ok)
		answer_error(wt, &job->err);
	else if (tool_finish(wt->def, &wt->call, job->cols, &out, &err) < 0)
		answer_error(wt, &err);
	else if (wt->def->document)
		return start_render(wt, out) == 0;
	else if (wt->call.embed)
		send_text_document(wt, out);
	else
		send_tool_result(&wt->rpc, out);
	return 0;
}

static void answer_from_row(struct mcp_wait *wt, struct db_job *job)
{
	json_object *data = job->ok ? row_json(job) : NULL;
	struct tool_error err = { .code = "INTERNAL", .message = "the database returned no usable row" };

	if (!job->ok)
		rpc_db_error(&wt->rpc, &job->err);
	else if (!data)
		rpc_db_error(&wt->rpc, &err);
	else if (wt->kind == WAIT_PROMPT)
		rpc_send_result(&wt->rpc, wt->prompt->finish(&wt->pcall, data));
	else if (json_object_is_type(data, json_type_array))
		rpc_send_result(&wt->rpc, completion_result(json_object_get(data)));
	else
		rpc_db_error(&wt->rpc, &err);
	json_object_put(data);
}

/* The database answered (or the deadline passed): build the result, then
 * hand the connection back. */
static void answered(struct db_job *job)
{
	struct mcp_wait *wt = job->ctx;
	mcp_resume_fn resume = wt->resume;
	void *owner = wt->owner;

	wt->rpc.resp->db_us = (clock_now_ns() - wt->submitted_ns) / 1000;
	wt->job = NULL; /* freed by the engine when this returns */
	if (wt->kind == WAIT_TOOL) {
		if (answer_tool(wt, job))
			return; /* render_answered resumes the connection */
	} else {
		answer_from_row(wt, job);
	}
	wait_free(wt);
	resume(owner);
}

void mcp_wait_cancel(struct worker_ctx *w, struct mcp_wait *wt)
{
	if (wt->rjob)
		render_abandon(&w->render, wt->rjob);
	else
		db_abandon(&w->db, wt->job);
	wait_free(wt);
}

/* Sends q for wt: 0 when the answer will come in answered(), or -1 with
 * err filled when the database refuses at once. */
static int wait_submit(struct rpc *c, struct mcp_wait *wt, const struct tool_query *q,
                       struct tool_error *err)
{
	wt->job = db_job_new(q->stmt, q->nparams, q->params, !q->read_only, q->ncols,
	                     clock_now_ns() + c->w->start.cfg->request_timeout_ms * 1000000LL,
	                     answered, wt);
	wt->submitted_ns = clock_now_ns();
	if (db_submit(&c->w->db, wt->job, err) < 0)
		return -1;
	c->wait = wt;
	return 0;
}

/* Runs the tool: prepare, then one query on the worker's connection. The
 * answer comes in answered() unless the query is refused at once. Takes
 * args. */
static void start_tool(struct rpc *c, const struct tool_def *def, json_object *args, const char *read_uri)
{
	struct mcp_wait *wt = wait_new(c, WAIT_TOOL);
	struct tool_query q = { .ncols = 1 };
	struct tool_error err;

	memset(&err, 0, sizeof(err));
	wt->def = def;
	wt->call = (struct tool_call){ .id = &wt->id, .request_id = wt->request_id, .tool_name = def->name,
	                               .cursor_key = c->w->start.cursor_key, .cfg = c->w->start.cfg, .args = args };
	if (read_uri) {
		snprintf(wt->uri, sizeof(wt->uri), "%s", read_uri);
		wt->read_uri = wt->uri;
	}
	if (tool_query_build(def, &wt->call, &q, &err) < 0 || wait_submit(c, wt, &q, &err) < 0) {
		answer_error(wt, &err);
		wait_free(wt);
	}
}

/* The token lacks scope for method: 403 with the scopes to ask for (MCP
 * authorization, scope challenge: the recommended approach): every scope
 * the operation needs plus those of ours the token already holds, so a
 * client that steps up with exactly this list loses no permission it had.
 * The three scopes are independent: none implies another. */
static void insufficient_scope(struct rpc *c, const char *scope, const char *what)
{
	static const char *const ours[] = { "invoices:read", "invoices:write", "payments:write" };
	char msg[200], data[128], ask[128] = "";
	size_t n = 0;

	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		if (words_contain(scope, ours[i]) || auth_has_scope(c->id, ours[i]))
			n += (size_t)snprintf(ask + n, sizeof(ask) - n, "%s%s", n ? " " : "", ours[i]);
	response_header(c->resp, "WWW-Authenticate: Bearer error=\"insufficient_scope\", "
	                "scope=\"%s\", resource_metadata=\"%s\"", ask, c->w->resource_metadata_url);
	snprintf(msg, sizeof(msg), "the token lacks scope %s needed by %s", scope, what);
	snprintf(data, sizeof(data), "{\"code\":\"INSUFFICIENT_SCOPE\",\"scope\":\"%s\"}", scope);
	rpc_error(c, 403, -32003, msg, data);
}

static void do_prompts_get(struct rpc *c)
{
	json_object *name = NULL, *raw = NULL, *args;
	const struct prompt_def *p = NULL;
	struct tool_query q = { .read_only = 1, .ncols = 1 };
	struct tool_error err;
	struct mcp_wait *wt;
	char msg[TOOL_ERROR_MESSAGE_MAX + 100], scope[64];

	if (c->params && json_object_object_get_ex(c->params, "name", &name) &&
	    json_object_is_type(name, json_type_string))
		p = prompts_find(json_object_get_string(name), (size_t)json_object_get_string_len(name));
	if (!p) {
		const char *n = name && json_object_is_type(name, json_type_string) ? json_object_get_string(name) : "";
		snprintf(msg, sizeof(msg), "Invalid params: unknown prompt '%.*s'; prompts/list names them",
		         utf8_clip(n, strlen(n), 64), n);
		rpc_error(c, 200, -32602, msg, NULL);
		return;
	}
	if (prompts_missing_scope(p, token_grants, c->id, scope, sizeof(scope))) {
		insufficient_scope(c, scope, p->name);
		return;
	}
	memset(&err, 0, sizeof(err));
	json_object_object_get_ex(c->params, "arguments", &raw);
	args = prompts_validate(p, json_object_is_type(raw, json_type_null) ? NULL : raw, &err);
	if (!args) {
		snprintf(msg, sizeof(msg), "Invalid params: %s", err.message);
		rpc_error(c, 200, -32602, msg, NULL);
		return;
	}
	wt = wait_new(c, WAIT_PROMPT);
	wt->prompt = p;
	wt->pcall = (struct prompt_call){ .tenant = wt->id.tenant, .args = args };
	p->prepare(&wt->pcall, &q);
	if (wait_submit(c, wt, &q, &err) < 0) {
		rpc_db_error(c, &err);
		wait_free(wt);
	}
}

static void do_completion(struct rpc *c)
{
	struct tool_query q = { .read_only = 1, .ncols = 1 };
	struct tool_error err;
	struct mcp_wait *wt;
	char msg[400];

	if (!auth_has_scope(c->id, "invoices:read")) {
		insufficient_scope(c, "invoices:read", "completion/complete");
		return;
	}
	wt = wait_new(c, WAIT_COMPLETION);
	wt->ccall.tenant = wt->id.tenant;
	if (completion_prepare(c->params, &wt->ccall, &q, msg, sizeof(msg)) < 0) {
		rpc_error(c, 200, -32602, msg, NULL);
		wait_free(wt);
		return;
	}
	if (wt->ccall.values) {
		rpc_send_result(c, completion_result(json_object_get(wt->ccall.values)));
		wait_free(wt);
		return;
	}
	memset(&err, 0, sizeof(err));
	if (wait_submit(c, wt, &q, &err) < 0) {
		rpc_db_error(c, &err);
		wait_free(wt);
	}
}

static void do_tools_call(struct rpc *c)
{
	json_object *name = NULL, *raw = NULL, *args;
	const char *name_s;
	size_t name_len;
	const struct tool_def *def;
	struct tool_error err;

	if (!c->params || !json_object_object_get_ex(c->params, "name", &name) ||
	    !json_object_is_type(name, json_type_string)) {
		rpc_error(c, 200, -32602, "params.name must be the tool name (a string)", NULL);
		return;
	}
	name_s = json_object_get_string(name);
	name_len = (size_t)json_object_get_string_len(name);
	snprintf(c->resp->tool, sizeof(c->resp->tool), "%.*s", utf8_clip(name_s, name_len, 47), name_s);
	def = strlen(name_s) == name_len ? tools_find(name_s) : NULL;
	if (!def) {
		char msg[200];
		snprintf(msg, sizeof(msg), "Unknown tool: %.*s%s; call tools/list for the tool names",
		         utf8_clip(name_s, name_len, 64), name_s,
		         strlen(name_s) != name_len ? " (followed by NUL)" : "");
		rpc_error(c, 200, -32602, msg, NULL);
		return;
	}
	if (!auth_has_scope(c->id, def->scope)) {
		insufficient_scope(c, def->scope, def->name);
		return;
	}
	if (c->text_problem) {
		memset(&err, 0, sizeof(err));
		tool_error_set(&err, "INVALID_INPUT", "arguments", 0, "%s", c->text_problem);
		tool_error_result(c, &err);
		return;
	}
	json_object_object_get_ex(c->params, "arguments", &raw);
	if (raw && !json_object_is_type(raw, json_type_object) && !json_object_is_type(raw, json_type_null)) {
		memset(&err, 0, sizeof(err));
		tool_error_set(&err, "INVALID_INPUT", "arguments", 0, "arguments must be an object");
		tool_error_result(c, &err);
		return;
	}
	memset(&err, 0, sizeof(err));
	args = tools_validate(def, json_object_is_type(raw, json_type_null) ? NULL : raw, &err);
	if (!args) {
		tool_error_result(c, &err);
		return;
	}
	start_tool(c, def, args, NULL);
}

static void do_resources_read(struct rpc *c)
{
	json_object *uri = NULL, *raw = NULL, *args, *data;
	const struct tool_def *def = NULL;
	struct tool_error err;
	const char *u = "";
	size_t ulen = 0;

	if (c->params && json_object_object_get_ex(c->params, "uri", &uri) &&
	    json_object_is_type(uri, json_type_string)) {
		u = json_object_get_string(uri);
		ulen = (size_t)json_object_get_string_len(uri);
		def = document_parse_uri(u, ulen, &raw);
	}
	if (def && !auth_has_scope(c->id, def->scope)) {
		json_object_put(raw);
		insufficient_scope(c, def->scope, "resources/read");
		return;
	}
	memset(&err, 0, sizeof(err));
	args = def ? tools_validate(def, raw, &err) : NULL;
	json_object_put(raw);
	if (!args) {
		char msg[TOOL_ERROR_MESSAGE_MAX + 1024];
		data = json_object_new_object();
		json_object_object_add(data, "uri", json_object_new_string_len(u, utf8_clip(u, ulen, 300)));
		snprintf(msg, sizeof(msg), "%s%s", def ? "Invalid resource URI: " :
		         "Unknown resource: params.uri must match " DOC_STATEMENT_TEMPLATE ", "
		         DOC_INVOICE_TEMPLATE ", " DOC_CREDIT_NOTE_TEMPLATE ", " DOC_UBL_INVOICE_TEMPLATE ", "
		         DOC_CII_INVOICE_TEMPLATE ", " DOC_UBL_CREDIT_NOTE_TEMPLATE " or " DOC_CII_CREDIT_NOTE_TEMPLATE,
		         def ? err.message : "");
		rpc_error(c, 200, -32602, msg, json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN));
		json_object_put(data);
		return;
	}
	start_tool(c, def, args, u);
}

/* A request that passed the envelope checks, to its method. */
void mcp_dispatch(struct rpc *c)
{
	char msg[200];

	if (c->text_problem && !rpc_method_is(c, "tools/call")) {
		snprintf(msg, sizeof(msg), "Invalid params: %s", c->text_problem);
		rpc_error(c, 200, -32602, msg, NULL);
	} else if (rpc_method_is(c, "tools/call"))
		do_tools_call(c);
	else if (rpc_method_is(c, "tools/list"))
		do_tools_list(c);
	else if (rpc_method_is(c, "prompts/list"))
		do_prompts_list(c);
	else if (rpc_method_is(c, "prompts/get"))
		do_prompts_get(c);
	else if (rpc_method_is(c, "completion/complete"))
		do_completion(c);
	else if (rpc_method_is(c, "resources/read"))
		do_resources_read(c);
	else if (rpc_method_is(c, "resources/list") || rpc_method_is(c, "resources/templates/list"))
		do_resources_list(c, rpc_method_is(c, "resources/templates/list"));
	else if (rpc_method_is(c, "server/discover"))
		do_discover(c);
	else if (!c->modern && rpc_method_is(c, "initialize"))
		do_initialize(c);
	else if (!c->modern && rpc_method_is(c, "ping"))
		rpc_send_result(c, json_object_new_object());
	else {
		snprintf(msg, sizeof(msg), "Method not found: %.*s%s",
		         utf8_clip(c->method, c->method_len, 60), c->method,
		         strlen(c->method) != c->method_len ? " (followed by NUL)" : "");
		rpc_error(c, c->modern ? 404 : 200, -32601, msg, NULL);
	}
}
