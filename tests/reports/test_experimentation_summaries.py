"""The experimentation report's summaries (app.reports.experimentation_summaries): kept in
step with every write by the database's triggers, never freezing "today", and the report
equal to a computation in plain Python over what the test created."""

import itertools
import random
import statistics
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
import time_machine
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select

from app.core import fiscal
from app.core.config import Settings
from app.core.db import today
from app.reports import experimentation_summaries as summaries
from tests.builders import (
    PortfolioModel,
    assert_rebuild_command_repairs,
    create_criterion,
    create_experiment,
    create_project,
    create_unit,
    enabled_trigger_names,
    settings_for,
)

REPORT = "/api/v1/reports/experimentation"
DUE_DAYS = 90
START_MONTH = 4
STATUSES = ["proposed", "running", "completed", "stopped"]
FINISHED = {"completed", "stopped"}
RESULTS = ["supported", "not_supported", "inconclusive"]
COMPARISONS = ["none", "before_after", "comparison_group", "randomized"]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return settings_for(
        database_url,
        fiscal_year_start_month=START_MONTH,
        publication_due_days=DUE_DAYS,
    )


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def kept_and_rebuilt(database_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The logs as the triggers kept them and as a rebuild from scratch makes them (rolled
    back), each summed per key."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection, connection.begin() as transaction:
            kept = summaries.state(connection)
            summaries.rebuild(connection)
            rebuilt = summaries.state(connection)
            transaction.rollback()
    finally:
        engine.dispose()
    return kept, rebuilt


def test_every_trigger_exists_at_head(database_url):
    names = enabled_trigger_names(database_url)
    expected = {
        f"experimentation_{table}_{event}"
        for table, events in (
            ("experiments", ("insert", "update", "delete")),
            ("projects", ("update",)),
            ("criteria", ("insert", "update", "delete")),
        )
        for event in events
    }
    assert expected <= names


# --- today moves, with no write ---------------------------------------------------------


def test_an_experiment_turns_overdue_when_today_passes_its_deadline(admin, viewer):
    start = today()
    unit = create_unit(admin, "LINE")
    project = create_project(admin, unit["id"])
    ended = start - timedelta(days=DUE_DAYS)
    experiment = create_experiment(
        admin, project["id"], status="stopped", started_on=str(ended), ended_on=str(ended)
    )
    year = fiscal.year_of(ended, START_MONTH)

    on_time = ok(viewer.get(REPORT, params={"year": year}))
    assert on_time["publication"]["due"] == 1
    assert (on_time["publication"]["overdue"], on_time["overdue"]) == (0, [])

    tomorrow = start + timedelta(days=1)
    with time_machine.travel(
        datetime(tomorrow.year, tomorrow.month, tomorrow.day, 0, 1, tzinfo=UTC)
    ):
        late = ok(viewer.get(REPORT, params={"year": year}))
    assert late["publication"]["overdue"] == 1
    assert late["overdue"] == [
        {
            "experiment_id": experiment["id"],
            "title": experiment["title"],
            "unit_id": unit["id"],
            "ended_on": str(ended),
            "days_overdue": 1,
        }
    ]
    assert [f["code"] for f in late["findings"]] == ["overdue_publications"]
    # The clock set back: on time again (nothing was frozen).
    assert ok(viewer.get(REPORT, params={"year": year}))["publication"]["overdue"] == 0


# --- a random mix of writes ---------------------------------------------------------------


def random_experiment(rng: random.Random, project_id: int) -> dict[str, Any]:
    status = rng.choice(STATUSES)
    body: dict[str, Any] = {
        "project_id": project_id,
        "title": "E",
        "hypothesis": "H",
        "method": "pilot",
        "status": status,
        "comparison": rng.choice(COMPARISONS),
        "independent_evaluation": rng.random() < 0.3,
    }
    if rng.random() < 0.8:
        started = today() - timedelta(days=rng.randint(0, 500))
        body["started_on"] = str(started)
        if rng.random() < 0.5:
            body["preregistered_on"] = str(started + timedelta(days=rng.randint(-20, 5)))
        if status in FINISHED or rng.random() < 0.2:
            ended = min(today(), started + timedelta(days=rng.randint(0, 200)))
            body["ended_on"] = str(ended)
            if status in FINISHED and rng.random() < 0.5:
                body["published_on"] = str(today())
    if status == "completed" and rng.random() < 0.8:
        body["result"] = rng.choice(RESULTS)
    if rng.random() < 0.6:
        body["cost"] = f"{rng.randint(0, 500_000) / 100:.2f}"
    return body


def apply_random_writes(admin: Any, rng: random.Random, writes: int, prefix: str = "R") -> int:
    units = [create_unit(admin, f"{prefix}{n}")["id"] for n in range(3)]
    projects = [create_project(admin, rng.choice(units))["id"] for _ in range(3)]
    experiments: list[int] = []
    criteria: list[int] = []
    succeeded = 0
    for step in range(writes):
        action = rng.choice(
            [
                "unit",
                "project",
                "move_project",
                "archive_project",
                "experiment",
                "experiment",
                "batch",
                "patch_experiment",
                "patch_experiment",
                "publish",
                "move_experiment",
                "archive_experiment",
                "criterion",
                "patch_criterion",
                "archive_criterion",
                "archive_unit",
            ]
        )
        response: Any = None
        if action == "unit":
            response = admin.post(
                "/api/v1/units",
                json={
                    "code": f"{prefix}N{step}",
                    "name": "U",
                    "kind": "business_line",
                    "parent_id": rng.choice([None, *units]),
                },
            )
            if response.status_code == 201:
                units.append(response.json()["id"])
        elif action == "project" or action == "archive_project":
            response = admin.post(
                "/api/v1/projects",
                json={
                    "title": "P",
                    "unit_id": rng.choice(units),
                    "sponsor_level": "individual",
                    "work_mode": "side_of_desk",
                },
            )
            if response.status_code == 201:
                projects.append(response.json()["id"])
        elif action == "move_project":
            response = admin.patch(
                f"/api/v1/projects/{rng.choice(projects)}", json={"unit_id": rng.choice(units)}
            )
        elif action == "archive_project" and len(projects) > 2:
            project_id = rng.choice(projects)
            response = admin.delete(f"/api/v1/projects/{project_id}")
            projects.remove(project_id)
        elif action == "experiment":
            response = admin.post(
                "/api/v1/experiments", json=random_experiment(rng, rng.choice(projects))
            )
            if response.status_code == 201:
                experiments.append(response.json()["id"])
        elif action == "batch":
            items = [random_experiment(rng, rng.choice(projects)) for _ in range(rng.randint(1, 5))]
            response = admin.post("/api/v1/experiments/batch", json={"items": items})
            if response.status_code == 201:
                experiments.extend(item["id"] for item in response.json()["items"])
        elif not experiments:
            continue
        elif action == "patch_experiment":
            fresh = random_experiment(rng, 0)
            change = rng.choice(
                [
                    {k: fresh.get(k) for k in ("status", "result", "ended_on", "published_on")},
                    {"comparison": fresh["comparison"]},
                    {"independent_evaluation": not fresh["independent_evaluation"]},
                    {"cost": fresh.get("cost")},
                    {
                        "started_on": fresh.get("started_on"),
                        "ended_on": None,
                        "preregistered_on": fresh.get("preregistered_on"),
                    },
                    {"title": "Renamed"},
                ]
            )
            response = admin.patch(f"/api/v1/experiments/{rng.choice(experiments)}", json=change)
        elif action == "publish":
            response = admin.patch(
                f"/api/v1/experiments/{rng.choice(experiments)}",
                json={"published_on": rng.choice([None, str(today())])},
            )
        elif action == "move_experiment":
            response = admin.patch(
                f"/api/v1/experiments/{rng.choice(experiments)}",
                json={"project_id": rng.choice(projects)},
            )
        elif action == "archive_experiment":
            experiment_id = rng.choice(experiments)
            response = admin.delete(f"/api/v1/experiments/{experiment_id}")
            experiments.remove(experiment_id)
        elif action == "criterion":
            response = admin.post(
                f"/api/v1/experiments/{rng.choice(experiments)}/criteria",
                json={
                    "metric": "M",
                    "kind": rng.choice(["outcome", "outcome", "output"]),
                    "baseline": 1,
                    "target": 2,
                    "direction": "increase",
                },
            )
            if response.status_code == 201:
                criteria.append(response.json()["id"])
        elif not criteria:
            continue
        elif action == "patch_criterion":
            response = admin.patch(
                f"/api/v1/criteria/{rng.choice(criteria)}",
                json={"kind": rng.choice(["outcome", "output", "activity"])},
            )
        elif action == "archive_criterion":
            criterion_id = rng.choice(criteria)
            response = admin.delete(f"/api/v1/criteria/{criterion_id}")
            criteria.remove(criterion_id)
        else:
            response = admin.delete(f"/api/v1/units/{rng.choice(units)}")
        assert response.status_code < 500, response.text
        succeeded += response.status_code < 300
    return succeeded


def test_the_logs_equal_a_rebuild_after_a_random_mix_of_writes(admin, viewer, database_url):
    rng = random.Random(17)
    succeeded = apply_random_writes(admin, rng, writes=80)
    kept, rebuilt = kept_and_rebuilt(database_url)
    assert all(kept.values()), kept
    assert kept == rebuilt
    year = fiscal.year_of(today(), START_MONTH)
    before = [ok(viewer.get(REPORT, params={"year": y})) for y in (year - 1, year)]

    # Compacted halfway (as a report does once the logs have grown): the same sums, one
    # row per key, and the triggers carry on from there.
    engine = create_engine(database_url)
    with engine.begin() as connection:
        summaries.compact(connection)
    with engine.connect() as connection:
        for table in summaries.TABLES:
            assert (
                connection.execute(
                    select(table).where(table.c.compacted == False)  # noqa: E712
                ).all()
                == []
            )
        assert summaries.state(connection) == kept
    engine.dispose()
    assert [ok(viewer.get(REPORT, params={"year": y})) for y in (year - 1, year)] == before

    succeeded += apply_random_writes(admin, rng, writes=60, prefix="S")
    kept, rebuilt = kept_and_rebuilt(database_url)
    assert kept == rebuilt
    assert succeeded >= 80


def test_the_rebuild_command_repairs_the_logs(admin, database_url, monkeypatch):
    apply_random_writes(admin, random.Random(3), writes=30)
    assert_rebuild_command_repairs(
        database_url,
        monkeypatch,
        kept_and_rebuilt,
        [
            "DELETE FROM due_publications_by_day",
            "UPDATE experiment_month_counts SET finished = finished + 1",
        ],
    )


# --- random portfolios against a computation in the test ------------------------------


class Model(PortfolioModel):
    """What the test created, as plain data: the report's inputs."""

    def live(self, scope: set[int]) -> list[dict[str, Any]]:
        return [
            e
            for e in self.experiments.values()
            if not e["archived"]
            and not self.projects[e["project_id"]]["archived"]
            and e["unit_id"] in scope
        ]


def rigour(e: dict[str, Any]) -> int:
    return sum(
        (
            e["baseline"],
            e["comparison"] in ("comparison_group", "randomized"),
            e["comparison"] == "randomized",
            e["preregistered_on"] is not None
            and e["started_on"] is not None
            and e["preregistered_on"] <= e["started_on"],
            e["independent_evaluation"],
        )
    )


def expected_report(model: Model, root: int | None, year: int, day: date) -> dict[str, Any]:
    start, end = fiscal.bounds(year, START_MONTH)
    live = model.live(model.subtree(root))
    started = [e for e in live if e["started_on"] and start <= e["started_on"] < end]
    finished = [
        e
        for e in live
        if e["status"] in FINISHED and e["ended_on"] and start <= e["ended_on"] < end
    ]
    due = [e for e in finished if e["published_on"] is None]
    cutoff = day - timedelta(days=DUE_DAYS)
    overdue = sorted(
        (e for e in due if e["ended_on"] < cutoff), key=lambda e: (e["ended_on"], e["id"])
    )
    by_result = {}
    for result in RESULTS:
        done = [e for e in finished if e["status"] == "completed" and e["result"] == result]
        published = sum(1 for e in done if e["published_on"])
        by_result[result] = {
            "finished": len(done),
            "published": published,
            "published_share": published / len(done) if done else None,
        }
    supported = by_result["supported"]
    others = [by_result[r] for r in RESULTS[1:]]
    others_finished = sum(o["finished"] for o in others)
    gap = (
        float(
            Fraction(supported["published"], supported["finished"])
            - Fraction(sum(o["published"] for o in others), others_finished)
        )
        if supported["finished"] and others_finished
        else None
    )
    rigours = [rigour(e) for e in started]
    spend = []
    for unit in sorted(model.units.values(), key=lambda u: u["code"]):
        if unit["archived"] or unit["id"] not in model.subtree(root):
            continue
        costs = [e["cost"] for e in started if e["unit_id"] == unit["id"] and e["cost"] is not None]
        if costs:
            spend.append((unit["code"], str(sum(costs, Decimal("0.00")))))
    return {
        "experiments": {
            "experiments": len(started),
            "by_comparison": {
                c: sum(1 for e in started if e["comparison"] == c) for c in COMPARISONS
            },
            "by_rigour": {str(r): rigours.count(r) for r in range(6)},
            "median_rigour": float(statistics.median(rigours)) if rigours else None,
        },
        "publication": {
            "finished": len(finished),
            "published": len(finished) - len(due),
            "due": len(due),
            "overdue": len(overdue),
            "due_days": DUE_DAYS,
            "by_result": by_result,
            "publication_gap": gap,
        },
        "spend": spend,
        "overdue": [
            (e["id"], str(e["ended_on"]), (day - e["ended_on"]).days - DUE_DAYS)
            for e in overdue[:100]
        ],
    }


def actual_report(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "experiments": report["experiments"],
        "publication": report["publication"],
        "spend": [(row["code"], row["experiment_spend"]) for row in report["spend"]],
        "overdue": [
            (o["experiment_id"], o["ended_on"], o["days_overdue"]) for o in report["overdue"]
        ],
    }


# Days before today: often recent, so that some due publications are not yet overdue.
day_offsets = st.integers(0, 150) | st.integers(0, 700)
experiment_plans = st.fixed_dictionaries(
    {
        "project": st.integers(0, 100),
        "status": st.sampled_from(STATUSES),
        "result": st.none() | st.sampled_from(RESULTS),
        "comparison": st.sampled_from(COMPARISONS),
        "independent_evaluation": st.booleans(),
        "started": day_offsets | st.none(),
        "length": st.integers(0, 300) | st.none(),
        "preregistered": st.integers(-30, 10) | st.none(),
        "cost_cents": st.integers(0, 10_000_000) | st.none(),
        "published": st.booleans(),
        "criterion": st.sampled_from(["none", "outcome", "output", "archived outcome"]),
        "archived": st.sampled_from([False, False, False, True]),
        "batch": st.booleans(),
    }
)
portfolios = st.fixed_dictionaries(
    {
        "parents": st.lists(st.integers(0, 1), min_size=2, max_size=2),
        "projects": st.lists(
            st.tuples(st.integers(0, 2), st.sampled_from([False, False, False, True])),
            min_size=1,
            max_size=4,
        ),
        "experiments": st.lists(experiment_plans, min_size=3, max_size=8),
    }
)


def build(admin: Any, model: Model, plan: dict[str, Any], codes: Any) -> int:
    """Create ``plan`` through the API under a new root unit, recording it in ``model``."""
    day = today()
    units: list[int] = []
    for parent in [None, *plan["parents"]]:
        parent_id = None if parent is None else units[min(parent, len(units) - 1)]
        unit = create_unit(admin, f"H{next(codes):04d}", parent_id=parent_id)
        model.units[unit["id"]] = {**unit, "archived": False}
        units.append(unit["id"])
    projects = []
    for unit_index, archived in plan["projects"]:
        project = create_project(admin, units[unit_index])
        model.projects[project["id"]] = {"unit_id": units[unit_index], "archived": archived}
        projects.append(project["id"])
    batched: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for e in plan["experiments"]:
        project_id = projects[e["project"] % len(projects)]
        started = None if e["started"] is None else day - timedelta(days=e["started"])
        ended = (
            None
            if started is None or e["length"] is None
            else min(day, started + timedelta(days=e["length"]))
        )
        published = day if e["published"] and e["status"] in FINISHED else None
        prereg = (
            None
            if started is None or e["preregistered"] is None
            else started + timedelta(days=e["preregistered"])
        )
        cost = None if e["cost_cents"] is None else Decimal(e["cost_cents"]).scaleb(-2)
        result = e["result"] if e["status"] == "completed" else None
        body = {
            "project_id": project_id,
            "title": "E",
            "hypothesis": "H",
            "method": "pilot",
            "status": e["status"],
            "result": result,
            "comparison": e["comparison"],
            "independent_evaluation": e["independent_evaluation"],
            "started_on": started and str(started),
            "ended_on": ended and str(ended),
            "preregistered_on": prereg and str(prereg),
            "published_on": published and str(published),
            "cost": None if cost is None else str(cost),
        }
        record = {
            **e,
            "project_id": project_id,
            "unit_id": model.projects[project_id]["unit_id"],
            "result": result,
            "started_on": started,
            "ended_on": ended,
            "preregistered_on": prereg,
            "published_on": published,
            "cost": cost,
            "baseline": e["criterion"] == "outcome",
        }
        if e["batch"]:
            batched.append((body, record))
        else:
            created = ok(admin.post("/api/v1/experiments", json=body))
            model.experiments[created["id"]] = {**record, "id": created["id"]}
    if batched:
        created_items = ok(
            admin.post("/api/v1/experiments/batch", json={"items": [b for b, _ in batched]})
        )["items"]
        for item, (_, record) in zip(created_items, batched, strict=True):
            model.experiments[item["id"]] = {**record, "id": item["id"]}
    for experiment_id, e in model.experiments.items():
        if e.get("built"):
            continue
        e["built"] = True
        if e["criterion"] != "none":
            kind = "output" if e["criterion"] == "output" else "outcome"
            criterion = create_criterion(admin, "experiments", experiment_id, kind=kind)
            if e["criterion"] == "archived outcome":
                assert admin.delete(f"/api/v1/criteria/{criterion['id']}").status_code == 200
        if e["archived"]:
            assert admin.delete(f"/api/v1/experiments/{experiment_id}").status_code == 200
    for project_id in projects:
        if model.projects[project_id]["archived"]:
            assert admin.delete(f"/api/v1/projects/{project_id}").status_code == 200
    return units[0]


def test_the_report_equals_a_computation_over_random_portfolios(admin, viewer, database_url):
    model = Model()
    codes = itertools.count()
    day = today()
    years = (fiscal.year_of(day, START_MONTH) - 1, fiscal.year_of(day, START_MONTH))

    # One database for every example: each builds under a new root unit, and the
    # whole-organization report covers everything built so far.
    # Derandomized: the same twelve portfolios every run, so the check below that they
    # were not empty cannot flake.
    @hypothesis_settings(
        max_examples=12,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(plan=portfolios)
    def check(plan: dict[str, Any]) -> None:
        root = build(admin, model, plan, codes)
        for scope, year in itertools.product((None, root), years):
            params: dict[str, Any] = {"year": year}
            if scope is not None:
                params["unit_id"] = scope
            report = ok(viewer.get(REPORT, params=params))
            assert actual_report(report) == expected_report(model, scope, year, day)

    check()
    kept, rebuilt = kept_and_rebuilt(database_url)
    assert kept == rebuilt
    # Not vacuous: the years' reports counted many experiments, some of them overdue.
    whole = [expected_report(model, None, year, day) for year in years]
    assert sum(r["experiments"]["experiments"] for r in whole) >= 5
    assert sum(r["publication"]["overdue"] for r in whole) >= 1
    assert sum(r["publication"]["due"] - r["publication"]["overdue"] for r in whole) >= 1
