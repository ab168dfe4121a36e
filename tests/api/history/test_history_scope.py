"""What a submitter sees of history written while an object was outside its unit subtree
(issue 13): the entry stays (time, action, field names), but the key's id and name and
every old and new value are hidden (`redacted: true`). Entries written while the object
was inside, before and after, are shown in full. Other roles see everything."""

from typing import Any

from tests.builders import create_unit

CRITERION = {"metric": "M", "kind": "outcome", "baseline": 1, "target": 2, "direction": "increase"}


def history(client: Any, path: str) -> list[dict[str, Any]]:
    response = client.get(f"{path}/history", params={"limit": 500})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def outline(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (entry["entity_type"], entry["action"], entry["redacted"], sorted(entry["changes"]))


def test_a_submitter_sees_only_an_outline_of_what_happened_before_a_move(
    admin, manager, make_client
):
    root = create_unit(admin, "ROOT", kind="corporate")
    a = create_unit(admin, "A", parent_id=root["id"])
    b = create_unit(admin, "B", parent_id=root["id"])
    ours = make_client("submitter", unit_id=a["id"], name="A intake")
    theirs = make_client("submitter", unit_id=b["id"], name="B intake")

    # Written by B's submitter while the project is B's.
    project = theirs.post(
        "/api/v1/projects",
        json={
            "title": "Draft",
            "unit_id": b["id"],
            "sponsor_level": "individual",
            "work_mode": "side_of_desk",
        },
    ).json()
    path = f"/api/v1/projects/{project['id']}"
    assert theirs.patch(path, json={"title": "Secret plan"}).status_code == 200
    criterion = theirs.post(f"{path}/criteria", json=CRITERION).json()
    measured = theirs.post(
        f"/api/v1/criteria/{criterion['id']}/measurements",
        json={"value": 7, "measured_on": "2026-01-01"},
    )
    assert measured.status_code == 201
    experiment = theirs.post(
        "/api/v1/experiments",
        json={
            "project_id": project["id"],
            "title": "Pilot B",
            "hypothesis": "H",
            "method": "pilot",
        },
    ).json()
    # The move, by a manager; then A's submitter works on it.
    assert manager.patch(path, json={"unit_id": a["id"]}).status_code == 200
    assert ours.patch(path, json={"title": "Ours now"}).status_code == 200
    assert (
        ours.patch(
            f"/api/v1/experiments/{experiment['id']}", json={"status": "running"}
        ).status_code
        == 200
    )

    seen = history(ours, path)
    assert [outline(e) for e in seen] == [
        ("project", "update", False, ["title"]),
        ("project", "update", True, ["unit_id"]),
        ("measurement", "create", True, ["measured_on", "value"]),
        ("criterion", "create", True, sorted(CRITERION)),
        ("project", "update", True, ["title"]),
        ("project", "create", True, sorted(seen[-1]["changes"])),
    ]
    own, *hidden = seen
    assert (own["api_key_name"], own["changes"]["title"]) == (
        "A intake",
        {"old": "Secret plan", "new": "Ours now"},
    )
    for entry in hidden:
        assert (entry["api_key_id"], entry["api_key_name"]) == (None, None)
        assert set(map(str, entry["changes"].values())) == {"{'old': None, 'new': None}"}
    # The move itself names neither the old unit nor who moved it.
    assert hidden[0]["changes"] == {"unit_id": {"old": None, "new": None}}

    # The experiment: created while B's (hidden), then A's own change (shown).
    experiment_seen = history(ours, f"/api/v1/experiments/{experiment['id']}")
    assert [(e["action"], e["redacted"]) for e in experiment_seen] == [
        ("update", False),
        ("create", True),
    ]
    assert experiment_seen[0]["changes"]["status"] == {"old": "proposed", "new": "running"}

    # A manager (and the admin) see every entry in full.
    full = history(manager, path)
    assert [e["redacted"] for e in full] == [False] * 6
    assert full[-2]["api_key_name"] == "B intake"
    assert full[-2]["changes"]["title"] == {"old": "Draft", "new": "Secret plan"}
    assert full[1]["changes"]["unit_id"] == {"old": b["id"], "new": a["id"]}


def test_a_unit_moved_into_the_subtree_shows_its_earlier_history_in_outline(admin, make_client):
    root = create_unit(admin, "ROOT", kind="corporate")
    a = create_unit(admin, "A", parent_id=root["id"])
    b = create_unit(admin, "B", parent_id=root["id"])
    lab = create_unit(admin, "LAB", kind="innovation_lab", parent_id=b["id"])
    path = f"/api/v1/units/{lab['id']}"
    assert admin.patch(path, json={"name": "B's lab"}).status_code == 200
    assert admin.patch(path, json={"parent_id": a["id"]}).status_code == 200
    assert admin.patch(path, json={"name": "A's lab"}).status_code == 200
    ours = make_client("submitter", unit_id=a["id"])

    seen = history(ours, path)
    assert [(e["action"], e["redacted"], sorted(e["changes"])) for e in seen] == [
        ("update", False, ["name"]),
        ("update", True, ["parent_id"]),
        ("update", True, ["name"]),
        ("create", True, ["code", "kind", "name", "parent_id"]),
    ]
    assert seen[0]["changes"]["name"] == {"old": "B's lab", "new": "A's lab"}
    # Its own unit's history is the submitter's in full.
    assert all(not e["redacted"] for e in history(ours, f"/api/v1/units/{a['id']}"))
