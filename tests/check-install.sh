#!/bin/sh
# check-install.sh - `make install` honours DESTDIR, PREFIX and
# SYSTEMD_UNIT_DIR and installs the binary, the unit (with PREFIX
# substituted, naming documentation that is installed), sysusers.d,
# tmpfiles.d, the README, the example configuration (which names every key
# the parser knows) and the man pages.
set -eu
python3 systemd/conf-example.py bin/mcp-invoiced --check
dest=$(mktemp -d)
make -s install DESTDIR="$dest" PREFIX=/opt/mcpi >/dev/null
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || true)
[ -e "$dest${unitdir:-/lib/systemd/system}/mcp-invoiced.service" ] ||
	{ echo "make install: the unit is not in ${unitdir:-/lib/systemd/system} (pkg-config systemd)"; exit 1; }
for doc in $(sed -n 's/^Documentation=//p' "$dest${unitdir:-/lib/systemd/system}/mcp-invoiced.service"); do
	case $doc in
	file://*) [ -e "$dest${doc#file://}" ] || { echo "make install: the unit's $doc is not installed"; exit 1; } ;;
	esac
done
rm -rf "$dest"
dest=$(mktemp -d)
make -s install DESTDIR="$dest" PREFIX=/opt/mcpi SYSTEMD_UNIT_DIR=/opt/mcpi/lib/systemd/system >/dev/null
for f in opt/mcpi/bin/mcp-invoiced opt/mcpi/bin/mcp-invoiced-render opt/mcpi/lib/systemd/system/mcp-invoiced.service \
	opt/mcpi/share/doc/mcp-invoiced/README.md opt/mcpi/share/doc/mcp-invoiced/docs/configuration.md \
	usr/lib/sysusers.d/mcp-invoiced.conf usr/lib/tmpfiles.d/mcp-invoiced.conf \
	etc/mcp-invoiced/mcp-invoiced.conf opt/mcpi/share/man/man8/mcp-invoiced.8 \
	opt/mcpi/share/man/man5/mcp-invoiced.conf.5; do
	[ -e "$dest/$f" ] || { echo "make install: missing $f"; exit 1; }
done
grep -q '^ExecStart=/opt/mcpi/bin/mcp-invoiced serve' "$dest/opt/mcpi/lib/systemd/system/mcp-invoiced.service" ||
	{ echo "make install: PREFIX not substituted in the unit"; exit 1; }
"$dest/opt/mcpi/bin/mcp-invoiced" --version >/dev/null
MANWIDTH=80 man -l "$dest/opt/mcpi/share/man/man5/mcp-invoiced.conf.5" 2>/dev/null | grep -q worker_connections ||
	{ echo "make install: the installed mcp-invoiced.conf(5) does not render"; exit 1; }
for key in $("$dest/opt/mcpi/bin/mcp-invoiced" config-keys | cut -f1); do
	grep -Eq "^(# )?$key =( |\$)" "$dest/etc/mcp-invoiced/mcp-invoiced.conf" ||
		{ echo "make install: the example configuration does not name $key"; exit 1; }
done
rm -rf "$dest"
echo "make install: DESTDIR, PREFIX and SYSTEMD_UNIT_DIR honoured; the example names every key"
