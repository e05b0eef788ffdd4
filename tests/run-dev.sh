#!/bin/sh
# run-dev.sh - `make run`: everything under var/, then serve until Ctrl-C.
# Reuses the cluster, certificate, secret and configuration if they exist.
set -eu
mkdir -p var
VAR=$(cd var && pwd)
PGPORT=${MCPI_DEV_PGPORT:-55433}
LISTEN=${MCPI_DEV_LISTEN:-127.0.0.1:8443}
sh tests/devenv.sh setup "$VAR" "$PGPORT" "$LISTEN"
CONF="$VAR/mcp-invoiced.conf"
TOKEN=$(bin/mcp-invoiced token --config "$CONF" --sub dev-agent --tenant dev --ttl 86400)
URL="https://$LISTEN/mcp"
cat <<MSG

mcp-invoiced is starting on $URL (configuration: $CONF)

A token (tenant "dev", all scopes, valid 24 h):
  export MCPI_TOKEN=$TOKEN

curl:
  curl --cacert $VAR/tls.crt $URL -H "Authorization: Bearer \$MCPI_TOKEN" \\
    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\
    -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'

MCP Inspector (trust the dev certificate first):
  NODE_EXTRA_CA_CERTS=$VAR/tls.crt npx @modelcontextprotocol/inspector
  -> Transport: Streamable HTTP, URL: $URL, Authentication: Bearer \$MCPI_TOKEN

MCP client configuration (e.g. mcp.json; start the client with NODE_EXTRA_CA_CERTS=$VAR/tls.crt):
  {"mcpServers": {"invoices": {"type": "http", "url": "$URL",
    "headers": {"Authorization": "Bearer $TOKEN"}}}}

Stop with Ctrl-C (the database keeps running: sh tests/devenv.sh stop var).
MSG
exec bin/mcp-invoiced serve --config "$CONF"
