"""auth_proxy.py - a small plain-HTTP front for the TLS server, used only by
tests: it adds `Authorization: Bearer <token>` to every request that has none
and forwards it byte for byte otherwise (Host and Origin included), because
the MCP conformance suite and the Inspector CLI cannot send a bearer token
of their own. It listens on loopback only and never switches authentication
off: the server still verifies every token it is given.
"""
import http.client
import http.server
import ssl
import threading

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
              "trailer", "upgrade"}


class AuthProxy:
    def __init__(self, upstream_port, cafile, token):
        self.upstream_port = upstream_port
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.token = token
        self.requests = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def forward(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                conn = http.client.HTTPSConnection("127.0.0.1", proxy.upstream_port,
                                                   context=proxy.ctx, timeout=60)
                try:
                    conn.putrequest(self.command, self.path, skip_host=True,
                                    skip_accept_encoding=True)
                    for k, v in self.headers.items():
                        if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                            conn.putheader(k, v)
                    if "Authorization" not in self.headers:
                        conn.putheader("Authorization", "Bearer " + proxy.token)
                    if body is not None:
                        conn.putheader("Content-Length", str(len(body)))
                    conn.endheaders(body)
                    resp = conn.getresponse()
                    data = resp.read()
                    proxy.requests += 1
                    self.send_response_only(resp.status, resp.reason)
                    for k, v in resp.getheaders():
                        if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_POST = do_DELETE = do_OPTIONS = do_PUT = forward

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

