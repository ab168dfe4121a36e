"""Builders shared by the test modules: arrange through the API, with defaults a test
overrides. Imported one way: `from tests.builders import create_unit`."""

import functools
import os
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app.api_keys import service as api_key_service
from app.api_keys.models import ApiKeyCreate
from app.auth.models import Role
from app.core.config import Settings
from app.core.db import create_db_engine
from app.reports.summary_families import FAMILIES

# The PostgreSQL server under test; None runs the suite on SQLite.
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
# Every table, children first: what a fresh test database empties.
TABLES = (
    "history",
    "idempotency_keys",
    "measurements",
    "criteria",
    "determinant_tags",
    "experiments",
    "project_periods",
    "projects",
    "api_keys",
    "unit_commitments",
    "units",
    # Then every family's summary tables (`FAMILIES`, the one list of them).
    *(table.name for family in FAMILIES for table in family.tables),
)


@functools.cache
def _reset_statement(database_url: str) -> str:
    """Deletes every row with the triggers off (the replica role skips them, foreign keys
    included) and restarts the sequences. Not TRUNCATE: it gives each of the tables and
    their indexes new files, synced at commit, which took 0.3-0.8 s a test."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        sequences = connection.execute(
            text(
                "SELECT pg_get_serial_sequence(t, a.attname) FROM unnest(CAST(:tables AS text[])) t"
                " JOIN pg_attribute a ON a.attrelid = CAST(t AS regclass) AND a.attnum > 0"
                " WHERE pg_get_serial_sequence(t, a.attname) IS NOT NULL"
            ),
            {"tables": list(TABLES)},
        ).scalars()
        restarts = [f"ALTER SEQUENCE {sequence} RESTART" for sequence in sequences]
    engine.dispose()
    deletes = [f"DELETE FROM {table}" for table in TABLES]
    return "; ".join(["SET LOCAL session_replication_role = replica", *deletes, *restarts])


def empty_database(database_url: str) -> None:
    """A PostgreSQL test database as the migrations left it (SQLite copies a file instead)."""
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(_reset_statement(database_url))
    engine.dispose()


def settings_for(database_url: str, **overrides: Any) -> Settings:
    """A test app's settings: a small pool (two xdist workers share the server), then what
    the test sets: `settings_for(database_url, public_register=True)`."""
    return Settings(database_url=database_url, db_pool_size=5, db_max_overflow=5, **overrides)


def bootstrap_key(
    settings: Settings, role: Role = Role.admin, name: str = "bootstrap", unit_id: int | None = None
) -> str:
    """What `portfolio create-key` does: the only way to get a first key."""
    engine = create_db_engine(settings)
    with Session(engine, expire_on_commit=False) as session:
        _, secret = api_key_service.create(
            session=session, key_in=ApiKeyCreate(name=name, role=role, unit_id=unit_id)
        )
    engine.dispose()
    return secret


def client_with(app: Any, secret: str | None) -> TestClient:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return TestClient(app, headers=headers, raise_server_exceptions=False)


def create_unit(
    client: TestClient,
    code: str,
    kind: str = "business_line",
    parent_id: int | None = None,
    **fields: Any,
) -> dict[str, Any]:
    body = {
        "code": code,
        "name": fields.pop("name", f"Unit {code}"),
        "kind": kind,
        "parent_id": parent_id,
        **fields,
    }
    response = client.post("/api/v1/units", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def create_project(client: TestClient, unit_id: int, **fields: Any) -> dict[str, Any]:
    body = {
        "title": "A project",
        "unit_id": unit_id,
        "sponsor_level": "individual",
        "work_mode": "side_of_desk",
        **fields,
    }
    response = client.post("/api/v1/projects", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def create_experiment(client: TestClient, project_id: int, **fields: Any) -> dict[str, Any]:
    body = {
        "project_id": project_id,
        "title": "An experiment",
        "hypothesis": "It helps",
        "method": "pilot",
        **fields,
    }
    response = client.post("/api/v1/experiments", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def create_criterion(
    client: TestClient, owner: str, owner_id: int, **fields: Any
) -> dict[str, Any]:
    body = {
        "metric": "Minutes to file",
        "kind": "outcome",
        "baseline": 10,
        "target": 20,
        "direction": "increase",
        **fields,
    }
    response = client.post(f"/api/v1/{owner}/{owner_id}/criteria", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def problem_fields(response: Any) -> list[str]:
    assert response.headers["content-type"].startswith("application/problem+json")
    return [e["field"] for e in response.json().get("errors", [])]


def item_ids(response: Any) -> list[int]:
    """The ids on one list page, in the order the API returned them."""
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def count(database_url: str, table: str) -> int:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        total = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return int(total)


def enabled_trigger_names(database_url: str) -> set[str]:
    """The names of the user triggers that fire (PostgreSQL: enabled; SQLite: all)."""
    if make_url(database_url).get_backend_name() == "postgresql":
        query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'O'"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    engine = create_engine(database_url)
    with engine.connect() as connection:
        names = set(connection.execute(text(query)).scalars())
    engine.dispose()
    return names


def run_summaries_rebuild(database_url: str, monkeypatch: Any) -> Any:
    """`portfolio summaries rebuild` against this database, as an operator runs it."""
    from typer.testing import CliRunner

    from app.cli.main import cli
    from app.core.config import get_settings

    monkeypatch.setenv("PORTFOLIO_DATABASE_URL", database_url)
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["summaries", "rebuild"])
    get_settings.cache_clear()
    return result


def assert_rebuild_command_repairs(
    database_url: str, monkeypatch: Any, kept_and_rebuilt: Any, tampering: list[str]
) -> None:
    """Damages the kept summaries with ``tampering`` (SQL), runs `portfolio summaries
    rebuild`, and expects them back as they were. ``kept_and_rebuilt(url)`` returns the
    summaries as kept and as computed from scratch."""
    before, _ = kept_and_rebuilt(database_url)
    engine = create_engine(database_url)
    with engine.begin() as connection:
        for statement in tampering:
            connection.execute(text(statement))
    engine.dispose()
    assert kept_and_rebuilt(database_url)[0] != before

    result = run_summaries_rebuild(database_url, monkeypatch)

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "report summaries rebuilt"
    kept, rebuilt = kept_and_rebuilt(database_url)
    assert kept == rebuilt == before


@dataclass
class PortfolioModel:
    """What a property test created through the API, as plain data: the units, projects
    and experiments a report's independent computation in the test reads."""

    units: dict[int, dict[str, Any]] = field(default_factory=dict)
    projects: dict[int, dict[str, Any]] = field(default_factory=dict)
    experiments: dict[int, dict[str, Any]] = field(default_factory=dict)

    def subtree(self, root: int | None) -> set[int]:
        """The unit ids at and below ``root`` (every unit for the whole organization)."""
        if root is None:
            return set(self.units)
        inside = {root}
        while True:
            more = {u for u, unit in self.units.items() if unit["parent_id"] in inside} - inside
            if not more:
                return inside
            inside |= more
