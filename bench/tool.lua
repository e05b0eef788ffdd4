-- wrk script: POST one MCP tools/call per request over keep-alive HTTPS.
-- MCPI_TOKEN and MCPI_BODY come from bench/bench.sh.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("MCPI_TOKEN")
wrk.body = os.getenv("MCPI_BODY")
