"""List pages are built from plain rows (app/*/service.py `list_public`), not through the
single-item path: every field of a fully filled row must come out exactly as GET gives it."""

from tests.builders import create_experiment, create_project, create_unit

FULL_PROJECT = {
    "title": "Pre-filled returns \u00e9t\u00e9",
    "summary": "Use last year's data.",
    "sponsor_level": "organizational",
    "sponsor": "Deputy Minister",
    "work_mode": "core_business",
    "stage": "experiment",
    "facet": "enhancement",
    "risk": {"likelihood": 3, "impact": 4, "risk_of_not_innovating": 5, "mitigation": "Opt-out"},
    "determinants": [
        {"determinant": "parity", "effect": "barrier", "note": "Competes with targets"},
        {"determinant": "clarity", "effect": "enabler", "note": None},
    ],
    "budget": 250000.25,
    "fte": 2.5,
    "started_on": "2026-02-01",
    "ended_on": "2026-09-30",
}


def test_a_listed_project_with_every_field_set_equals_its_get(admin):
    unit = create_unit(admin, "TAX")
    plain = create_project(admin, unit["id"])
    full = create_project(admin, unit["id"], **FULL_PROJECT)
    admin.patch(
        f"/api/v1/projects/{full['id']}", json={"stage": "scaling"}, headers={"If-Match": '"1"'}
    ).raise_for_status()
    response = admin.get("/api/v1/projects")
    assert response.headers["content-type"] == "application/json"
    listed = response.json()
    assert listed["next_cursor"] is None
    assert listed["items"] == [
        admin.get(f"/api/v1/projects/{plain['id']}").json(),
        admin.get(f"/api/v1/projects/{full['id']}").json(),
    ]
    item = listed["items"][1]
    assert item["risk"] == {**FULL_PROJECT["risk"], "score": 12, "band": "medium"}
    assert item["determinants"] == FULL_PROJECT["determinants"]
    assert (item["budget"], item["fte"], item["stage"], item["version"]) == (
        "250000.25",
        "2.50",
        "scaling",
        2,
    )


def test_a_listed_experiment_with_every_field_set_equals_its_get(admin):
    unit = create_unit(admin, "TAX")
    project = create_project(admin, unit["id"])
    plain = create_experiment(admin, project["id"])
    full = create_experiment(
        admin,
        project["id"],
        title="Pre-filled return, 500 sole traders",
        hypothesis="Pre-filling cuts filing time by a third",
        method="rct",
        status="completed",
        result="supported",
        lessons="Most time went into checking bank data.",
        determinants=[{"determinant": "suitability", "effect": "enabler", "note": "Data ready"}],
        started_on="2026-03-01",
        ended_on="2026-05-31",
    )
    listed = admin.get("/api/v1/experiments").json()
    assert listed == {
        "items": [
            admin.get(f"/api/v1/experiments/{plain['id']}").json(),
            admin.get(f"/api/v1/experiments/{full['id']}").json(),
        ],
        "next_cursor": None,
    }
    assert listed["items"][1]["determinants"] == [
        {"determinant": "suitability", "effect": "enabler", "note": "Data ready"}
    ]
    assert listed["items"][1]["unit_id"] == unit["id"]


def test_listed_keys_and_timestamps_are_written_exactly_as_get_writes_them(admin, app):
    """On PostgreSQL the page's JSON is built in SQL (app/json_pages.py): the raw text must
    match Pydantic's, whole seconds (no fraction) and fractions alike, not just parse equal."""
    unit = create_unit(admin, "TAX")
    whole = create_project(admin, unit["id"])
    fraction = create_project(admin, unit["id"])
    experiment = create_experiment(admin, whole["id"])
    moments = {
        "projects": {whole["id"]: "2026-02-01 08:30:00", fraction["id"]: "2026-02-01 08:30:00.5"},
        "experiments": {experiment["id"]: "2026-02-01 08:30:00"},
    }
    with app.state.engine.begin() as connection:
        for table, by_id in moments.items():
            for id_, moment in by_id.items():
                connection.exec_driver_sql(
                    f"UPDATE {table} SET created_at = '{moment}', updated_at = '{moment}' "
                    f"WHERE id = {id_}"
                )
    for path in ("/api/v1/projects", "/api/v1/experiments"):
        listed = admin.get(path).json()["items"]
        for item in listed:
            single = admin.get(f"{path}/{item['id']}").json()
            assert list(item) == list(single)
            assert item == single
    projects = admin.get("/api/v1/projects").json()["items"]
    assert [(p["created_at"], p["updated_at"]) for p in projects] == [
        ("2026-02-01T08:30:00Z", "2026-02-01T08:30:00Z"),
        ("2026-02-01T08:30:00.500000Z", "2026-02-01T08:30:00.500000Z"),
    ]
    assert admin.get("/api/v1/experiments").json()["items"][0]["created_at"] == (
        "2026-02-01T08:30:00Z"
    )
