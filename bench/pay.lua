-- wrk script: apply_payment of 1 minor unit to a random one of the sent
-- invoices listed in $MCPI_IDS (one invoice_id per line).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("MCPI_TOKEN")
local ids = {}
for line in io.lines(os.getenv("MCPI_IDS")) do ids[#ids + 1] = line end
request = function()
	local body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"apply_payment",' ..
		'"arguments":{"invoice_id":"' .. ids[math.random(#ids)] .. '","amount_cents":1}}}'
	return wrk.format(nil, nil, nil, body)
end
