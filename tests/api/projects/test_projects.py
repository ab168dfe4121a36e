"""Projects: validation, computed risk, partial updates, archiving, filters, history, ETags."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.core.db import today
from tests.builders import create_criterion, create_project, create_unit, item_ids, problem_fields


@pytest.fixture
def unit(admin):
    return create_unit(admin, "TAX")


def body(unit_id, **fields):
    return {
        "title": "Pre-filled returns",
        "sponsor_level": "organizational",
        "work_mode": "core_business",
        "unit_id": unit_id,
    } | fields


def test_create_fills_defaults_and_server_fields(admin, unit):
    response = admin.post(
        "/api/v1/projects",
        json=body(unit["id"], budget=1234.5, fte=0.25, started_on="2026-02-01"),
    )
    assert response.status_code == 201
    assert response.headers["ETag"] == '"1"'
    project = response.json()
    created = datetime.fromisoformat(project.pop("created_at"))
    updated = datetime.fromisoformat(project.pop("updated_at"))
    assert created.utcoffset().total_seconds() == 0
    assert 0 <= (updated - created).total_seconds() < 1
    assert project == {
        "id": project["id"],
        "title": "Pre-filled returns",
        "summary": None,
        "unit_id": unit["id"],
        "sponsor_level": "organizational",
        "sponsor": None,
        "work_mode": "core_business",
        "stage": "idea",
        "facet": None,
        "risk": None,
        "determinants": [],
        # Amounts come back as decimal strings with exactly 2 decimals, whatever was sent.
        "budget": "1234.50",
        "fte": "0.25",
        "started_on": "2026-02-01",
        "ended_on": None,
        "stage_since": str(today()),  # no effective_on: the first period begins today
        "novelty": None,
        "adopted_from": None,
        "initiated_by": None,
        "evaluation": None,
        "embedded_on": None,
        "innovation_types": [],
        "collaborators": [],
        "value_types": [],
        "version": 1,
        "archived": False,
    }
    assert admin.get(f"/api/v1/projects/{project['id']}").json()["budget"] == "1234.50"


@pytest.mark.parametrize(
    ("sent", "returned"),
    [
        (0, "0.00"),
        ("0", "0.00"),
        (250000, "250000.00"),
        ("250000.5", "250000.50"),
        (0.1, "0.10"),
        ("999999999999.99", "999999999999.99"),  # 12 + 2 digits: numeric(14, 2)'s largest
    ],
)
def test_budgets_come_back_as_decimal_strings_with_two_decimals(admin, unit, sent, returned):
    created = admin.post("/api/v1/projects", json=body(unit["id"], budget=sent)).json()
    assert created["budget"] == returned
    fetched = admin.get(f"/api/v1/projects/{created['id']}").json()
    listed = admin.get("/api/v1/projects").json()["items"]
    assert fetched["budget"] == listed[0]["budget"] == returned


@pytest.mark.parametrize(
    ("likelihood", "impact", "score", "band"),
    [
        (1, 1, 1, "low"),
        (2, 3, 6, "low"),
        (2, 4, 8, "medium"),
        (3, 4, 12, "medium"),
        (3, 5, 15, "high"),
        (5, 5, 25, "high"),
    ],
)
def test_risk_score_and_band_at_the_band_edges(admin, unit, likelihood, impact, score, band):
    risk = {"likelihood": likelihood, "impact": impact, "risk_of_not_innovating": 2}
    project = create_project(admin, unit["id"], risk=risk)
    assert project["risk"] == {**risk, "mitigation": None, "score": score, "band": band}


def test_patching_risk_recomputes_score_and_null_clears_it(admin, unit):
    project = create_project(
        admin, unit["id"], risk={"likelihood": 1, "impact": 2, "risk_of_not_innovating": 3}
    )
    assert (project["risk"]["score"], project["risk"]["band"]) == (2, "low")
    url = f"/api/v1/projects/{project['id']}"
    patched = admin.patch(
        url,
        json={
            "risk": {
                "likelihood": 3,
                "impact": 5,
                "risk_of_not_innovating": 3,
                "mitigation": "Opt-out",
            }
        },
    )
    assert patched.status_code == 200
    assert patched.json()["risk"] == {
        "likelihood": 3,
        "impact": 5,
        "risk_of_not_innovating": 3,
        "mitigation": "Opt-out",
        "score": 15,
        "band": "high",
    }
    assert patched.json()["version"] == 2
    cleared = admin.patch(url, json={"risk": None})
    assert (cleared.json()["risk"], cleared.json()["version"]) == (None, 3)


RISK = {"likelihood": 3, "impact": 3, "risk_of_not_innovating": 3}


@pytest.mark.parametrize(
    ("change", "field", "error_type"),
    [
        ({"sponsor_level": "minister"}, "sponsor_level", "enum"),
        ({"work_mode": "weekends"}, "work_mode", "enum"),
        ({"stage": "done"}, "stage", "enum"),
        ({"facet": "radical"}, "facet", "enum"),
        ({"risk": {**RISK, "likelihood": 0}}, "risk.likelihood", "greater_than_equal"),
        ({"risk": {**RISK, "likelihood": 6}}, "risk.likelihood", "less_than_equal"),
        ({"risk": {**RISK, "impact": 6}}, "risk.impact", "less_than_equal"),
        (
            {"risk": {**RISK, "risk_of_not_innovating": 0}},
            "risk.risk_of_not_innovating",
            "greater_than_equal",
        ),
        ({"risk": {"likelihood": 3, "impact": 3}}, "risk.risk_of_not_innovating", "missing"),
        ({"risk": {**RISK, "mitigation": "m" * 2001}}, "risk.mitigation", "string_too_long"),
        ({"risk": {**RISK, "score": 9}}, "risk.score", "extra_forbidden"),
        ({"risk": {**RISK, "band": "low"}}, "risk.band", "extra_forbidden"),
        ({"budget": -1}, "budget", "greater_than_equal"),
        ({"fte": -0.5}, "fte", "greater_than_equal"),
        ({"title": "T" * 201}, "title", "string_too_long"),
        ({"title": ""}, "title", "string_too_short"),
        ({"summary": "S" * 5001}, "summary", "string_too_long"),
        ({"sponsor": "S" * 201}, "sponsor", "string_too_long"),
        ({"started_on": "2026-03-01", "ended_on": "2026-02-28"}, "ended_on", "value_error"),
        ({"started_on": "2026-13-01"}, "started_on", "date_from_datetime_parsing"),
        (
            {
                "determinants": [
                    {"determinant": "parity", "effect": "barrier"},
                    {"determinant": "parity", "effect": "enabler"},
                ]
            },
            "determinants",
            "value_error",
        ),
        (
            {"determinants": [{"determinant": "luck", "effect": "barrier"}]},
            "determinants.0.determinant",
            "enum",
        ),
        (
            {"determinants": [{"determinant": "parity", "effect": "neutral"}]},
            "determinants.0.effect",
            "enum",
        ),
        ({"unit_id": 999}, "unit_id", "invalid"),
        ({"id": 1}, "id", "extra_forbidden"),
        ({"version": 2}, "version", "extra_forbidden"),
        ({"archived": True}, "archived", "extra_forbidden"),
        ({"updated_at": "2026-01-01T00:00:00Z"}, "updated_at", "extra_forbidden"),
        ({"owner": "me"}, "owner", "extra_forbidden"),
    ],
)
def test_create_rejects_bad_fields_naming_them(admin, unit, change, field, error_type):
    response = admin.post("/api/v1/projects", json=body(unit["id"]) | change)
    assert response.status_code == 422, response.text
    assert problem_fields(response) == [field]
    problem = response.json()
    assert problem["status"] == 422
    assert problem["errors"][0]["type"] == error_type
    assert problem["errors"][0]["location"] == "body"
    assert admin.get("/api/v1/projects").json()["items"] == []


def test_missing_required_fields_are_each_named(admin):
    response = admin.post("/api/v1/projects", json={})
    assert response.status_code == 422
    assert sorted(problem_fields(response)) == ["sponsor_level", "title", "unit_id", "work_mode"]


def test_a_body_that_is_not_json_is_a_problem_not_a_crash(admin):
    response = admin.post(
        "/api/v1/projects", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


def test_determinants_round_trip_and_one_per_determinant_is_kept(admin, unit):
    tags = [
        {"determinant": "parity", "effect": "barrier", "note": "Loses to service targets"},
        {"determinant": "clarity", "effect": "enabler", "note": None},
    ]
    project = create_project(admin, unit["id"], determinants=tags)
    assert project["determinants"] == tags
    url = f"/api/v1/projects/{project['id']}"
    swapped = [{"determinant": "parity", "effect": "enabler", "note": None}]
    response = admin.patch(url, json={"determinants": swapped})
    assert response.json()["determinants"] == swapped
    duplicate = admin.patch(url, json={"determinants": swapped * 2})
    assert duplicate.status_code == 422
    assert problem_fields(duplicate) == ["determinants"]
    assert admin.get(url).json()["determinants"] == swapped


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": None}, "title"),
        ({"unit_id": None}, "unit_id"),
        ({"sponsor_level": None}, "sponsor_level"),
        ({"work_mode": None}, "work_mode"),
        ({"stage": None}, "stage"),
        ({"stage": "done"}, "stage"),
        ({"title": "T" * 201}, "title"),
        ({"budget": -0.01}, "budget"),
        ({"risk": {**RISK, "likelihood": 6}}, "risk.likelihood"),
        ({"unit_id": 999}, "unit_id"),
        ({"ended_on": "2026-02-28"}, "ended_on"),  # before the stored started_on
        ({"started_on": "2026-07-01"}, "ended_on"),  # after the stored ended_on
        ({"id": 9}, "id"),
        ({"version": 9}, "version"),
        ({"archived": True}, "archived"),
        ({"created_at": "2026-01-01T00:00:00Z"}, "created_at"),
    ],
)
def test_patch_rejects_bad_fields_and_changes_nothing(admin, unit, change, field):
    project = create_project(admin, unit["id"], started_on="2026-03-01", ended_on="2026-06-30")
    url = f"/api/v1/projects/{project['id']}"
    response = admin.patch(url, json=change)
    assert response.status_code == 422, response.text
    assert problem_fields(response) == [field]
    assert admin.get(url).json() == project


def test_patch_changes_only_what_is_sent(admin, unit):
    project = create_project(admin, unit["id"], sponsor="Deputy Minister", facet="mission")
    url = f"/api/v1/projects/{project['id']}"
    response = admin.patch(url, json={"stage": "scaling", "summary": "Now national"})
    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'
    updated = response.json()
    assert updated["updated_at"] > project["updated_at"]
    for key in ("updated_at", "stage", "summary", "version"):
        updated.pop(key)
        project.pop(key)
    assert updated == project
    # The same values again are not a change.
    assert admin.patch(url, json={"stage": "scaling"}).json()["version"] == 2


def test_archive_keeps_the_row_and_hides_it_from_lists(admin, unit):
    kept = create_project(admin, unit["id"], title="Kept")
    gone = create_project(admin, unit["id"], title="Archived")
    response = admin.delete(f"/api/v1/projects/{gone['id']}")
    assert response.status_code == 200
    assert (response.json()["archived"], response.json()["version"]) == (True, 2)
    again = admin.delete(f"/api/v1/projects/{gone['id']}")
    assert (again.status_code, again.json()["version"]) == (200, 2)

    read = admin.get(f"/api/v1/projects/{gone['id']}")
    assert (read.status_code, read.json()["archived"], read.json()["title"]) == (
        200,
        True,
        "Archived",
    )
    assert item_ids(admin.get("/api/v1/projects")) == [kept["id"]]
    assert item_ids(admin.get("/api/v1/projects", params={"include_archived": "true"})) == [
        kept["id"],
        gone["id"],
    ]


def test_unknown_project_is_a_404_problem(admin):
    response = admin.get("/api/v1/projects/999")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 404
    assert admin.patch("/api/v1/projects/999", json={"title": "x"}).status_code == 404
    assert admin.delete("/api/v1/projects/999").status_code == 404


def test_list_filters_return_exactly_the_matching_projects(admin, unit):
    def make(**fields):
        return create_project(admin, unit["id"], **fields)["id"]

    idea = make(
        stage="idea",
        work_mode="side_of_desk",
        sponsor_level="individual",
        facet="enhancement",
        determinants=[{"determinant": "parity", "effect": "barrier"}],
    )
    scaling = make(
        stage="scaling",
        work_mode="core_business",
        sponsor_level="system",
        facet="mission",
        determinants=[
            {"determinant": "parity", "effect": "enabler"},
            {"determinant": "clarity", "effect": "barrier"},
        ],
    )
    exploring = make(
        stage="exploration",
        work_mode="dedicated",
        sponsor_level="organizational",
        facet=None,
        determinants=[{"determinant": "normality", "effect": "enabler"}],
    )
    plain = make(stage="idea", work_mode="dedicated", sponsor_level="system", facet="anticipatory")

    def listed(**params):
        return item_ids(admin.get("/api/v1/projects", params=params))

    assert listed() == [idea, scaling, exploring, plain]
    assert listed(stage="idea") == [idea, plain]
    assert listed(stage=["idea", "scaling"]) == [idea, scaling, plain]
    assert listed(work_mode="dedicated") == [exploring, plain]
    assert listed(work_mode=["side_of_desk", "core_business"]) == [idea, scaling]
    assert listed(sponsor_level="system") == [scaling, plain]
    assert listed(facet="mission") == [scaling]
    assert listed(facet=["enhancement", "anticipatory"]) == [idea, plain]
    assert listed(determinant="parity") == [idea, scaling]
    assert listed(determinant=["clarity", "normality"]) == [scaling, exploring]
    assert listed(determinant="parity", effect="barrier") == [idea]
    assert listed(effect="enabler") == [scaling, exploring]
    assert listed(determinant="clarity", effect="enabler") == []
    assert listed(stage="idea", work_mode="dedicated") == [plain]
    assert listed(unit_id=unit["id"], sponsor_level=["system", "individual"]) == [
        idea,
        scaling,
        plain,
    ]


def test_updated_since_returns_what_changed_at_or_after_the_time(admin, unit):
    first = create_project(admin, unit["id"])
    second = create_project(admin, unit["id"])
    third = create_project(admin, unit["id"])

    def listed(since):
        return item_ids(admin.get("/api/v1/projects", params={"updated_since": since}))

    assert listed(second["updated_at"]) == [second["id"], third["id"]]
    touched = admin.patch(f"/api/v1/projects/{first['id']}", json={"stage": "exploration"})
    assert listed(second["updated_at"]) == [first["id"], second["id"], third["id"]]
    assert listed(touched.json()["updated_at"]) == [first["id"]]
    # The same instant written with another offset selects the same rows.
    instant = datetime.fromisoformat(third["updated_at"])
    shifted = instant.astimezone(timezone(timedelta(hours=2))).isoformat()
    assert listed(shifted) == [first["id"], third["id"]]
    # Without an offset the time is read as UTC.
    naive = instant.astimezone(UTC).replace(tzinfo=None).isoformat()
    assert listed(naive) == [first["id"], third["id"]]
    assert listed("2999-01-01T00:00:00Z") == []
    for bad_time in ("yesterday", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        bad = admin.get("/api/v1/projects", params={"updated_since": bad_time})
        assert bad.status_code == 422, bad_time
        assert problem_fields(bad) == ["updated_since"]


@pytest.mark.parametrize(
    ("param", "value", "field"),
    [
        # Repeatable filters name the position of the bad value.
        ("stage", ["idea", "done"], "stage.1"),
        ("work_mode", "x", "work_mode.0"),
        ("sponsor_level", "x", "sponsor_level.0"),
        ("facet", "x", "facet.0"),
        ("determinant", "luck", "determinant.0"),
        ("effect", "neutral", "effect"),
        ("unit_id", "abc", "unit_id"),
        ("include_archived", "perhaps", "include_archived"),
    ],
)
def test_bad_filter_values_are_named(admin, param, value, field):
    response = admin.get("/api/v1/projects", params={param: value})
    assert response.status_code == 422
    assert problem_fields(response) == [field]
    assert response.json()["errors"][0]["location"] == "query"


def test_history_lists_changes_newest_first_with_the_key_name(admin, make_client, unit):
    manager = make_client("manager", name="Portfolio office")
    project = create_project(admin, unit["id"], title="Pre-fill")
    url = f"/api/v1/projects/{project['id']}"
    assert (
        manager.patch(url, json={"stage": "exploration", "title": "Pre-fill v2"}).status_code == 200
    )
    criterion = create_criterion(manager, "projects", project["id"])
    assert manager.delete(url).status_code == 200

    response = admin.get(f"{url}/history")
    assert response.status_code == 200
    entries = response.json()["items"]
    assert [(e["entity_type"], e["action"], e["api_key_name"]) for e in entries] == [
        ("project", "archive", "Portfolio office"),
        ("criterion", "create", "Portfolio office"),
        ("project", "update", "Portfolio office"),
        ("project", "create", "bootstrap"),
    ]
    archive, criterion_entry, update, create = entries
    assert archive["changes"] == {"archived": {"old": False, "new": True}}
    assert criterion_entry["entity_id"] == criterion["id"]
    assert update["changes"] == {
        "stage": {"old": "idea", "new": "exploration"},
        "title": {"old": "Pre-fill", "new": "Pre-fill v2"},
    }
    assert create["changes"]["title"] == {"old": None, "new": "Pre-fill"}
    assert create["changes"]["stage"] == {"old": None, "new": "idea"}
    assert create["changes"]["unit_id"] == {"old": None, "new": unit["id"]}
    assert all(e["entity_id"] == project["id"] for e in (archive, update, create))
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids, reverse=True)
    # Newest first across pages too.
    first = admin.get(f"{url}/history", params={"limit": 3}).json()
    assert [e["id"] for e in first["items"]] == ids[:3]
    rest = admin.get(f"{url}/history", params={"limit": 3, "cursor": first["next_cursor"]})
    assert [e["id"] for e in rest.json()["items"]] == ids[3:]
    assert rest.json()["next_cursor"] is None


def test_etag_and_if_match(admin, unit):
    project = create_project(admin, unit["id"])
    url = f"/api/v1/projects/{project['id']}"
    assert admin.get(url).headers["ETag"] == '"1"'

    good = admin.patch(url, json={"stage": "exploration"}, headers={"If-Match": '"1"'})
    assert (good.status_code, good.json()["version"], good.headers["ETag"]) == (200, 2, '"2"')

    stale = admin.patch(url, json={"stage": "scaling"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.headers["content-type"].startswith("application/problem+json")
    assert (stale.json()["status"], stale.json()["current_version"]) == (412, 2)
    assert admin.get(url).json()["stage"] == "exploration"

    stale_delete = admin.delete(url, headers={"If-Match": '"1"'})
    assert (stale_delete.status_code, stale_delete.json()["current_version"]) == (412, 2)
    assert admin.get(url).json()["archived"] is False

    # If-Match compares strongly (RFC 9110): a weak tag never matches, even the current one.
    weak = admin.patch(url, json={"stage": "scaling"}, headers={"If-Match": 'W/"2"'})
    assert (weak.status_code, weak.json()["current_version"]) == (412, 2)
    assert admin.get(url).json()["stage"] == "exploration"
    strong = admin.patch(url, json={"stage": "scaling"}, headers={"If-Match": '"2"'})
    assert (strong.status_code, strong.json()["version"]) == (200, 3)
    anything = admin.delete(url, headers={"If-Match": "*"})
    assert (anything.status_code, anything.json()["version"]) == (200, 4)

    garbage = admin.patch(url, json={"stage": "idea"}, headers={"If-Match": "latest"})
    assert garbage.status_code == 422
    assert problem_fields(garbage) == ["If-Match"]


HUGE = 10**20  # beyond any database integer: SQLite cannot even bind it


@pytest.mark.parametrize("bad_id", [HUGE, 0, -HUGE])
def test_ids_out_of_range_are_named_not_a_crash(admin, unit, bad_id):
    def named(response, field, location):
        assert response.status_code == 422, response.text
        assert problem_fields(response) == [field]
        assert response.json()["errors"][0]["location"] == location

    named(admin.get(f"/api/v1/projects/{bad_id}"), "project_id", "path")
    named(admin.patch(f"/api/v1/projects/{bad_id}", json={"stage": "idea"}), "project_id", "path")
    named(admin.delete(f"/api/v1/projects/{bad_id}"), "project_id", "path")
    named(admin.get(f"/api/v1/projects/{bad_id}/history"), "project_id", "path")
    named(admin.get(f"/api/v1/projects/{bad_id}/criteria"), "project_id", "path")
    named(admin.get(f"/api/v1/criteria/{bad_id}"), "criterion_id", "path")
    named(admin.get(f"/api/v1/units/{bad_id}"), "unit_id", "path")
    named(admin.get(f"/api/v1/experiments/{bad_id}"), "experiment_id", "path")
    named(admin.delete(f"/api/v1/api-keys/{bad_id}"), "key_id", "path")
    named(admin.get("/api/v1/projects", params={"unit_id": bad_id}), "unit_id", "query")
    named(admin.get("/api/v1/experiments", params={"project_id": bad_id}), "project_id", "query")
    named(admin.get("/api/v1/units", params={"parent_id": bad_id}), "parent_id", "query")
    named(admin.post("/api/v1/projects", json=body(bad_id)), "unit_id", "body")
    project = create_project(admin, unit["id"])
    named(
        admin.patch(f"/api/v1/projects/{project['id']}", json={"unit_id": bad_id}),
        "unit_id",
        "body",
    )
    named(
        admin.post(
            "/api/v1/experiments",
            json={"project_id": bad_id, "title": "E", "hypothesis": "H", "method": "rct"},
        ),
        "project_id",
        "body",
    )
    named(
        admin.post(
            "/api/v1/units",
            json={"code": "X", "name": "X", "kind": "corporate", "parent_id": bad_id},
        ),
        "parent_id",
        "body",
    )
    named(
        admin.post("/api/v1/api-keys", json={"name": "S", "role": "submitter", "unit_id": bad_id}),
        "unit_id",
        "body",
    )


def test_unknown_routes_and_methods_are_problems_too(admin):
    missing = admin.get("/api/v1/portfolios")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    wrong_method = admin.put("/api/v1/projects/1", json={})
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": "Tax\u0000 returns"}, "title"),
        ({"summary": "\u0000"}, "summary"),
        ({"risk": {**RISK, "mitigation": "a\u0000"}}, "risk.mitigation"),
        (
            {"determinants": [{"determinant": "parity", "effect": "barrier", "note": "x\u0000"}]},
            "determinants.0.note",
        ),
    ],
)
def test_nul_characters_are_refused_naming_the_field(admin, unit, change, field):
    """PostgreSQL cannot store NUL in text: refused on every backend, never a 500."""
    response = admin.post("/api/v1/projects", json=body(unit["id"]) | change)
    assert response.status_code == 422, response.text
    assert problem_fields(response) == [field]
    project = create_project(admin, unit["id"])
    patched = admin.patch(f"/api/v1/projects/{project['id']}", json=change)
    assert (patched.status_code, problem_fields(patched)) == (422, [field])
    # An escaped backslash before "u0000" is ordinary text.
    literal = admin.patch(f"/api/v1/projects/{project['id']}", json={"summary": "\\u0000"})
    assert (literal.status_code, literal.json()["summary"]) == (200, "\\u0000")
