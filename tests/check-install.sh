#!/bin/sh
# check-install.sh - `make install` honours DESTDIR and PREFIX and installs
# the binary, the unit (with PREFIX substituted), sysusers.d, tmpfiles.d,
# the example configuration and the man pages.
set -eu
dest=$(mktemp -d)
make -s install DESTDIR="$dest" PREFIX=/opt/mcpi >/dev/null
for f in opt/mcpi/bin/mcp-invoiced opt/mcpi/bin/mcp-invoiced-render lib/systemd/system/mcp-invoiced.service \
	usr/lib/sysusers.d/mcp-invoiced.conf usr/lib/tmpfiles.d/mcp-invoiced.conf \
	etc/mcp-invoiced/mcp-invoiced.conf opt/mcpi/share/man/man8/mcp-invoiced.8 \
	opt/mcpi/share/man/man5/mcp-invoiced.conf.5; do
	[ -e "$dest/$f" ] || { echo "make install: missing $f"; exit 1; }
done
grep -q '^ExecStart=/opt/mcpi/bin/mcp-invoiced serve' "$dest/lib/systemd/system/mcp-invoiced.service" ||
	{ echo "make install: PREFIX not substituted in the unit"; exit 1; }
"$dest/opt/mcpi/bin/mcp-invoiced" --version >/dev/null
MANWIDTH=80 man -l "$dest/opt/mcpi/share/man/man5/mcp-invoiced.conf.5" 2>/dev/null | grep -q worker_connections ||
	{ echo "make install: the installed mcp-invoiced.conf(5) does not render"; exit 1; }
rm -rf "$dest"
echo "make install: DESTDIR and PREFIX honoured"
