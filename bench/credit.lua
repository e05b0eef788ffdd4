-- wrk script for the receivables writes, counting errors like count.lua:
-- MCPI_TOOL=create_credit_note credits 1 minor unit on a random invoice of
-- $MCPI_IDS; MCPI_TOOL=reverse_payment reverses each payment_id of $MCPI_IDS
-- once (thread k of the 2 takes lines k+1, k+3, ...).
dofile("bench/count.lua")
local ids = {}
for line in io.lines(os.getenv("MCPI_IDS")) do ids[#ids + 1] = line end
local tool = os.getenv("MCPI_TOOL")
local count_setup, count_init = setup, init
local started = 0
function setup(thread)
	count_setup(thread)
	thread:set("tid", started)
	started = started + 1
end
function init(args)
	count_init(args)
	next_line = tid + 1
end
request = function()
	local args
	if tool == "reverse_payment" then
		args = '{"payment_id":"' .. ids[(next_line - 1) % #ids + 1] .. '","reason":"bench"}'
		next_line = next_line + 2
	else
		args = '{"invoice_id":"' .. ids[math.random(#ids)] .. '","amount_cents":1,"reason":"bench"}'
	end
	return wrk.format(nil, nil, nil, '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"' ..
		tool .. '","arguments":' .. args .. '}}')
end
