#!/bin/sh
# check-systemd.sh - the unit must score <= 1.5 in
# `systemd-analyze security --offline=true`. systemd-analyze comes with the
# systemd package (tests/deps.sh installs it); without it, or without a
# score, the check fails: it never passes unrun.
set -eu
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "systemd-analyze not found (Debian package systemd; run tests/deps.sh): unit hardening check cannot run" >&2
	exit 1
fi
tmp=$(mktemp -d)
sed 's|@PREFIX@|/usr/local|g' systemd/mcp-invoiced.service > "$tmp/mcp-invoiced.service"
score=$(systemd-analyze security --offline=true "$tmp/mcp-invoiced.service" 2>/dev/null |
	sed -n 's/.*Overall exposure level for mcp-invoiced.service: \([0-9.]*\).*/\1/p')
systemd-analyze verify "$tmp/mcp-invoiced.service" 2>&1 | grep -v "Command .* is not executable\|not found\|No such file" || true
rm -rf "$tmp"
if [ -z "$score" ]; then
	echo "systemd-analyze security gave no exposure score for the unit" >&2
	exit 1
fi
echo "systemd unit exposure score: $score (limit 1.5)"
awk -v s="$score" 'BEGIN { exit !(s != "" && s + 0 <= 1.5) }'
