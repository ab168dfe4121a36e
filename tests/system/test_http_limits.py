"""The HTTP layer's bounds, against `portfolio serve` as the compose stack runs it
(issue 13): oversized or slow request heads, slow bodies and idle keep-alive connections
are cut off; too many header fields get 431. Raw sockets, so the client can misbehave."""

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.system.test_deploy import Server, command_env, free_port, servers  # noqa: F401

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
KEEP_ALIVE = 1
MAX_HEADER_BYTES = 8192


@pytest.fixture
def server(database_url: str, tmp_path: Path, servers: list[Server]) -> Iterator[Server]:  # noqa: F811
    env = command_env(
        "api",
        database_url,
        PORTFOLIO_HOST="127.0.0.1",
        PORTFOLIO_PORT=str(free_port()),
        PORTFOLIO_WORKERS="1",
        PORTFOLIO_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT),
        PORTFOLIO_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT),
        PORTFOLIO_KEEP_ALIVE_TIMEOUT_SECONDS=str(KEEP_ALIVE),
        PORTFOLIO_MAX_HEADER_BYTES=str(MAX_HEADER_BYTES),
    )
    started = Server(["portfolio", "serve", "--no-migrate"], env, tmp_path / "api.log")
    servers.append(started)
    started.wait_ready()
    yield started


def connect(server: Server) -> socket.socket:
    host, port = server.base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def read_until_closed(sock: socket.socket, limit: float = 10) -> tuple[bytes, float]:
    """Everything the server sends until it closes; and how long that took."""
    started = time.monotonic()
    sock.settimeout(limit)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return received, time.monotonic() - started


def test_an_oversized_head_gets_431_and_the_connection_closes(server):
    sock = connect(server)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    sent = 0
    try:
        # Up to 16 MiB of one header; the server stops reading long before.
        for _ in range(256):
            sock.sendall(b"X-Pad-" + str(sent).encode() + b": " + b"a" * 65536 + b"\r\n")
            sent += 1
    except (BrokenPipeError, ConnectionResetError):
        pass
    received, _ = read_until_closed(sock)
    assert received.startswith(b"HTTP/1.1 431 "), received[:200]
    assert sent < 256  # refused while still sending, not after 16 MiB
    body = json.loads(received.split(b"\r\n\r\n", 1)[1])
    assert body["status"] == 431
    # The server is fine.
    assert httpx.get(server.base_url + "/healthz").status_code == 200


def test_too_many_header_fields_get_431(server):
    headers = {f"X-Field-{n}": "1" for n in range(150)}  # the default limit is 100
    response = httpx.get(server.base_url + "/healthz", headers=headers)
    assert response.status_code == 431
    assert response.headers["content-type"] == "application/problem+json"


def test_a_silent_or_trickling_client_is_cut_off_after_the_header_timeout(server):
    silent = connect(server)
    received, waited = read_until_closed(silent)
    assert received == b""
    assert HEADER_TIMEOUT * 0.8 < waited < HEADER_TIMEOUT + 3

    trickle = connect(server)
    started = time.monotonic()
    trickle.sendall(b"GET /healthz HTTP/1.1\r\n")
    try:
        for _ in range(50):  # one byte every 0.2 s: 10 s if never cut off
            trickle.sendall(b"X")
            time.sleep(0.2)
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert time.monotonic() - started < HEADER_TIMEOUT + 3


def test_a_slow_body_gets_408_and_the_connection_closes(server):
    sock = connect(server)
    sock.sendall(
        b"POST /api/v1/units HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"code": '
    )
    received, waited = read_until_closed(sock)
    assert received.startswith(b"HTTP/1.1 408 "), received[:200]
    assert b"application/problem+json" in received
    assert BODY_TIMEOUT * 0.8 < waited < BODY_TIMEOUT + 3


def test_an_idle_keep_alive_connection_is_closed(server):
    sock = connect(server)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    received, waited = read_until_closed(sock)
    assert received.startswith(b"HTTP/1.1 200 ")
    assert waited < KEEP_ALIVE + 3
    # A client that keeps the connection busy reuses it.
    with httpx.Client(base_url=server.base_url) as client:
        for _ in range(5):
            assert client.get("/healthz").status_code == 200
