"""Migration 0005: projects that exist before timelines get one period from their
`created_at` date (UTC) with their current values, and that date as `stage_since`.
Migration 0013: existing periods get their run columns."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import make_url

from app.core.config import Settings
from app.core.db import UTCDateTime
from app.core.migrations import alembic_config, upgrade
from app.main import create_app
from tests.builders import POSTGRES_URL, bootstrap_key, client_with

UNITS = sa.table(
    "units",
    *(sa.column(name) for name in ("id", "code", "name", "kind", "parent_id", "version")),
    sa.column("archived", sa.Boolean()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
PROJECTS = sa.table(
    "projects",
    *(
        sa.column(name)
        for name in ("id", "title", "unit_id", "sponsor_level", "work_mode", "stage", "version")
    ),
    sa.column("archived", sa.Boolean()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)


@pytest.fixture
def database_at_0004(migrated_template: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own, migrated to the revision before timelines."""
    if POSTGRES_URL:
        # Named after this worker's template: two workers never share it.
        name = f"{make_url(migrated_template).database}_migration"
        server = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with server.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp_path / 'at_0004.db'}"
    upgrade(url, "0004_bench")
    yield url
    if POSTGRES_URL:
        with server.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


@contextmanager
def admin_at_head(url: str) -> Iterator[Any]:
    """The database migrated to head, and an admin client of an app on it."""
    upgrade(url)
    settings = Settings(database_url=url, db_pool_size=2, db_max_overflow=0)
    app = create_app(settings)
    try:
        yield client_with(app, bootstrap_key(settings))
    finally:
        app.state.engine.dispose()


def test_existing_projects_get_one_period_from_their_creation_date(database_at_0004):
    engine = sa.create_engine(database_at_0004)
    stamp = datetime(2025, 1, 1, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(UNITS),
            [
                {"id": 1, "code": "TAX", "name": "Tax", "kind": "business_line",
                 "parent_id": None, "version": 1, "archived": False,
                 "created_at": stamp, "updated_at": stamp},
            ],
        )  # fmt: skip
        connection.execute(
            sa.insert(PROJECTS),
            [
                {"id": 1, "title": "Late in the day", "unit_id": 1,
                 "sponsor_level": "organizational", "work_mode": "dedicated",
                 "stage": "experiment", "version": 4, "archived": False,
                 # 23:59:59 UTC is still 30 June in UTC, whatever the server's time zone.
                 "created_at": datetime(2025, 6, 30, 23, 59, 59, tzinfo=UTC),
                 "updated_at": datetime(2025, 9, 1, tzinfo=UTC)},
                {"id": 2, "title": "Archived", "unit_id": 1,
                 "sponsor_level": "individual", "work_mode": "side_of_desk",
                 "stage": "idea", "version": 2, "archived": True,
                 "created_at": datetime(2024, 2, 29, 8, 0, tzinfo=UTC),
                 "updated_at": datetime(2024, 3, 1, tzinfo=UTC)},
            ],
        )  # fmt: skip
    engine.dispose()

    with admin_at_head(database_at_0004) as admin:
        late = admin.get("/api/v1/projects/1").json()
        assert (late["stage"], late["stage_since"], late["version"]) == (
            "experiment",
            "2025-06-30",
            4,  # the migration changes no project's version
        )
        assert admin.get("/api/v1/projects/1/timeline").json() == {
            "project_id": 1,
            "periods": [
                {
                    "from": "2025-06-30",
                    "to": None,
                    "stage": "experiment",
                    "work_mode": "dedicated",
                    "sponsor_level": "organizational",
                    "unit_id": 1,
                }
            ],
        }
        archived = admin.get("/api/v1/projects/2/timeline").json()["periods"]
        assert archived == [
            {
                "from": "2024-02-29",
                "to": None,
                "stage": "idea",
                "work_mode": "side_of_desk",
                "sponsor_level": "individual",
                "unit_id": 1,
            }
        ]
        # A change after the migration continues the backfilled timeline.
        response = admin.patch(
            "/api/v1/projects/1", json={"stage": "scaling", "effective_on": "2025-07-01"}
        )
        assert response.json()["stage_since"] == "2025-07-01"
        periods = admin.get("/api/v1/projects/1/timeline").json()["periods"]
        assert [(p["from"], p["to"], p["stage"]) for p in periods] == [
            ("2025-06-30", "2025-07-01", "experiment"),
            ("2025-07-01", None, "scaling"),
        ]


def test_the_migration_goes_down_and_up_again_with_data(database_at_0004):
    with admin_at_head(database_at_0004) as admin:
        unit = admin.post("/api/v1/units", json={"code": "A", "name": "A", "kind": "corporate"})
        body = {"title": "P", "unit_id": unit.json()["id"], "sponsor_level": "system"}
        project = admin.post("/api/v1/projects", json={**body, "work_mode": "dedicated"}).json()
        experiment = {"project_id": project["id"], "title": "E", "hypothesis": "H", "method": "rct"}
        assert admin.post("/api/v1/experiments", json=experiment).status_code == 201

    # Children point at `projects`: the downgrade must not rebuild that table.
    command.downgrade(alembic_config(database_at_0004), "0004_bench")
    upgrade(database_at_0004)

    engine = sa.create_engine(database_at_0004)
    with engine.connect() as connection:
        periods = connection.execute(
            sa.text("SELECT project_id, valid_to, work_mode FROM project_periods")
        ).all()
    engine.dispose()
    assert [tuple(row) for row in periods] == [(project["id"], None, "dedicated")]


def test_migration_0013_fills_the_run_columns_of_existing_periods(database_at_0004):
    """The application sets each period's run columns as it writes it; migration 0013
    computes the same from the periods alone (down to 0012 drops them, up fills them)."""
    with admin_at_head(database_at_0004) as admin:
        unit = admin.post("/api/v1/units", json={"code": "A", "name": "A", "kind": "corporate"})
        body = {
            "title": "P",
            "unit_id": unit.json()["id"],
            "sponsor_level": "system",
            "work_mode": "dedicated",
            "stage": "idea",
            "effective_on": "2025-01-01",
        }
        project = admin.post("/api/v1/projects", json=body).json()["id"]
        for change in (
            {"stage": "exploration", "effective_on": "2025-03-01"},
            {"work_mode": "side_of_desk", "effective_on": "2025-05-01"},  # same stage
            {"stage": "experiment", "effective_on": "2025-08-01"},
        ):
            assert admin.patch(f"/api/v1/projects/{project}", json=change).status_code == 200

    def runs() -> list[tuple[str, ...]]:
        engine = sa.create_engine(database_at_0004)
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT valid_from, prev_stage, stage_since, prev_stage_since "
                    "FROM project_periods ORDER BY valid_from"
                )
            ).all()
        engine.dispose()
        return [tuple(None if v is None else str(v) for v in row) for row in rows]

    expected = [
        ("2025-01-01", None, "2025-01-01", None),
        ("2025-03-01", "idea", "2025-03-01", "2025-01-01"),
        ("2025-05-01", "exploration", "2025-03-01", "2025-03-01"),
        ("2025-08-01", "exploration", "2025-08-01", "2025-03-01"),
    ]
    assert runs() == expected
    command.downgrade(alembic_config(database_at_0004), "0012_timeline_summaries")
    upgrade(database_at_0004)
    assert runs() == expected
