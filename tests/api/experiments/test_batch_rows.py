"""The batch writes set-based (app/experiments/batch.py): the same rows, answers and history
entries as submitting each experiment and criterion on its own."""

from tests.builders import create_project, create_unit

EXPERIMENT = {
    "title": "Pre-filled return",
    "hypothesis": "Pre-filling cuts filing time",
    "method": "rct",
    "status": "completed",
    "result": "supported",
    "lessons": "Bank data took longest.",
    "determinants": [
        {"determinant": "suitability", "effect": "enabler", "note": "Data ready"},
        {"determinant": "parity", "effect": "barrier", "note": None},
    ],
    "started_on": "2026-03-01",
    "ended_on": "2026-05-31",
    # Every field set, so each type (dates, amounts, enums, booleans) is written by the
    # batch as a single submission writes it, in its answer and in its history.
    "comparison": "randomized",
    "sample_size": 500,
    "preregistered_on": "2026-02-15",
    "independent_evaluation": True,
    "cost": 42000.5,
    "published_on": "2026-07-15",
    "publication_url": "https://open.example.org/pre-filled-return",
}
CRITERION = {
    "metric": "Minutes to file",
    "kind": "outcome",
    "unit_of_measure": "minutes",
    "baseline": 45,
    "target": 30,
    "direction": "decrease",
    "due_on": "2030-01-01",
}
VOLATILE = ("id", "experiment_id", "created_at", "updated_at", "changed_at", "entity_id")


def without(data, keys=VOLATILE):
    if isinstance(data, list):
        return [without(d, keys) for d in data]
    return {k: v for k, v in data.items() if k not in keys}


def history(client, experiment_id):
    return client.get(f"/api/v1/experiments/{experiment_id}/history").json()["items"]


def test_a_batched_experiment_matches_one_submitted_alone(admin):
    unit = create_unit(admin, "TAX")
    project = create_project(admin, unit["id"])
    body = {"project_id": project["id"], **EXPERIMENT}
    alone = admin.post("/api/v1/experiments", json=body).json()
    criterion = admin.post(f"/api/v1/experiments/{alone['id']}/criteria", json=CRITERION).json()
    response = admin.post(
        "/api/v1/experiments/batch", json={"items": [{**body, "criteria": [CRITERION]}]}
    )
    assert response.status_code == 201
    batched = response.json()["items"][0]
    # The criterion (an outcome with a baseline) counts in the batched one's rigour at once;
    # the one submitted alone has it from the next read.
    assert batched["rigour_features"] == [
        "baseline",
        "comparison",
        "randomized",
        "preregistered",
        "independent",
    ]
    assert batched["cost"] == "42000.50"
    alone = admin.get(f"/api/v1/experiments/{alone['id']}").json()
    assert without(batched, (*VOLATILE, "criteria")) == without(alone)
    assert without(batched["criteria"]) == [without(criterion)]
    assert batched["criteria"][0]["experiment_id"] == batched["id"]
    assert batched["criteria"][0]["status"] == "pending"
    # Stored exactly as answered, and with the same history entries.
    stored = admin.get(f"/api/v1/experiments/{batched['id']}").json()
    assert stored == {k: v for k, v in batched.items() if k != "criteria"}
    # The same keys in the same order as a single experiment's answer, then its criteria.
    assert list(batched) == [*stored, "criteria"]
    listed = admin.get(f"/api/v1/experiments/{batched['id']}/criteria").json()["items"]
    assert listed == batched["criteria"]
    assert without(history(admin, batched["id"])) == without(history(admin, alone["id"]))
    assert [h["entity_id"] for h in history(admin, batched["id"])] == [
        batched["criteria"][0]["id"],
        batched["id"],
    ]
