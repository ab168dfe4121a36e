"""Header and body bounds enforced by the application itself (app.api.request_limits),
whatever server runs it: 431 for too many or too large header fields, 408 for a body that
does not arrive in time. tests/system/test_http_limits.py covers the server's side."""

import json
from typing import Any

import anyio
import pytest

from app.core.config import Settings
from tests.builders import settings_for


@pytest.fixture
def settings(database_url: str) -> Settings:
    return settings_for(
        database_url,
        max_header_count=20,
        max_header_bytes=2048,
        body_timeout_seconds=0.5,
    )


def test_too_many_header_fields_get_431_before_anything_runs(admin):
    # The client sends a few of its own (host, accept, user-agent, authorization...):
    # 20 more are over the limit of 20 whatever they are.
    many = {f"X-Field-{n}": "1" for n in range(20)}
    response = admin.get("/api/v1/units", headers=many)
    assert response.status_code == 431
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/request-header-fields-too-large")
    assert admin.get("/api/v1/units", headers={"X-Field": "1"}).status_code == 200


def test_too_many_header_bytes_get_431(admin):
    response = admin.get("/api/v1/units", headers={"X-Big": "a" * 2048})
    assert response.status_code == 431


def test_a_body_that_stalls_gets_408(app: Any, admin):
    """An ASGI client that sends the first part of a body and then nothing."""
    sent: list[dict[str, Any]] = []
    parts = [{"type": "http.request", "body": b'{"code": ', "more_body": True}]

    async def receive() -> dict[str, Any]:
        if parts:
            return parts.pop()
        await anyio.sleep(30)  # the rest never comes
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/units",
        "raw_path": b"/api/v1/units",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"content-length", b"100"),
            (b"authorization", admin.headers["Authorization"].encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "state": {},
    }

    async def run() -> float:
        started = anyio.current_time()
        with anyio.fail_after(10):
            await app(scope, receive, send)
        return anyio.current_time() - started

    waited = anyio.run(run)
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 408
    assert (b"connection", b"close") in start["headers"]
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert json.loads(body)["type"].endswith("/request-timeout")
    assert 0.4 < waited < 5
