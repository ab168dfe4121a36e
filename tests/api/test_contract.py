"""The committed OpenAPI spec and the migrations agree with the code."""

import json
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlmodel import SQLModel

import app.models  # noqa: F401
from app.cli.main import render_openapi
from app.core.migrations import head_revision

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"


def test_committed_openapi_matches_the_app():
    assert SPEC.exists(), "run `portfolio openapi`"
    assert json.loads(SPEC.read_text()) == json.loads(render_openapi()), (
        "openapi/openapi.json is stale: run `portfolio openapi` and commit it")


def test_served_spec_is_the_committed_one(anon):
    assert anon.get("/openapi.json").json() == json.loads(SPEC.read_text())


def test_migrations_reach_head_and_match_the_models(database_url):
    engine = create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert context.get_current_revision() == head_revision()
        assert compare_metadata(context, SQLModel.metadata) == []
        tables = set(inspect(connection).get_table_names())
    engine.dispose()
    assert {"units", "projects", "experiments", "criteria", "measurements", "api_keys",
            "determinant_tags", "history", "idempotency_keys"} <= tables


def test_readyz_reports_a_migrated_database(anon):
    assert anon.get("/readyz").json() == {"status": "ok"}
    assert anon.get("/healthz").json() == {"status": "ok"}
