"""The barometer's project fields: novelty and reuse lineage, initiator, the three sets,
evaluation, embedded_on; their rules, filters, history and the lineage endpoint."""

from datetime import timedelta

import pytest

from app.core.db import today
from app.projects import service as project_service
from tests.builders import create_project, create_unit, item_ids, problem_fields

PROJECTS = "/api/v1/projects"


@pytest.fixture
def unit(admin):
    return create_unit(admin, "TAX")


def adopt(client, unit_id, source_id, novelty="adapted", **fields):
    return create_project(client, unit_id, novelty=novelty, adopted_from=source_id, **fields)


def post(client, unit_id, **fields):
    """POST a project, returning the response whatever its status."""
    body = {"title": "P", "unit_id": unit_id, "sponsor_level": "individual"}
    return client.post(PROJECTS, json={**body, "work_mode": "dedicated", **fields})


def patch(client, project_id, **fields):
    return client.patch(f"{PROJECTS}/{project_id}", json=fields)


def lineage(client, project_id):
    response = client.get(f"{PROJECTS}/{project_id}/lineage")
    assert response.status_code == 200, response.text
    body = response.json()
    return (
        [(item["project_id"], item["depth"]) for item in body["ancestors"]],
        [(item["project_id"], item["depth"]) for item in body["descendants"]],
    )


# --- fields, sets ------------------------------------------------------------------------


def test_fields_are_stored_and_sets_come_back_in_the_listed_order(admin, unit):
    source = create_project(admin, unit["id"], title="Source", novelty="first")
    project = create_project(
        admin,
        unit["id"],
        novelty="copied",
        adopted_from=source["id"],
        initiated_by="citizens",
        evaluation="external",
        innovation_types=["policy", "service", "process"],
        collaborators=["civil_society", "citizens"],
        value_types=["political_goals", "quality"],
    )
    expected = {
        "novelty": "copied",
        "adopted_from": source["id"],
        "initiated_by": "citizens",
        "evaluation": "external",
        "embedded_on": None,
        "innovation_types": ["service", "process", "policy"],
        "collaborators": ["citizens", "civil_society"],
        "value_types": ["quality", "political_goals"],
    }
    assert {key: project[key] for key in expected} == expected
    fetched = admin.get(f"{PROJECTS}/{project['id']}").json()
    assert {key: fetched[key] for key in expected} == expected
    listed = admin.get(PROJECTS, params={"adopted_from": source["id"]}).json()["items"]
    assert listed == [fetched]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("innovation_types", ["service", "service"]),
        ("collaborators", ["research", "citizens", "research"]),
        ("value_types", ["quality", "quality"]),
        ("innovation_types", ["product"]),
        ("novelty", "new"),
        ("initiated_by", "unions"),
        ("evaluation", "peer"),
        ("innovation_types", "service"),
    ],
)
def test_a_duplicate_or_unknown_value_is_a_422_naming_the_field(admin, unit, field, value):
    response = post(admin, unit["id"], **{field: value})
    assert response.status_code == 422
    assert problem_fields(response)[0].split(".")[0] == field


def test_patch_replaces_a_set_whole_and_null_is_refused(admin, unit):
    project = create_project(admin, unit["id"], innovation_types=["service", "process"])
    response = patch(admin, project["id"], innovation_types=["organisation"])
    assert response.json()["innovation_types"] == ["organisation"]
    assert patch(admin, project["id"], collaborators=[]).json()["collaborators"] == []
    response = patch(admin, project["id"], value_types=None)
    assert response.status_code == 422
    assert problem_fields(response) == ["value_types"]


def test_history_records_the_new_fields_as_the_api_shows_them(admin, unit):
    project = create_project(admin, unit["id"], innovation_types=["process"])
    patch(admin, project["id"], innovation_types=["service", "process"], initiated_by="managers")
    entries = admin.get(f"{PROJECTS}/{project['id']}/history").json()["items"]
    assert entries[0]["changes"] == {
        "innovation_types": {"old": ["process"], "new": ["service", "process"]},
        "initiated_by": {"old": None, "new": "managers"},
    }
    assert entries[1]["changes"]["innovation_types"] == {"old": None, "new": ["process"]}


def test_list_filters(admin, unit):
    first = create_project(
        admin,
        unit["id"],
        novelty="first",
        initiated_by="employees",
        evaluation="none",
        innovation_types=["service"],
        collaborators=["research"],
        value_types=["quality", "efficiency"],
    )
    copied = adopt(
        admin,
        unit["id"],
        first["id"],
        novelty="copied",
        initiated_by="managers",
        evaluation="internal",
        innovation_types=["process", "policy"],
        value_types=["efficiency"],
    )
    plain = create_project(admin, unit["id"])

    def ids(**params):
        return item_ids(admin.get(PROJECTS, params=params))

    assert ids(novelty="first") == [first["id"]]
    assert ids(novelty=["first", "copied"]) == [first["id"], copied["id"]]
    assert ids(initiated_by="managers") == [copied["id"]]
    assert ids(evaluation=["none", "internal"]) == [first["id"], copied["id"]]
    assert ids(innovation_type="policy") == [copied["id"]]
    assert ids(innovation_type=["service", "process"]) == [first["id"], copied["id"]]
    assert ids(collaborator="research") == [first["id"]]
    assert ids(collaborator="citizens") == []
    assert ids(value_type="efficiency") == [first["id"], copied["id"]]
    assert ids(value_type="quality", novelty="first") == [first["id"]]
    assert ids(adopted_from=first["id"]) == [copied["id"]]
    assert ids() == [first["id"], copied["id"], plain["id"]]
    response = admin.get(PROJECTS, params={"innovation_type": "product"})
    assert response.status_code == 422
    assert problem_fields(response) == ["innovation_type.0"]


# --- adopted_from ------------------------------------------------------------------------


def test_adopted_from_must_name_a_live_project(admin, unit):
    source = create_project(admin, unit["id"])
    response = post(admin, unit["id"], novelty="adapted", adopted_from=source["id"] + 100)
    assert response.status_code == 422
    assert problem_fields(response) == ["adopted_from"]
    admin.delete(f"{PROJECTS}/{source['id']}")
    other = create_project(admin, unit["id"], novelty="copied")
    response = patch(admin, other["id"], adopted_from=source["id"])
    assert response.status_code == 422
    assert problem_fields(response) == ["adopted_from"]


def test_a_project_the_caller_cannot_read_is_an_unknown_id(admin, make_client):
    mine = create_unit(admin, "MINE")
    theirs = create_unit(admin, "THEIRS")
    hidden = create_project(admin, theirs["id"], title="Hidden")
    submitter = make_client("submitter", unit_id=mine["id"])
    response = post(submitter, mine["id"], novelty="copied", adopted_from=hidden["id"])
    assert response.status_code == 422
    assert problem_fields(response) == ["adopted_from"]
    assert response.json()["errors"][0]["message"] == f"project {hidden['id']} does not exist"


def test_adopted_from_requires_novelty_adapted_or_copied(admin, unit):
    source = create_project(admin, unit["id"])
    for novelty in ("first", None):
        response = post(admin, unit["id"], novelty=novelty, adopted_from=source["id"])
        assert response.status_code == 422
        assert problem_fields(response) == ["adopted_from"]
    adopter = adopt(admin, unit["id"], source["id"], novelty="adapted")
    response = patch(admin, adopter["id"], novelty="first")
    assert response.status_code == 422
    assert problem_fields(response) == ["novelty"]
    # Dropping the link and the novelty together is fine.
    response = patch(admin, adopter["id"], novelty="first", adopted_from=None)
    assert response.status_code == 200
    assert (response.json()["novelty"], response.json()["adopted_from"]) == ("first", None)


def test_no_cycles_self_direct_and_indirect(admin, unit):
    a = create_project(admin, unit["id"], title="A", novelty="adapted")
    b = adopt(admin, unit["id"], a["id"], title="B")
    c = adopt(admin, unit["id"], b["id"], title="C")
    for project_id, source_id in ((a["id"], a["id"]), (a["id"], b["id"]), (a["id"], c["id"])):
        response = patch(admin, project_id, adopted_from=source_id)
        assert response.status_code == 422, (project_id, source_id)
        assert problem_fields(response) == ["adopted_from"]
    assert admin.get(f"{PROJECTS}/{a['id']}").json()["adopted_from"] is None
    # B may move to another source as long as it is not below it.
    d = create_project(admin, unit["id"], title="D")
    assert patch(admin, b["id"], adopted_from=d["id"]).status_code == 200
    assert lineage(admin, c["id"]) == ([(b["id"], 1), (d["id"], 2)], [])


def test_a_cycle_through_a_project_the_caller_cannot_read_is_still_refused(admin, make_client):
    mine = create_unit(admin, "MINE")
    theirs = create_unit(admin, "THEIRS")
    a = create_project(admin, mine["id"], title="A", novelty="adapted")
    b = adopt(admin, theirs["id"], a["id"], title="B (theirs)")
    c = adopt(admin, mine["id"], b["id"], title="C")
    submitter = make_client("submitter", unit_id=mine["id"])
    response = patch(submitter, a["id"], adopted_from=c["id"])
    assert response.status_code == 422
    assert problem_fields(response) == ["adopted_from"]


def test_chains_longer_than_the_bound_are_refused(admin, unit, monkeypatch):
    monkeypatch.setattr(project_service, "MAX_LINEAGE_DEPTH", 3)
    a = create_project(admin, unit["id"], title="A", novelty="adapted")
    b = adopt(admin, unit["id"], a["id"])
    c = adopt(admin, unit["id"], b["id"])
    d = adopt(admin, unit["id"], c["id"])  # three links: A <- B <- C <- D
    response = post(admin, unit["id"], title="E", novelty="copied", adopted_from=d["id"])
    assert response.status_code == 422
    assert problem_fields(response) == ["adopted_from"]
    # Linking A below another project would make the chain four links long.
    top = create_project(admin, unit["id"], title="Top")
    response = patch(admin, a["id"], adopted_from=top["id"])
    assert response.status_code == 422
    assert problem_fields(response) == ["adopted_from"]
    assert patch(admin, b["id"], adopted_from=top["id"]).status_code == 200


def test_archiving_a_source_keeps_the_links(admin, unit):
    a = create_project(admin, unit["id"], title="A")
    b = adopt(admin, unit["id"], a["id"], title="B")
    assert admin.delete(f"{PROJECTS}/{a['id']}").status_code == 200
    assert admin.get(f"{PROJECTS}/{b['id']}").json()["adopted_from"] == a["id"]
    ancestors = admin.get(f"{PROJECTS}/{b['id']}/lineage").json()["ancestors"]
    assert ancestors == [
        {
            "project_id": a["id"],
            "title": "A",
            "unit_id": unit["id"],
            "novelty": None,
            "stage": "idea",
            "archived": True,
            "depth": 1,
        }
    ]
    # Another change of B keeps the (now archived) source.
    assert patch(admin, b["id"], title="B2").json()["adopted_from"] == a["id"]


# --- lineage -----------------------------------------------------------------------------


def test_lineage_ancestors_nearest_first_descendants_by_depth(admin, unit):
    other = create_unit(admin, "HR", kind="corporate")
    a = create_project(admin, unit["id"], title="A", novelty="first")
    b = adopt(admin, other["id"], a["id"], title="B")
    c = adopt(admin, unit["id"], b["id"], title="C", novelty="copied")
    d = adopt(admin, unit["id"], a["id"], title="D")
    e = adopt(admin, other["id"], c["id"], title="E")
    assert lineage(admin, a["id"]) == ([], [(b["id"], 1), (d["id"], 1), (c["id"], 2), (e["id"], 3)])
    assert lineage(admin, c["id"]) == ([(b["id"], 1), (a["id"], 2)], [(e["id"], 1)])
    assert lineage(admin, e["id"]) == ([(c["id"], 1), (b["id"], 2), (a["id"], 3)], [])
    body = admin.get(f"{PROJECTS}/{c['id']}/lineage").json()
    assert body["descendants"] == [
        {
            "project_id": e["id"],
            "title": "E",
            "unit_id": other["id"],
            "novelty": "adapted",
            "stage": "idea",
            "archived": False,
            "depth": 1,
        }
    ]


def test_lineage_leaves_out_what_the_caller_may_not_read(admin, make_client):
    mine = create_unit(admin, "MINE")
    theirs = create_unit(admin, "THEIRS")
    a = create_project(admin, mine["id"], title="A")
    b = adopt(admin, theirs["id"], a["id"], title="B")
    c = adopt(admin, mine["id"], b["id"], title="C")
    submitter = make_client("submitter", unit_id=mine["id"])
    # B is followed through, not shown: C's source's source is A, two links up.
    assert lineage(submitter, c["id"]) == ([(a["id"], 2)], [])
    assert lineage(submitter, a["id"]) == ([], [(c["id"], 2)])
    assert submitter.get(f"{PROJECTS}/{b['id']}/lineage").status_code == 404
    assert admin.get(f"{PROJECTS}/{b['id'] + 100}/lineage").status_code == 404


# --- embedded_on -------------------------------------------------------------------------


def test_embedded_on_is_set_when_the_stage_becomes_embedded_and_cleared_when_it_leaves(admin, unit):
    project = create_project(admin, unit["id"], stage="scaling")
    assert project["embedded_on"] is None
    embedded = patch(admin, project["id"], stage="embedded").json()
    assert embedded["embedded_on"] == today().isoformat()
    # An explicit date while embedded; another change keeps it.
    earlier = (today() - timedelta(days=30)).isoformat()
    assert patch(admin, project["id"], embedded_on=earlier).json()["embedded_on"] == earlier
    assert patch(admin, project["id"], title="Renamed").json()["embedded_on"] == earlier
    assert patch(admin, project["id"], stage="scaling").json()["embedded_on"] is None
    created = create_project(admin, unit["id"], stage="embedded")
    assert created["embedded_on"] == today().isoformat()
    given = create_project(admin, unit["id"], stage="embedded", embedded_on="2025-03-01")
    assert given["embedded_on"] == "2025-03-01"
    both = patch(admin, project["id"], stage="embedded", embedded_on="2025-04-02").json()
    assert both["embedded_on"] == "2025-04-02"


def test_embedded_on_rules_are_422s_naming_it(admin, unit):
    tomorrow = (today() + timedelta(days=1)).isoformat()
    embedded = create_project(admin, unit["id"], stage="embedded")
    idea = create_project(admin, unit["id"])
    for project_id, fields in (
        (embedded["id"], {"embedded_on": tomorrow}),
        (embedded["id"], {"embedded_on": None}),
        (idea["id"], {"embedded_on": "2025-01-01"}),
        (embedded["id"], {"stage": "scaling", "embedded_on": "2025-01-01"}),
    ):
        response = patch(admin, project_id, **fields)
        assert response.status_code == 422, fields
        assert problem_fields(response) == ["embedded_on"]
    response = post(admin, unit["id"], stage="embedded", embedded_on=tomorrow)
    assert response.status_code == 422
    assert problem_fields(response) == ["embedded_on"]
