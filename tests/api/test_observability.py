"""Request ids, access logs and /metrics, through the HTTP API."""

import json
import logging
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.core.config import Settings
from app.main import create_app
from app.ops.observability import JsonFormatter
from tests.builders import create_project, create_unit

GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


def metric(client: TestClient, name: str, **labels: str) -> float:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def test_a_valid_request_id_is_echoed_in_the_header_and_the_problem_body(anon: TestClient):
    response = anon.get("/api/v1/projects", headers={"X-Request-ID": "lb-7f3a:2026.11"})

    assert response.status_code == 401
    assert response.headers["X-Request-ID"] == "lb-7f3a:2026.11"
    assert response.json()["request_id"] == "lb-7f3a:2026.11"


@pytest.mark.parametrize("sent", [None, "has spaces", "x" * 129, "<script>", "-leading-dash"])
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_generated_one(
    admin: TestClient, sent: str | None
):
    headers = {"X-Request-ID": sent} if sent is not None else {}
    response = admin.get("/api/v1/projects/999", headers=headers)

    assert response.status_code == 404
    generated = response.headers["X-Request-ID"]
    assert GENERATED_ID.match(generated)
    assert response.json()["request_id"] == generated


def test_successful_responses_carry_a_request_id_too(admin: TestClient):
    response = admin.get("/api/v1/units", headers={"X-Request-ID": "abc"})

    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "abc"


def test_a_crash_is_a_problem_with_the_request_id(settings: Settings):
    app = create_app(settings)

    def explode() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/explode", explode)
    client = TestClient(app, raise_server_exceptions=False)

    response = client.get("/explode", headers={"X-Request-ID": "crash-1"})

    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "crash-1"
    body = response.json()
    assert body["request_id"] == "crash-1"
    assert body["title"] == "Internal server error"
    assert "boom" not in response.text
    assert (
        metric(
            client, "portfolio_http_requests_total", method="GET", route="/explode", status="500"
        )
        >= 1
    )
    app.state.engine.dispose()


def test_one_access_log_line_per_request_with_route_status_duration_and_id(
    admin: TestClient, caplog: pytest.LogCaptureFixture
):
    unit = create_unit(admin, "LOG")
    project = create_project(admin, unit["id"])
    caplog.clear()

    with caplog.at_level(logging.INFO, logger="portfolio.access"):
        admin.get(f"/api/v1/projects/{project['id']}", headers={"X-Request-ID": "log-1"})

    records = [r for r in caplog.records if r.name == "portfolio.access"]
    assert len(records) == 1
    fields: dict[str, Any] = records[0].fields  # type: ignore[attr-defined]
    assert fields["duration_ms"] >= 0
    del fields["duration_ms"]
    assert fields == {
        "method": "GET",
        "route": "/api/v1/projects/{project_id}",
        "path": f"/api/v1/projects/{project['id']}",
        "status": 200,
        "request_id": "log-1",
    }
    line = JsonFormatter().format(records[0])
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["logger"] == "portfolio.access"
    assert entry["level"] == "INFO"
    assert entry["route"] == "/api/v1/projects/{project_id}"
    assert entry["status"] == 200
    assert entry["request_id"] == "log-1"
    assert entry["message"].startswith("GET /api/v1/projects/{project_id} 200 ")


def test_metrics_count_requests_by_method_route_template_and_status(admin: TestClient):
    unit = create_unit(admin, "MET")
    project = create_project(admin, unit["id"])
    labels = {"method": "GET", "route": "/api/v1/projects/{project_id}"}
    ok_before = metric(admin, "portfolio_http_requests_total", **labels, status="200")
    missing_before = metric(admin, "portfolio_http_requests_total", **labels, status="404")
    latency_before = metric(
        admin, "portfolio_http_request_duration_seconds_count", **labels, status="200"
    )
    unmatched_before = metric(
        admin, "portfolio_http_requests_total", method="GET", route="<unmatched>", status="404"
    )

    admin.get(f"/api/v1/projects/{project['id']}")
    admin.get(f"/api/v1/projects/{project['id']}")
    admin.get("/api/v1/projects/987654")
    admin.get("/no/such/path/123")

    assert metric(admin, "portfolio_http_requests_total", **labels, status="200") == ok_before + 2
    assert (
        metric(admin, "portfolio_http_requests_total", **labels, status="404") == missing_before + 1
    )
    assert (
        metric(admin, "portfolio_http_request_duration_seconds_count", **labels, status="200")
        == latency_before + 2
    )
    assert (
        metric(
            admin, "portfolio_http_requests_total", method="GET", route="<unmatched>", status="404"
        )
        == unmatched_before + 1
    )
    text = admin.get("/metrics").text
    assert "987654" not in text
    assert "/no/such/path" not in text


def test_metrics_count_non_archived_projects_by_stage_at_scrape_time(admin: TestClient):
    unit = create_unit(admin, "STG")
    create_project(admin, unit["id"], stage="idea")
    create_project(admin, unit["id"], stage="idea")
    create_project(admin, unit["id"], stage="scaling")
    archived = create_project(admin, unit["id"], stage="stopped")
    assert admin.delete(f"/api/v1/projects/{archived['id']}").status_code == 200

    counts = {
        stage: metric(admin, "portfolio_projects", stage=stage)
        for stage in ("idea", "exploration", "experiment", "scaling", "embedded", "stopped")
    }

    assert counts == {
        "idea": 2.0,
        "exploration": 0.0,
        "experiment": 0.0,
        "scaling": 1.0,
        "stopped": 0.0,
        "embedded": 0.0,
    }


def test_metrics_show_database_connections_in_use(app: Any, anon: TestClient):
    idle = metric(anon, "portfolio_db_pool_connections_in_use")

    with app.state.engine.connect():
        busy = metric(anon, "portfolio_db_pool_connections_in_use")

    assert busy == idle + 1
    assert metric(anon, "portfolio_db_pool_connections_in_use") == idle


def test_metrics_need_no_key_and_can_be_switched_off(anon: TestClient, settings: Settings):
    assert anon.get("/metrics").status_code == 200

    app = create_app(settings.model_copy(update={"metrics_enabled": False}))
    response = TestClient(app, raise_server_exceptions=False).get("/metrics")

    assert response.status_code == 404
    app.state.engine.dispose()
