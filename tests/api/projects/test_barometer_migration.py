"""Migration 0007_barometer on a database with projects: embedded ones get `embedded_on`
(the date of their last change), the rest stay null; the downgrade removes the columns."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app.core.migrations import alembic_config, upgrade
from tests.builders import POSTGRES_URL


@pytest.fixture
def empty_database(migrated_template: str, tmp_path: Path) -> Iterator[str]:
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    name = f"{make_url(migrated_template).database}_migration"
    server = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


def test_upgrade_backfills_embedded_on_and_downgrade_drops_the_columns(empty_database):
    upgrade(empty_database, "0004_bench")
    engine = create_engine(empty_database)
    project = (
        "INSERT INTO projects (id, title, unit_id, sponsor_level, work_mode, stage, created_at, "
        "updated_at, version, archived) VALUES (:id, 'P', 1, 'individual', 'dedicated', :stage, "
        "'2025-01-02 08:00:00', :updated, 1, false)"
    )
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO units (id, code, name, kind, created_at, updated_at, version, "
                "archived) VALUES (1, 'U', 'U', 'business_line', '2025-01-01 00:00:00', "
                "'2025-01-01 00:00:00', 1, false)"
            )
        )
        # Changed last at 23:30 UTC on 3 May: embedded_on is that UTC date.
        connection.execute(
            text(project), {"id": 1, "stage": "embedded", "updated": "2025-05-03 23:30:00"}
        )
        connection.execute(
            text(project), {"id": 2, "stage": "scaling", "updated": "2025-06-01 10:00:00"}
        )

    upgrade(empty_database)

    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT id, embedded_on, innovation_types_mask, collaborators_mask, "
                "value_types_mask, novelty FROM projects ORDER BY id"
            )
        ).all()
    assert [(r[0], str(r[1]) if r[1] else None, r[2], r[3], r[4], r[5]) for r in rows] == [
        (1, "2025-05-03", 0, 0, 0, None),
        (2, None, 0, 0, 0, None),
    ]
    command.downgrade(alembic_config(empty_database), "0004_bench")
    columns = {column["name"] for column in inspect(engine).get_columns("projects")}
    assert not columns & {"novelty", "adopted_from", "embedded_on", "value_types_mask"}
    engine.dispose()
