-- wrk script: like tool.lua (MCPI_BODY over keep-alive HTTPS), and counts
-- the answers whose tool result is an error ("isError":true) and the
-- responses that are not 200, printed at the end as
-- "tool errors: N, non-200: M" (bench.sh reads that line).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("MCPI_TOKEN")
wrk.body = os.getenv("MCPI_BODY")
local threads = {}
function setup(thread)
	table.insert(threads, thread)
end
function init()
	tool_errors = 0
	not_ok = 0
end
function response(status, headers, body)
	if status ~= 200 then
		not_ok = not_ok + 1
	elseif string.find(body, '"isError":true', 1, true) then
		tool_errors = tool_errors + 1
	end
end
function done(summary, latency, requests)
	local e, n = 0, 0
	for _, t in ipairs(threads) do
		e = e + t:get("tool_errors")
		n = n + t:get("not_ok")
	end
	io.write(string.format("tool errors: %d, non-200: %d\n", e, n))
end
