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
printf '\nmcp-invoiced is starting on %s (configuration: %s)\n\n' "$URL" "$CONF"
sh tests/client-lines.sh "$URL" "$VAR/tls.crt" "$CONF" "$TOKEN"
printf '\nStop with Ctrl-C (the database keeps running: sh tests/devenv.sh stop var).\n'
exec bin/mcp-invoiced serve --config "$CONF"
