"""Unit commitments: PUT/GET/DELETE /units/{id}/commitments[/{year}]."""

import pytest

from app.core.config import Settings
from tests.builders import create_unit, problem_fields, settings_for

BODY = {"program_funds": "1000000.00", "target_share": 0.05}


@pytest.fixture
def settings(database_url: str) -> Settings:
    # A fiscal year from April to March, as in the Government of Canada.
    return settings_for(database_url, fiscal_year_start_month=4)


def test_put_creates_then_replaces_and_get_lists_by_year(admin):
    unit = create_unit(admin, "TAX")
    base = f"/api/v1/units/{unit['id']}/commitments"

    created = admin.put(f"{base}/2026", json=BODY)
    assert created.status_code == 201, created.text
    assert created.json() == {
        "unit_id": unit["id"],
        "year": 2026,
        "starts_on": "2026-04-01",
        "ends_on": "2027-03-31",
        "program_funds": "1000000.00",
        "target_share": 0.05,
        "target_amount": "50000.00",  # 1,000,000 x 0.05
    }
    replaced = admin.put(f"{base}/2026", json={"program_funds": 2000, "target_share": 0.1})
    assert replaced.status_code == 200
    assert replaced.json()["target_amount"] == "200.00"  # 2,000 x 0.1
    assert admin.put(f"{base}/2025", json=BODY).status_code == 201

    listed = admin.get(base).json()["items"]
    assert [(c["year"], c["program_funds"]) for c in listed] == [
        (2025, "1000000.00"),
        (2026, "2000.00"),
    ]
    assert admin.get(f"{base}/2026").json() == replaced.json()

    assert admin.delete(f"{base}/2026").status_code == 204
    assert admin.get(f"{base}/2026").status_code == 404
    assert admin.delete(f"{base}/2026").status_code == 404
    assert [c["year"] for c in admin.get(base).json()["items"]] == [2025]


def test_changes_show_in_the_units_history(admin):
    unit = create_unit(admin, "TAX")
    base = f"/api/v1/units/{unit['id']}/commitments/2026"
    admin.put(base, json=BODY)
    admin.put(base, json=BODY)  # the same again: no change, no entry
    admin.delete(base)
    entries = admin.get(f"/api/v1/units/{unit['id']}/history").json()["items"]
    assert [e["changes"] for e in entries[:2]] == [
        {
            "commitments.2026": {
                "old": {"program_funds": "1000000.00", "target_share": 0.05},
                "new": None,
            }
        },
        {
            "commitments.2026": {
                "old": None,
                "new": {"program_funds": "1000000.00", "target_share": 0.05},
            }
        },
    ]
    assert entries[2]["action"] == "create"  # the unit itself


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"program_funds": -1, "target_share": 0.1}, "program_funds"),
        ({"program_funds": "1.001", "target_share": 0.1}, "program_funds"),
        ({"program_funds": 10, "target_share": 1.01}, "target_share"),
        ({"program_funds": 10, "target_share": -0.01}, "target_share"),
        ({"program_funds": 10}, "target_share"),
        ({**BODY, "year": 2026}, "year"),
    ],
)
def test_bad_bodies_are_a_422_naming_the_field(admin, body, field):
    unit = create_unit(admin, "TAX")
    response = admin.put(f"/api/v1/units/{unit['id']}/commitments/2026", json=body)
    assert response.status_code == 422
    assert problem_fields(response) == [field]


def test_shares_0_and_1_and_years_at_the_edges(admin):
    unit = create_unit(admin, "TAX")
    base = f"/api/v1/units/{unit['id']}/commitments"
    assert (
        admin.put(f"{base}/1900", json={"program_funds": 0, "target_share": 0}).status_code == 201
    )
    assert (
        admin.put(f"{base}/9998", json={"program_funds": 5, "target_share": 1}).status_code == 201
    )
    assert problem_fields(admin.put(f"{base}/1899", json=BODY)) == ["year"]
    assert problem_fields(admin.put(f"{base}/9999", json=BODY)) == ["year"]


def test_who_may_read_and_write(admin, make_client):
    root = create_unit(admin, "ROOT", kind="corporate")
    child = create_unit(admin, "CHILD", parent_id=root["id"])
    other = create_unit(admin, "OTHER")
    assert admin.put(f"/api/v1/units/{child['id']}/commitments/2026", json=BODY).status_code == 201
    submitter = make_client("submitter", unit_id=root["id"])
    outsider = make_client("submitter", unit_id=other["id"])
    path = f"/api/v1/units/{child['id']}/commitments"
    for reader in (make_client("viewer"), make_client("manager"), submitter):
        assert reader.get(path).status_code == 200
        assert reader.get(f"{path}/2026").status_code == 200
    assert outsider.get(path).status_code == 404
    assert outsider.get(f"{path}/2026").status_code == 404
    for writer in (make_client("manager"), submitter):
        assert writer.put(f"{path}/2027", json=BODY).status_code == 403
        assert writer.delete(f"{path}/2026").status_code == 403
    assert admin.get("/api/v1/units/999999/commitments").status_code == 404


def test_an_archived_unit_takes_no_commitment(admin):
    unit = create_unit(admin, "OLD")
    assert admin.delete(f"/api/v1/units/{unit['id']}").status_code == 200
    response = admin.put(f"/api/v1/units/{unit['id']}/commitments/2026", json=BODY)
    assert response.status_code == 404
