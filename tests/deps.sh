#!/bin/sh
# deps.sh - install the Debian packages mcp-invoiced needs to build, test and
# run. As root it runs apt-get; otherwise it prints the exact command.
set -eu
PKGS="build-essential pkg-config libpq-dev libjson-c-dev libssl-dev libjwt-dev libseccomp-dev libcurl4-openssl-dev libcmocka-dev procps \
postgresql postgresql-contrib openssl curl wrk clang libclang-rt-14-dev python3 prometheus systemd man-db groff-base \
pgbouncer haproxy iproute2 \
libcairo2-dev libpango1.0-dev libqpdf-dev icc-profiles-free fonts-noto-core fonts-noto-cjk fonts-dejavu-core poppler-utils qpdf \
libxml2-dev libxml2-utils libsaxonhe-java default-jre-headless"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# The SDK compatibility test needs Node.js and npm (any recent version).
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
	echo "missing packages:$missing"
	echo "run: sudo apt-get update && sudo apt-get install -y$missing"
	exit 1
fi
