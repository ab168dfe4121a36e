"""Test fixtures: a fresh database per test (SQLite, or PostgreSQL when
TEST_DATABASE_URL is set) and an HTTP client per role.

The schema is built once per worker with `alembic upgrade head` (the same path as
production); each test then gets an empty copy: a copied SQLite file, or PostgreSQL
tables truncated before the test.
"""

import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.core.config import Settings
from app.core.migrations import upgrade
from app.main import create_app
from tests.builders import POSTGRES_URL, bootstrap_key, client_with, empty_database, settings_for

# The suite sends hundreds of requests a second with one key, and without a key for the
# access matrix: rate limits are off unless a test turns them on (tests/api/
# test_rate_limits.py, the load test with the production defaults) or the environment does.
os.environ.setdefault("PORTFOLIO_RATE_LIMIT_PER_SECOND", "0")
os.environ.setdefault("PORTFOLIO_ANONYMOUS_RATE_LIMIT_PER_SECOND", "0")


def _database_name() -> str:
    """Unique per checkout and xdist worker, so parallel runs never share a database."""
    checkout = hashlib.sha1(str(Path(__file__).resolve()).encode()).hexdigest()[:8]
    return f"portfolio_test_{checkout}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


@pytest.fixture(scope="session")
def backend() -> str:
    return "postgresql" if POSTGRES_URL else "sqlite"


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database at head for this worker: a SQLite file to copy, or a PostgreSQL URL."""
    if POSTGRES_URL:
        admin_url = make_url(POSTGRES_URL)
        name = _database_name()
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
            # No test crashes the database server, so a commit need not wait for its WAL
            # to reach the disk: 1-2 ms a commit instead of 8-10 on a busy machine, and
            # every API write commits.
            connection.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        admin.dispose()
        url = admin_url.set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        return url
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return str(path)


@pytest.fixture
def database_url(migrated_template: str, tmp_path: Path) -> str:
    if POSTGRES_URL:
        empty_database(migrated_template)
        return migrated_template
    path = tmp_path / "test.db"
    shutil.copyfile(migrated_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return settings_for(database_url)


@pytest.fixture
def app(settings: Settings) -> Iterator[Any]:
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def anon(app: Any) -> TestClient:
    return client_with(app, None)


@pytest.fixture
def admin(app: Any, settings: Settings) -> TestClient:
    return client_with(app, bootstrap_key(settings))


@pytest.fixture
def make_client(app: Any, admin: TestClient) -> Callable[..., TestClient]:
    """A client for a key created through the API: make_client("submitter", unit_id=3)."""

    def make(role: str, unit_id: int | None = None, name: str | None = None) -> TestClient:
        body = {"name": name or f"{role} key", "role": role, "unit_id": unit_id}
        response = admin.post("/api/v1/api-keys", json=body)
        assert response.status_code == 201, response.text
        return client_with(app, response.json()["key"])

    return make


@pytest.fixture
def manager(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client("manager")


@pytest.fixture
def viewer(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client("viewer")
