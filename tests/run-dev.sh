#!/bin/sh
# run-dev.sh - `make run`: everything under var/, then serve until Ctrl-C,
# which stops the server and the private PostgreSQL cluster it started.
# Reuses the cluster, certificate, secret and configuration if they exist.
set -eu
mkdir -p "${MCPI_DEV_VAR:-var}"
VAR=$(cd "${MCPI_DEV_VAR:-var}" && pwd)
PGPORT=${MCPI_DEV_PGPORT:-55433}
LISTEN=${MCPI_DEV_LISTEN:-127.0.0.1:8443}
sh tests/devenv.sh setup "$VAR" "$PGPORT" "$LISTEN"
CONF="$VAR/mcp-invoiced.conf"
TOKEN=$(bin/mcp-invoiced token --config "$CONF" --sub dev-agent --tenant dev --ttl 86400)
URL="https://$LISTEN/mcp"
printf '\nmcp-invoiced is starting on %s (configuration: %s)\n\n' "$URL" "$CONF"
sh tests/client-lines.sh "$URL" "$VAR/tls.crt" "$CONF" "$TOKEN"
printf '\nStop with Ctrl-C: it stops the server and then the private PostgreSQL under %s\n(make stop does the same from another terminal).\n' "$VAR"
bin/mcp-invoiced serve --config "$CONF" &
SERVER=$!
stop() {
	trap - INT TERM EXIT
	kill -TERM "$SERVER" 2>/dev/null || true
	wait "$SERVER" 2>/dev/null || true
	sh tests/devenv.sh stop "$VAR"
	printf 'mcp-invoiced and its PostgreSQL under %s stopped.\n' "$VAR"
}
trap stop INT TERM EXIT
wait "$SERVER" || true
