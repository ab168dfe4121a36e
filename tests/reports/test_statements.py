"""Each report issues the same few SQL statements whatever the portfolio's size."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from app.core.db import today
from tests.builders import create_criterion, create_experiment, create_project, create_unit

REPORTS = (
    ("/api/v1/reports/spread", {}),
    ("/api/v1/reports/spread", {"Accept": "text/csv"}),
    # As of a date: the same statements over the timelines.
    (f"/api/v1/reports/spread?as_of={today()}", {}),
    (f"/api/v1/reports/spread?as_of={today()}", {"Accept": "text/csv"}),
    ("/api/v1/reports/portfolio", {}),
    ("/api/v1/reports/outcomes", {}),
    ("/api/v1/reports/determinants", {}),
    ("/api/v1/reports/experimentation", {}),
    ("/api/v1/reports/experimentation", {"Accept": "text/csv"}),
    ("/api/v1/reports/barometer", {}),
    ("/api/v1/reports/barometer", {"Accept": "text/csv"}),
)


@contextmanager
def counting_statements(engine: Any) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def add_units_with_work(admin: Any, first: int, count: int) -> None:
    """Per unit: two projects (one active), an experiment, criteria, tags, a measurement."""
    for number in range(first, first + count):
        unit = create_unit(admin, f"U{number}", kind="business_line")
        project = create_project(
            admin,
            unit["id"],
            stage="experiment",
            facet="mission",
            risk={"likelihood": 4, "impact": 4, "risk_of_not_innovating": 5},
            determinants=[{"determinant": "parity", "effect": "barrier"}],
        )
        create_project(admin, unit["id"], stage="idea", work_mode="core_business")
        experiment = create_experiment(
            admin,
            project["id"],
            status="completed",
            result="supported",
            lessons="Learned something.",
            determinants=[{"determinant": "clarity", "effect": "enabler"}],
        )
        criterion = create_criterion(admin, "projects", project["id"])
        admin.post(
            f"/api/v1/criteria/{criterion['id']}/measurements",
            json={"value": 25, "measured_on": "2026-01-01"},
        )
        create_criterion(admin, "experiments", experiment["id"], kind="output")
        # Barometer data: an innovation that adopted the unit's project, and one adopted
        # from the first unit's (a cross-unit flow once there are several units).
        create_project(
            admin,
            unit["id"],
            stage="embedded",
            novelty="adapted",
            adopted_from=project["id"],
            evaluation="internal",
            innovation_types=["service", "policy"],
            collaborators=["research"],
        )
        create_project(admin, unit["id"], novelty="copied", adopted_from=first_project(admin))


def first_project(admin: Any) -> int:
    return int(admin.get("/api/v1/projects", params={"limit": 1}).json()["items"][0]["id"])


def statements_per_report(app: Any, client: Any) -> list[int]:
    counts = []
    for path, headers in REPORTS:
        with counting_statements(app.state.engine) as statements:
            response = client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        counts.append(len(statements))
    return counts


def test_statement_count_does_not_grow_with_the_portfolio(app, admin, viewer):
    add_units_with_work(admin, first=1, count=2)
    small = statements_per_report(app, viewer)
    add_units_with_work(admin, first=3, count=4)
    large = statements_per_report(app, viewer)

    assert viewer.get("/api/v1/reports/spread").json()["active_projects"] == 6
    barometer = viewer.get("/api/v1/reports/barometer").json()
    # One embedded project per unit; every unit copied the first unit's project, the
    # first unit itself included (same unit): 6 adoptions, 5 of them across units.
    assert (barometer["innovations"], barometer["units_innovating"]) == (6, 6)
    assert barometer["diffusion"]["adoptions"] == 6 + 6
    assert barometer["diffusion"]["cross_unit_adoptions"] == 5
    assert large == small
    # Authentication, then two or three aggregate queries (plus BEGIN/COMMIT on SQLite).
    assert max(small) <= 8, small


def test_unit_scope_adds_one_statement_at_most(app, admin, viewer):
    add_units_with_work(admin, first=1, count=2)
    unit_id = viewer.get("/api/v1/units").json()["items"][0]["id"]
    with counting_statements(app.state.engine) as unscoped:
        viewer.get("/api/v1/reports/spread")
    with counting_statements(app.state.engine) as scoped:
        viewer.get("/api/v1/reports/spread", params={"unit_id": unit_id})
    assert len(scoped) == len(unscoped) + 1  # the lookup that checks the unit exists
    with counting_statements(app.state.engine) as dated:
        viewer.get("/api/v1/reports/spread", params={"as_of": "2025-01-31"})
    assert len(dated) == len(unscoped)


def add_timelines(admin: Any, first: int, count: int) -> None:
    """Per unit: a project with three dated periods and one begun today."""
    for number in range(first, first + count):
        unit = create_unit(admin, f"T{number}", kind="business_line")
        project = create_project(admin, unit["id"], stage="exploration", effective_on="2023-01-10")
        for changes in (
            {"stage": "experiment", "effective_on": "2024-06-01"},
            {"work_mode": "dedicated", "effective_on": "2025-01-01"},
        ):
            response = admin.patch(f"/api/v1/projects/{project['id']}", json=changes)
            assert response.status_code == 200, response.text
        create_project(admin, unit["id"], stage="idea")


TIMELINE_REPORTS = (
    # 4 quarter ends.
    ("/api/v1/reports/trends", {"from": "2024-01-01", "to": "2024-12-31"}, {}),
    # 24 month ends.
    (
        "/api/v1/reports/trends",
        {"from": "2023-01-01", "to": "2024-12-31", "interval": "month"},
        {},
    ),
    (
        "/api/v1/reports/trends",
        {"from": "2023-01-01", "to": "2024-12-31", "interval": "month"},
        {"Accept": "text/csv"},
    ),
    ("/api/v1/reports/flow", {"from": "2024-01-01", "to": "2025-06-30"}, {}),
    ("/api/v1/reports/flow", {}, {"Accept": "text/csv"}),
)


def timeline_statements(app: Any, client: Any) -> list[int]:
    counts = []
    for path, params, headers in TIMELINE_REPORTS:
        with counting_statements(app.state.engine) as statements:
            response = client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        counts.append(len(statements))
    return counts


def test_timeline_reports_statement_count_is_fixed(app, admin, viewer):
    add_timelines(admin, first=1, count=2)
    small = timeline_statements(app, viewer)
    add_timelines(admin, first=3, count=4)
    large = timeline_statements(app, viewer)

    points = viewer.get("/api/v1/reports/trends", params=TIMELINE_REPORTS[1][1]).json()["points"]
    assert len(points) == 24
    assert points[-1]["by_stage"]["experiment"] == 6  # three times the first two units
    assert large == small
    # 4 points or 24: the same statements.
    assert small[0] == small[1], small
    # Authentication and the data revision, then two statements for trends and six for
    # flow (plus BEGIN/COMMIT on SQLite).
    assert max(small) <= 12, small


def make_chain(admin: Any, unit_id: int, links: int, top: int | None = None) -> list[int]:
    """`links` projects each adopted from the one before (from `top`, or from a new one)."""
    ids = [top or create_project(admin, unit_id, title="Top")["id"]]
    for _ in range(links):
        ids.append(create_project(admin, unit_id, novelty="adapted", adopted_from=ids[-1])["id"])
    return ids


def test_lineage_statements_do_not_grow_with_the_chain(app, admin, make_client, backend):
    unit = create_unit(admin, "LINE")
    submitter = make_client("submitter", unit_id=unit["id"])
    chain = make_chain(admin, unit["id"], 3)
    middle = chain[2]

    def count(client: Any) -> int:
        with counting_statements(app.state.engine) as statements:
            response = client.get(f"/api/v1/projects/{middle}/lineage")
        assert response.status_code == 200, response.text
        return len(statements)

    small = (count(admin), count(submitter))
    # Three times the links above and below the middle project, and a second branch.
    make_chain(admin, unit["id"], 6, top=chain[-1])
    make_chain(admin, unit["id"], 9, top=middle)
    large = (count(admin), count(submitter))

    body = admin.get(f"/api/v1/projects/{middle}/lineage").json()
    # Above: chain[1], chain[0]; below: chain[3] + its 6, and the new branch of 9.
    assert [item["depth"] for item in body["ancestors"]] == [1, 2]
    assert len(body["descendants"]) == 1 + 6 + 9
    assert max(item["depth"] for item in body["descendants"]) == 9
    assert large == small
    if backend == "postgresql":
        # One statement checks the key and answers (app.projects.service.lineage_json).
        assert small == (1, 1), small
    else:
        # The key, the project, one recursive query each way (plus BEGIN/COMMIT).
        assert max(small) <= 6, small
