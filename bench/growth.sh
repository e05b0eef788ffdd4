# growth.sh - sourced by bench.sh (its server, cluster and helpers): the same
# reads against tenants of 1,000 and 100,000 sent invoices (100 and 1,000
# customers; BENCH_GROWTH_MILLION=1 adds 1,000,000 over 10,000 customers,
# about two minutes more to load), loaded with SQL as the tools write them
# (drafts with a priced line, then sent and numbered, through the balance
# trigger). Per read: the one-connection cost (wrk, 1 connection, p50), its
# growth over the 1,000-invoice tenant, and the 64-connection rate and p99.
# Then list_outstanding_balances' SQL beside the old all-invoices query
# (tests/integration/sql/outstanding_ledger.sql) at each size, and
# apply_payment with the balance trigger on and off (pgbench). Issue 28's
# targets: one-connection cost at 100,000 <= 2x at 1,000; the all-customer
# page <= 5 ms at 1,000,000; p99 < 25 ms at 64 connections; writes within 10 %.
GDUR=${BENCH_GROWTH_SECONDS:-5}
SIZES="1000:100 100000:1000"
[ "${BENCH_GROWTH_MILLION:-0}" = 1 ] && SIZES="$SIZES 1000000:10000"
$PSQL -f tests/integration/sql/outstanding_ledger.sql >/dev/null

grow_load() { # tenant invoices customers (tests/integration/sql/grow_tenant.sql)
	$PSQL -v ON_ERROR_STOP=1 -v t="$1" -v n="$2" -v customers="$3" -f tests/integration/sql/grow_tenant.sql >/dev/null
}

grow_wrk() { # connections seconds tool args-json -> "rps p50 p99" (wrk's units)
	export MCPI_BODY="{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"$3\",\"arguments\":$4}}"
	wrk -t"$([ "$1" -ge 2 ] && echo 2 || echo 1)" -c"$1" -d"$2s" --latency -s bench/count.lua \
		"https://$LISTEN/mcp" > "$DIR/wrk-grow.txt" 2>&1
	grep -q "tool errors: 0, non-200: 0" "$DIR/wrk-grow.txt" || { cat "$DIR/wrk-grow.txt" >&2; exit 1; }
	echo "$(awk '/Requests\/sec/ {print $2}' "$DIR/wrk-grow.txt") $(awk '$1 == "50%" {print $2}' "$DIR/wrk-grow.txt") $(awk '$1 == "99%" {print $2}' "$DIR/wrk-grow.txt")"
}
to_ms() { # wrk duration (123.45us, 1.23ms, 1.2s) -> ms
	echo "$1" | awk '/us$/ {sub("us", ""); printf "%.3f", $1 / 1000; exit} /ms$/ {sub("ms", ""); printf "%.3f", $1; exit} /s$/ {sub("s", ""); printf "%.3f", $1 * 1000}'
}
sql_ms() { # sql -> median of 5 runs, ms (psql \timing, as the server's role)
	$PGBIN/psql -X -At -h "$DIR/sock" -p "$PGPORT" -U mcp_invoiced_app -d invoices -c '\timing on' \
		-c "$1" -c "$1" -c "$1" -c "$1" -c "$1" | awk '/^Time:/ {print $2}' | sort -n | sed -n 3p
}

READS='list_outstanding_balances|{"limit":50}
list_outstanding_balances|{"customer_id":"cust-00007"}
list_invoices|{"customer_id":"cust-00007","limit":20}
list_invoices|{"status":"overdue","limit":20}
get_invoice|{"number":"INV-0000500"}
get_customer|{"customer_id":"cust-00007"}
list_customers|{"limit":20}
list_customers|{"query":"billing1","limit":20}'

echo "reads as the data grows (fresh tenants; 1 connection ${GDUR}s for the cost, $CONNS connections ${GDUR}s for rate and p99):"
for size in $SIZES; do
	n=${size%%:*}; cust=${size##*:}; T="grow-$n"
	t0=$(date +%s)
	grow_load "$T" "$n" "$cust"
	echo "  $n sent invoices, $cust customers (loaded in $(( $(date +%s) - t0 )) s)"
	export MCPI_TOKEN=$(bin/mcp-invoiced token --config "$CONF" --sub bench --tenant "$T")
	i=0
	echo "$READS" | while IFS='|' read -r tool args; do
		i=$((i + 1))
		one=$(grow_wrk 1 "$GDUR" "$tool" "$args"); set -- $one; cost=$(to_ms "$2")
		[ "$n" = 1000 ] && echo "$cost" > "$DIR/grow-base-$i"
		base=$(cat "$DIR/grow-base-$i")
		many=$(grow_wrk "$CONNS" "$GDUR" "$tool" "$args"); set -- $many
		printf "    %-26s %-48s 1 conn %7.2f ms (%5.2fx)   %s conns %7.0f req/s p99 %s\n" "$tool" "$args" "$cost" \
			"$(awk -v a="$cost" -v b="$base" 'BEGIN { printf "%.2f", a / b }')" "$CONNS" "$1" "$3"
	done
	new=$(sql_ms "SELECT mcp_list_outstanding('$T', NULL, NULL, NULL, 50, NULL, NULL)::text")
	old=$(sql_ms "SELECT mcp_list_outstanding_ledger('$T', NULL, NULL, NULL, 50, NULL, NULL)::text")
	echo "    all-customer page, SQL alone (median of 5): kept balances $new ms, old all-invoices query $old ms"
done

# Writes with and without the balance trigger, same data, same run: 1 cent
# paid on random invoices of the 100,000-invoice tenant.
$PSQL -c "DROP TABLE IF EXISTS grow_pay; CREATE TABLE grow_pay AS SELECT row_number() OVER () AS n, invoice_id FROM invoices WHERE tenant_id = 'grow-100000' LIMIT 10000; GRANT SELECT ON grow_pay TO mcp_invoiced_app"
GPAY="\\set n random(1, 10000)
SELECT mcp_try_apply_payment('grow-100000', 'bench', 'pgbench', (SELECT invoice_id::text FROM grow_pay WHERE n = :n), '1', NULL, NULL, NULL, NULL, '{}')::text;"
for round in 1 2; do
	for trig in on off; do
		[ "$trig" = off ] && $PSQL -c "ALTER TABLE invoices DISABLE TRIGGER invoices_balance_update"
		printf "%s\n" "$GPAY" > "$DIR/pgbench-grow.sql"
		for c in "$WORKERS" "$CONNS"; do
			"$PGBIN/pgbench" -n -h "$DIR/sock" -p "$PGPORT" -U mcp_invoiced_app -c "$c" -j 2 -T "$GDUR" \
				-M prepared -f "$DIR/pgbench-grow.sql" invoices > "$DIR/pgbench-grow.txt" 2>&1
			echo "  apply_payment (pgbench, $c conns), balance trigger $trig, round $round: $(awk '/^tps/ {print int($3)}' "$DIR/pgbench-grow.txt") tps"
		done
		[ "$trig" = off ] && $PSQL -c "ALTER TABLE invoices ENABLE TRIGGER invoices_balance_update; SELECT mcp_rebuild_balances('grow-100000')" >/dev/null
	done
done
