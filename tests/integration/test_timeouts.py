"""Connection deadlines with short settings: idle keep-alive connections
are closed after idle_timeout_s; a client that opens TCP and never
completes the TLS handshake is dropped after header_timeout_s."""
import socket
import time

from harness import PORT, Client, expect

SERVER = dict(workers=1, extra={"idle_timeout_s": 2, "header_timeout_s": 2})


def test_idle_keep_alive_is_closed(env):
    c = Client(env, env.token())
    c.connect()
    t0 = time.time()  # before the request: the server's idle time starts after its answer
    st, _, _ = c.rpc("ping")
    expect(st == 200)
    sock = c.conn.sock
    sock.settimeout(15)
    data = sock.recv(1)  # b"" (orderly close) once the server drops the idle connection
    took = time.time() - t0
    expect(data == b"", data)
    # Never before idle_timeout_s (2); the ceiling is only a hang guard (a
    # loaded machine may run the worker's timer late, never early).
    expect(2.0 <= took < 12, took)


def test_silent_tcp_client_is_dropped(env):
    t0 = time.time()  # before the connect: header_timeout_s runs from accept, later
    s = socket.create_connection(("127.0.0.1", PORT), timeout=15)
    try:
        data = s.recv(1)
    except ConnectionResetError:
        data = b""
    took = time.time() - t0
    s.close()
    expect(data == b"" and 2.0 <= took < 12, (data, took))  # not before header_timeout_s (2); hang guard


def test_activity_keeps_the_connection(env):
    c = Client(env, env.token())
    for _ in range(4):
        expect(c.rpc("ping")[0] == 200)
        time.sleep(1.0)
    expect(c.conn is not None, "kept open while requests keep coming")
