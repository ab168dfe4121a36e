"""The outcomes report's summaries (app.reports.outcome_summaries): they follow every
write, never freeze "today", and always say what the criteria say."""

import itertools
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine
from sqlmodel import Session

from app.core.db import today
from app.criteria.models import CriterionStatus, Direction, criterion_status
from app.reports import outcome_summaries, queries
from tests.builders import create_criterion, create_experiment, create_project, create_unit

OUTCOMES = "/api/v1/reports/outcomes"
KINDS = ("outcome", "output", "activity")


@contextmanager
def on_day(day: date) -> Iterator[None]:
    """The app's clock (app.core.db.utcnow/today) at noon UTC on ``day``, ticking."""
    with time_machine.travel(datetime(day.year, day.month, day.day, 12, tzinfo=UTC)):
        yield


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def kept_and_rebuilt(database_url: str, days: list[date]) -> tuple[list[Any], list[Any]]:
    """The summaries as the triggers kept them, and as a rebuild from scratch makes
    them (rolled back), each reduced to what they mean on each of ``days``."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection, connection.begin() as transaction:
            kept = [outcome_summaries.state(connection, today=day) for day in days]
            outcome_summaries.rebuild(connection)
            rebuilt = [outcome_summaries.state(connection, today=day) for day in days]
            transaction.rollback()
    finally:
        engine.dispose()
    return kept, rebuilt


def from_criteria(database_url: str, day: date, root_id: int | None = None) -> dict[str, Any]:
    """The counts the report gave before the summaries: read from every criterion."""
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            row = queries.criteria_by_kind_and_status_from_criteria(
                session=session, root_id=root_id, today=day
            )
    finally:
        engine.dispose()
    return {
        kind: {
            state.value: int(row._mapping[f"{kind}__{state.value}"]) for state in CriterionStatus
        }
        for kind in KINDS
    }


# --- today moves, with no write ---------------------------------------------------------


def test_a_criterion_turns_missed_when_today_passes_its_due_date(admin, viewer):
    start = today()
    unit = create_unit(admin, "LINE")
    project = create_project(admin, unit["id"], stage="exploration")
    create_criterion(admin, "projects", project["id"], kind="output", due_on=str(start))
    with on_day(start):
        before = viewer.get(OUTCOMES)
    # Due today: not yet missed (missed means due before today).
    assert before.json()["criteria"]["output"] == {"met": 0, "missed": 0, "pending": 1}
    with on_day(start + timedelta(days=1)):
        after = viewer.get(OUTCOMES)
        # The old ETag no longer matches: the report changed with the date alone.
        assert (
            viewer.get(OUTCOMES, headers={"If-None-Match": before.headers["ETag"]}).status_code
            == 200
        )
    assert after.json()["criteria"]["output"] == {"met": 0, "missed": 1, "pending": 0}
    assert after.headers["ETag"] != before.headers["ETag"]


def test_a_compaction_refreshes_the_planner_statistics_on_postgresql(
    admin, viewer, database_url, monkeypatch
):
    """A compaction folds up to every row of the due log at once; the folded tables are
    analyzed right after (`triggers.compact_apart`), so the planner counts what is left."""
    if not database_url.startswith("postgresql"):
        pytest.skip("ANALYZE and pg_class.reltuples are PostgreSQL's")
    monkeypatch.setattr(outcome_summaries, "COMPACT_ABOVE", 0)
    monkeypatch.setattr(outcome_summaries, "COMPACTED_ROWS_PER_UNIT", 0)
    start = today()
    unit = create_unit(admin, "STATS")
    project = create_project(admin, unit["id"], stage="exploration")
    for offset in range(-12, 0):
        create_criterion(
            admin, "projects", project["id"], kind="output", due_on=str(start + timedelta(offset))
        )
    engine = create_engine(database_url)

    def rows_and_estimate() -> tuple[int, float]:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT count(*) FROM unmet_criteria_by_due")
            estimate = connection.exec_driver_sql(
                "SELECT reltuples FROM pg_class WHERE relname = 'unmet_criteria_by_due'"
            )
            return rows.scalar_one(), estimate.scalar_one()

    before, _ = rows_and_estimate()
    assert before == 12  # one row per due day
    assert viewer.get(OUTCOMES).json()["criteria"]["output"]["missed"] == 12
    after, estimate = rows_and_estimate()
    engine.dispose()
    assert after == 1  # folded into one row for (unit, kind)
    assert estimate == after


def test_folded_rows_stay_exact_on_later_days_and_an_earlier_day_reads_the_criteria(
    admin, viewer, monkeypatch
):
    """With every report compacting, the criteria due before the day of a report are
    folded into one row per (unit, kind); later days still count them missed, and a
    report for an earlier day (a clock set back) counts from the criteria."""
    monkeypatch.setattr(outcome_summaries, "COMPACT_ABOVE", 0)
    monkeypatch.setattr(outcome_summaries, "COMPACTED_ROWS_PER_UNIT", 0)
    start = today()
    unit = create_unit(admin, "LINE")
    project = create_project(admin, unit["id"], stage="exploration")
    for offset in (-2, -1, 0, 1, 2):
        create_criterion(
            admin, "projects", project["id"], kind="activity", due_on=str(start + timedelta(offset))
        )
    met = create_criterion(admin, "projects", project["id"], kind="activity", due_on=str(start))
    with on_day(start + timedelta(days=2)):
        # Folds the criteria due on days -2 .. +1.
        assert viewer.get(OUTCOMES).json()["criteria"]["activity"] == {
            "met": 0,
            "missed": 5,
            "pending": 1,
        }
        ok(
            admin.post(
                f"/api/v1/criteria/{met['id']}/measurements",
                json={"value": 25, "measured_on": str(start)},
            )
        )
        assert viewer.get(OUTCOMES).json()["criteria"]["activity"] == {
            "met": 1,
            "missed": 4,
            "pending": 1,
        }
    with on_day(start + timedelta(days=5)):
        assert viewer.get(OUTCOMES).json()["criteria"]["activity"] == {
            "met": 1,
            "missed": 5,
            "pending": 0,
        }
    with on_day(start):
        assert viewer.get(OUTCOMES).json()["criteria"]["activity"] == {
            "met": 1,
            "missed": 2,
            "pending": 3,
        }


# --- a random mix of writes -------------------------------------------------------------


class RandomWrites:
    """Valid writes through the API, chosen at random, tracking what is live."""

    def __init__(self, client: Any, rng: random.Random, start: date) -> None:
        self.client, self.rng, self.start = client, rng, start
        self.units: list[int] = []
        self.projects: list[int] = []
        self.experiments: dict[int, int] = {}  # live experiment -> project
        self.criteria: list[int] = []
        self.owners: dict[int, tuple[str, int]] = {}
        self.codes = 0

    def due(self) -> str | None:
        offset = self.rng.choice([None, -3, -1, 0, 1, 2, 4])
        return None if offset is None else str(self.start + timedelta(days=offset))

    def criterion_body(self) -> dict[str, Any]:
        direction = self.rng.choice(["increase", "decrease"])
        return {
            "metric": "M",
            "kind": self.rng.choice(KINDS),
            "baseline": 10,
            "target": 20 if direction == "increase" else 5,
            "direction": direction,
            "due_on": self.due(),
        }

    def unit(self) -> None:
        self.codes += 1
        parent = self.rng.choice([None, *self.units]) if self.units else None
        self.units.append(create_unit(self.client, f"R{self.codes}", parent_id=parent)["id"])

    def project(self) -> None:
        stage = self.rng.choice(["idea", "exploration", "experiment", "scaling", "embedded"])
        self.projects.append(
            create_project(self.client, self.rng.choice(self.units), stage=stage)["id"]
        )

    def experiment(self) -> None:
        project = self.rng.choice(self.projects)
        self.experiments[create_experiment(self.client, project)["id"]] = project

    def criterion(self) -> None:
        owners = [("projects", p) for p in self.projects] + [
            ("experiments", e) for e in self.experiments
        ]
        owner, owner_id = self.rng.choice(owners)
        body = self.criterion_body()
        created = ok(self.client.post(f"/api/v1/{owner}/{owner_id}/criteria", json=body))
        self.criteria.append(created["id"])
        self.owners[created["id"]] = (owner, owner_id)

    def measurement(self) -> None:
        criterion = self.rng.choice(self.criteria)
        value = self.rng.choice([0, 5, 7, 12, 20, 25])
        ok(
            self.client.post(
                f"/api/v1/criteria/{criterion}/measurements",
                json={"value": value, "measured_on": str(self.start)},
            )
        )

    def patch_criterion(self) -> None:
        body = self.criterion_body()
        change = self.rng.choice(
            [
                {"due_on": body["due_on"]},
                {"direction": body["direction"], "target": body["target"]},
                {"kind": body["kind"]},
                {"target": 21},
            ]
        )
        criterion = self.rng.choice(self.criteria)
        current = ok(self.client.get(f"/api/v1/criteria/{criterion}"))
        if "target" in change and "direction" not in change and current["direction"] != "increase":
            change = {"target": 4}
        ok(self.client.patch(f"/api/v1/criteria/{criterion}", json=change))

    def archive_criterion(self) -> None:
        criterion = self.criteria.pop(self.rng.randrange(len(self.criteria)))
        ok(self.client.delete(f"/api/v1/criteria/{criterion}"))

    def archive_experiment(self) -> None:
        experiment = self.rng.choice(list(self.experiments))
        del self.experiments[experiment]
        ok(self.client.delete(f"/api/v1/experiments/{experiment}"))
        self.forget_archived_criteria()

    def archive_project(self) -> None:
        project = self.projects.pop(self.rng.randrange(len(self.projects)))
        ok(self.client.delete(f"/api/v1/projects/{project}"))
        self.experiments = {e: p for e, p in self.experiments.items() if p != project}
        self.forget_archived_criteria()

    def archive_unit(self) -> None:
        # A unit with nothing live below it: a fresh leaf.
        self.codes += 1
        leaf = create_unit(self.client, f"R{self.codes}", parent_id=self.rng.choice(self.units))
        ok(self.client.delete(f"/api/v1/units/{leaf['id']}"))

    def move_project(self) -> None:
        project = self.rng.choice(self.projects)
        ok(
            self.client.patch(
                f"/api/v1/projects/{project}", json={"unit_id": self.rng.choice(self.units)}
            )
        )

    def stage(self) -> None:
        project = self.rng.choice(self.projects)
        stage = self.rng.choice(["idea", "exploration", "scaling", "stopped"])
        ok(self.client.patch(f"/api/v1/projects/{project}", json={"stage": stage}))

    def move_experiment(self) -> None:
        experiment = self.rng.choice(list(self.experiments))
        project = self.rng.choice(self.projects)
        ok(self.client.patch(f"/api/v1/experiments/{experiment}", json={"project_id": project}))
        self.experiments[experiment] = project

    def batch(self) -> None:
        items = [
            {
                "project_id": self.rng.choice(self.projects),
                "title": "E",
                "hypothesis": "H",
                "method": "pilot",
                "criteria": [self.criterion_body() for _ in range(self.rng.randrange(3))],
            }
            for _ in range(self.rng.randrange(1, 4))
        ]
        ok(self.client.post("/api/v1/experiments/batch", json={"items": items}))
        self.refresh()

    def forget_archived_criteria(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Re-read the live experiments (batches create some; archives cascade) and forget
        the criteria whose owner is no longer live. A batch's criteria are not tracked:
        they stay in the portfolio, and archives and moves still reach them."""
        self.experiments = {
            e["id"]: e["project_id"]
            for e in ok(self.client.get("/api/v1/experiments", params={"limit": 500}))["items"]
            if e["project_id"] in self.projects
        }
        self.criteria = [
            c
            for c in self.criteria
            if self.owners[c] in [("projects", p) for p in self.projects]
            or self.owners[c] in [("experiments", e) for e in self.experiments]
        ]

    def step(self) -> None:
        if len(self.units) < 2:
            return self.unit()
        if len(self.projects) < 2:
            return self.project()
        choices: list[Any] = [self.unit, self.project, self.project, self.experiment, self.batch]
        choices += [self.stage, self.move_project, self.archive_unit]
        choices += [self.criterion] * 4
        if self.experiments:
            choices += [self.move_experiment, self.archive_experiment]
        if len(self.projects) > 3:
            choices.append(self.archive_project)
        if self.criteria:
            choices += [self.measurement] * 3 + [self.patch_criterion] * 2
            choices.append(self.archive_criterion)
        return self.rng.choice(choices)()


@pytest.mark.parametrize("seed", [1, 2])
def test_kept_summaries_equal_a_rebuild_after_random_writes(admin, viewer, database_url, seed):
    start = today()
    writes = RandomWrites(admin, random.Random(seed), start)
    days = [start + timedelta(days=offset) for offset in (-5, 0, 1, 3, 30)]
    for step in range(90):
        writes.step()
        if step % 30 == 29:
            kept, rebuilt = kept_and_rebuilt(database_url, days)
            assert kept == rebuilt
    assert any(kept[0]["criteria"].values())
    for day in days:
        with on_day(day):
            report = ok(viewer.get(OUTCOMES))
        assert report["criteria"] == from_criteria(database_url, day)
        root = writes.units[0]
        with on_day(day):
            scoped = ok(viewer.get(OUTCOMES, params={"unit_id": root}))
        assert scoped["criteria"] == from_criteria(database_url, day, root)


def test_compacted_summaries_equal_a_rebuild_after_random_writes(
    admin, viewer, database_url, monkeypatch
):
    """Every report compacts; reports run on days moving forward between writes."""
    monkeypatch.setattr(outcome_summaries, "COMPACT_ABOVE", 0)
    monkeypatch.setattr(outcome_summaries, "COMPACTED_ROWS_PER_UNIT", 0)
    start = today()
    writes = RandomWrites(admin, random.Random(7), start)
    day = start
    for step in range(80):
        writes.step()
        if step % 10 == 9:
            day += timedelta(days=1)
            with on_day(day):
                report = ok(viewer.get(OUTCOMES))
            assert report["criteria"] == from_criteria(database_url, day)
    later = [day, day + timedelta(days=2), day + timedelta(days=40)]
    kept, rebuilt = kept_and_rebuilt(database_url, later)
    assert kept == rebuilt


# --- random portfolios against an independent count -------------------------------------

CODES = itertools.count(1)
OFFSETS = st.one_of(st.none(), st.integers(-3, 3))
CRITERION = st.fixed_dictionaries(
    {
        "owner": st.integers(0, 9),  # an index into projects then experiments
        "kind": st.sampled_from(KINDS),
        "direction": st.sampled_from(["increase", "decrease"]),
        "due": OFFSETS,
        "value": st.one_of(st.none(), st.sampled_from([0, 5, 7, 10, 20, 25])),
        "archived": st.booleans(),
    }
)
PORTFOLIO = st.fixed_dictionaries(
    {
        "units": st.integers(1, 3),
        "projects": st.lists(
            st.tuples(
                st.integers(0, 2),
                st.sampled_from(["idea", "exploration", "experiment", "embedded", "stopped"]),
                st.booleans(),
            ),
            min_size=1,
            max_size=4,
        ),
        "experiments": st.lists(st.tuples(st.integers(0, 3), st.booleans()), max_size=4),
        "criteria": st.lists(CRITERION, max_size=8),
        "day": st.integers(-2, 4),
    }
)


def expected_report(portfolio: dict[str, Any], start: date) -> dict[str, Any]:
    """The outcomes report's numbers, from the rules as the README states them."""
    projects, experiments = portfolio["projects"], portfolio["experiments"]
    day = start + timedelta(days=portfolio["day"])
    live_experiment = [
        not archived and not projects[p % len(projects)][2] for p, archived in experiments
    ]
    counts = {kind: {state.value: 0 for state in CriterionStatus} for kind in KINDS}
    covered: set[int] = set()
    for criterion in portfolio["criteria"]:
        if criterion["archived"]:
            continue
        owner = criterion["owner"] % (len(projects) + len(experiments))
        if owner < len(projects):
            project, live = owner, not projects[owner][2]
            covering = True
        else:
            index = owner - len(projects)
            project = experiments[index][0] % len(projects)
            live = live_experiment[index]
            covering = not experiments[index][1]
        if criterion["kind"] == "outcome" and covering:
            covered.add(project)
        if not live:
            continue
        due = None if criterion["due"] is None else start + timedelta(days=criterion["due"])
        status = criterion_status(
            direction=Direction(criterion["direction"]),
            target=20 if criterion["direction"] == "increase" else 5,
            latest_value=criterion["value"],
            due_on=due,
            today=day,
        )
        counts[criterion["kind"]][status.value] += 1
    judged = [
        i for i, (_, stage, archived) in enumerate(projects) if not archived and stage != "idea"
    ]
    return {
        "projects": len(judged),
        "projects_with_outcome_criteria": len(covered & set(judged)),
        "criteria": counts,
    }


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(portfolio=PORTFOLIO)
def test_random_portfolios_match_an_independent_count(admin, viewer, portfolio):
    """Each example builds its portfolio under a fresh root unit and reads the report of
    that subtree, so examples share the database without seeing each other."""
    start = today()
    root = create_unit(admin, f"P{next(CODES)}")
    units = [root["id"]] + [
        create_unit(admin, f"C{next(CODES)}", parent_id=root["id"])["id"]
        for _ in range(portfolio["units"] - 1)
    ]
    projects = [
        create_project(admin, units[unit % len(units)], stage=stage)["id"]
        for unit, stage, _ in portfolio["projects"]
    ]
    experiments = [
        create_experiment(admin, projects[p % len(projects)])["id"]
        for p, _ in portfolio["experiments"]
    ]
    owners = [("projects", p) for p in projects] + [("experiments", e) for e in experiments]
    archives = []
    for criterion in portfolio["criteria"]:
        owner, owner_id = owners[criterion["owner"] % len(owners)]
        due = None if criterion["due"] is None else str(start + timedelta(days=criterion["due"]))
        increase = criterion["direction"] == "increase"
        created = create_criterion(
            admin,
            owner,
            owner_id,
            kind=criterion["kind"],
            direction=criterion["direction"],
            target=20 if increase else 5,
            due_on=due,
        )
        if criterion["value"] is not None:
            ok(
                admin.post(
                    f"/api/v1/criteria/{created['id']}/measurements",
                    json={"value": criterion["value"], "measured_on": str(start)},
                )
            )
        if criterion["archived"]:
            archives.append(f"criteria/{created['id']}")
    archives += [
        f"experiments/{e}"
        for e, (_, archived) in zip(experiments, portfolio["experiments"], strict=True)
        if archived
    ]
    archives += [
        f"projects/{p}"
        for p, (_, _, archived) in zip(projects, portfolio["projects"], strict=True)
        if archived
    ]
    for path in archives:
        ok(admin.delete(f"/api/v1/{path}"))

    with on_day(start + timedelta(days=portfolio["day"])):
        report = ok(viewer.get(OUTCOMES, params={"unit_id": root["id"]}))
    expected = expected_report(portfolio, start)
    assert {key: report[key] for key in expected} == expected
