"""Bad input a fuzzer does not reach: each gets a 4xx problem naming what is wrong, never a 500.

Decided: unknown fields are rejected (422 naming the field), never silently ignored.
"""

import json
from typing import Any

import pytest

from tests.builders import create_criterion, create_project, create_unit, problem_fields

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def unit(admin: Any) -> dict[str, Any]:
    return create_unit(admin, "TAX")


@pytest.fixture
def project_body(unit: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": "Pre-filled returns",
        "unit_id": unit["id"],
        "sponsor_level": "individual",
        "work_mode": "side_of_desk",
    }


def raw_json(body: dict[str, Any], **literals: str) -> str:
    """The body as JSON text with some members spelled literally (1e400, NaN, ...)."""
    text = json.dumps(body)
    members = "".join(f', "{name}": {literal}' for name, literal in literals.items())
    return text[:-1] + members + "}"


def assert_problem(response: Any, status: int, fields: list[str]) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert problem_fields(response) == fields
    body = response.json()
    assert body["status"] == status
    assert "Traceback" not in response.text and "SELECT" not in response.text
    return body


def test_malformed_json_is_a_422_naming_the_body(admin: Any):
    response = admin.post("/api/v1/projects", content='{"title": "x",', headers=JSON)
    body = assert_problem(response, 422, ["body"])
    assert body["errors"][0]["type"] == "json_invalid"
    assert body["errors"][0]["message"].startswith("the body is not valid JSON: ")


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_a_json_body_under_another_content_type_is_a_422_that_says_so(
    admin: Any, project_body: dict[str, Any], content_type: str
):
    response = admin.post(
        "/api/v1/projects", content=json.dumps(project_body), headers={"Content-Type": content_type}
    )
    body = assert_problem(response, 422, ["body"])
    assert body["errors"][0] == {
        "field": "body",
        "location": "body",
        "message": f"send a JSON object with Content-Type: application/json (got {content_type})",
        "type": "content_type",
    }
    assert admin.get("/api/v1/projects").json()["items"] == []


def test_non_utf8_bytes_are_a_422_naming_the_body(admin: Any):
    response = admin.post("/api/v1/projects", content=b'{"title": "\xff\xfe"}', headers=JSON)
    body = assert_problem(response, 422, ["body"])
    assert body["errors"][0]["message"] == "the body is not valid UTF-8"


def test_very_deep_json_is_a_422_not_a_crash(admin: Any, project_body: dict[str, Any]):
    deep = "[" * 10_000 + "]" * 10_000
    response = admin.post("/api/v1/projects", content=deep, headers=JSON)
    body = assert_problem(response, 422, ["body"])
    assert body["errors"][0]["message"] == "the body is nested too deeply"
    inside_a_field = raw_json(project_body, determinants=deep)
    assert_problem(
        admin.post("/api/v1/projects", content=inside_a_field, headers=JSON), 422, ["body"]
    )


def test_deep_json_holding_a_nul_character_is_a_422(admin: Any, project_body: dict[str, Any]):
    # Parseable, but deeper than Python's recursion limit for a naive walk of the document.
    deep = "[" * 900 + '"\\u0000"' + "]" * 900
    response = admin.post(
        "/api/v1/projects", content=raw_json(project_body, determinants=deep), headers=JSON
    )
    assert_problem(response, 422, ["determinants" + ".0" * 900])


@pytest.mark.parametrize(
    ("literals", "field"),
    [
        ({"budget": "1e400"}, "budget"),
        ({"budget": "NaN"}, "budget"),
        ({"budget": "-Infinity"}, "budget"),
        ({"budget": "10" + "0" * 29}, "budget"),
        ({"fte": "Infinity"}, "fte"),
        ({"unit_id": "10" + "0" * 29}, "unit_id"),
        ({"unit_id": "-1"}, "unit_id"),
    ],
)
def test_huge_and_non_finite_project_numbers_are_422(
    admin: Any, project_body: dict[str, Any], literals: dict[str, str], field: str
):
    body = {k: v for k, v in project_body.items() if k not in literals}
    response = admin.post("/api/v1/projects", content=raw_json(body, **literals), headers=JSON)
    assert_problem(response, 422, [field])


def test_non_finite_budget_as_a_string_is_a_422(admin: Any, project_body: dict[str, Any]):
    for spelled in ("NaN", "Infinity", "-inf"):
        response = admin.post("/api/v1/projects", json={**project_body, "budget": spelled})
        assert_problem(response, 422, ["budget"])


def test_a_huge_risk_rating_is_a_422(admin: Any, project_body: dict[str, Any]):
    risk = {"likelihood": 10**30, "impact": 3, "risk_of_not_innovating": 3}
    response = admin.post("/api/v1/projects", json={**project_body, "risk": risk})
    assert_problem(response, 422, ["risk.likelihood"])


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
@pytest.mark.parametrize("field", ["baseline", "target"])
def test_non_finite_criterion_numbers_are_422(
    admin: Any, project_body: dict[str, Any], field: str, literal: str
):
    project = admin.post("/api/v1/projects", json=project_body).json()
    criterion = {"metric": "Minutes", "kind": "outcome", "baseline": 10, "target": 20}
    criterion["direction"] = "increase"
    del criterion[field]
    response = admin.post(
        f"/api/v1/projects/{project['id']}/criteria",
        content=raw_json(criterion, **{field: literal}),
        headers=JSON,
    )
    assert_problem(response, 422, [field])


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_measurements_are_422_and_not_recorded(
    admin: Any, unit: dict[str, Any], literal: str
):
    project = create_project(admin, unit["id"])
    criterion = create_criterion(admin, "projects", project["id"])
    path = f"/api/v1/criteria/{criterion['id']}/measurements"
    response = admin.post(
        path, content=raw_json({"measured_on": "2026-03-01"}, value=literal), headers=JSON
    )
    assert_problem(response, 422, ["value"])
    assert admin.get(path).json()["items"] == []
    assert admin.get(f"/api/v1/criteria/{criterion['id']}").json()["latest_value"] is None


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (f"/api/v1/projects/{10**30}", "project_id"),
        ("/api/v1/projects/2147483648", "project_id"),
        ("/api/v1/projects/0", "project_id"),
        (f"/api/v1/units/{10**30}", "unit_id"),
        (f"/api/v1/criteria/{10**30}/measurements", "criterion_id"),
        (f"/api/v1/projects?unit_id={10**30}", "unit_id"),
        (f"/api/v1/experiments?project_id={10**30}", "project_id"),
        (f"/api/v1/projects?limit={10**30}", "limit"),
    ],
)
def test_ids_and_limits_beyond_the_integer_range_are_422(admin: Any, path: str, field: str):
    assert_problem(admin.get(path), 422, [field])


def test_a_cursor_for_a_huge_id_is_a_422(admin: Any):
    import base64

    cursor = base64.urlsafe_b64encode(str(10**30).encode()).decode().rstrip("=")
    assert_problem(admin.get("/api/v1/projects", params={"cursor": cursor}), 422, ["cursor"])


def test_unknown_fields_are_rejected_by_name(admin: Any, project_body: dict[str, Any]):
    response = admin.post("/api/v1/projects", json={**project_body, "titel": "typo", "version": 7})
    body = assert_problem(response, 422, ["titel", "version"])
    assert {e["type"] for e in body["errors"]} == {"extra_forbidden"}
    nested = {
        **project_body,
        "risk": {"likelihood": 1, "impact": 1, "risk_of_not_innovating": 1, "score": 1},
    }
    assert_problem(admin.post("/api/v1/projects", json=nested), 422, ["risk.score"])
    assert admin.get("/api/v1/projects").json()["items"] == []


def test_nul_characters_are_a_422_on_every_backend(admin: Any, project_body: dict[str, Any]):
    response = admin.post("/api/v1/projects", json={**project_body, "title": "a\x00b"})
    body = assert_problem(response, 422, ["title"])
    assert body["errors"][0]["type"] == "invalid"
    determinants = [{"determinant": "parity", "effect": "barrier", "note": "\x00"}]
    response = admin.post("/api/v1/projects", json={**project_body, "determinants": determinants})
    assert_problem(response, 422, ["determinants.0.note"])
    response = admin.get("/api/v1/projects", params={"cursor": "\x00"})
    assert_problem(response, 422, ["cursor"])


SQL = "Robert'); DROP TABLE projects;-- \" OR 1=1 -- %_\\"
HTML = "<script>alert('x')</script> <b>&amp;</b> & \"quoted\" <!-- -->"


def test_sql_and_html_metacharacters_are_stored_and_returned_unchanged(
    admin: Any, project_body: dict[str, Any]
):
    created = create_project(
        admin, project_body["unit_id"], title=SQL, summary=HTML, sponsor="Ünïcødé ✓ 🚀 עברית"
    )
    fetched = admin.get(f"/api/v1/projects/{created['id']}").json()
    for project in (created, fetched):
        assert project["title"] == SQL
        assert project["summary"] == HTML
        assert project["sponsor"] == "Ünïcødé ✓ 🚀 עברית"
    patched = admin.patch(f"/api/v1/projects/{created['id']}", json={"summary": SQL + HTML})
    assert patched.status_code == 200, patched.text
    assert patched.json()["summary"] == SQL + HTML
    # The table is still there, and a filter made of metacharacters matches nothing.
    assert [p["title"] for p in admin.get("/api/v1/projects").json()["items"]] == [SQL]
    response = admin.get("/api/v1/projects", params={"stage": "idea' OR '1'='1"})
    assert_problem(response, 422, ["stage.0"])
    unit = create_unit(admin, "X'--", name=HTML)
    assert admin.get(f"/api/v1/units/{unit['id']}").json()["name"] == HTML
