"""A worker walks its routes at startup (app.ops.warmup), before it takes requests, and
leaves no trace of it: no access log line, no count in /metrics."""

import logging
from typing import Any

import pytest
from fastapi import APIRouter, routing
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app
from tests.api.test_observability import metric

UNMATCHED = {"method": "GET", "route": "<unmatched>", "status": "404"}


def test_the_routes_are_built_at_startup_not_on_the_first_request(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    app = create_app(settings)
    # A router no app has walked yet: FastAPI keeps what it builds on the router objects,
    # which the domains' modules share between the apps of one process (this suite's).
    fresh = APIRouter(prefix="/api/v1")

    @fresh.get("/warm-up-probe")
    def probe() -> dict[str, bool]:
        return {"ok": True}

    app.include_router(fresh)
    built: list[str] = []
    populate = routing._populate_api_route_state

    def counting(route: Any, path: str, *args: Any, **kwargs: Any) -> Any:
        built.append(path)
        return populate(route, path, *args, **kwargs)

    monkeypatch.setattr(routing, "_populate_api_route_state", counting)
    with TestClient(app) as client:
        at_startup = len(built)
        assert client.get("/api/v1/warm-up-probe").json() == {"ok": True}
        assert client.get("/healthz").status_code == 200
        assert client.get("/api/v1/reports/spread").status_code == 401
    app.state.engine.dispose()

    # Built at startup; the requests built nothing.
    assert "/api/v1/warm-up-probe" in built[:at_startup]
    assert len(built) == at_startup


def test_the_warm_up_is_not_logged_or_counted(
    anon: TestClient, settings: Settings, caplog: pytest.LogCaptureFixture
):
    unmatched_before = metric(anon, "portfolio_http_requests_total", **UNMATCHED)
    app = create_app(settings)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="portfolio.access"), TestClient(app):
        pass
    app.state.engine.dispose()

    assert [r for r in caplog.records if r.name == "portfolio.access"] == []
    assert metric(anon, "portfolio_http_requests_total", **UNMATCHED) == unmatched_before
