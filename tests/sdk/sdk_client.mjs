// sdk_client.mjs - the official MCP TypeScript SDK client (Streamable HTTP)
// against a running mcp-invoiced: connect (initialize handshake), list tools,
// call tools with output-schema validation, read a tool error, and read a
// statement PDF back by its resource_link URI.
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

// A statement through the SDK (its CallToolResult schema and our
// outputSchema), then its resource_link read back with resources/read.
const statement = await client.callTool({ name: "get_statement", arguments: { customer_id: "sdk-customer", inline: true } });
if (statement.isError) throw new Error("get_statement failed: " + JSON.stringify(statement));
const link = statement.content.find((b) => b.type === "resource_link");
const embedded = statement.content.find((b) => b.type === "resource");
const read = await client.readResource({ uri: link.uri });
const templates = await client.listResourceTemplates();
seen.statement = {
  closing: statement.structuredContent.summary.closing_balance_cents,
  uri: link.uri,
  mimeType: link.mimeType,
  size: link.size,
  sameBytes: read.contents[0].blob === embedded.resource.blob,
  readSize: Buffer.from(read.contents[0].blob, "base64").length,
  templates: templates.resourceTemplates.map((t) => t.uriTemplate),
};

await client.ping();
await client.close();
console.log(JSON.stringify(seen));
