# receivables.sh - sourced by bench.sh (its server, cluster and helpers):
# list_invoices with each filter and list_customers over 1,000,000 invoices
# and 100,000 customers in one tenant, beside pgbench of the same SQL, then
# the receivables writes (credit notes, reversals, apply_credit).
# BENCH_RECV_CONNECTIONS (default 16) connections per run, BENCH_RECV_SECONDS
# (default 5) seconds each. Target: p99 < 20 ms for every read.
RCONNS=${BENCH_RECV_CONNECTIONS:-16}
RDUR=${BENCH_RECV_SECONDS:-5}
T=bench-recv
echo "receivables: generating 1,000,000 invoices and 100,000 customers in tenant $T ..."
t0=$(date +%s)
$PSQL <<SQL
SET session_replication_role = replica; -- bench set-up only: bulk load without row triggers
DELETE FROM invoices WHERE tenant_id = '$T';
DELETE FROM customers WHERE tenant_id = '$T';
INSERT INTO customers (tenant_id, customer_id, name, email)
SELECT '$T', 'cust-' || lpad(g::text, 6, '0'),
       (ARRAY['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Stark'])[1 + g % 6] || ' ' || g,
       'billing' || g || '@example.com'
  FROM generate_series(1, 100000) g;
INSERT INTO invoices (tenant_id, customer_id, status, currency, subtotal_cents, total_cents,
                      amount_paid_cents, due_date, invoice_number, issued_at, created_at)
SELECT '$T', 'cust-' || lpad((1 + g % 100000)::text, 6, '0'), s.status,
       CASE WHEN g % 10 < 7 THEN 'USD' WHEN g % 10 < 9 THEN 'EUR' ELSE 'JPY' END,
       t.total, t.total, CASE WHEN s.status = 'paid' THEN t.total ELSE 0 END,
       date '2025-01-01' + (g / 1400), CASE WHEN s.status <> 'draft' THEN 'INV-' || lpad(g::text, 7, '0') END,
       CASE WHEN s.status <> 'draft' THEN timestamptz '2025-01-01' + g * interval '60 seconds' END,
       timestamptz '2025-01-01' + g * interval '60 seconds'
  FROM generate_series(1, 1000000) g,
       LATERAL (SELECT CASE WHEN g % 20 < 14 THEN 'paid' WHEN g % 20 < 18 THEN 'sent'
                            WHEN g % 20 = 18 THEN 'draft' ELSE 'void' END AS status) s,
       LATERAL (SELECT 1000 + (g::bigint * 7919) % 1000000 AS total) t;
SET session_replication_role = DEFAULT;
SELECT mcp_rebuild_balances('$T'); -- the load bypassed the balance trigger
VACUUM ANALYZE invoices;
VACUUM ANALYZE customers;
SQL
echo "                 (generated in $(( $(date +%s) - t0 )) s)"
export MCPI_TOKEN=$(bin/mcp-invoiced token --config "$CONF" --sub bench --tenant "$T")

recv_line() { # label wrk-output [pgbench-output clients]: one result line
	printf "  %-34s server %6.0f req/s p50 %-8s p99 %-8s %-25s" "$1" \
		"$(awk '/Requests\/sec/ {print $2}' "$2")" "$(awk '$1 == "50%" {print $2}' "$2")" \
		"$(awk '$1 == "99%" {print $2}' "$2")" "$(grep '^tool errors' "$2" | tr -d '\n')"
	[ -n "${3:-}" ] && printf "| pgbench @%s: %6s tps, avg %s ms" "$4" \
		"$(awk '/^tps/ {print int($3)}' "$3")" "$(awk '/^latency average/ {print $4}' "$3")"
	echo
}
recv_read() { # label tool args-json sql
	export MCPI_BODY="{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"$2\",\"arguments\":$3}}"
	wrk -t2 -c"$RCONNS" -d"${RDUR}s" --latency -s bench/count.lua "https://$LISTEN/mcp" > "$DIR/wrk-recv.txt" 2>&1
	printf "%s\n" "$4" > "$DIR/pgbench.sql"
	"$PGBIN/pgbench" -n -h "$DIR/sock" -p "$PGPORT" -U mcp_invoiced_app -c "$WORKERS" -j 2 -T "$RDUR" \
		-M prepared -f "$DIR/pgbench.sql" invoices > "$DIR/pgbench-recv.txt" 2>&1
	recv_line "$1" "$DIR/wrk-recv.txt" "$DIR/pgbench-recv.txt" "$WORKERS"
}
# Each list_invoices case: label, the tool's arguments, and the filter object the
# server passes to mcp_find_invoices (the arguments without limit/cursor, sort filled in).
inv_case() { # label args-json filter-json
	recv_read "$1" list_invoices "$2" "SELECT mcp_find_invoices('$T', '$3', 20, NULL, NULL)::text;"
}
echo "list_invoices / list_customers, 20 rows a page, $RCONNS connections for ${RDUR}s each:"
inv_case "newest, no filter" '{}' '{"sort":"newest"}'
inv_case "customer_id" '{"customer_id":"cust-004242"}' '{"customer_id":"cust-004242","sort":"newest"}'
inv_case "status overdue" '{"status":"overdue"}' '{"status":"overdue","sort":"newest"}'
inv_case "status draft" '{"status":"draft"}' '{"status":"draft","sort":"newest"}'
inv_case "number" '{"number":"INV-0500001"}' '{"number":"INV-0500001","sort":"newest"}'
inv_case "currency JPY" '{"currency":"JPY"}' '{"currency":"JPY","sort":"newest"}'
inv_case "issued in one week (2025-06)" '{"issued_from":"2025-06-01","issued_to":"2025-06-07"}' \
	'{"issued_from":"2025-06-01","issued_to":"2025-06-07","sort":"newest"}'
inv_case "due in one week" '{"due_from":"2025-09-01","due_to":"2025-09-07"}' \
	'{"due_from":"2025-09-01","due_to":"2025-09-07","sort":"newest"}'
inv_case "total 500000-501000" '{"min_total_cents":500000,"max_total_cents":501000}' \
	'{"min_total_cents":500000,"max_total_cents":501000,"sort":"newest"}'
inv_case "sort due_date" '{"sort":"due_date"}' '{"sort":"due_date"}'
inv_case "EUR + sent + due range, by due" '{"currency":"EUR","status":"sent","due_from":"2026-01-01","sort":"due_date"}' \
	'{"status":"sent","currency":"EUR","due_from":"2026-01-01","sort":"due_date"}'
recv_read "list_customers, no query" list_customers '{}' "SELECT mcp_list_customers('$T', NULL, 20, NULL)::text;"
recv_read "list_customers, name prefix" list_customers '{"query":"umbrella 5"}' \
	"SELECT mcp_list_customers('$T', 'umbrella 5', 20, NULL)::text;"
recv_read "list_customers, e-mail prefix" list_customers '{"query":"billing777"}' \
	"SELECT mcp_list_customers('$T', 'billing777', 20, NULL)::text;"

# Writes: credit notes and reversals on 1000 large invoices (bench_invoices
# from the apply_payment run above, paid one minor unit at a time).
if $PSQL -c "SELECT 1 FROM bench_invoices LIMIT 1" >/dev/null 2>&1; then
	export MCPI_TOKEN=$(bin/mcp-invoiced token --config "$CONF" --sub bench --tenant bench)
	export MCPI_IDS="$DIR/ids.txt"
	echo "receivables writes, $CONNS connections for ${DUR}s:"
	MCPI_TOOL=create_credit_note wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -s bench/credit.lua "https://$LISTEN/mcp" > "$DIR/wrk-cn.txt" 2>&1
	CN_SQL="\\set n random(1, 1000)
SELECT mcp_create_credit_note('bench', 'bench', 'pgbench', (SELECT invoice_id FROM bench_invoices WHERE n = :n), 1, NULL, 'bench', NULL, '{}')::text;"
	printf "%s\n" "$CN_SQL" > "$DIR/pgbench.sql"
	"$PGBIN/pgbench" -n -h "$DIR/sock" -p "$PGPORT" -U mcp_invoiced_app -c "$CONNS" -j 2 -T "$DUR" \
		-M prepared -f "$DIR/pgbench.sql" invoices > "$DIR/pgbench-cn.txt" 2>&1
	recv_line "create_credit_note (1000 invoices)" "$DIR/wrk-cn.txt" "$DIR/pgbench-cn.txt" "$CONNS"
	$PSQL -c "SELECT payment_id FROM payments p WHERE tenant_id = 'bench' AND NOT EXISTS
	          (SELECT 1 FROM payment_reversals r WHERE r.payment_id = p.payment_id) LIMIT 200000" > "$DIR/payments.txt"
	MCPI_IDS="$DIR/payments.txt" MCPI_TOOL=reverse_payment wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -s bench/credit.lua \
		"https://$LISTEN/mcp" > "$DIR/wrk-rev.txt" 2>&1
	recv_line "reverse_payment (each once)" "$DIR/wrk-rev.txt"
	bad=$($PSQL -c "SELECT count(*) FROM invoices i WHERE tenant_id = 'bench' AND (
	        credit_notes_cents <> (SELECT COALESCE(sum(amount_cents), 0) FROM credit_notes n WHERE n.invoice_id = i.invoice_id)
	     OR amount_paid_cents <> (SELECT COALESCE(sum(amount_cents), 0) FROM payments p WHERE p.invoice_id = i.invoice_id)
	                           - (SELECT COALESCE(sum(amount_cents), 0) FROM payment_reversals r WHERE r.invoice_id = i.invoice_id))")
	echo "                 (invoices whose credit notes or payments less reversals differ from their rows: $bad)"
fi
