"""A report's ETag is made of the revisions of the kinds of data it reads
(app.core.revision, app.reports.catalog.READS): a write of another kind leaves it current.

One guard covers every answer: after each write of a long script that touches every
writable field, every report and register answer whose body changed must have a new ETag.
The script also pins down what the kinds save: a project's `summary` invalidates nothing, a
measurement only the outcomes report, a new experiment none of the timeline reports."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from app.core.config import Settings
from app.core.db import today
from app.reports.schemas import ReportName
from tests.builders import (
    create_criterion,
    create_experiment,
    create_project,
    create_unit,
    settings_for,
)

# Every report there is: one added later is read after every write too.
REPORTS = tuple(name.value for name in ReportName)
TIMELINE_REPORTS = {"spread", "trends", "flow", "barometer"}
REGISTER = {"register", "register csv", "register atom"}
# Every answer the data revisions tag: the reports (spread also as at a past day and as
# CSV) and the open register (JSON, CSV, Atom).
ANSWERS: dict[str, tuple[str, dict[str, str], dict[str, str]]] = {
    **{name: (f"/api/v1/reports/{name}", {}, {}) for name in REPORTS},
    "spread as_of": ("/api/v1/reports/spread", {"as_of": "2026-06-30"}, {}),
    "spread csv": ("/api/v1/reports/spread", {}, {"Accept": "text/csv"}),
    "register": ("/public/v1/experiments", {}, {}),
    "register csv": ("/public/v1/experiments", {}, {"Accept": "text/csv"}),
    "register atom": ("/public/v1/experiments.atom", {}, {}),
}


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Answers are not kept by ETag here: a stale tag would bring back the answer kept for
    # it, the same bytes, and the guard could not see the stale tag.
    return settings_for(
        database_url,
        public_register=True,
        report_cache_bytes=0,
    )


class Answers:
    """Every answer's ETag and body after the last write."""

    def __init__(self, viewer: Any) -> None:
        self.viewer = viewer
        self.last = self._read()

    def _read(self) -> dict[str, tuple[str, bytes]]:
        read = {}
        for name, (path, params, headers) in ANSWERS.items():
            response = self.viewer.get(path, params=params, headers=headers)
            assert response.status_code == 200, (name, response.text)
            read[name] = (response.headers["ETag"], response.content)
        return read

    def after(self, write: str) -> tuple[set[str], set[str]]:
        """The answers whose ETag changed and those whose body changed; fails on a body that
        changed under the same ETag (a dashboard holding that tag would never see it)."""
        now = self._read()
        new_tag = {name for name in ANSWERS if now[name][0] != self.last[name][0]}
        new_body = {name for name in ANSWERS if now[name][1] != self.last[name][1]}
        assert new_body <= new_tag, f"{write}: stale ETag for {sorted(new_body - new_tag)}"
        self.last = now
        return new_tag, new_body


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201, 204), response.text
    return response.json() if response.content else {}


def test_every_changed_answer_has_a_new_etag_and_unread_writes_keep_it(admin, viewer):
    day = today().isoformat()
    root = create_unit(admin, "ROOT", kind="corporate")
    unit = create_unit(admin, "BL1", parent_id=root["id"])
    lab = create_unit(admin, "LAB", kind="innovation_lab", parent_id=root["id"])
    source = create_project(admin, lab["id"], stage="scaling", work_mode="dedicated")
    answers = Answers(viewer)

    project = create_project(
        admin,
        unit["id"],
        stage="exploration",
        effective_on="2026-03-01",
        determinants=[{"determinant": "clarity", "effect": "barrier"}],
    )
    changed, _ = answers.after("create a project")
    assert {"spread", "portfolio", "determinants", "flow", "barometer"} <= changed
    path = f"/api/v1/projects/{project['id']}"
    version = project["version"]

    def patch(fields: dict[str, Any]) -> tuple[set[str], set[str]]:
        nonlocal version
        body = ok(admin.patch(path, json=fields, headers={"If-Match": f'"{version}"'}))
        version = body["version"]
        return answers.after(f"patch project {fields}")

    # Columns no report reads: nothing to recompute anywhere.
    for fields in (
        {"summary": "Now with a summary"},
        {"sponsor": "Deputy minister"},
        {"budget": 125000},
        {"fte": 1.5},
        {"risk": {"likelihood": 2, "impact": 3, "risk_of_not_innovating": 4}},
        {"risk": {"likelihood": 2, "impact": 3, "risk_of_not_innovating": 4, "mitigation": "x"}},
    ):
        changed, _ = patch(fields)
        if "mitigation" in fields.get("risk", {}):
            assert changed == set(), fields
    changed, _ = patch({"summary": "Edited again", "sponsor": "Minister"})
    assert changed == set()

    # Columns some report reads: each changes what it must (the guard checks the rest).
    for fields in (
        {"title": "Renamed"},
        {"stage": "experiment", "effective_on": "2026-07-01"},
        {"work_mode": "core_business", "effective_on": day},
        {"sponsor_level": "organizational"},
        # Embedded: the barometer counts it by its novelty, initiator, types and values.
        {"stage": "embedded", "embedded_on": day},
        {"facet": "mission"},
        {"novelty": "adapted", "adopted_from": source["id"]},
        # The day it adopted its source: its start, else the day it was created.
        {"started_on": "2020-02-01", "ended_on": "2026-11-30"},
        {"initiated_by": "employees", "evaluation": "external"},
        {"innovation_types": ["service"], "collaborators": ["research"]},
        {"value_types": ["quality"]},
        {"determinants": [{"determinant": "parity", "effect": "barrier"}]},
        {"unit_id": lab["id"], "effective_on": day},
    ):
        _, new_body = patch(fields)
        assert new_body, f"{fields} changed no answer: the script lost its teeth"

    create_experiment(admin, project["id"])
    changed, _ = answers.after("create an experiment without tags or dates")
    # The portfolio's and the outcomes' data (they count experiments), no other report's.
    assert changed == {"portfolio", "outcomes"}

    experiment = create_experiment(
        admin, project["id"], determinants=[{"determinant": "normality", "effect": "enabler"}]
    )
    changed, _ = answers.after("create an experiment")
    # A new experiment is no data of the timeline reports; without a date, none of the
    # experimentation report's (it counts started and finished ones) or the register's.
    assert changed & TIMELINE_REPORTS == set()
    assert {"portfolio", "determinants"} <= changed
    assert changed & {"experimentation", *REGISTER} == set()
    # Dated and published: the experimentation report's and the register's data too.
    finished = {
        "status": "completed",
        "result": "supported",
        "started_on": (today() - timedelta(days=40)).isoformat(),
        "ended_on": (today() - timedelta(days=20)).isoformat(),
        "published_on": (today() - timedelta(days=10)).isoformat(),
    }
    create_experiment(admin, project["id"], **finished)
    _, new_body = answers.after("create a finished, published experiment")
    assert {"experimentation", *REGISTER} <= new_body
    experiment_path = f"/api/v1/experiments/{experiment['id']}"
    experiment_version = experiment["version"]
    for fields in (
        {"status": "running", "started_on": "2026-04-01"},
        {"comparison": "randomized", "sample_size": 400, "preregistered_on": "2026-03-20"},
        {"independent_evaluation": True, "cost": 2500},
        {"status": "completed", "result": "supported", "ended_on": "2026-10-01"},
        {"lessons": "It helped.", "published_on": "2026-10-15"},
        {"publication_url": "https://open.example.org/1", "title": "Pilot, renamed"},
        {"hypothesis": "It helps a lot", "method": "rct"},
    ):
        response = admin.patch(
            experiment_path, json=fields, headers={"If-Match": f'"{experiment_version}"'}
        )
        experiment_version = ok(response)["version"]
        changed, _ = answers.after(f"patch experiment {fields}")
        assert changed & TIMELINE_REPORTS == set()
        # Dated from the first patch on: the experimentation report's data.
        assert "experimentation" in changed

    # An experiment's tags alone: the determinants report's data, no one else's.
    tags = {"determinants": [{"determinant": "suitability", "effect": "barrier"}]}
    response = admin.patch(
        experiment_path, json=tags, headers={"If-Match": f'"{experiment_version}"'}
    )
    experiment_version = ok(response)["version"]
    changed, new_body = answers.after("replace an experiment's tags")
    assert changed == new_body == {"determinants"}
    # Moved to a project of another unit: its tags count there now.
    elsewhere = create_project(admin, create_unit(admin, "BL2", parent_id=root["id"])["id"])
    answers.after("a project in another unit")
    response = admin.patch(
        experiment_path,
        json={"project_id": elsewhere["id"]},
        headers={"If-Match": f'"{experiment_version}"'},
    )
    experiment_version = ok(response)["version"]
    changed, new_body = answers.after("move an experiment to another unit's project")
    assert "determinants" in new_body

    # Dated, then not: both are the experimentation report's data (the row as it was).
    started = create_experiment(admin, project["id"], status="running", started_on="2026-05-04")
    changed, new_body = answers.after("create a started experiment")
    assert "experimentation" in new_body
    undated = admin.patch(
        f"/api/v1/experiments/{started['id']}", json={"status": "proposed", "started_on": None}
    )
    assert ok(undated)["started_on"] is None
    changed, new_body = answers.after("take its start date away")
    assert "experimentation" in new_body

    criterion = create_criterion(admin, "experiments", experiment["id"], due_on="2026-12-31")
    answers.after("add a criterion")
    project_criterion = create_criterion(admin, "projects", project["id"], kind="output")
    answers.after("add a project criterion")
    measured = ok(
        admin.post(
            f"/api/v1/criteria/{criterion['id']}/measurements",
            json={"value": 25, "measured_on": "2026-11-01"},
        )
    )
    assert measured["value"] == 25
    changed, new_body = answers.after("add a measurement")
    # A measurement is the outcomes report's data alone.
    assert changed == new_body == {"outcomes"}
    for fields in ({"target": 30}, {"baseline": 5, "due_on": "2026-12-15"}, {"metric": "Days"}):
        ok(admin.patch(f"/api/v1/criteria/{project_criterion['id']}", json=fields))
        answers.after(f"patch criterion {fields}")

    ok(
        admin.put(
            f"/api/v1/units/{unit['id']}/commitments/{today().year}",
            json={"program_funds": 100000, "target_share": 0.05},
        )
    )
    changed, new_body = answers.after("put a commitment")
    assert changed == {"experimentation"}
    ok(admin.delete(f"/api/v1/units/{unit['id']}/commitments/{today().year}"))
    answers.after("delete a commitment")

    items = [
        {"project_id": source["id"], "title": f"E{i}", "hypothesis": "H", "method": "pilot"}
        for i in range(3)
    ]
    ok(admin.post("/api/v1/experiments/batch", json={"items": items}))
    changed, _ = answers.after("a batch of experiments")
    assert "portfolio" in changed
    assert changed & {"experimentation", *REGISTER} == set()
    items[0].update(finished)
    ok(admin.post("/api/v1/experiments/batch", json={"items": items}))
    _, new_body = answers.after("a batch with a finished, published experiment")
    assert {"experimentation", *REGISTER} <= new_body

    archives: list[tuple[str, Callable[[], Any]]] = [
        ("archive a criterion", lambda: admin.delete(f"/api/v1/criteria/{criterion['id']}")),
        ("archive an experiment", lambda: admin.delete(experiment_path)),
        ("rename a unit", lambda: admin.patch(f"/api/v1/units/{unit['id']}", json={"name": "B"})),
        ("archive a project", lambda: admin.delete(f"/api/v1/projects/{source['id']}")),
        ("archive a unit", lambda: admin.delete(f"/api/v1/units/{unit['id']}")),
    ]
    for write, call in archives:
        ok(call())
        _, new_body = answers.after(write)
        assert new_body, f"{write} changed no answer"


def test_a_kind_without_its_revision_row_gets_one_at_its_first_write(admin, viewer, database_url):
    """A kind added to the code before its migration ran must not leave ETags stale."""
    unit = create_unit(admin, "BL1")
    project = create_project(admin, unit["id"], stage="experiment")
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM data_revisions WHERE kind = 'experiments'"))
    before = viewer.get("/api/v1/reports/portfolio")  # read as revision 0
    create_experiment(admin, project["id"])
    after = viewer.get(
        "/api/v1/reports/portfolio", headers={"If-None-Match": before.headers["ETag"]}
    )
    assert after.status_code == 200
    assert after.json()["experiments_by_status"]["proposed"] == 1
    with engine.connect() as connection:
        revision = connection.execute(
            text("SELECT revision FROM data_revisions WHERE kind = 'experiments'")
        ).scalar_one()
    engine.dispose()
    assert revision == 1
