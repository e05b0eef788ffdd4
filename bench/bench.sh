#!/bin/sh
# bench.sh - `make bench`: throughput and latency of the tools over
# keep-alive HTTPS (wrk), beside PostgreSQL's own rate for the very same SQL
# function calls (pgbench), on a private cluster under var/bench.
set -eu
DUR=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-64}
WORKERS=${BENCH_WORKERS:-$(nproc)}
PGPORT=${BENCH_PGPORT:-55434}
LISTEN=127.0.0.1:${BENCH_PORT:-18444}
mkdir -p var/bench
DIR=$(cd var/bench && pwd)
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
# A new database each run (the cluster is reused): the tools are measured
# as on day one, with no statistics until autovacuum takes them. The old
# database is dropped unmigrated (an earlier build's schema need not
# migrate: unreleased migrations are edited in place).
DEVENV_MIGRATE=0 sh tests/devenv.sh setup "$DIR" "$PGPORT" "$LISTEN" >/dev/null
"$PGBIN/psql" -X -q -h "$DIR/sock" -p "$PGPORT" -U postgres -d postgres -c "DROP DATABASE IF EXISTS invoices WITH (FORCE)"
sh tests/devenv.sh setup "$DIR" "$PGPORT" "$LISTEN" >/dev/null
CONF="$DIR/bench.conf"
cp "$DIR/mcp-invoiced.conf" "$CONF"
cat >> "$CONF" <<C
workers = $WORKERS
log_level = warn
rate_limit_rps = 10000000
rate_limit_burst = 10000000
max_inflight = 1024
C
PSQL="$PGBIN/psql -X -q -At -h $DIR/sock -p $PGPORT -U postgres -d invoices"
bin/mcp-invoiced serve --config "$CONF" 2>"$DIR/server.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; sh tests/devenv.sh stop "$DIR"' EXIT
i=0
until curl -sk -o /dev/null "https://$LISTEN/metrics"; do
	i=$((i + 1)); [ $i -gt 100 ] && { cat "$DIR/server.log"; exit 1; }; sleep 0.1
done
sleep 0.5
export MCPI_TOKEN=$(bin/mcp-invoiced token --config "$CONF" --sub bench --tenant bench)

# CPU time (clock ticks, all server processes) and RSS per worker, read
# from /proc around a run: "server CPU per request" = ticks / requests.
server_ticks() {
	t=0
	for p in $SERVER $(pgrep -P $SERVER); do
		set -- $(sed 's/^.*) //' /proc/$p/stat 2>/dev/null) ; [ $# -gt 13 ] && t=$((t + ${12} + ${13}))
	done
	echo $t
}
worker_rss() {
	for p in $(pgrep -P $SERVER); do
		[ "$(cat /proc/$p/comm 2>/dev/null)" = mcpi-worker ] && awk '/^VmRSS/ {printf "%d MiB ", $2 / 1024}' /proc/$p/status
	done
}
HZ=$(getconf CLK_TCK)
cpu_per_request() { # ticks-before requests -> microseconds of server CPU per request
	awk -v a="$1" -v b="$(server_ticks)" -v n="$2" -v hz="$HZ" 'BEGIN { printf "%.0f", (b - a) * 1000000 / hz / n }'
}

ITEMS='[{"description":"Widget","amount_cents":1000,"quantity":2}]'
CREATE_ARGS="{\"customer_id\":\"bench_c\",\"line_items\":$ITEMS}"
LIST_ARGS='{"customer_id":"bench_c","limit":20}'
CREATE_SQL="SELECT mcp_create_invoice('bench', 'bench', 'pgbench', 'bench_c', 'USD', NULL, NULL, '$ITEMS'::jsonb, NULL, '{}', false)::text;"
LIST_SQL="SELECT mcp_find_invoices('bench', '{\"customer_id\":\"bench_c\",\"sort\":\"newest\"}', 20, NULL, NULL)::text;"

wrk_run() { # tool args-json -> prints "rps p50 p99"
	export MCPI_BODY="{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"$1\",\"arguments\":$2}}"
	wrk -t"$([ "$CONNS" -ge 2 ] && echo 2 || echo 1)" -c"$CONNS" -d"${DUR}s" --latency -s bench/tool.lua \
		"https://$LISTEN/mcp" > "$DIR/wrk-$1.txt" 2>&1
	if grep -q "Non-2xx" "$DIR/wrk-$1.txt"; then
		echo "wrk saw non-2xx responses:" >&2; cat "$DIR/wrk-$1.txt" >&2; exit 1
	fi
	rps=$(awk '/Requests\/sec/ {print $2}' "$DIR/wrk-$1.txt")
	p50=$(awk '$1 == "50%" {print $2}' "$DIR/wrk-$1.txt")
	p99=$(awk '$1 == "99%" {print $2}' "$DIR/wrk-$1.txt")
	echo "$rps $p50 $p99"
}

pgbench_run() { # clients sql -> prints "tps" and logs its latency average
	printf "%s\n" "$2" > "$DIR/pgbench.sql"
	"$PGBIN/pgbench" -n -h "$DIR/sock" -p "$PGPORT" -U mcp_invoiced_app -c "$1" -j 2 -T "$DUR" \
		-M prepared -f "$DIR/pgbench.sql" invoices > "$DIR/pgbench-$1.txt" 2>/dev/null
	awk '/^tps/ {print int($3)}' "$DIR/pgbench-$1.txt"
}
pg_latency() { # clients -> latency average of the last pgbench run with that many clients
	awk '/^latency average/ {print $4 "ms"}' "$DIR/pgbench-$1.txt"
}

report() { # name wrk-result pg-same pg-conns
	set -- "$1" $2 "$3" "$4"
	ratio=$(awk -v a="$2" -v b="$5" 'BEGIN { printf "%.0f%%", 100 * a / b }')
	ratio64=$(awk -v a="$2" -v b="$6" 'BEGIN { printf "%.0f%%", 100 * a / b }')
	printf "%-16s server %6.0f req/s p50 %-8s p99 %-8s| pgbench same SQL: %5s tps @%s conns -> %s; %5s tps @%s conns (latency avg %s) -> %s\n" \
		"$1" "$2" "$3" "$4" "$5" "$WORKERS" "$ratio" "$6" "$CONNS" "$(pg_latency "$CONNS")" "$ratio64"
}

# BENCH_RECV_ONLY=1: only the receivables part (bench/receivables.sh);
# BENCH_GROWTH_ONLY=1: only the reads as the data grows (bench/growth.sh).
[ "${BENCH_RECV_ONLY:-0}" = 1 ] && { . bench/receivables.sh; exit 0; }
[ "${BENCH_GROWTH_ONLY:-0}" = 1 ] && { . bench/growth.sh; exit 0; }

echo "mcp-invoiced bench: $WORKERS workers, wrk $CONNS connections for ${DUR}s per tool, $(nproc) CPUs shared by client, server and PostgreSQL"
before=$($PSQL -c "SELECT count(*) FROM invoices WHERE tenant_id = 'bench'")
ticks=$(server_ticks)
c=$(wrk_run create_invoice "$CREATE_ARGS")
after=$($PSQL -c "SELECT count(*) FROM invoices WHERE tenant_id = 'bench'")
done_reqs=$(awk '/requests in/ {print $1}' "$DIR/wrk-create_invoice.txt")
pc=$(pgbench_run "$WORKERS" "$CREATE_SQL")
pc64=$(pgbench_run "$CONNS" "$CREATE_SQL")
report create_invoice "$c" "$pc" "$pc64"
echo "                 (invoices written by the server run: $((after - before)); wrk completed $done_reqs requests; server CPU $(cpu_per_request "$ticks" "$done_reqs") us/request; worker RSS: $(worker_rss))"
# Read at once, as the tables are: no ANALYZE has run unless autovacuum
# took one (the statistics then say what the table held at that moment).
analyzed() {
	$PSQL -c "SELECT COALESCE(max(GREATEST(last_analyze, last_autoanalyze))::text, 'never') FROM pg_stat_user_tables WHERE relname = 'invoices'"
}
echo "                 (invoices last analyzed: $(analyzed))"
l=$(wrk_run list_invoices "$LIST_ARGS")
pl=$(pgbench_run "$WORKERS" "$LIST_SQL")
pl64=$(pgbench_run "$CONNS" "$LIST_SQL")
report list_invoices "$l" "$pl" "$pl64"
# The same after an ANALYZE (what autovacuum leaves within its minute).
$PSQL -c "ANALYZE invoices, invoice_line_items"
l=$(wrk_run list_invoices "$LIST_ARGS")
pl=$(pgbench_run "$WORKERS" "$LIST_SQL")
pl64=$(pgbench_run "$CONNS" "$LIST_SQL")
report "list, analyzed" "$l" "$pl" "$pl64"

# apply_payment: 1000 sent invoices with a large total, payments spread at random.
$PSQL <<'SQL'
DROP TABLE IF EXISTS bench_invoices;
CREATE TABLE bench_invoices (n int PRIMARY KEY, invoice_id uuid NOT NULL);
SELECT set_config('app.tenant_id', 'bench', false);
INSERT INTO bench_invoices
SELECT g, (mcp_create_invoice('bench', 'bench', 'setup', 'bench_pay', 'USD', NULL, NULL,
       '[{"description":"Retainer","amount_cents":1000000000000,"quantity":1}]', NULL, '{}', false)->>'invoice_id')::uuid
  FROM generate_series(1, 1000) g;
SELECT count(mcp_send_invoice('bench', 'bench', 'setup', invoice_id)) FROM bench_invoices;
GRANT SELECT ON bench_invoices TO mcp_invoiced_app;
SQL
$PSQL -c "SELECT invoice_id FROM bench_invoices ORDER BY n" > "$DIR/ids.txt"
export MCPI_IDS="$DIR/ids.txt"
ticks=$(server_ticks)
wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -s bench/pay.lua "https://$LISTEN/mcp" > "$DIR/wrk-apply_payment.txt" 2>&1
grep -q "Non-2xx" "$DIR/wrk-apply_payment.txt" && { cat "$DIR/wrk-apply_payment.txt"; exit 1; }
p="$(awk '/Requests\/sec/ {print $2}' "$DIR/wrk-apply_payment.txt") $(awk '$1 == "50%" {print $2}' "$DIR/wrk-apply_payment.txt") $(awk '$1 == "99%" {print $2}' "$DIR/wrk-apply_payment.txt")"
PAY_SQL="\\set n random(1, 1000)
SELECT mcp_apply_payment('bench', 'bench', 'pgbench', (SELECT invoice_id FROM bench_invoices WHERE n = :n), 1, NULL, NULL, NULL, NULL, '{}')::text;"
pp=$(pgbench_run "$WORKERS" "$PAY_SQL")
pp64=$(pgbench_run "$CONNS" "$PAY_SQL")
report apply_payment "$p" "$pp" "$pp64"
pay_reqs=$(awk '/requests in/ {print $1}' "$DIR/wrk-apply_payment.txt")
echo "                 (server CPU $(cpu_per_request "$ticks" "$pay_reqs") us/request)"
bad=$($PSQL -c "SELECT count(*) FROM invoices WHERE tenant_id = 'bench' AND amount_paid_cents <> (SELECT COALESCE(sum(amount_cents), 0) FROM payments p WHERE p.invoice_id = invoices.invoice_id)")
echo "                 (invoices whose amount_paid_cents differs from the sum of their payments: $bad)"

# 64 connections paying the same invoice, 1 minor unit each: every answer
# must be a success (row lock, no deadlock or serialization error reaching
# a client) and the invoice's amount_paid_cents must equal its payments.
same=$(head -n 1 "$DIR/ids.txt")
paid0=$($PSQL -c "SELECT amount_paid_cents FROM invoices WHERE invoice_id = '$same'")
export MCPI_BODY="{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"apply_payment\",\"arguments\":{\"invoice_id\":\"$same\",\"amount_cents\":1}}}"
wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -s bench/count.lua "https://$LISTEN/mcp" > "$DIR/wrk-same-invoice.txt" 2>&1
sleep 1 # requests wrk left in flight finish
paid1=$($PSQL -c "SELECT amount_paid_cents FROM invoices WHERE invoice_id = '$same'")
sum1=$($PSQL -c "SELECT sum(amount_cents) FROM payments WHERE invoice_id = '$same'")
[ "$paid1" = "$sum1" ] || { echo "amount_paid_cents $paid1 differs from the sum of payments $sum1" >&2; exit 1; }
same_reqs=$(awk '/requests in/ {print $1}' "$DIR/wrk-same-invoice.txt")
SAME_SQL="SELECT mcp_apply_payment('bench', 'bench', 'pgbench', '$same', 1, NULL, NULL, NULL, NULL, '{}')::text;"
psame=$(pgbench_run "$CONNS" "$SAME_SQL")
printf "%-16s server %6.0f req/s p50 %-8s p99 %-8s| pgbench same SQL: %5s tps @%s conns\n" "apply_payment, one invoice" \
	"$(awk '/Requests\/sec/ {print $2}' "$DIR/wrk-same-invoice.txt")" "$(awk '$1 == "50%" {print $2}' "$DIR/wrk-same-invoice.txt")" \
	"$(awk '$1 == "99%" {print $2}' "$DIR/wrk-same-invoice.txt")" "$psame" "$CONNS"
echo "                 ($same_reqs answers, $(grep '^tool errors' "$DIR/wrk-same-invoice.txt"); paid by the server run: $((paid1 - paid0)) cents; amount_paid_cents = sum of payments = $sum1)"

# list_outstanding_balances over 100,000 invoices in one tenant: first a
# realistic mix (60% paid, 10% void, 10% draft, 20% open), then the worst
# case where all 100,000 are open. The partial index invoices_open (only
# status = 'sent' rows, keyed by tenant, customer, currency, covering due
# date and amounts) keeps paid, void and draft invoices out of the scan.
outstanding_case() { # label open-fraction-sql
	$PSQL <<SQL
SET session_replication_role = replica; -- bench set-up only: invoices are never deleted otherwise
DELETE FROM invoices WHERE tenant_id = 'bench-aging';
INSERT INTO invoices (tenant_id, customer_id, status, currency, total_cents, amount_paid_cents,
                      due_date, invoice_number, issued_at, created_at)
SELECT 'bench-aging', 'cust-' || (g % 1000), s.status, CASE WHEN g % 5 = 0 THEN 'EUR' ELSE 'USD' END,
       10000 + g % 997, CASE WHEN s.status = 'paid' THEN 10000 + g % 997 WHEN s.status = 'sent' THEN (g % 3) * 100 ELSE 0 END,
       current_date - ((g / 1000) % 200) + 30,
       CASE WHEN s.status <> 'draft' THEN 'INV-' || lpad(g::text, 6, '0') END,
       CASE WHEN s.status <> 'draft' THEN now() END, now()
  FROM generate_series(1, 100000) g,
       LATERAL (SELECT CASE WHEN $2 OR g % 10 >= 8 THEN 'sent' WHEN g % 10 < 6 THEN 'paid' WHEN g % 10 = 6 THEN 'void' ELSE 'draft' END AS status) s;
SET session_replication_role = DEFAULT;
SELECT mcp_rebuild_balances('bench-aging'); -- the load bypassed the balance trigger
VACUUM ANALYZE invoices;
SQL
	BODY="{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"list_outstanding_balances\",\"arguments\":{\"limit\":50}}}"
	curl_ms=$(for i in 1 2 3 4 5 6 7 8 9 10 11; do
		curl -sk -o /dev/null -w '%{time_total}\n' "https://$LISTEN/mcp" -H "Authorization: Bearer $MCPI_TOKEN" \
			-H 'Content-Type: application/json' -d "$BODY"
	done | sort -n | awk '{ t[NR] = $1 } END { printf "median %.1f ms, max %.1f ms", t[6] * 1000, t[NR] * 1000 }')
	sql_ms=$($PGBIN/psql -X -At -h "$DIR/sock" -p "$PGPORT" -U mcp_invoiced_app -d invoices \
		-c '\timing on' -c "$OUT_SQL" -c "$OUT_SQL" -c "$OUT_SQL" | awk '/^Time:/ {print $2}' | sort -n | sed -n 2p)
	open_n=$($PSQL -c "SELECT count(*) FROM invoices WHERE tenant_id = 'bench-aging' AND status = 'sent'")
	echo "list_outstanding_balances, 100000 invoices in one tenant ($1: $open_n open), 1000 customers x 2 currencies:"
	echo "                 one HTTPS call incl. TLS handshake (curl x11): $curl_ms; the same SQL in psql: $sql_ms ms (median of 3)"
}
export MCPI_TOKEN=$(bin/mcp-invoiced token --config "$CONF" --sub bench --tenant bench-aging)
OUT_ARGS='{"limit":50}'
OUT_SQL="SELECT mcp_list_outstanding('bench-aging', NULL, NULL, NULL, 50, NULL, NULL)::text;"
outstanding_case "mix: 60% paid, 10% void, 10% draft, 20% open" false
o=$(wrk_run list_outstanding_balances "$OUT_ARGS")
po=$(pgbench_run "$WORKERS" "$OUT_SQL")
po64=$(pgbench_run "$CONNS" "$OUT_SQL")
report list_outstanding "$o" "$po" "$po64"
outstanding_case "worst case: all open" true
o=$(wrk_run list_outstanding_balances "$OUT_ARGS")
po=$(pgbench_run "$WORKERS" "$OUT_SQL")
po64=$(pgbench_run "$CONNS" "$OUT_SQL")
report list_outstanding "$o" "$po" "$po64"

# Mixed load: 8 connections run list_outstanding_balances over 100,000
# open invoices while other connections run tools/list and create_invoice.
MIX_CONNS=$(( (CONNS - 8) / 2 ))
mixed() { # name connections body -> wrk output in $DIR/mix-name.txt
	MCPI_BODY="$3" wrk -t1 -c"$2" -d"${DUR}s" --latency -s bench/count.lua "https://$LISTEN/mcp" > "$DIR/mix-$1.txt" 2>&1
}
OUT_BODY="{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"list_outstanding_balances\",\"arguments\":$OUT_ARGS}}"
LIST_BODY='{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
CREATE_BODY="{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"create_invoice\",\"arguments\":$CREATE_ARGS}}"
mixed outstanding 8 "$OUT_BODY" &
m1=$!
mixed tools_list "$MIX_CONNS" "$LIST_BODY" &
m2=$!
MCPI_TOKEN=$(bin/mcp-invoiced token --config "$CONF" --sub bench --tenant bench) mixed create "$MIX_CONNS" "$CREATE_BODY" &
m3=$!
wait $m1 $m2 $m3
echo "mixed load ($DUR s): 8 connections list_outstanding_balances (100000 open), $MIX_CONNS tools/list, $MIX_CONNS create_invoice:"
for n in outstanding tools_list create; do
	printf "                 %-12s %6.0f req/s p50 %-8s p99 %-8s %s\n" "$n" "$(awk '/Requests\/sec/ {print $2}' "$DIR/mix-$n.txt")" \
		"$(awk '$1 == "50%" {print $2}' "$DIR/mix-$n.txt")" "$(awk '$1 == "99%" {print $2}' "$DIR/mix-$n.txt")" \
		"$(grep '^tool errors' "$DIR/mix-$n.txt")"
done

# PDF statements: a one-page statement end to end over HTTPS (database,
# renderer process, base64-free resource_link result), a 100-page one,
# and the RSS of the renderer and the workers (which must not grow: only
# the renderer binary links cairo and pango).
renderer_rss() {
	for p in $(pgrep -P $SERVER); do
		[ "$(cat /proc/$p/comm 2>/dev/null)" = mcpi-render ] && awk '/^VmRSS/ {printf "%d MiB ", $2 / 1024}' /proc/$p/status
	done
}
$PSQL <<'SQL'
SELECT set_config('app.tenant_id', 'bench', false);
INSERT INTO customers (tenant_id, customer_id, name, address) VALUES
  ('bench', 'bench_pdf1', 'Bench One GmbH', 'Hauptstr. 1, Berlin'),
  ('bench', 'bench_pdf100', '株式会社ベンチ', '東京都千代田区1-1') ON CONFLICT DO NOTHING;
INSERT INTO invoices (tenant_id, customer_id, status, currency, total_cents, due_date, invoice_number, issued_at,
                      created_at)
SELECT 'bench', CASE WHEN g <= 12 THEN 'bench_pdf1' ELSE 'bench_pdf100' END, 'sent', 'USD', 1000 + g,
       current_date + 30, 'PDF-' || lpad(g::text, 6, '0'), date_trunc('month', now()) + g * interval '1 second',
       date_trunc('month', now()) + g * interval '1 second'
  FROM generate_series(1, 12 + 4850) g;
SQL
export MCPI_TOKEN=$(bin/mcp-invoiced token --config "$CONF" --sub bench --tenant bench)
rss_before=$(worker_rss)
ST1_ARGS='{"customer_id":"bench_pdf1","currency":"USD"}'
ST100_ARGS='{"customer_id":"bench_pdf100","currency":"USD"}'
call() { # tool args -> response body on stdout
	curl -sk -H "Authorization: Bearer $MCPI_TOKEN" -H 'Content-Type: application/json' \
		-H 'Accept: application/json, text/event-stream' \
		-d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"$1\",\"arguments\":$2}}" \
		"https://$LISTEN/mcp"
}
call get_statement "$ST1_ARGS" > "$DIR/statement.json"
grep -q '"application/pdf"' "$DIR/statement.json" || { echo "get_statement gave no PDF:" >&2; cat "$DIR/statement.json" >&2; exit 1; }
for n in 1 4 $CONNS; do
	set -- $(CONNS=$n wrk_run get_statement "$ST1_ARGS")
	printf "%-16s server %6.0f req/s p50 %-8s p99 %-8s (one-page statement, 12 lines, rendered per call; %d connections)\n" \
		get_statement "$1" "$2" "$3" "$n"
done
times=""
for i in 1 2 3 4 5; do
	t0=$(date +%s%N)
	body=$(call get_statement "$ST100_ARGS")
	t1=$(date +%s%N)
	times="$times $(( (t1 - t0) / 1000000 ))"
done
pages=$(printf "%s" "$body" | sed -n 's/.*"pages":\([0-9]*\).*/\1/p' | head -n 1)
size=$(printf "%s" "$body" | sed -n 's/.*"resource_link"[^}]*"size":\([0-9]*\).*/\1/p' | head -n 1)
med=$(echo $times | tr ' ' '\n' | sort -n | sed -n 3p)
echo "100-page statement: $pages pages, $size bytes; end to end (ms, 5 calls):$times; median $med ms -> $(awk -v p="$pages" -v t="$med" 'BEGIN { printf "%.0f", p * 1000 / t }') pages/s"
# The renderer alone on the same document (its --file mode; includes loading the fonts once).
printf "%s" "$body" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["result"]["structuredContent"]))' \
	> "$DIR/statement100.json"
t0=$(date +%s%N)
bin/mcp-invoiced-render --file statement "$DIR/statement100.json" "$DIR/statement100.pdf" >/dev/null
t1=$(date +%s%N)
echo "renderer alone, same 100 pages (fonts loaded once included): $(( (t1 - t0) / 1000000 )) ms -> $(awk -v p="$pages" -v t="$(( (t1 - t0) / 1000000 ))" 'BEGIN { printf "%.0f", p * 1000 / t }') pages/s"
libs=0
for p in $(pgrep -P $SERVER); do
	if [ "$(cat /proc/$p/comm 2>/dev/null)" = mcpi-worker ]; then
		libs=$((libs + $(grep -c -E 'cairo|pango|harfbuzz|fontconfig|freetype' /proc/$p/maps || true)))
	fi
done
echo "renderer RSS: $(renderer_rss); worker RSS before the PDF runs: $rss_before; after: $(worker_rss);" \
	"cairo/pango/harfbuzz/fontconfig/freetype mappings in workers: $libs"

. bench/receivables.sh
. bench/growth.sh
