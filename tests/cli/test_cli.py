"""The `portfolio` command: migrate, create-key and openapi, run as a user would."""

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from typer.testing import CliRunner

from app.cli.main import cli
from app.core.config import get_settings
from app.core.migrations import head_revision, is_at_head
from tests.builders import client_with

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"


@pytest.fixture
def run(monkeypatch):
    """Invoke `portfolio ...` with DATABASE_URL pointing where a test says."""

    def invoke(*args, database_url):
        monkeypatch.setenv("DATABASE_URL", database_url)
        monkeypatch.delenv("PORTFOLIO_DATABASE_URL", raising=False)
        get_settings.cache_clear()  # settings are read once per process
        try:
            return CliRunner().invoke(cli, list(args))
        finally:
            get_settings.cache_clear()

    return invoke


def test_migrate_brings_an_empty_database_to_head(run, tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = run("migrate", database_url=url)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "database is at the latest migration"
    engine = create_engine(url)
    assert is_at_head(engine)
    assert head_revision() is not None
    with engine.connect() as connection:
        assert {"units", "projects", "experiments", "criteria", "api_keys"} <= set(
            inspect(connection).get_table_names()
        )
    engine.dispose()
    # Running it again is harmless.
    assert run("migrate", database_url=url).exit_code == 0


def test_create_key_prints_a_working_key_alone_on_the_last_line(run, database_url, app):
    result = run("create-key", "--role", "admin", "--name", "ops laptop", database_url=database_url)
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("pf_") and " " not in secret
    admin = client_with(app, secret)
    created = admin.post("/api/v1/units", json={"code": "TAX", "name": "Tax", "kind": "corporate"})
    assert created.status_code == 201
    keys = admin.get("/api/v1/api-keys").json()["items"]
    assert [(k["name"], k["role"]) for k in keys] == [("ops laptop", "admin")]


def test_create_key_for_a_submitter_needs_a_unit(run, database_url, app):
    result = run("create-key", "--role", "submitter", "--name", "intake", database_url=database_url)
    assert result.exit_code == 2
    assert "unit_id" in result.stderr
    bad_role = run("create-key", "--role", "owner", "--name", "x", database_url=database_url)
    assert bad_role.exit_code == 2


def test_openapi_writes_the_spec_the_app_serves(run, tmp_path, anon):
    target = tmp_path / "spec.json"
    result = run("openapi", "--output", str(target), database_url="sqlite://")
    assert result.exit_code == 0, result.output
    written = json.loads(target.read_text())
    assert written == anon.get("/openapi.json").json()
    assert written == json.loads(SPEC.read_text())
    assert written["info"]["title"] == "Innovation portfolio API"
