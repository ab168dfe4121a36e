"""The report summaries: kept in step with every write by the database's triggers.

Two checks: after a random mix of writes through the API the maintained summaries equal a
rebuild from the base tables; and the spread, portfolio and determinants reports of random
portfolios equal a computation in plain Python over what the test created.
"""

import itertools
import random
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select, text

from app.reports import summaries
from tests.builders import (
    PortfolioModel,
    assert_rebuild_command_repairs,
    create_unit,
    enabled_trigger_names,
)

STAGES = ["idea", "exploration", "experiment", "scaling", "embedded", "stopped"]
ACTIVE = {"exploration", "experiment", "scaling"}
MODES = ["side_of_desk", "dedicated", "core_business"]
SPONSORS = ["individual", "organizational", "system"]
FACETS = ["enhancement", "mission", "adaptive", "anticipatory"]
BANDS = ["low", "medium", "high"]
STATUSES = ["proposed", "running", "completed", "stopped"]
METHODS = ["rct", "ab_test", "pilot", "prototype", "simulation", "other"]
RESULTS = ["supported", "not_supported", "inconclusive"]
DETERMINANTS = ["clarity", "parity", "suitability", "normality"]
EFFECTS = ["enabler", "barrier"]
LESSONS = [None, "", "   ", "Learned something."]


def _nonzero(rows: Any) -> dict[int, tuple[int, ...]]:
    return {row[0]: tuple(int(v) for v in row[1:]) for row in rows if any(row[1:])}


def summaries_and_rebuild(database_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The maintained summary rows, and the rows a rebuild would write (zero rows left out:
    a unit whose counts all dropped to zero may keep its row)."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        maintained = {
            table.name: _nonzero(connection.execute(select(table).order_by(table.c.unit_id)))
            for table in summaries.TABLES
        }
        computed = {
            name: _nonzero(connection.execute(text(statement)))
            for name, statement in summaries.computed_statements().items()
        }
    engine.dispose()
    return maintained, computed


def test_every_summary_trigger_exists_at_head(database_url):
    """A later migration that recreates projects, experiments or determinant_tags (SQLite's
    batch mode copies a table into a new one) must create the triggers again."""
    names = enabled_trigger_names(database_url)
    expected = {
        f"summaries_{table}_{event}"
        for table in ("projects", "experiments", "determinant_tags")
        for event in ("insert", "update", "delete")
    }
    assert expected <= names


# --- a random mix of writes ---------------------------------------------------------


def random_tags(rng: random.Random) -> list[dict[str, str]]:
    chosen = rng.sample(DETERMINANTS, rng.randint(0, 3))
    return [{"determinant": d, "effect": rng.choice(EFFECTS)} for d in chosen]


def random_risk(rng: random.Random) -> dict[str, int]:
    return {
        "likelihood": rng.randint(1, 5),
        "impact": rng.randint(1, 5),
        "risk_of_not_innovating": rng.randint(1, 5),
    }


def random_experiment(rng: random.Random, project_id: int) -> dict[str, Any]:
    status = rng.choice(STATUSES)
    body: dict[str, Any] = {
        "project_id": project_id,
        "title": "E",
        "hypothesis": "H",
        "method": rng.choice(METHODS),
        "status": status,
        "lessons": rng.choice(LESSONS),
        "determinants": random_tags(rng),
    }
    if status == "completed" and rng.random() < 0.7:
        body["result"] = rng.choice(RESULTS)
    return body


def apply_random_writes(admin: Any, rng: random.Random, writes: int) -> int:
    """Send ``writes`` random writes; returns how many succeeded (a few, such as archiving
    a unit that still has projects, are refused by design)."""
    units = [
        create_unit(admin, f"R{n}", kind=kind)["id"]
        for n, kind in enumerate(["business_line", "innovation_lab", "corporate"])
    ]
    projects: list[int] = []
    experiments: list[int] = []
    succeeded = 0
    for step in range(writes):
        action = rng.choice(
            [
                "unit",
                "project",
                "project",
                "patch_project",
                "patch_project",
                "move",
                "archive",
                "experiment",
                "experiment",
                "patch_experiment",
                "archive_experiment",
                "archive_unit",
                "batch",
            ]
        )
        if action == "unit" or not projects and action != "project":
            parent = rng.choice([None, *units])
            kind = rng.choice(["business_line", "innovation_lab", "corporate"])
            response = admin.post(
                "/api/v1/units",
                json={
                    "code": f"N{step}",
                    "name": f"Unit {step}",
                    "kind": kind,
                    "parent_id": parent,
                },
            )
            if response.status_code == 201:
                units.append(response.json()["id"])
        elif action == "project":
            body: dict[str, Any] = {
                "title": "P",
                "unit_id": rng.choice(units),
                "stage": rng.choice(STAGES),
                "work_mode": rng.choice(MODES),
                "sponsor_level": rng.choice(SPONSORS),
                "facet": rng.choice([None, *FACETS]),
                "determinants": random_tags(rng),
            }
            if rng.random() < 0.7:
                body["risk"] = random_risk(rng)
            response = admin.post("/api/v1/projects", json=body)
            if response.status_code == 201:
                projects.append(response.json()["id"])
        elif action == "patch_project":
            change = rng.choice(
                [
                    {"stage": rng.choice(STAGES)},
                    {"work_mode": rng.choice(MODES)},
                    {"sponsor_level": rng.choice(SPONSORS)},
                    {"facet": rng.choice(FACETS)},
                    {"risk": random_risk(rng)},
                    {"determinants": random_tags(rng)},
                    {"title": "Renamed"},
                ]
            )
            response = admin.patch(f"/api/v1/projects/{rng.choice(projects)}", json=change)
        elif action == "move":
            response = admin.patch(
                f"/api/v1/projects/{rng.choice(projects)}", json={"unit_id": rng.choice(units)}
            )
        elif action == "archive":
            response = admin.delete(f"/api/v1/projects/{rng.choice(projects)}")
        elif action == "experiment":
            response = admin.post(
                "/api/v1/experiments", json=random_experiment(rng, rng.choice(projects))
            )
            if response.status_code == 201:
                experiments.append(response.json()["id"])
        elif action == "patch_experiment" and experiments:
            status = rng.choice(STATUSES)
            change = rng.choice(
                [
                    {
                        "status": status,
                        "result": rng.choice(RESULTS) if status == "completed" else None,
                    },
                    {"method": rng.choice(METHODS)},
                    {"lessons": rng.choice(["Now learned.", "  "])},
                    {"determinants": random_tags(rng)},
                    {"project_id": rng.choice(projects)},
                ]
            )
            response = admin.patch(f"/api/v1/experiments/{rng.choice(experiments)}", json=change)
        elif action == "archive_experiment" and experiments:
            response = admin.delete(f"/api/v1/experiments/{rng.choice(experiments)}")
        elif action == "archive_unit":
            response = admin.delete(f"/api/v1/units/{rng.choice(units)}")
        else:
            items = [random_experiment(rng, rng.choice(projects)) for _ in range(rng.randint(1, 6))]
            response = admin.post("/api/v1/experiments/batch", json={"items": items})
            if response.status_code == 201:
                experiments.extend(item["id"] for item in response.json()["items"])
        assert response.status_code < 500, response.text
        succeeded += response.status_code < 300
    return succeeded


def test_summaries_equal_a_rebuild_after_a_random_mix_of_writes(admin, database_url):
    succeeded = apply_random_writes(admin, random.Random(17), writes=120)

    maintained, computed = summaries_and_rebuild(database_url)

    assert succeeded >= 80
    assert all(maintained.values()), maintained
    assert maintained == computed


def test_the_rebuild_command_repairs_the_summaries(admin, database_url, monkeypatch):
    apply_random_writes(admin, random.Random(3), writes=30)
    assert_rebuild_command_repairs(
        database_url,
        monkeypatch,
        summaries_and_rebuild,
        [
            "UPDATE unit_project_counts SET projects = projects + 5",
            "DELETE FROM unit_determinant_counts",
        ],
    )


# --- random portfolios against a computation in the test ------------------------------


class Model(PortfolioModel):
    """What the test created, as plain data: the report's inputs."""

    def live_projects(self, scope: set[int]) -> list[dict[str, Any]]:
        return [p for p in self.projects.values() if not p["archived"] and p["unit_id"] in scope]

    def live_experiments(self, scope: set[int]) -> list[dict[str, Any]]:
        return [
            e
            for e in self.experiments.values()
            if not e["archived"]
            and not self.projects[e["project_id"]]["archived"]
            and e["unit_id"] in scope
        ]

    def shown_units(self, scope: set[int]) -> list[dict[str, Any]]:
        units = [u for u in self.units.values() if not u["archived"] and u["id"] in scope]
        return sorted(units, key=lambda u: u["code"])


def _tally(values: list[str], keys: list[str]) -> dict[str, int]:
    return {k: sum(1 for v in values if v == k) for k in keys}


def _band(risk: dict[str, int] | None) -> str:
    if risk is None:
        return "unspecified"
    score = risk["likelihood"] * risk["impact"]
    return "low" if score <= 6 else "medium" if score <= 12 else "high"


def expected_spread(model: Model, root: int | None) -> dict[str, Any]:
    scope = model.subtree(root)
    if root is not None:  # scoped: only the projects of non-archived units
        scope = {u for u in scope if not model.units[u]["archived"]}
    active = [p for p in model.live_projects(scope) if p["stage"] in ACTIVE]
    labs = [
        p
        for p in active
        if model.units[p["unit_id"]]["kind"] == "innovation_lab"
        and not model.units[p["unit_id"]]["archived"]
    ]
    units = []
    for unit in model.shown_units(model.subtree(root)):
        own = [p for p in active if p["unit_id"] == unit["id"]]
        units.append(
            {
                "unit_id": unit["id"],
                "code": unit["code"],
                "kind": unit["kind"],
                "parent_id": unit["parent_id"],
                "active_projects": len(own),
                "by_work_mode": _tally([p["work_mode"] for p in own], MODES),
            }
        )
    lines = [u for u in units if u["kind"] == "business_line"]
    return {
        "active_projects": len(active),
        "by_work_mode": _tally([p["work_mode"] for p in active], MODES),
        "by_sponsor_level": _tally([p["sponsor_level"] for p in active], SPONSORS),
        "lab_share": len(labs) / len(active) if active else None,
        "business_lines": len(lines),
        "business_lines_with_innovation": sum(1 for u in lines if u["active_projects"]),
        "units": units,
    }


def actual_spread(report: dict[str, Any]) -> dict[str, Any]:
    keys = ("unit_id", "code", "kind", "parent_id", "active_projects", "by_work_mode")
    return {
        **{k: report[k] for k in ("active_projects", "by_work_mode", "by_sponsor_level")},
        **{k: report[k] for k in ("lab_share", "business_lines")},
        "business_lines_with_innovation": report["business_lines_with_innovation"],
        "units": [{k: u[k] for k in keys} for u in report["units"]],
    }


def expected_portfolio(model: Model, root: int | None) -> dict[str, Any]:
    scope = model.subtree(root)
    projects = model.live_projects(scope)
    experiments = model.live_experiments(scope)
    facets = [*FACETS, "unspecified"]
    bands = [*BANDS, "unspecified"]
    return {
        "projects": len(projects),
        "by_stage": _tally([p["stage"] for p in projects], STAGES),
        "by_work_mode": _tally([p["work_mode"] for p in projects], MODES),
        "by_sponsor_level": _tally([p["sponsor_level"] for p in projects], SPONSORS),
        "facet_by_risk_band": {
            facet: _tally(
                [_band(p["risk"]) for p in projects if (p["facet"] or "unspecified") == facet],
                bands,
            )
            for facet in facets
        },
        "high_risk_justified": sum(
            1
            for p in projects
            if _band(p["risk"]) == "high" and p["risk"]["risk_of_not_innovating"] >= 4
        ),
        "without_risk_profile": sum(
            1 for p in projects if p["stage"] != "idea" and p["risk"] is None
        ),
        "experiments": len(experiments),
        "experiments_by_status": _tally([e["status"] for e in experiments], STATUSES),
        "experiments_by_method": _tally([e["method"] for e in experiments], METHODS),
        "experiments_by_result": _tally([e["result"] for e in experiments], RESULTS),
    }


def expected_determinants(model: Model, root: int | None) -> dict[str, Any]:
    scope = model.subtree(root)
    owners = model.live_projects(scope) + model.live_experiments(scope)
    tags = [(o["unit_id"], d, e) for o in owners for d, e in o["tags"].items()]
    return {
        "counts": {
            d: (
                sum(1 for _, td, te in tags if td == d and te == "enabler"),
                sum(1 for _, td, te in tags if td == d and te == "barrier"),
            )
            for d in DETERMINANTS
        },
        "units": [
            (
                unit["code"],
                {
                    d: sum(
                        1 for u, td, te in tags if u == unit["id"] and td == d and te == "barrier"
                    )
                    for d in DETERMINANTS
                },
            )
            for unit in model.shown_units(scope)
        ],
    }


def actual_determinants(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "counts": {
            d["determinant"]: (d["enablers"], d["barriers"]) for d in report["determinants"]
        },
        "units": [(u["code"], u["barriers"]) for u in report["units"]],
    }


tag_sets = st.dictionaries(st.sampled_from(DETERMINANTS), st.sampled_from(EFFECTS), max_size=3)
risks = st.none() | st.fixed_dictionaries(
    {
        "likelihood": st.integers(1, 5),
        "impact": st.integers(1, 5),
        "risk_of_not_innovating": st.integers(1, 5),
    }
)
project_plans = st.fixed_dictionaries(
    {
        "unit": st.integers(0, 3),
        "stage": st.sampled_from(STAGES),
        "work_mode": st.sampled_from(MODES),
        "sponsor_level": st.sampled_from(SPONSORS),
        "facet": st.none() | st.sampled_from(FACETS),
        "risk": risks,
        "tags": tag_sets,
        "archived": st.booleans(),
    }
)
experiment_plans = st.fixed_dictionaries(
    {
        "project": st.integers(0, 100),
        "status": st.sampled_from(STATUSES),
        "method": st.sampled_from(METHODS),
        "result": st.none() | st.sampled_from(RESULTS),
        "lessons": st.sampled_from(LESSONS),
        "tags": tag_sets,
        "archived": st.booleans(),
    }
)
portfolios = st.fixed_dictionaries(
    {
        # The root's three descendants: kind, and parent (0 is the root).
        "units": st.lists(
            st.tuples(
                st.sampled_from(["business_line", "innovation_lab", "corporate"]),
                st.integers(0, 2),
            ),
            min_size=3,
            max_size=3,
        ),
        "projects": st.lists(project_plans, max_size=6),
        "experiments": st.lists(experiment_plans, max_size=6),
        # Archive the last unit if it has no live project by then.
        "archive_unit": st.booleans(),
    }
)


def build(admin: Any, model: Model, plan: dict[str, Any], codes: Any) -> int:
    """Create ``plan`` through the API under a new root unit, recording it in ``model``."""
    units: list[int] = []
    kinds = [("corporate", None), *plan["units"]]
    for kind, parent in kinds:
        parent_id = units[min(parent, len(units) - 1)] if units else None
        unit = create_unit(admin, f"H{next(codes):04d}", kind=kind, parent_id=parent_id)
        model.units[unit["id"]] = {**unit, "archived": False}
        units.append(unit["id"])
    created: list[int] = []
    for p in plan["projects"]:
        body: dict[str, Any] = {
            "title": "P",
            "unit_id": units[p["unit"]],
            **{k: p[k] for k in ("stage", "work_mode", "sponsor_level", "facet", "risk")},
            "determinants": [{"determinant": d, "effect": e} for d, e in p["tags"].items()],
        }
        response = admin.post("/api/v1/projects", json=body)
        assert response.status_code == 201, response.text
        project_id = response.json()["id"]
        model.projects[project_id] = {**p, "id": project_id, "unit_id": units[p["unit"]]}
        created.append(project_id)
    for e in plan["experiments"]:
        if not created:
            break
        project_id = created[e["project"] % len(created)]
        result = e["result"] if e["status"] == "completed" else None
        body = {
            "project_id": project_id,
            "title": "E",
            "hypothesis": "H",
            **{k: e[k] for k in ("status", "method", "lessons")},
            "result": result,
            "determinants": [{"determinant": d, "effect": v} for d, v in e["tags"].items()],
        }
        response = admin.post("/api/v1/experiments", json=body)
        assert response.status_code == 201, response.text
        experiment_id = response.json()["id"]
        model.experiments[experiment_id] = {
            **e,
            "id": experiment_id,
            "project_id": project_id,
            "unit_id": model.projects[project_id]["unit_id"],
            "result": result,
        }
        if e["archived"]:
            assert admin.delete(f"/api/v1/experiments/{experiment_id}").status_code == 200
    for project_id in created:
        if model.projects[project_id]["archived"]:
            assert admin.delete(f"/api/v1/projects/{project_id}").status_code == 200
    last = units[-1]
    has_children = any(u["parent_id"] == last for u in model.units.values())
    if plan["archive_unit"] and not has_children and not model.live_projects({last}):
        assert admin.delete(f"/api/v1/units/{last}").status_code == 200
        model.units[last]["archived"] = True
    return units[0]


def test_reports_equal_a_computation_over_random_portfolios(admin, viewer, database_url):
    model = Model()
    codes = itertools.count()

    # One database for every example: each builds under a new root unit, and the
    # whole-organization reports cover everything built so far.
    @hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(plan=portfolios)
    def check(plan: dict[str, Any]) -> None:
        root = build(admin, model, plan, codes)
        for scope in (None, root):
            params = {} if scope is None else {"unit_id": scope}
            spread = viewer.get("/api/v1/reports/spread", params=params).json()
            assert actual_spread(spread) == expected_spread(model, scope)
            portfolio = viewer.get("/api/v1/reports/portfolio", params=params).json()
            expected = expected_portfolio(model, scope)
            assert {k: portfolio[k] for k in expected} == expected
            determinants = viewer.get("/api/v1/reports/determinants", params=params).json()
            assert actual_determinants(determinants) == expected_determinants(model, scope)

    check()
    maintained, computed = summaries_and_rebuild(database_url)
    assert maintained == computed
