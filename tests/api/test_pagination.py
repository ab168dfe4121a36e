"""Cursor pagination shared by every list: limits, walking pages, bad cursors."""

import base64

import pytest

from tests.builders import create_criterion, create_project, create_unit, item_ids, problem_fields


@pytest.fixture
def unit(admin):
    return create_unit(admin, "TAX")


def cursor_for(text):
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_default_page_is_50_and_the_cursor_leads_to_the_rest(admin, unit):
    ids = [create_project(admin, unit["id"])["id"] for _ in range(51)]
    first = admin.get("/api/v1/projects")
    assert item_ids(first) == ids[:50]
    cursor = first.json()["next_cursor"]
    assert cursor is not None
    second = admin.get("/api/v1/projects", params={"cursor": cursor})
    assert item_ids(second) == ids[50:]
    assert second.json()["next_cursor"] is None
    assert item_ids(admin.get("/api/v1/projects", params={"limit": 500})) == ids


def test_walking_every_page_returns_each_id_once_in_order(admin, unit):
    ids = [create_project(admin, unit["id"], stage="idea")["id"] for _ in range(7)]
    archived = admin.delete(f"/api/v1/projects/{ids[3]}").json()["id"]
    expected = [i for i in ids if i != archived]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2, "stage": "idea", **({"cursor": cursor} if cursor else {})}
        page = admin.get("/api/v1/projects", params=params)
        assert len(page.json()["items"]) <= 2
        seen += item_ids(page)
        pages += 1
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert pages == 3


def test_exact_multiple_of_the_limit_ends_without_an_empty_page(admin, unit):
    ids = [create_project(admin, unit["id"])["id"] for _ in range(4)]
    first = admin.get("/api/v1/projects", params={"limit": 2}).json()
    second = admin.get("/api/v1/projects", params={"limit": 2, "cursor": first["next_cursor"]})
    assert [p["id"] for p in first["items"]] + item_ids(second) == ids
    assert second.json()["next_cursor"] is None


@pytest.mark.parametrize(
    "path", ["/api/v1/units", "/api/v1/projects", "/api/v1/experiments", "/api/v1/api-keys"]
)
@pytest.mark.parametrize(
    ("limit", "error_type"),
    [(501, "less_than_equal"), (0, "greater_than_equal"), ("ten", "int_parsing")],
)
def test_limit_out_of_range_is_named(admin, path, limit, error_type):
    response = admin.get(path, params={"limit": limit})
    assert response.status_code == 422
    assert problem_fields(response) == ["limit"]
    assert response.json()["errors"][0]["type"] == error_type
    assert response.json()["errors"][0]["location"] == "query"


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "%%%",
        cursor_for("not a number"),
        cursor_for("-5"),
        cursor_for("99999999999999999999999999"),  # beyond any database integer
        "x" * 65,
    ],
)
def test_a_cursor_the_api_did_not_issue_is_named(admin, unit, cursor):
    create_project(admin, unit["id"])
    response = admin.get("/api/v1/projects", params={"cursor": cursor})
    assert response.status_code == 422, response.text
    assert problem_fields(response) == ["cursor"]


def test_nested_lists_paginate_too(admin, unit):
    project = create_project(admin, unit["id"])
    ids = [create_criterion(admin, "projects", project["id"])["id"] for _ in range(3)]
    url = f"/api/v1/projects/{project['id']}/criteria"
    first = admin.get(url, params={"limit": 2}).json()
    assert [c["id"] for c in first["items"]] == ids[:2]
    rest = admin.get(url, params={"limit": 2, "cursor": first["next_cursor"]})
    assert item_ids(rest) == ids[2:]
    criterion = ids[0]
    for day in (1, 2, 3):
        admin.post(
            f"/api/v1/criteria/{criterion}/measurements",
            json={"value": day, "measured_on": f"2026-01-0{day}"},
        )
    page = admin.get(f"/api/v1/criteria/{criterion}/measurements", params={"limit": 2}).json()
    assert [m["value"] for m in page["items"]] == [1, 2]
    last = admin.get(
        f"/api/v1/criteria/{criterion}/measurements",
        params={"limit": 2, "cursor": page["next_cursor"]},
    ).json()
    assert ([m["value"] for m in last["items"]], last["next_cursor"]) == ([3], None)
