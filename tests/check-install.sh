#!/bin/sh
# check-install.sh - `make install` honours DESTDIR and PREFIX and installs
# the binary, the unit (with PREFIX substituted), sysusers.d, tmpfiles.d and
# the example configuration.
set -eu
dest=$(mktemp -d)
make -s install DESTDIR="$dest" PREFIX=/opt/mcpi >/dev/null
for f in opt/mcpi/bin/mcp-invoiced opt/mcpi/bin/mcp-invoiced-render lib/systemd/system/mcp-invoiced.service \
	usr/lib/sysusers.d/mcp-invoiced.conf usr/lib/tmpfiles.d/mcp-invoiced.conf \
	etc/mcp-invoiced/mcp-invoiced.conf; do
	[ -e "$dest/$f" ] || { echo "make install: missing $f"; exit 1; }
done
grep -q '^ExecStart=/opt/mcpi/bin/mcp-invoiced serve' "$dest/lib/systemd/system/mcp-invoiced.service" ||
	{ echo "make install: PREFIX not substituted in the unit"; exit 1; }
"$dest/opt/mcpi/bin/mcp-invoiced" --version >/dev/null
rm -rf "$dest"
echo "make install: DESTDIR and PREFIX honoured"
