"""The official MCP TypeScript SDK client (npm @modelcontextprotocol/sdk,
pinned in tests/sdk/package.json) against the real server: handshake,
tools/list, tools/call with its output-schema validation, tool errors, and
a statement's resource_link read back with resources/read (same bytes)."""
import json
import os
import subprocess

from harness import PORT, ROOT, expect

SERVER = dict(workers=2)
SDK = os.path.join(ROOT, "tests", "sdk")


def test_official_typescript_sdk_client(env):
    if not os.path.isdir(os.path.join(SDK, "node_modules", "@modelcontextprotocol")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=SDK,
                       check=True, timeout=300)
    out = subprocess.run(["node", "sdk_client.mjs", f"https://127.0.0.1:{PORT}/mcp",
                          env.token(tenant="sdk")], cwd=SDK, capture_output=True, text=True,
                         timeout=60, env=dict(os.environ, NODE_EXTRA_CA_CERTS=env.cafile))
    expect(out.returncode == 0, out.stderr[-3000:])
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"    SDK negotiated {seen['protocolVersion']}, server {seen['server']['name']} "
          f"{seen['server']['version']}, {len(seen['tools'])} tools")
    expect(seen["protocolVersion"] == "2025-11-25", seen)
    expect(seen["sessionId"] is None, "stateless: no session id")
    expect("apply_payment" in seen["tools"] and "create_invoice" in seen["tools"], seen)
    expect(seen["created"]["total_cents"] == 8400, seen)
    expect(seen["sent"].startswith("INV-"), seen)
    expect(seen["listed"] == 1, seen)
    expect(seen["error"]["isError"] is True and seen["error"]["code"] == "INVALID_INPUT", seen)
    expect("amount_cents must be an integer >= 0, got -5" in seen["error"]["text"], seen)
    st = seen["statement"]
    expect(st["closing"] == 8400 and st["mimeType"] == "application/pdf", st)
    expect(st["uri"].startswith("invoiced://statements/sdk-customer/USD/"), st)
    expect(st["sameBytes"] and st["readSize"] == st["size"] > 1000, st)
    expect(len(st["templates"]) == 7, st)
