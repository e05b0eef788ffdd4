"""agents.py URL CAFILE TOKEN SECONDS THREADS OUT [RATE] - the agent workload of the
cluster test, run inside the client's network namespace: each agent
creates invoices with an idempotency key, and on any retryable outcome
(connection refused or reset, 429/503, DATABASE_UNAVAILABLE, TIMEOUT)
retries the same key until it is acknowledged. With RATE the agents
together offer that many calls per second (paced) instead of calling as
fast as answers come. Writes what it saw, and answer latencies, as JSON.
"""
import http.client
import json
import ssl
import sys
import threading
import time
import urllib.parse

url, cafile, token, seconds, threads, out = sys.argv[1:7]
rate = float(sys.argv[7]) if len(sys.argv) > 7 else 0.0
u = urllib.parse.urlsplit(url)
ctx = ssl.create_default_context(cafile=cafile)
stop_at = time.time() + float(seconds)
acked, errors, fatal, latencies = {}, {}, [], []
lock = threading.Lock()


def note(kind):
    with lock:
        errors[kind] = errors.get(kind, 0) + 1


def call(conn, key, n):
    body = json.dumps({"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {
        "name": "create_invoice", "arguments": {
            "customer_id": "cluster", "idempotency_key": key,
            "line_items": [{"description": "cluster test", "amount_cents": 100 + n % 50}]}}})
    conn.request("POST", u.path, body=body, headers={
        "Authorization": "Bearer " + token, "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream"})
    r = conn.getresponse()
    return r.status, r.read()


def agent(i):
    conn, n = None, 0
    gap = int(threads) / rate if rate else 0.0
    nxt = time.time() + i * gap / int(threads)
    while time.time() < stop_at:
        if gap:
            now = time.time()
            if now < nxt:
                time.sleep(nxt - now)
            nxt += gap
        n += 1
        t0 = time.time()
        key = f"agent{i}-{n}"
        give_up = time.time() + 30
        while True:
            try:
                if conn is None:
                    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=10)
                st, data = call(conn, key, n)
            except (OSError, http.client.HTTPException) as e:
                note("connection: " + type(e).__name__)
                conn = None
                if time.time() > give_up:
                    fatal.append(f"{key}: no answer in 30 s")
                    return
                time.sleep(0.05)
                continue
            if st in (429, 503):
                note(f"http {st}")
                time.sleep(0.05)
                continue
            msg = json.loads(data)
            res = msg.get("result", {})
            sc = res.get("structuredContent", {})
            if st == 200 and not res.get("isError"):
                with lock:
                    acked[key] = sc["invoice_id"]
                    latencies.append(time.time() - t0)
                break
            err = sc.get("error", {})
            if err.get("retryable"):
                note(err["code"])
                time.sleep(0.05)
                continue
            fatal.append(f"{key}: HTTP {st} {data[:300]!r}")
            return


ts = [threading.Thread(target=agent, args=(i,)) for i in range(int(threads))]
for t in ts:
    t.start()
for t in ts:
    t.join()
with open(out, "w") as f:
    json.dump({"acked": acked, "errors": errors, "fatal": fatal, "latencies": latencies}, f)
