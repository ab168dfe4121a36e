"""Units: validation, the tree (no cycles, subtree filters) and archiving."""

import pytest

from tests.builders import create_project, create_unit, item_ids, problem_fields


@pytest.fixture
def tree(admin):
    """HQ > TAX > TAX-NORTH, and OPS beside HQ: a tree of four units."""
    hq = create_unit(admin, "HQ", kind="corporate")
    tax = create_unit(admin, "TAX", parent_id=hq["id"])
    north = create_unit(admin, "TAX-NORTH", parent_id=tax["id"])
    ops = create_unit(admin, "OPS", kind="innovation_lab")
    return {"hq": hq["id"], "tax": tax["id"], "north": north["id"], "ops": ops["id"]}


def test_create_returns_the_unit_with_server_fields(admin):
    response = admin.post(
        "/api/v1/units", json={"code": "TAX", "name": "Tax office", "kind": "business_line"}
    )
    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("code", "name", "kind", "parent_id", "version", "archived")} == {
        "code": "TAX",
        "name": "Tax office",
        "kind": "business_line",
        "parent_id": None,
        "version": 1,
        "archived": False,
    }
    got = admin.get(f"/api/v1/units/{body['id']}")
    assert got.json() == body
    assert got.headers["ETag"] == '"1"'


GOOD = {"code": "TAX", "name": "Tax office", "kind": "business_line"}


@pytest.mark.parametrize(
    ("change", "field", "error_type"),
    [
        ({"kind": "department"}, "kind", "enum"),
        ({"code": "X" * 33}, "code", "string_too_long"),
        ({"code": ""}, "code", "string_too_short"),
        ({"name": "N" * 201}, "name", "string_too_long"),
        ({"name": None}, "name", "string_type"),
        ({"parent_id": 999}, "parent_id", "invalid"),
        ({"code": "TAX\u0000"}, "code", "invalid"),
        ({"id": 5}, "id", "extra_forbidden"),
        ({"version": 3}, "version", "extra_forbidden"),
        ({"archived": True}, "archived", "extra_forbidden"),
        ({"created_at": "2026-01-01T00:00:00Z"}, "created_at", "extra_forbidden"),
    ],
)
def test_create_rejects_bad_fields_naming_them(admin, change, field, error_type):
    response = admin.post("/api/v1/units", json={**GOOD, **change})
    assert response.status_code == 422
    assert problem_fields(response) == [field]
    body = response.json()
    assert body["status"] == 422
    assert body["errors"][0]["type"] == error_type
    assert admin.get("/api/v1/units").json()["items"] == []


def test_missing_required_fields_are_each_named(admin):
    response = admin.post("/api/v1/units", json={})
    assert response.status_code == 422
    assert sorted(problem_fields(response)) == ["code", "kind", "name"]


def test_codes_are_unique_ignoring_case(admin):
    create_unit(admin, "TAX")
    response = admin.post("/api/v1/units", json={**GOOD, "code": "tax"})
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "code" in response.json()["detail"]


def test_archived_unit_cannot_be_a_parent(admin):
    old = create_unit(admin, "OLD")
    assert admin.delete(f"/api/v1/units/{old['id']}").status_code == 200
    response = admin.post("/api/v1/units", json={**GOOD, "parent_id": old["id"]})
    assert response.status_code == 422
    assert problem_fields(response) == ["parent_id"]


@pytest.mark.parametrize("new_parent", ["tax", "north", "hq"])
def test_parent_cannot_be_the_unit_itself_or_a_descendant(admin, tree, new_parent):
    response = admin.patch(f"/api/v1/units/{tree['hq']}", json={"parent_id": tree[new_parent]})
    assert response.status_code == 422
    assert problem_fields(response) == ["parent_id"]
    unchanged = admin.get(f"/api/v1/units/{tree['hq']}").json()
    assert (unchanged["parent_id"], unchanged["version"]) == (None, 1)


def test_reparenting_elsewhere_is_allowed_and_moves_the_subtree(admin, tree):
    response = admin.patch(f"/api/v1/units/{tree['tax']}", json={"parent_id": tree["ops"]})
    assert response.status_code == 200
    assert (response.json()["parent_id"], response.json()["version"]) == (tree["ops"], 2)
    subtree = item_ids(admin.get("/api/v1/units", params={"unit_id": tree["ops"]}))
    assert subtree == sorted([tree["tax"], tree["north"], tree["ops"]])
    assert item_ids(admin.get("/api/v1/units", params={"unit_id": tree["hq"]})) == [tree["hq"]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": None}, "name"),
        ({"code": None}, "code"),
        ({"kind": None}, "kind"),
        ({"kind": "department"}, "kind"),
        ({"code": "C" * 33}, "code"),
        ({"parent_id": 999}, "parent_id"),
        ({"version": 7}, "version"),
        ({"archived": False}, "archived"),
    ],
)
def test_patch_rejects_bad_fields_and_changes_nothing(admin, tree, change, field):
    response = admin.patch(f"/api/v1/units/{tree['tax']}", json=change)
    assert response.status_code == 422
    assert problem_fields(response) == [field]
    assert admin.get(f"/api/v1/units/{tree['tax']}").json()["version"] == 1


def test_unit_id_filter_covers_the_whole_subtree(admin, tree):
    assert item_ids(admin.get("/api/v1/units", params={"unit_id": tree["hq"]})) == [
        tree["hq"],
        tree["tax"],
        tree["north"],
    ]
    assert item_ids(admin.get("/api/v1/units", params={"unit_id": tree["tax"]})) == [
        tree["tax"],
        tree["north"],
    ]
    assert item_ids(admin.get("/api/v1/units", params={"parent_id": tree["hq"]})) == [tree["tax"]]
    assert item_ids(admin.get("/api/v1/units", params={"kind": "business_line"})) == [
        tree["tax"],
        tree["north"],
    ]
    assert item_ids(
        admin.get("/api/v1/units", params={"kind": ["corporate", "innovation_lab"]})
    ) == [tree["hq"], tree["ops"]]


def test_project_and_experiment_lists_filter_by_unit_subtree(admin, tree):
    projects = {name: create_project(admin, unit_id)["id"] for name, unit_id in tree.items()}
    experiments = {
        name: admin.post(
            "/api/v1/experiments",
            json={
                "project_id": project_id,
                "title": "E",
                "hypothesis": "H",
                "method": "pilot",
            },
        ).json()["id"]
        for name, project_id in projects.items()
    }
    for root, members in (("hq", ["hq", "tax", "north"]), ("tax", ["tax", "north"])):
        params = {"unit_id": tree[root]}
        assert item_ids(admin.get("/api/v1/projects", params=params)) == [
            projects[m] for m in members
        ]
        assert item_ids(admin.get("/api/v1/experiments", params=params)) == [
            experiments[m] for m in members
        ]
    assert item_ids(admin.get("/api/v1/projects", params={"unit_id": tree["north"]})) == [
        projects["north"]
    ]


def test_unit_with_active_projects_cannot_be_archived_until_they_are(admin, tree):
    project = create_project(admin, tree["ops"])
    refused = admin.delete(f"/api/v1/units/{tree['ops']}")
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["status"] == 409
    assert admin.get(f"/api/v1/units/{tree['ops']}").json()["archived"] is False

    assert admin.delete(f"/api/v1/projects/{project['id']}").status_code == 200
    archived = admin.delete(f"/api/v1/units/{tree['ops']}")
    assert archived.status_code == 200
    assert (archived.json()["archived"], archived.json()["version"]) == (True, 2)

    # Kept and readable, but gone from lists unless asked for.
    assert admin.get(f"/api/v1/units/{tree['ops']}").json()["archived"] is True
    assert tree["ops"] not in item_ids(admin.get("/api/v1/units"))
    assert tree["ops"] in item_ids(admin.get("/api/v1/units", params={"include_archived": True}))

    # And no new project may be placed in it.
    response = admin.post(
        "/api/v1/projects",
        json={
            "title": "Late",
            "unit_id": tree["ops"],
            "sponsor_level": "individual",
            "work_mode": "dedicated",
        },
    )
    assert response.status_code == 422
    assert problem_fields(response) == ["unit_id"]


def test_patch_bumps_version_only_on_a_real_change(admin, tree):
    response = admin.patch(f"/api/v1/units/{tree['ops']}", json={"name": "Operations lab"})
    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'
    # Sending the same value again changes nothing.
    again = admin.patch(f"/api/v1/units/{tree['ops']}", json={"name": "Operations lab"})
    assert again.json()["version"] == 2


def test_if_match_guards_unit_updates(admin, tree):
    stale = admin.patch(
        f"/api/v1/units/{tree['ops']}", json={"name": "X"}, headers={"If-Match": '"7"'}
    )
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 1
    good = admin.patch(
        f"/api/v1/units/{tree['ops']}", json={"name": "X"}, headers={"If-Match": '"1"'}
    )
    assert (good.status_code, good.json()["version"]) == (200, 2)


def test_patch_to_a_code_in_use_is_a_conflict(admin, tree):
    response = admin.patch(f"/api/v1/units/{tree['ops']}", json={"code": "hq"})
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert admin.get(f"/api/v1/units/{tree['ops']}").json()["code"] == "OPS"
    # Its own code, in another case, is fine.
    renamed = admin.patch(f"/api/v1/units/{tree['ops']}", json={"code": "ops"})
    assert (renamed.status_code, renamed.json()["code"]) == (200, "ops")


def test_a_tree_deeper_than_64_levels_is_refused(admin):
    """Subtree queries follow at most 64 levels, so no tree may be deeper."""
    ids: dict[int, int] = {}
    parent = None
    for level in range(1, 65):
        ids[level] = create_unit(admin, f"L{level}", parent_id=parent)["id"]
        parent = ids[level]
    too_deep = admin.post(
        "/api/v1/units",
        json={"code": "L65", "name": "L65", "kind": "business_line", "parent_id": ids[64]},
    )
    assert too_deep.status_code == 422, too_deep.text
    assert too_deep.json()["errors"][0]["field"] == "parent_id"
    assert too_deep.json()["errors"][0]["message"] == (
        "would make the unit tree deeper than 64 levels"
    )
    # TOP with one child: under level 62 its child is at 62 + 1 + 1 = 64, allowed;
    # under level 63 it would be at 65.
    top = create_unit(admin, "TOP")
    leaf = create_unit(admin, "LEAF", parent_id=top["id"])
    allowed = admin.patch(f"/api/v1/units/{top['id']}", json={"parent_id": ids[62]})
    assert allowed.status_code == 200, allowed.text
    refused = admin.patch(f"/api/v1/units/{top['id']}", json={"parent_id": ids[63]})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["message"] == (
        "would make the unit tree deeper than 64 levels"
    )
    # 64 levels, the deepest allowed: L1's subtree reaches LEAF at level 64.
    subtree = admin.get("/api/v1/units", params={"unit_id": ids[1], "limit": 500})
    assert item_ids(subtree) == [*ids.values(), top["id"], leaf["id"]]
