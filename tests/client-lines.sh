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

Claude Code:
  claude mcp add --transport http invoices $URL --header "Authorization: Bearer \$MCPI_TOKEN"
  NODE_EXTRA_CA_CERTS=$CA claude

VS Code (.vscode/mcp.json):
  {"servers": {"invoices": {"type": "http", "url": "$URL",
    "headers": {"Authorization": "Bearer $TOKEN"}}}}

Cursor (~/.cursor/mcp.json) and other clients that read an mcpServers block:
  {"mcpServers": {"invoices": {"type": "http", "url": "$URL",
    "headers": {"Authorization": "Bearer $TOKEN"}}}}
MSG
