// sdk_client.mjs - the official MCP TypeScript SDK client (Streamable HTTP)
// against a running mcp-invoiced: connect (initialize handshake), list tools,
// call tools with output-schema validation, and read a tool error.
// Usage: node sdk_client.mjs URL TOKEN   (NODE_EXTRA_CA_CERTS trusts the test CA)
// Prints one JSON line with what it saw; exits non-zero on any failure.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, token] = process.argv.slice(2);
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
const client = new Client({ name: "mcp-invoiced-sdk-test", version: "1.0.0" });
await client.connect(transport);

const seen = {
  protocolVersion: transport.protocolVersion,
  server: client.getServerVersion(),
  sessionId: transport.sessionId ?? null,
};
const { tools } = await client.listTools();
seen.tools = tools.map((t) => t.name);

const created = await client.callTool({
  name: "create_invoice",
  arguments: { customer_id: "sdk-customer", line_items: [{ description: "SDK", amount_cents: 4200, quantity: 2 }] },
});
if (created.isError) throw new Error("create_invoice failed: " + JSON.stringify(created));
seen.created = created.structuredContent;

const sent = await client.callTool({ name: "send_invoice", arguments: { invoice_id: created.structuredContent.invoice_id } });
seen.sent = sent.structuredContent.invoice_number;

const listed = await client.callTool({ name: "list_invoices", arguments: { customer_id: "sdk-customer" } });
seen.listed = listed.structuredContent.invoices.length;

const bad = await client.callTool({
  name: "create_invoice",
  arguments: { customer_id: "sdk-customer", line_items: [{ description: "x", amount_cents: -5 }] },
});
seen.error = { isError: bad.isError, code: bad.structuredContent?.error?.code, text: bad.content[0].text };

await client.ping();
await client.close();
console.log(JSON.stringify(seen));
