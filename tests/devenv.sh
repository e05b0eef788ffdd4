#!/bin/sh
# devenv.sh - a private PostgreSQL cluster plus everything the server needs,
# under one directory: used by `make run` (var/), the integration tests and
# the benchmark.
#   sh tests/devenv.sh setup DIR PGPORT LISTEN   create/start/migrate (reuses what exists;
#                                                DEVENV_MIGRATE=0: no migrate)
#   sh tests/devenv.sh stop DIR                  stop the cluster
# PostgreSQL refuses to run as root, so as root the cluster belongs to the
# postgres account. It listens on a Unix socket in DIR/sock only.
set -eu
cmd=$1
DIR=$(cd "$2" && pwd)
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "$cmd" = stop ]; then
	[ -f "$DIR/pg/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$DIR/pg" -m fast -w stop >/dev/null || true
	exit 0
fi

PGPORT=$3
LISTEN=$4
FSYNC=${PG_FSYNC:-on}
# The tests also reach it over TCP on loopback (PG_LISTEN=127.0.0.1), and
# may add server options (PG_OPTIONS, e.g. for a primary with a replica).
PG_LISTEN=${PG_LISTEN:-}
PG_OPTIONS=${PG_OPTIONS:-}
mkdir -p "$DIR/sock"
if [ ! -f "$DIR/pg/PG_VERSION" ]; then
	mkdir -p "$DIR/pg"
	[ "$(id -u)" = 0 ] && chown postgres "$DIR/pg" "$DIR/sock"
	as_pg "$PGBIN/initdb" -D "$DIR/pg" -A trust -U postgres --no-sync >"$DIR/initdb.log" 2>&1
fi
[ "$(id -u)" = 0 ] && chown postgres "$DIR/sock"
if ! as_pg "$PGBIN/pg_ctl" -D "$DIR/pg" status >/dev/null 2>&1; then
	as_pg "$PGBIN/pg_ctl" -D "$DIR/pg" -l "$DIR/pg/server.log" -w -t 60 \
		-o "-c listen_addresses='$PG_LISTEN' -c unix_socket_directories='$DIR/sock' -p $PGPORT -c fsync=$FSYNC -c max_connections=300 -c shared_buffers=256MB $PG_OPTIONS" \
		start >/dev/null
fi
PSQL="$PGBIN/psql -X -q -v ON_ERROR_STOP=1 -h $DIR/sock -p $PGPORT -U postgres"
$PSQL -d postgres <<'SQL'
SELECT 'CREATE ROLE mcp_invoiced_owner LOGIN'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mcp_invoiced_owner') \gexec
SELECT 'CREATE ROLE mcp_invoiced_app LOGIN NOSUPERUSER NOBYPASSRLS'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mcp_invoiced_app') \gexec
SELECT 'CREATE DATABASE invoices OWNER mcp_invoiced_owner'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'invoices') \gexec
SQL
$PSQL -d invoices -c "REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT USAGE ON SCHEMA public TO mcp_invoiced_app; ALTER SCHEMA public OWNER TO mcp_invoiced_owner" >/dev/null

if [ ! -f "$DIR/tls.crt" ]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
		-keyout "$DIR/tls.key" -out "$DIR/tls.crt" -subj "/CN=localhost" \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1
	chmod 600 "$DIR/tls.key"
fi
if [ ! -f "$DIR/jwt.secret" ]; then
	(umask 077; head -c 48 /dev/urandom | base64 | tr -d '\n' > "$DIR/jwt.secret")
fi
if [ ! -f "$DIR/mcp-invoiced.conf" ]; then
	cat > "$DIR/mcp-invoiced.conf" <<CONF
# Development configuration written by tests/devenv.sh.
listen = $LISTEN
tls_cert = $DIR/tls.crt
tls_key = $DIR/tls.key
database_url = host=$DIR/sock port=$PGPORT dbname=invoices user=mcp_invoiced_app
migrate_database_url = host=$DIR/sock port=$PGPORT dbname=invoices user=mcp_invoiced_owner
jwt_alg = HS256
jwt_secret_file = $DIR/jwt.secret
jwt_issuer = mcp-invoiced-dev
jwt_audience = https://$LISTEN/mcp
public_url = https://$LISTEN/mcp
log_level = info
CONF
fi
[ "${DEVENV_MIGRATE:-1}" = 1 ] || exit 0
BIN=${MCPI_BIN:-bin/mcp-invoiced}
"$BIN" migrate --config "$DIR/mcp-invoiced.conf" 2>"$DIR/migrate.log" || { cat "$DIR/migrate.log" >&2; exit 1; }
