"""Races between writes that depend on each other, made deterministic: the first request
is held just after a chosen statement (an engine hook in its own thread) while the second
one runs, then released. Without the locks the second one slips in between and both
commit a combination no single request would allow; with them it waits for the first.

On PostgreSQL this is where the race shows; SQLite runs one write at a time, so there
the same tests check that the outcome is the same.
"""

import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, text

from app.core.config import Settings
from tests.builders import client_with, create_experiment, create_project, create_unit, settings_for

# How long the held request waits for the second one to finish before going on anyway
# (with the locks, the second one is still waiting for it then).
HOLD_SECONDS = 1.5


@pytest.fixture
def settings(database_url: str) -> Settings:
    # A subtree query that loops shows as a 503 within seconds instead of a hung test.
    return settings_for(database_url, db_statement_timeout_ms=5000)


class Hold:
    """Holds the first request that runs a statement matching ``matches`` (once)."""

    def __init__(self, engine: Any, matches: Callable[[str], bool]) -> None:
        self.engine = engine
        self.matches = matches
        self.reached = threading.Event()
        self.release = threading.Event()

    def _after(self, _connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not self.reached.is_set() and self.matches(statement):
            self.reached.set()
            self.release.wait(timeout=30)

    def __enter__(self) -> "Hold":
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.release.set()
        event.remove(self.engine, "after_cursor_execute", self._after)


def race(
    hold: Hold, first: Callable[[], httpx.Response], second: Callable[[], httpx.Response]
) -> tuple[httpx.Response, httpx.Response]:
    """``first`` until it is held, ``second`` meanwhile (for up to HOLD_SECONDS), then
    ``first`` goes on; both responses."""
    results: dict[str, Any] = {}

    def run(name: str, call: Callable[[], httpx.Response]) -> None:
        try:
            results[name] = call()
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[name] = exc

    with hold:
        one = threading.Thread(target=run, args=("first", first))
        one.start()
        assert hold.reached.wait(timeout=10), "the first request never reached the hold"
        two = threading.Thread(target=run, args=("second", second))
        two.start()
        two.join(timeout=HOLD_SECONDS)
        hold.release.set()
        one.join(timeout=30)
        two.join(timeout=30)
    assert isinstance(results.get("first"), httpx.Response), results
    assert isinstance(results.get("second"), httpx.Response), results
    return results["first"], results["second"]


def reads(table: str) -> Callable[[str], bool]:
    """Matches a query reading ``table`` (a submitter's starts WITH RECURSIVE scope ...)."""
    return lambda sql: (
        sql.lstrip().upper().startswith(("SELECT", "WITH")) and (f"FROM {table}" in sql)
    )


def key_for(admin: TestClient, app: Any, role: str, unit_id: int | None = None) -> TestClient:
    body = {"name": f"{role} key", "role": role, "unit_id": unit_id}
    response = admin.post("/api/v1/api-keys", json=body)
    assert response.status_code == 201, response.text
    return client_with(app, response.json()["key"])


def test_an_experiment_created_while_its_project_moves_moves_with_it(app, admin):
    old = create_unit(admin, "OLD")
    new = create_unit(admin, "NEW")
    project = create_project(admin, old["id"])
    submitter = key_for(admin, app, "submitter", old["id"])
    manager = key_for(admin, app, "manager")
    # The experiment's request has read its project (and the unit to copy) when held.
    hold = Hold(app.state.engine, reads("projects"))

    created, moved = race(
        hold,
        lambda: submitter.post(
            "/api/v1/experiments",
            json={"project_id": project["id"], "title": "E", "hypothesis": "H", "method": "rct"},
        ),
        lambda: manager.patch(f"/api/v1/projects/{project['id']}", json={"unit_id": new["id"]}),
    )

    assert created.status_code == 201, created.text
    assert moved.status_code == 200, moved.text
    experiment = admin.get(f"/api/v1/experiments/{created.json()['id']}").json()
    # The project is in NEW, so is everything under it: the old unit's submitter no
    # longer sees the experiment.
    assert experiment["unit_id"] == new["id"]
    assert submitter.get(f"/api/v1/experiments/{experiment['id']}").status_code == 404


def test_a_criterion_added_while_its_project_moves_is_written_before_the_move(
    app, admin, database_url
):
    old = create_unit(admin, "OLD")
    new = create_unit(admin, "NEW")
    project = create_project(admin, old["id"])
    experiment = create_experiment(admin, project["id"])
    submitter = key_for(admin, app, "submitter", old["id"])
    manager = key_for(admin, app, "manager")
    hold = Hold(app.state.engine, reads("experiments"))
    criterion = {
        "metric": "Minutes",
        "kind": "outcome",
        "baseline": 10,
        "target": 5,
        "direction": "decrease",
    }

    created, moved = race(
        hold,
        lambda: submitter.post(f"/api/v1/experiments/{experiment['id']}/criteria", json=criterion),
        lambda: manager.patch(f"/api/v1/projects/{project['id']}", json={"unit_id": new["id"]}),
    )

    assert created.status_code == 201, created.text
    assert moved.status_code == 200, moved.text
    # The old unit's submitter checked the experiment was its own, so the criterion must
    # be written before the move (which then waited for it), never into the moved one.
    engine = create_engine(database_url)
    with engine.connect() as connection:
        order = (
            connection.execute(
                text(
                    "SELECT entity_type FROM history WHERE action != 'create' OR entity_type = "
                    "'criterion' ORDER BY id"
                )
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert order == ["criterion", "project"]
    assert admin.get(f"/api/v1/experiments/{experiment['id']}").json()["unit_id"] == new["id"]
    assert submitter.get(f"/api/v1/criteria/{created.json()['id']}").status_code == 404


def test_a_batch_created_while_its_project_moves_moves_with_it(app, admin):
    old = create_unit(admin, "OLD")
    new = create_unit(admin, "NEW")
    project = create_project(admin, old["id"])
    submitter = key_for(admin, app, "submitter", old["id"])
    manager = key_for(admin, app, "manager")
    hold = Hold(app.state.engine, reads("projects"))
    item = {"project_id": project["id"], "title": "E", "hypothesis": "H", "method": "rct"}

    created, moved = race(
        hold,
        lambda: submitter.post("/api/v1/experiments/batch", json={"items": [item, item]}),
        lambda: manager.patch(f"/api/v1/projects/{project['id']}", json={"unit_id": new["id"]}),
    )

    assert created.status_code == 201, created.text
    assert moved.status_code == 200, moved.text
    units = [
        admin.get(f"/api/v1/experiments/{e['id']}").json()["unit_id"]
        for e in created.json()["items"]
    ]
    assert units == [new["id"], new["id"]]


def test_two_concurrent_moves_cannot_make_a_cycle(app, admin, database_url):
    a = create_unit(admin, "A")
    b = create_unit(admin, "B")
    c = create_unit(admin, "C", parent_id=b["id"])
    # A under C is fine alone (C's chain is C, B); B under A is fine alone (A is a root).
    # Together: A -> C -> B -> A. The first is held after its cycle check.
    hold = Hold(app.state.engine, lambda sql: "RECURSIVE" in sql.upper())

    first, second = race(
        hold,
        lambda: admin.patch(f"/api/v1/units/{a['id']}", json={"parent_id": c["id"]}),
        lambda: admin.patch(f"/api/v1/units/{b['id']}", json={"parent_id": a["id"]}),
    )

    assert first.status_code == 200, first.text
    # The second move waited for the first, then saw A under C under B: a cycle.
    assert second.status_code == 422, second.text
    assert second.json()["errors"][0]["field"] == "parent_id"
    assert second.json()["errors"][0]["message"] == (
        "would make the unit its own ancestor (a cycle)"
    )
    engine = create_engine(database_url)
    with engine.connect() as connection:
        parents = dict(connection.execute(text("SELECT code, parent_id FROM units")).all())
    engine.dispose()
    assert parents == {"A": c["id"], "B": None, "C": b["id"]}


def test_subtree_reads_stay_finite_and_exact_over_a_cycle_written_by_hand(
    app, admin, make_client, database_url
):
    a = create_unit(admin, "A")
    b = create_unit(admin, "B", parent_id=a["id"])
    other = create_unit(admin, "OTHER")
    in_a = create_project(admin, a["id"], stage="experiment")
    in_b = create_project(admin, b["id"], stage="experiment")
    create_project(admin, other["id"], stage="experiment")
    # The API refuses this; a hand-written UPDATE can still close the loop A -> B -> A.
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE units SET parent_id = :b WHERE id = :a"), {"a": a["id"], "b": b["id"]}
        )
    engine.dispose()
    submitter = make_client("submitter", unit_id=a["id"])

    units = admin.get("/api/v1/units", params={"unit_id": a["id"]})
    projects = admin.get("/api/v1/projects", params={"unit_id": a["id"]})
    scoped = submitter.get("/api/v1/projects")
    spread = admin.get("/api/v1/reports/spread", params={"unit_id": a["id"]})

    assert [u["id"] for u in units.json()["items"]] == [a["id"], b["id"]]
    assert [p["id"] for p in projects.json()["items"]] == [in_a["id"], in_b["id"]]
    assert [p["id"] for p in scoped.json()["items"]] == [in_a["id"], in_b["id"]]
    assert spread.status_code == 200, spread.text
    # Two active projects (A's and B's), each counted once although the loop is walked
    # 64 times.
    assert spread.json()["active_projects"] == 2
