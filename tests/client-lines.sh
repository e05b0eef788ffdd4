#!/bin/sh
# client-lines.sh URL CAFILE CONFIG TOKEN - the copy-paste lines `make run`
# prints for each MCP client. The integration tests run the Inspector CLI
# line exactly as printed and parse the JSON blocks, so they stay true.
set -eu
URL=$1 CA=$2 CONF=$3 TOKEN=$4
INSPECTOR="npx --loglevel=error -y -p node@22 -p @modelcontextprotocol/inspector@2.12.0 -- mcp-inspector"
cat <<MSG
A token (tenant "dev", all scopes, valid 24 h):
  export MCPI_TOKEN=$TOKEN
A longer-lived one (30 days; tenant and scopes as you like):
  export MCPI_TOKEN=\$(bin/mcp-invoiced token --config $CONF --sub dev-agent --tenant dev --ttl 2592000)
The certificate is self-signed: Node-based clients trust it with
NODE_EXTRA_CA_CERTS=$CA; VS Code and Cursor need it in the system store
(Debian: cp $CA /usr/local/share/ca-certificates/mcp-invoiced-dev.crt && update-ca-certificates).

curl:
  curl --cacert $CA $URL -H "Authorization: Bearer \$MCPI_TOKEN" \\
    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\
    -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'

MCP Inspector CLI (brings the Node 22 it needs; any method: tools/call, prompts/list, ...):
  NODE_EXTRA_CA_CERTS=$CA $INSPECTOR --cli $URL --header "Authorization: Bearer \$MCPI_TOKEN" --method tools/list

MCP Inspector UI (opens a browser page; Transport Streamable HTTP, URL $URL, Bearer token \$MCPI_TOKEN):
  NODE_EXTRA_CA_CERTS=$CA $INSPECTOR

Claude Code (the token stays in your environment: Claude Code expands \${MCPI_TOKEN} when it connects):
  claude mcp add --transport http invoices $URL --header 'Authorization: Bearer \${MCPI_TOKEN}'
  NODE_EXTRA_CA_CERTS=$CA claude

VS Code (.vscode/mcp.json; VS Code asks for the token once and keeps it in its secret storage):
  {"inputs": [{"type": "promptString", "id": "mcpi-token", "description": "mcp-invoiced token", "password": true}],
    "servers": {"invoices": {"type": "http", "url": "$URL", "headers": {"Authorization": "Bearer \${input:mcpi-token}"}}}}

Cursor (~/.cursor/mcp.json) and other clients that read an mcpServers block (token from the environment):
  {"mcpServers": {"invoices": {"type": "http", "url": "$URL",
    "headers": {"Authorization": "Bearer \${env:MCPI_TOKEN}"}}}}

An agent of your own with the official TypeScript SDK (npm install @modelcontextprotocol/sdk@1.32.2;
save as agent.mjs; run NODE_EXTRA_CA_CERTS=$CA node agent.mjs with MCPI_TOKEN exported):
  import { Client } from "@modelcontextprotocol/sdk/client/index.js";
  import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
  const transport = new StreamableHTTPClientTransport(new URL("$URL"), {
    requestInit: { headers: { Authorization: \`Bearer \${process.env.MCPI_TOKEN}\` } },
  });
  const client = new Client({ name: "my-agent", version: "1.0.0" });
  await client.connect(transport);
  const { tools } = await client.listTools();
  console.log(tools.map((t) => t.name).join(" "));
  const owed = await client.callTool({ name: "list_outstanding_balances", arguments: {} });
  console.log(JSON.stringify(owed.structuredContent));
  await client.close();
MSG
