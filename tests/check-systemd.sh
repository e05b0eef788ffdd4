#!/bin/sh
# check-systemd.sh - the unit must score <= 1.5 in
# `systemd-analyze security --offline=true`. Skipped (with a message) where
# systemd-analyze is not installed.
set -eu
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "systemd-analyze not installed: unit hardening check skipped"
	exit 0
fi
tmp=$(mktemp -d)
sed 's|@PREFIX@|/usr/local|g' systemd/mcp-invoiced.service > "$tmp/mcp-invoiced.service"
score=$(systemd-analyze security --offline=true "$tmp/mcp-invoiced.service" 2>/dev/null |
	sed -n 's/.*Overall exposure level for mcp-invoiced.service: \([0-9.]*\).*/\1/p')
systemd-analyze verify "$tmp/mcp-invoiced.service" 2>&1 | grep -v "Command .* is not executable\|not found\|No such file" || true
rm -rf "$tmp"
echo "systemd unit exposure score: $score (limit 1.5)"
awk -v s="$score" 'BEGIN { exit !(s != "" && s + 0 <= 1.5) }'
