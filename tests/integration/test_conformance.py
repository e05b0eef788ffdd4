"""Conformance: what the server sends, validated against the MCP
specification's own JSON Schema for both revisions (shared/mcp-spec), with
Ajv (JSON Schema 2020-12) from the pinned SDK test dependencies."""
import base64
import json
import os
import subprocess

from harness import ROOT, Client, expect

SERVER = dict(workers=1)
SDK = os.path.join(ROOT, "tests", "sdk")
SPEC = os.environ.get("MCPI_SPEC_DIR", os.path.join(os.path.dirname(ROOT), "shared", "mcp-spec"))
MODERN = "2026-07-28"


def modern(method, name=None):
    h = {"MCP-Protocol-Version": MODERN, "Mcp-Method": method}
    if name:
        h["Mcp-Name"] = name
    return h


META = {"_meta": {"io.modelcontextprotocol/protocolVersion": MODERN,
                  "io.modelcontextprotocol/clientCapabilities": {}}}


def test_messages_match_the_specification_schema(env):
    expect(os.path.isfile(os.path.join(SPEC, MODERN, "schema.json")), f"spec not found in {SPEC}")
    if not os.path.isdir(os.path.join(SDK, "node_modules", "ajv")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=SDK,
                       check=True, timeout=300)
    c = Client(env, env.token(tenant="conformance"))
    caps = []

    def cap(rev, def_, label, status_body, part="result"):
        st, _, body = status_body
        expect(body is not None, (label, st))
        caps.append({"rev": rev, "def": def_, "label": label,
                     "value": body[part] if part else body})
        return body

    legacy = "2025-11-25"
    cap(legacy, "InitializeResult", "initialize", c.rpc("initialize", {
        "protocolVersion": legacy, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}))
    cap(legacy, "ListToolsResult", "tools/list", c.rpc("tools/list", {}))
    cap(legacy, "EmptyResult", "ping", c.rpc("ping"))
    body = cap(legacy, "CallToolResult", "create_invoice", c.call("create_invoice", {
        "customer_id": "conf", "line_items": [{"description": "x", "amount_cents": 5}]}))
    iid = body["result"]["structuredContent"]["invoice_id"]
    cap(legacy, "CallToolResult", "get_invoice", c.call("get_invoice", {"invoice_id": iid}))
    cap(legacy, "CallToolResult", "tool error", c.call("create_invoice", {"customer_id": "conf"}))
    cap(legacy, "ListPromptsResult", "prompts/list", c.rpc("prompts/list", {}))
    cap(legacy, "GetPromptResult", "prompts/get", c.rpc("prompts/get", {
        "name": "collect_overdue", "arguments": {"customer_id": "conf"}}))
    cap(legacy, "CompleteResult", "completion/complete", c.rpc("completion/complete", {
        "ref": {"type": "ref/prompt", "name": "collect_overdue"},
        "argument": {"name": "customer_id", "value": "co"}}))
    cap(legacy, "JSONRPCResultResponse", "whole message", c.rpc("ping"), part=None)
    cap(legacy, "JSONRPCErrorResponse", "unknown method", c.rpc("nope"), part=None)
    cap(legacy, "JSONRPCErrorResponse", "parse error",
        c.post(None, raw_body=b"{"), part=None)

    cap(MODERN, "DiscoverResult", "server/discover",
        c.rpc("server/discover", META, headers=modern("server/discover")))
    cap(MODERN, "ListToolsResult", "tools/list", c.rpc("tools/list", META, headers=modern("tools/list")))
    cap(MODERN, "ListPromptsResult", "prompts/list", c.rpc("prompts/list", META, headers=modern("prompts/list")))
    params = {"name": "month_end_statements", "arguments": {}}
    params.update(META)
    cap(MODERN, "GetPromptResult", "prompts/get", c.rpc("prompts/get", params, headers=modern("prompts/get")))
    params = {"ref": {"type": "ref/prompt", "name": "reconcile_bank_payment"},
              "argument": {"name": "currency", "value": "E"}}
    params.update(META)
    cap(MODERN, "CompleteResult", "completion/complete",
        c.rpc("completion/complete", params, headers=modern("completion/complete")))
    params = {"name": "list_invoices", "arguments": {"customer_id": "conf"}}
    params.update(META)
    cap(MODERN, "CallToolResult", "list_invoices",
        c.rpc("tools/call", params, headers=modern("tools/call", "list_invoices")))
    enc = "=?base64?" + base64.b64encode(b"get_invoice").decode() + "?="
    params = {"name": "get_invoice", "arguments": {"invoice_id": "bad"}}
    params.update(META)
    cap(MODERN, "CallToolResult", "tool error",
        c.rpc("tools/call", params, headers=modern("tools/call", enc)))
    cap(MODERN, "UnsupportedProtocolVersionError", "-32022",
        c.rpc("tools/list", {}, headers={"MCP-Protocol-Version": "2099-01-01"}), part=None)
    cap(MODERN, "HeaderMismatchError", "-32020",
        c.rpc("tools/list", META, headers=modern("tools/call")), part=None)

    path = os.path.join(env.dir, "captures.json")
    with open(path, "w") as f:
        json.dump(caps, f)
    out = subprocess.run(["node", "validate_schema.mjs", path], cwd=SDK, capture_output=True,
                         text=True, timeout=60, env=dict(os.environ, MCPI_SPEC_DIR=SPEC))
    expect(out.returncode == 0, out.stderr[-3000:] + out.stdout[-500:])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"    {result['checked']} messages and tool schemas valid against the specification")
    expect(result["checked"] >= len(caps), result)
