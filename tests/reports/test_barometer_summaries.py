"""The barometer summaries: innovations and adoptions by unit and day, kept by triggers.

Three checks: after a random mix of writes through the API (projects created, patched,
moved and archived; stages to and from embedded; novelty and `adopted_from` changed;
units created, moved and archived) the maintained summaries equal a rebuild from the
projects; the report over random portfolios, windows and scopes equals a computation in
plain Python over what the test created; and a window's first and last days count
exactly, across month ends.
"""

import itertools
import random
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select, text

from app.core.db import today
from app.reports import barometer, barometer_summaries
from tests.builders import (
    PortfolioModel,
    assert_rebuild_command_repairs,
    create_project,
    create_unit,
    enabled_trigger_names,
)

BAROMETER = "/api/v1/reports/barometer"
STAGES = ["idea", "exploration", "experiment", "scaling", "embedded", "stopped"]
NOVELTIES = ["first", "adapted", "copied"]
INITIATORS = ["employees", "managers", "politicians", "citizens", "businesses", "other"]
TYPES = ["service", "process", "organisation", "communication", "policy"]
COLLABORATORS = ["citizens", "businesses", "research", "other_public", "civil_society"]
VALUES = [
    "quality",
    "efficiency",
    "citizen_involvement",
    "employee_satisfaction",
    "political_goals",
]
EVALUATIONS = ["none", "internal", "external"]
# Days the random writes and portfolios use: around a month end and a year end, so
# windows cut months and years in the middle.
DAYS = [date(2025, 1, 30) + timedelta(days=n) for n in range(0, 400, 13)]


def _nonzero(rows: Any, keys: int) -> dict[tuple[Any, ...], tuple[int, ...]]:
    return {
        tuple(str(v) for v in row[:keys]): tuple(int(v) for v in row[keys:])
        for row in rows
        if any(row[keys:])
    }


def summaries_and_rebuild(database_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The maintained summary rows (the sources' reach too), and those a rebuild would
    write (zero rows left out: a key whose counts all dropped to zero keeps its row)."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        summaries = (*barometer_summaries.SUMMARIES, barometer_summaries.REACH)
        keys = {s.table: len(s.keys) for s in summaries}
        maintained = {
            table.name: _nonzero(connection.execute(select(table)), keys[table.name])
            for table in (*barometer_summaries.TABLES, barometer_summaries.source_reach)
        }
        statements = {
            **barometer_summaries.computed_statements(connection.dialect.name),
            barometer_summaries.REACH.table: barometer_summaries.reach_computed(),
        }
        computed = {
            name: _nonzero(connection.execute(text(statement)), keys[name])
            for name, statement in statements.items()
        }
    engine.dispose()
    return maintained, computed


def test_every_barometer_trigger_exists_at_head(database_url):
    names = enabled_trigger_names(database_url)
    for family in ("barometer_projects", "barometer_reach_projects"):
        assert {f"{family}_{e}" for e in ("insert", "update", "delete")} <= names


# --- a random mix of writes -------------------------------------------------------------


def _barometer_fields(rng: random.Random) -> dict[str, Any]:
    return {
        "initiated_by": rng.choice([None, *INITIATORS]),
        "evaluation": rng.choice([None, *EVALUATIONS]),
        "innovation_types": rng.sample(TYPES, rng.randint(0, 2)),
        "collaborators": rng.sample(COLLABORATORS, rng.randint(0, 2)),
        "value_types": rng.sample(VALUES, rng.randint(0, 2)),
    }


def apply_random_writes(admin: Any, rng: random.Random, writes: int) -> int:
    """Send ``writes`` random writes; returns how many succeeded (some, such as a link
    that would close a loop or archiving a unit with projects, are refused by design)."""
    units = [create_unit(admin, f"R{n}")["id"] for n in range(3)]
    projects: list[int] = []
    succeeded = 0
    for step in range(writes):
        action = rng.choice(
            [
                "unit",
                "move_unit",
                "archive_unit",
                "project",
                "project",
                "project",
                "embed",
                "embed",
                "unembed",
                "novelty",
                "adopt",
                "adopt",
                "started_on",
                "fields",
                "move",
                "move",
                "archive",
            ]
        )
        target = rng.choice(projects) if projects else None
        if action == "unit" or (target is None and action != "project"):
            parent = rng.choice([None, *units])
            response = admin.post(
                "/api/v1/units",
                json={
                    "code": f"N{step}",
                    "name": f"Unit {step}",
                    "kind": "business_line",
                    "parent_id": parent,
                },
            )
            if response.status_code == 201:
                units.append(response.json()["id"])
        elif action == "move_unit":
            response = admin.patch(
                f"/api/v1/units/{rng.choice(units)}", json={"parent_id": rng.choice(units)}
            )
        elif action == "archive_unit":
            response = admin.delete(f"/api/v1/units/{rng.choice(units)}")
        elif action == "project":
            body: dict[str, Any] = {
                "title": "P",
                "unit_id": rng.choice(units),
                "sponsor_level": "individual",
                "work_mode": "side_of_desk",
                "stage": rng.choice(STAGES),
                **_barometer_fields(rng),
            }
            if body["stage"] == "embedded" and rng.random() < 0.7:
                body["embedded_on"] = rng.choice(DAYS).isoformat()
            if rng.random() < 0.6:
                body["started_on"] = rng.choice(DAYS).isoformat()
            if projects and rng.random() < 0.5:
                body["novelty"] = rng.choice(["adapted", "copied"])
                body["adopted_from"] = rng.choice(projects)
            else:
                body["novelty"] = rng.choice([None, *NOVELTIES])
            response = admin.post("/api/v1/projects", json=body)
            if response.status_code == 201:
                projects.append(response.json()["id"])
        elif action == "embed":
            change: dict[str, Any] = {"stage": "embedded"}
            if rng.random() < 0.7:
                change["embedded_on"] = rng.choice(DAYS).isoformat()
            response = admin.patch(f"/api/v1/projects/{target}", json=change)
        elif action == "unembed":
            stage = rng.choice(["scaling", "stopped", "idea"])
            response = admin.patch(f"/api/v1/projects/{target}", json={"stage": stage})
        elif action == "novelty":
            change = {"novelty": rng.choice([None, *NOVELTIES])}
            if change["novelty"] not in ("adapted", "copied"):
                change["adopted_from"] = None
            response = admin.patch(f"/api/v1/projects/{target}", json=change)
        elif action == "adopt":
            source = rng.choice([None, *projects])
            change = {"adopted_from": source}
            if source is not None:
                change["novelty"] = rng.choice(["adapted", "copied"])
            response = admin.patch(f"/api/v1/projects/{target}", json=change)
        elif action == "started_on":
            started = rng.choice([None, *DAYS])
            response = admin.patch(
                f"/api/v1/projects/{target}",
                json={"started_on": started and started.isoformat(), "ended_on": None},
            )
        elif action == "fields":
            response = admin.patch(f"/api/v1/projects/{target}", json=_barometer_fields(rng))
        elif action == "move":
            response = admin.patch(
                f"/api/v1/projects/{target}", json={"unit_id": rng.choice(units)}
            )
        else:
            response = admin.delete(f"/api/v1/projects/{target}")
        assert response.status_code < 500, response.text
        succeeded += response.status_code < 300
    return succeeded


def test_summaries_equal_a_rebuild_after_a_random_mix_of_writes(admin, database_url):
    succeeded = apply_random_writes(admin, random.Random(16), writes=150)

    maintained, computed = summaries_and_rebuild(database_url)

    assert succeeded >= 80
    # Both summaries have rows, adoptions across units among them.
    assert all(maintained.values()), maintained
    assert any(k[2] != k[3] for k in maintained["barometer_adoption_days"])
    assert maintained == computed


def test_the_rebuild_command_repairs_the_summaries(admin, database_url, monkeypatch):
    apply_random_writes(admin, random.Random(3), writes=40)
    assert_rebuild_command_repairs(
        database_url,
        monkeypatch,
        summaries_and_rebuild,
        [
            "UPDATE barometer_innovation_days SET evaluated = evaluated + 2",
            "DELETE FROM barometer_adoption_days",
            "UPDATE barometer_source_reach SET cross_adoptions = cross_adoptions + 1",
        ],
    )


# --- a window's edges -------------------------------------------------------------------


def test_a_window_counts_its_first_and_last_day_across_month_ends(admin, viewer):
    one, two = create_unit(admin, "ONE"), create_unit(admin, "TWO")
    source = create_project(admin, one["id"], title="Source")
    # Innovations and adoptions (TWO adopting ONE's source) on the days either side of
    # both edges of 2025-01-31 .. 2025-03-01: only the two inside count.
    for day in ("2025-01-30", "2025-01-31", "2025-03-01", "2025-03-02"):
        create_project(admin, one["id"], stage="embedded", embedded_on=day)
        create_project(
            admin, two["id"], novelty="copied", adopted_from=source["id"], started_on=day
        )

    def report(start: str, end: str) -> tuple[int, int]:
        body = viewer.get(BAROMETER, params={"from": start, "to": end}).json()
        return body["innovations"], body["diffusion"]["adoptions"]

    assert report("2025-01-31", "2025-03-01") == (2, 2)
    assert report("2025-02-01", "2025-02-28") == (0, 0)
    assert report("2025-01-30", "2025-01-30") == (1, 1)
    assert report("2025-03-01", "2025-03-02") == (2, 2)
    assert report("2024-01-01", "2026-01-01") == (4, 4)
    whole = viewer.get(BAROMETER, params={"from": "2025-01-31", "to": "2025-03-01"}).json()
    assert whole["diffusion"]["sources"] == [
        {
            "project_id": source["id"],
            "title": "Source",
            "unit_id": one["id"],
            "adopting_units": 1,
            "adoptions": 2,
        }
    ]
    assert whole["units_innovating"] == 1


# --- random portfolios against a computation in the test --------------------------------


def _tally(values: list[Any], keys: list[str]) -> dict[str, int]:
    return {k: sum(1 for v in values if v == k) for k in keys}


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def expected_barometer(
    model: PortfolioModel, root: int | None, start: date, end: date, top: int = 20
) -> dict[str, Any]:
    scope = model.subtree(root)
    live = [p for p in model.projects.values() if not p["archived"] and p["unit_id"] in scope]
    innovations = [
        p for p in live if p["embedded_on"] is not None and start <= p["embedded_on"] <= end
    ]
    known_novelty = [p for p in innovations if p["novelty"] is not None]
    known_evaluation = [p for p in innovations if p["evaluation"] is not None]
    created_on = today()
    adoptions = [
        (p, model.projects[p["adopted_from"]])
        for p in live
        if p["adopted_from"] is not None and start <= (p["started_on"] or created_on) <= end
    ]
    flows: dict[int, list[int]] = {}
    for adopter, source in adoptions:
        if adopter["unit_id"] != source["unit_id"]:
            flows.setdefault(adopter["unit_id"], [0, 0])[0] += 1
            flows.setdefault(source["unit_id"], [0, 0])[1] += 1
    shown = {u for u in scope if not model.units[u]["archived"]}
    by_source: dict[int, list[Any]] = {}
    for adopter, source in adoptions:
        if source["unit_id"] in scope:
            entry = by_source.setdefault(source["id"], [source, set(), 0])
            if adopter["unit_id"] != source["unit_id"]:
                entry[1].add(adopter["unit_id"])
            entry[2] += 1
    sources = sorted(
        (
            {
                "project_id": source["id"],
                "title": source["title"],
                "unit_id": source["unit_id"],
                "adopting_units": len(units),
                "adoptions": count,
            }
            for source, units, count in by_source.values()
            if units
        ),
        key=lambda s: (-s["adopting_units"], s["project_id"]),
    )[:top]
    return {
        "innovations": len(innovations),
        "units": len(shown),
        "units_innovating": len({p["unit_id"] for p in innovations}),
        "by_novelty": {
            **_tally([p["novelty"] for p in innovations], NOVELTIES),
            "unknown": len(innovations) - len(known_novelty),
        },
        "by_initiator": {
            **_tally([p["initiated_by"] for p in innovations], INITIATORS),
            "unknown": sum(1 for p in innovations if p["initiated_by"] is None),
        },
        "by_type": {t: sum(1 for p in innovations if t in p["innovation_types"]) for t in TYPES},
        "by_collaborator": {
            c: sum(1 for p in innovations if c in p["collaborators"]) for c in COLLABORATORS
        },
        "by_value": {v: sum(1 for p in innovations if v in p["value_types"]) for v in VALUES},
        "collaborating_share": _share(
            sum(1 for p in innovations if p["collaborators"]), len(innovations)
        ),
        "evaluated_share": _share(
            sum(1 for p in known_evaluation if p["evaluation"] != "none"), len(known_evaluation)
        ),
        "evaluation_unknown": len(innovations) - len(known_evaluation),
        "copied_or_adapted_share": _share(
            sum(1 for p in known_novelty if p["novelty"] != "first"), len(known_novelty)
        ),
        "diffusion": {
            "adoptions": len(adoptions),
            "cross_unit_adoptions": sum(1 for a, s in adoptions if a["unit_id"] != s["unit_id"]),
            "sources": sources,
            "unit_flows": [
                {
                    "unit_id": u,
                    "code": model.units[u]["code"],
                    "adopted_in": flows[u][0],
                    "adopted_out": flows[u][1],
                }
                for u in sorted(flows, key=lambda u: model.units[u]["code"])
                if u in shown
            ],
        },
    }


days = st.sampled_from(DAYS)
project_plans = st.fixed_dictionaries(
    {
        "unit": st.integers(0, 3),
        "embedded_on": st.none() | days,
        "started_on": st.none() | days,
        "novelty": st.none() | st.sampled_from(NOVELTIES),
        # Adopts the project this many places earlier in the plan (when it reuses).
        "source": st.none() | st.integers(1, 6),
        "initiated_by": st.none() | st.sampled_from(INITIATORS),
        "evaluation": st.none() | st.sampled_from(EVALUATIONS),
        "innovation_types": st.sets(st.sampled_from(TYPES), max_size=2),
        "collaborators": st.sets(st.sampled_from(COLLABORATORS), max_size=2),
        "value_types": st.sets(st.sampled_from(VALUES), max_size=2),
        "archived": st.booleans(),
        # Moved to another unit of the plan after everything was created.
        "move_to": st.none() | st.integers(0, 3),
    }
)
portfolios = st.fixed_dictionaries(
    {
        "units": st.lists(st.integers(0, 2), min_size=3, max_size=3),  # parents
        "projects": st.lists(project_plans, max_size=8),
        "archive_unit": st.booleans(),
        # Today too: an adoption without `started_on` is dated by its creation, today.
        "window": st.tuples(*[st.sampled_from([*DAYS, today()])] * 2).map(sorted),
    }
)


def build(admin: Any, model: PortfolioModel, plan: dict[str, Any], codes: Any) -> int:
    """Create ``plan`` through the API under a new root unit, recording it in ``model``."""
    units: list[int] = []
    for parent in [None, *plan["units"]]:
        parent_id = None if parent is None else units[min(parent, len(units) - 1)]
        unit = create_unit(admin, f"B{next(codes):04d}", parent_id=parent_id)
        model.units[unit["id"]] = {**unit, "archived": False}
        units.append(unit["id"])
    created: list[int] = []
    for p in plan["projects"]:
        novelty, source = p["novelty"], None
        if p["source"] is not None and p["source"] <= len(created):
            source = created[-p["source"]]
            novelty = "adapted" if novelty == "adapted" else "copied"
        sets = {k: sorted(p[k]) for k in ("innovation_types", "collaborators", "value_types")}
        fields = {
            "novelty": novelty,
            "adopted_from": source,
            "initiated_by": p["initiated_by"],
            "evaluation": p["evaluation"],
            "started_on": p["started_on"] and p["started_on"].isoformat(),
            **sets,
        }
        if p["embedded_on"] is not None:
            fields |= {"stage": "embedded", "embedded_on": p["embedded_on"].isoformat()}
        project = create_project(admin, units[p["unit"]], title=f"T{next(codes)}", **fields)
        model.projects[project["id"]] = {
            **p,
            **sets,
            "id": project["id"],
            "title": project["title"],
            "unit_id": units[p["unit"]],
            "novelty": novelty,
            "adopted_from": source,
        }
        created.append(project["id"])
    for project_id in created:
        project = model.projects[project_id]
        if project["move_to"] is not None:
            unit_id = units[project["move_to"]]
            response = admin.patch(f"/api/v1/projects/{project_id}", json={"unit_id": unit_id})
            assert response.status_code == 200, response.text
            project["unit_id"] = unit_id
    for project_id in created:
        if model.projects[project_id]["archived"]:
            assert admin.delete(f"/api/v1/projects/{project_id}").status_code == 200
    last = units[-1]
    has_children = any(u["parent_id"] == last for u in model.units.values())
    owns = any(p["unit_id"] == last and not p["archived"] for p in model.projects.values())
    if plan["archive_unit"] and not has_children and not owns:
        assert admin.delete(f"/api/v1/units/{last}").status_code == 200
        model.units[last]["archived"] = True
    return units[0]


# The ranked sources as the report lists them (20, first from the 100 sources of most reach
# when they suffice), and as few: 2, from the 3 of most reach, so that over examples the
# reach's shortcut both answers and falls back to every adoption of the window.
@pytest.mark.parametrize(("top", "candidates"), [(20, 100), (2, 3)])
def test_the_report_equals_a_computation_over_random_portfolios(
    admin, viewer, database_url, monkeypatch, top, candidates
):
    monkeypatch.setattr(barometer, "TOP_SOURCES", top)
    monkeypatch.setattr(barometer, "REACH_CANDIDATES", candidates)
    model = PortfolioModel()
    codes = itertools.count()

    # One database for every example: each builds under a new root unit; the
    # whole-organization report covers everything built so far.
    @hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(plan=portfolios)
    def check(plan: dict[str, Any]) -> None:
        root = build(admin, model, plan, codes)
        start, end = plan["window"]
        for scope in (None, root):
            params: dict[str, Any] = {"from": start.isoformat(), "to": end.isoformat()}
            if scope is not None:
                params["unit_id"] = scope
            report = viewer.get(BAROMETER, params=params).json()
            expected = expected_barometer(model, scope, start, end, top)
            assert {k: report[k] for k in expected} == expected

    check()
    maintained, computed = summaries_and_rebuild(database_url)
    assert maintained == computed
