"""RFC 9728 protected-resource metadata with configured authorization
servers (the default dev set-up, whose issuer is no URL, publishes none:
see test_protocol)."""
import json

from harness import PORT, Client, expect


def test_configured_authorization_servers_are_published(env):
    servers = "https://login.example.test/t1 https://backup.example.test"
    env.start_server(workers=1, extra={"authorization_servers": servers})
    try:
        st, _, body = Client(env).raw("GET", "/.well-known/oauth-protected-resource/mcp", b"", {})
        expect(st == 200, st)
        doc = json.loads(body)
        expect(doc["authorization_servers"] == servers.split(), doc)
        expect(doc["resource"] == f"https://127.0.0.1:{PORT}/mcp", doc)
    finally:
        expect(env.server.stop() == 0, "clean exit")
        env.server = None
