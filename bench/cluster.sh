#!/bin/sh
# cluster.sh - `make bench-cluster`: the measured parts of the several-hosts
# scaling model (README "Running on several hosts"). This machine has two
# cores, so two hosts cannot be measured side by side honestly; instead:
#   1. one host (one worker) pinned to core 0, wrk on core 1: its rate and
#      its CPU per create_invoice;
#   2. the same through HAProxy (the shipped TLS-passthrough configuration)
#      pinned to core 1: HAProxy's CPU per request;
#   3. pgbench with the same SQL call at 64 connections: what PostgreSQL
#      sustains committing one call per transaction.
set -eu
DUR=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-32}
PGPORT=55436
HOST=127.0.0.1:18461
LB=127.0.0.1:18460
mkdir -p var/bench-cluster
DIR=$(cd var/bench-cluster && pwd)
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
# A new database each run, the old one dropped unmigrated (as bench.sh).
DEVENV_MIGRATE=0 sh tests/devenv.sh setup "$DIR" "$PGPORT" "$LB" >/dev/null
"$PGBIN/psql" -X -q -h "$DIR/sock" -p "$PGPORT" -U postgres -d postgres -c "DROP DATABASE IF EXISTS invoices WITH (FORCE)"
sh tests/devenv.sh setup "$DIR" "$PGPORT" "$LB" >/dev/null
CONF="$DIR/host.conf"
cp "$DIR/mcp-invoiced.conf" "$CONF"
cat >> "$CONF" <<C
listen = $HOST
workers = 1
log_level = warn
rate_limit_rps = 10000000
rate_limit_burst = 10000000
max_inflight = 1024
C
PSQL="$PGBIN/psql -X -q -At -h $DIR/sock -p $PGPORT -U postgres -d invoices"
$PSQL -c "TRUNCATE invoices, invoice_line_items, payments, idempotency_keys, audit_log, invoice_counters, customers CASCADE"
taskset -c 0 bin/mcp-invoiced serve --config "$CONF" 2>"$DIR/server.log" &
SERVER=$!
sed -e "s/10.0.0.2:443/$LB/" -e "s/10.0.0.11:8443/$HOST/" -e '/server host2/d' \
    -e "s|/run/haproxy/mcp-invoiced.sock|$DIR/haproxy.sock|" -e "s/127.0.0.1:8404/127.0.0.1:18462/" \
    -e 's/^\tlog stdout.*//' systemd/cluster/haproxy.cfg > "$DIR/haproxy.cfg"
taskset -c 1 haproxy -db -f "$DIR/haproxy.cfg" >"$DIR/haproxy.log" 2>&1 &
HAPROXY=$!
trap 'kill $SERVER $HAPROXY 2>/dev/null; wait $SERVER $HAPROXY 2>/dev/null; sh tests/devenv.sh stop "$DIR"' EXIT
i=0
until curl -sk -o /dev/null "https://$HOST/.well-known/oauth-protected-resource" && \
      curl -sk -o /dev/null "https://$LB/.well-known/oauth-protected-resource"; do
	i=$((i + 1)); [ $i -gt 100 ] && { cat "$DIR/server.log" "$DIR/haproxy.log"; exit 1; }; sleep 0.1
done
sleep 1
export MCPI_TOKEN=$(bin/mcp-invoiced token --config "$CONF" --sub bench --tenant bench)
HZ=$(getconf CLK_TCK)
ticks() { # pids... -> user+system clock ticks
	t=0
	for p in "$@"; do
		set -- $(sed 's/^.*) //' /proc/$p/stat 2>/dev/null); [ $# -gt 13 ] && t=$((t + ${12} + ${13}))
	done
	echo $t
}
host_pids() { echo $SERVER $(pgrep -P $SERVER); }
us_per() { awk -v a="$1" -v b="$2" -v n="$3" -v hz="$HZ" 'BEGIN { printf "%.1f", (b - a) * 1000000 / hz / n }'; }
ITEMS='[{"description":"Widget","amount_cents":1000,"quantity":2}]'
export MCPI_BODY="{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"create_invoice\",\"arguments\":{\"customer_id\":\"bench_c\",\"line_items\":$ITEMS}}}"
run() { # label address -> prints one line, sets RPS REQS
	h0=$(ticks $(host_pids)); l0=$(ticks $HAPROXY)
	taskset -c 1 wrk -t1 -c"$CONNS" -d"${DUR}s" --latency -s bench/tool.lua "https://$2/mcp" > "$DIR/wrk-$1.txt" 2>&1
	grep -q "Non-2xx" "$DIR/wrk-$1.txt" && { cat "$DIR/wrk-$1.txt" >&2; exit 1; }
	REQS=$(awk '/requests in/ {print $1}' "$DIR/wrk-$1.txt")
	RPS=$(awk '/Requests\/sec/ {print $2}' "$DIR/wrk-$1.txt")
	HOST_US=$(us_per "$h0" "$(ticks $(host_pids))" "$REQS")
	LB_US=$(us_per "$l0" "$(ticks $HAPROXY)" "$REQS")
	printf "%-24s %6.0f req/s p50 %-8s p99 %-8s host CPU %s us/request, HAProxy CPU %s us/request\n" "$1" "$RPS" \
		"$(awk '$1 == "50%" {print $2}' "$DIR/wrk-$1.txt")" "$(awk '$1 == "99%" {print $2}' "$DIR/wrk-$1.txt")" "$HOST_US" "$LB_US"
}
echo "mcp-invoiced bench-cluster: create_invoice, one host (1 worker) on core 0, wrk $CONNS connections and HAProxy on core 1, PostgreSQL unpinned, ${DUR}s each"
run "direct to the host" "$HOST"
DIRECT_US=$HOST_US
run "through HAProxy" "$LB"
PROXY_US=$LB_US
printf "%s\n" "SELECT mcp_create_invoice('bench', 'bench', 'pgbench', 'bench_c', 'USD', NULL, NULL, '$ITEMS'::jsonb, NULL, '{}', false)::text;" > "$DIR/pgbench.sql"
PG=$("$PGBIN/pgbench" -n -h "$DIR/sock" -p "$PGPORT" -U mcp_invoiced_app -c 64 -j 2 -T "$DUR" -M prepared \
	-f "$DIR/pgbench.sql" invoices 2>/dev/null | awk '/^tps/ {print int($3)}')
echo "pgbench, the same SQL, 64 connections, one commit per call: $PG tps"
awk -v h="$DIRECT_US" -v l="$PROXY_US" -v pg="$PG" 'BEGIN {
	printf "model: a host core serves about %.0f create_invoice/s (1e6 / %s us); one HAProxy core passes about %.0f/s (1e6 / %s us)\n", 1e6 / h, h, 1e6 / l, l
	printf "       N hosts of C cores: min(N x C x %.0f, HAProxy cores x %.0f, what PostgreSQL commits)\n", 1e6 / h, 1e6 / l
	printf "       PostgreSQL alone: %d tps one call per commit (group commit lets the hosts exceed it, see make bench)\n", pg }'
