"""Strict requests on every route: unknown query parameters are a 422 naming them, an
Accept header that admits nothing the route answers is a 406, and HEAD answers like GET."""

import re
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from tests.builders import create_criterion, create_experiment, create_project, create_unit


def routes(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every API route and problem page, path parameters filled in.

    Probes and metrics (`/healthz`, `/readyz`, `/metrics`) are left lenient on purpose:
    load balancers and scrapers may add parameters of their own."""
    found = []
    for route in iter_route_contexts(app.routes):
        path = route.path or ""
        if not path.startswith(("/api/v1/", "/problems")):
            continue
        for name in re.findall(r"{(\w+)}", path):
            path = path.replace("{" + name + "}", "1" if name.endswith("id") else "not-found")
        found.extend((method, path) for method in sorted(route.methods or ()))
    return found


def test_an_unknown_query_parameter_is_rejected_on_every_route(app: Any, admin: TestClient):
    checked = routes(app)
    assert len(checked) >= 37  # the whole API (37 operations today), not an empty walk

    for method, path in checked:
        response = admin.request(method, path, params={"stag": "idea"})

        assert response.status_code == 422, (method, path, response.text)
        assert response.json()["errors"] == [
            {
                "field": "stag",
                "location": "query",
                "message": response.json()["errors"][0]["message"],
                "type": "extra_forbidden",
            }
        ], (method, path)


def test_the_422_names_each_unknown_parameter_and_lists_the_known_ones(admin: TestClient):
    unit = create_unit(admin, "BL1")
    create_project(admin, unit["id"], stage="scaling")

    typo = admin.get("/api/v1/projects", params={"stag": "idea", "limt": "5", "stage": "idea"})

    assert typo.status_code == 422
    assert typo.headers["content-type"] == "application/problem+json"
    errors = typo.json()["errors"]
    assert [(e["field"], e["location"]) for e in errors] == [("limt", "query"), ("stag", "query")]
    assert errors[0]["message"] == (
        "unknown query parameter; this operation takes: adopted_from, collaborator, cursor, "
        "determinant, effect, evaluation, facet, include_archived, initiated_by, "
        "innovation_type, limit, novelty, sponsor_level, stage, stage_since_before, unit_id, "
        "updated_since, value_type, work_mode"
    )
    # The declared ones, including those of dependencies (paging), still work.
    page = admin.get("/api/v1/projects", params={"stage": "scaling", "limit": 1})
    assert page.status_code == 200
    assert len(page.json()["items"]) == 1
    assert admin.get("/api/v1/projects", params={"stage": "idea"}).json()["items"] == []


def test_reports_and_writes_reject_unknown_parameters_too(admin: TestClient):
    report = admin.get("/api/v1/reports/spread", params={"unit": "TAX"})
    assert report.status_code == 422
    assert report.json()["detail"] == (
        "unit: unknown query parameter; this operation takes: as_of, unit_id"
    )

    created = admin.post(
        "/api/v1/units",
        params={"dry_run": "true"},
        json={"code": "BL1", "name": "Business line", "kind": "business_line"},
    )
    assert created.status_code == 422
    assert created.json()["detail"] == (
        "dry_run: unknown query parameter; this operation takes: none"
    )
    assert admin.get("/api/v1/units").json()["items"] == []  # nothing was written


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/units",
        "/api/v1/units/1",
        "/api/v1/api-keys",
        "/api/v1/reports/portfolio",
        "/api/v1/reports/outcomes",
        "/api/v1/reports/determinants",
        "/api/v1/projects/1/history",
    ],
)
def test_csv_where_no_csv_exists_is_a_406(admin: TestClient, path: str):
    create_project(admin, create_unit(admin, "BL1")["id"])

    response = admin.get(path, headers={"Accept": "text/csv"})

    assert response.status_code == 406
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/not-acceptable"
    assert response.json()["detail"] == (
        "this operation answers application/json; the Accept header (text/csv) admits none of them"
    )


def test_accept_headers_that_admit_json_get_json(admin: TestClient):
    create_unit(admin, "BL1")
    for accept in (
        "application/json",
        "*/*",
        "application/*",
        "text/csv, application/json;q=0.5",  # CSV preferred but JSON acceptable
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",  # a browser
    ):
        response = admin.get("/api/v1/units", headers={"Accept": accept})
        assert response.status_code == 200, accept
        assert response.headers["content-type"] == "application/json", accept
    for accept in ("text/*", "application/xml", "application/json;q=0, */*"):
        assert admin.get("/api/v1/units", headers={"Accept": accept}).status_code == 406, accept


def test_csv_lists_and_the_spread_report_still_answer_csv(admin: TestClient):
    create_project(admin, create_unit(admin, "BL1")["id"])
    for path, filename in (
        ("/api/v1/projects", "projects.csv"),
        ("/api/v1/experiments", "experiments.csv"),
        ("/api/v1/reports/spread", "spread.csv"),
    ):
        response = admin.get(path, headers={"Accept": "text/csv"})
        assert response.status_code == 200, path
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"] == f'attachment; filename="{filename}"'
    # A list that offers CSV still refuses what it offers neither of.
    assert admin.get("/api/v1/projects", headers={"Accept": "text/html"}).status_code == 406


REPORTS = ["spread", "portfolio", "outcomes", "determinants"]


@pytest.mark.parametrize("name", REPORTS)
def test_head_on_a_report_is_the_get_without_its_body(viewer: TestClient, admin, name: str):
    create_project(admin, create_unit(admin, "BL1")["id"], stage="scaling")
    path = f"/api/v1/reports/{name}"
    get = viewer.get(path)

    head = viewer.head(path)

    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["content-type"] == "application/json"
    assert head.headers["content-length"] == str(len(get.content))
    not_modified = viewer.head(path, headers={"If-None-Match": get.headers["ETag"]})
    assert not_modified.status_code == 304
    assert not_modified.headers["ETag"] == get.headers["ETag"]


def test_head_on_the_spread_csv_and_on_objects(admin: TestClient):
    unit = create_unit(admin, "BL1")
    csv = admin.head("/api/v1/reports/spread", headers={"Accept": "text/csv"})
    assert csv.status_code == 200
    assert csv.content == b""
    assert csv.headers["content-disposition"] == 'attachment; filename="spread.csv"'
    one = admin.head(f"/api/v1/units/{unit['id']}")
    assert (one.status_code, one.headers["ETag"], one.content) == (200, '"1"', b"")
    missing = admin.head("/api/v1/units/999")
    assert (missing.status_code, missing.content) == (404, b"")
    # Where there is no GET there is no HEAD: a key can only be revoked.
    key = admin.head("/api/v1/api-keys/1")
    assert (key.status_code, key.headers["allow"]) == (405, "DELETE")


def test_unknown_parameters_on_problem_pages_too(anon: TestClient):
    response = anon.get("/problems/not-found", params={"lang": "fr"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lang"


def test_experiments_and_criteria_lists_take_their_own_parameters(admin: TestClient):
    project = create_project(admin, create_unit(admin, "BL1")["id"])
    experiment = create_experiment(admin, project["id"])
    create_criterion(admin, "experiments", experiment["id"])

    ok = admin.get(f"/api/v1/experiments/{experiment['id']}/criteria", params={"kind": "outcome"})
    assert ok.status_code == 200
    assert len(ok.json()["items"]) == 1
    wrong = admin.get(f"/api/v1/experiments/{experiment['id']}/criteria", params={"status": "met"})
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "status"
