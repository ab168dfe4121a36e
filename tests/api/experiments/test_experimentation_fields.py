"""Issue 15's experiment fields: comparison, sample size, preregistration, independent
evaluation, cost, publication; the computed rigour; the filters comparison, rigour_min and
published."""

from datetime import timedelta

import pytest

from app.core.db import today
from tests.builders import (
    create_criterion,
    create_experiment,
    create_project,
    create_unit,
    item_ids,
    problem_fields,
)


@pytest.fixture
def project(admin):
    return create_project(admin, create_unit(admin, "LAB")["id"])


def rigour_of(client, experiment_id):
    item = client.get(f"/api/v1/experiments/{experiment_id}").json()
    return item["rigour"], item["rigour_features"]


def test_the_fields_are_stored_and_returned(admin, project):
    experiment = create_experiment(
        admin,
        project["id"],
        status="completed",
        result="not_supported",
        started_on="2026-03-01",
        ended_on="2026-05-31",
        comparison="before_after",
        sample_size=1,
        preregistered_on="2026-02-01",
        independent_evaluation=True,
        cost="1234.50",
        published_on="2026-06-15",
        publication_url="https://open.example.org/r/1",
        determinants=[
            {"determinant": "parity", "effect": "barrier", "note": "Budget first"},
            {"determinant": "clarity", "effect": "enabler"},
        ],
    )
    stored = admin.get(f"/api/v1/experiments/{experiment['id']}").json()
    # The answer to the POST is what a GET reads back, tags (in order) and timestamps included.
    assert stored == experiment
    assert [t["determinant"] for t in stored["determinants"]] == ["parity", "clarity"]
    assert {k: stored[k] for k in ("comparison", "sample_size", "cost", "published_on")} == {
        "comparison": "before_after",
        "sample_size": 1,
        "cost": "1234.50",  # as a budget: a decimal string in, a decimal string out
        "published_on": "2026-06-15",
    }
    # preregistered (02-01 <= 03-01) and independent; before_after is no comparison group
    assert (stored["rigour"], stored["rigour_features"]) == (2, ["preregistered", "independent"])


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"cost": "1.005"}, "cost"),  # 3 decimals, as a budget
        ({"cost": -1}, "cost"),
        ({"sample_size": 0}, "sample_size"),
        ({"comparison": "matched"}, "comparison"),
        ({"publication_url": "ftp://files.example.org/r"}, "publication_url"),
        ({"publication_url": "https://"}, "publication_url"),
        ({"publication_url": "https://example.org/" + "a" * 1981}, "publication_url"),
        ({"independent_evaluation": None}, "independent_evaluation"),
        # published_on needs a finished status
        ({"published_on": "2026-01-10"}, "published_on"),
        ({"status": "running", "published_on": "2026-01-10"}, "published_on"),
    ],
)
def test_bad_values_are_a_422_naming_the_field(admin, project, fields, field):
    body = {"project_id": project["id"], "title": "E", "hypothesis": "H", "method": "rct"}
    response = admin.post("/api/v1/experiments", json={**body, **fields})
    assert response.status_code == 422, response.text
    assert problem_fields(response) == [field]


def test_a_url_of_2000_characters_is_accepted(admin, project):
    url = "https://example.org/" + "a" * 1980  # 20 + 1980 = 2000
    experiment = create_experiment(admin, project["id"], publication_url=url)
    assert experiment["publication_url"] == url


def test_published_on_may_be_today_but_not_tomorrow(admin, project):
    tomorrow = (today() + timedelta(days=1)).isoformat()
    done = {"status": "stopped"}
    ok = create_experiment(admin, project["id"], **done, published_on=today().isoformat())
    assert ok["published_on"] == today().isoformat()
    late = admin.post(
        "/api/v1/experiments",
        json={
            "project_id": project["id"],
            "title": "E",
            "hypothesis": "H",
            "method": "rct",
            **done,
            "published_on": tomorrow,
        },
    )
    assert late.status_code == 422
    assert problem_fields(late) == ["published_on"]
    patched = admin.patch(f"/api/v1/experiments/{ok['id']}", json={"published_on": tomorrow})
    assert problem_fields(patched) == ["published_on"]


def test_patch_keeps_published_on_and_status_consistent(admin, project):
    experiment = create_experiment(admin, project["id"], status="running")
    too_early = admin.patch(
        f"/api/v1/experiments/{experiment['id']}", json={"published_on": "2026-01-05"}
    )
    assert too_early.status_code == 422
    assert problem_fields(too_early) == ["published_on"]
    published = admin.patch(
        f"/api/v1/experiments/{experiment['id']}",
        json={"status": "completed", "published_on": "2026-01-05"},
    )
    assert published.status_code == 200, published.text
    # Back to running while published: refused, naming published_on.
    back = admin.patch(f"/api/v1/experiments/{experiment['id']}", json={"status": "running"})
    assert back.status_code == 422
    assert problem_fields(back) == ["published_on"]
    unpublished = admin.patch(
        f"/api/v1/experiments/{experiment['id']}",
        json={"status": "running", "published_on": None},
    )
    assert unpublished.status_code == 200
    assert unpublished.json()["published_on"] is None


def test_each_rigour_feature(admin, project):
    def features(**fields):
        return create_experiment(admin, project["id"], **fields)["rigour_features"]

    assert features() == []
    assert features(comparison="before_after") == []
    assert features(comparison="comparison_group") == ["comparison"]
    assert features(comparison="randomized") == ["comparison", "randomized"]
    assert features(independent_evaluation=True) == ["independent"]
    # preregistered: on or before started_on; equal counts, a day later does not
    assert features(preregistered_on="2026-03-01", started_on="2026-03-01") == ["preregistered"]
    assert features(preregistered_on="2026-02-28", started_on="2026-03-01") == ["preregistered"]
    assert features(preregistered_on="2026-03-02", started_on="2026-03-01") == []
    assert features(preregistered_on="2026-03-01") == []  # no started_on: false


def test_baseline_follows_the_experiments_criteria(admin, project):
    experiment = create_experiment(
        admin,
        project["id"],
        comparison="randomized",
        preregistered_on="2026-01-01",
        started_on="2026-01-01",
        independent_evaluation=True,
    )
    eid = experiment["id"]
    assert experiment["rigour"] == 4
    create_criterion(admin, "experiments", eid, kind="output")  # not an outcome: no baseline
    assert rigour_of(admin, eid) == (
        4,
        ["comparison", "randomized", "preregistered", "independent"],
    )
    outcome = create_criterion(admin, "experiments", eid, kind="outcome")
    assert rigour_of(admin, eid) == (
        5,
        ["baseline", "comparison", "randomized", "preregistered", "independent"],
    )
    # A criterion on the project, not the experiment, does not count.
    other = create_experiment(admin, project["id"])
    create_criterion(admin, "projects", project["id"], kind="outcome")
    assert rigour_of(admin, other["id"]) == (0, [])
    # Archiving the criterion takes the feature away at once: rigour is computed when read.
    assert admin.delete(f"/api/v1/criteria/{outcome['id']}").status_code == 200
    assert rigour_of(admin, eid)[0] == 4
    listed = admin.get("/api/v1/experiments", params={"rigour_min": 4}).json()["items"]
    assert [(e["id"], e["rigour"]) for e in listed] == [(eid, 4)]


def test_list_filters(admin, project):
    plain = create_experiment(admin, project["id"])
    grouped = create_experiment(admin, project["id"], comparison="comparison_group")
    randomized = create_experiment(
        admin, project["id"], comparison="randomized", status="completed", published_on="2026-02-01"
    )
    create_criterion(admin, "experiments", randomized["id"], kind="outcome")
    # rigour: plain 0, grouped 1 (comparison), randomized 3 (baseline, comparison, randomized)

    def ids(**params):
        return item_ids(admin.get("/api/v1/experiments", params=params))

    assert ids(comparison="randomized") == [randomized["id"]]
    assert ids(comparison=["none", "comparison_group"]) == [plain["id"], grouped["id"]]
    assert ids(rigour_min=0) == [plain["id"], grouped["id"], randomized["id"]]
    assert ids(rigour_min=1) == [grouped["id"], randomized["id"]]
    assert ids(rigour_min=3) == [randomized["id"]]
    assert ids(rigour_min=4) == []
    assert ids(published="true") == [randomized["id"]]
    assert ids(published="false") == [plain["id"], grouped["id"]]
    assert admin.get("/api/v1/experiments", params={"rigour_min": 6}).status_code == 422
    # The listed items carry the same rigour as their GET.
    listed = admin.get("/api/v1/experiments").json()["items"]
    assert [(e["rigour"], e["rigour_features"]) for e in listed] == [
        (0, []),
        (1, ["comparison"]),
        (3, ["baseline", "comparison", "randomized"]),
    ]


def test_history_batch_and_csv_carry_the_fields(admin, project):
    experiment = create_experiment(admin, project["id"])
    admin.patch(
        f"/api/v1/experiments/{experiment['id']}",
        json={"cost": 250, "comparison": "randomized", "sample_size": 40},
    )
    entry = admin.get(f"/api/v1/experiments/{experiment['id']}/history").json()["items"][0]
    assert entry["changes"] == {
        "comparison": {"old": "none", "new": "randomized"},
        "cost": {"old": None, "new": "250.00"},
        "sample_size": {"old": None, "new": 40},
    }

    batch = admin.post(
        "/api/v1/experiments/batch",
        json={
            "items": [
                {
                    "project_id": project["id"],
                    "title": "B",
                    "hypothesis": "H",
                    "method": "rct",
                    "comparison": "randomized",
                    "independent_evaluation": True,
                    "cost": "99.99",
                    "status": "completed",
                    "published_on": "2026-03-03",
                    "publication_url": "http://example.org/b",
                }
            ]
        },
    )
    assert batch.status_code == 201, batch.text
    item = batch.json()["items"][0]
    assert (item["cost"], item["rigour"]) == ("99.99", 3)
    assert admin.get(f"/api/v1/experiments/{item['id']}").json() == {
        k: v for k, v in item.items() if k != "criteria"
    }

    csv = admin.get(
        "/api/v1/experiments", params={"comparison": "randomized"}, headers={"Accept": "text/csv"}
    ).text.splitlines()
    header = csv[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=False)) for line in csv[1:]]
    assert [(r["cost"], r["rigour"], r["rigour_features"], r["published_on"]) for r in rows] == [
        ("250.00", "2", "comparison;randomized", ""),
        ("99.99", "3", "comparison;randomized;independent", "2026-03-03"),
    ]
