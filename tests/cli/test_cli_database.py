"""The `portfolio` command before the database exists: one line saying which database it
tried and what to run, exit code 2, and nothing created."""

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from app.cli.main import cli
from app.core.config import get_settings

Run = Callable[..., Result]

FIX = "run `portfolio migrate`, or set PORTFOLIO_DATABASE_URL to the database to use"


@pytest.fixture
def in_empty_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working directory, no database setting: the default ./portfolio.db applies."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PORTFOLIO_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return tmp_path


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Run:
    def invoke(*args: str, database_url: str | None = None) -> Result:
        if database_url is not None:
            monkeypatch.setenv("PORTFOLIO_DATABASE_URL", database_url)
        get_settings.cache_clear()  # settings are read once per process
        try:
            return CliRunner().invoke(cli, list(args))
        finally:
            get_settings.cache_clear()

    return invoke


COMMANDS = [
    ("report", "spread"),
    ("report", "determinants", "--json"),
    ("import", "experiments", "rows.csv"),
    ("create-key", "--role", "admin", "--name", "ops"),
    ("demo-data",),
    ("serve", "--no-migrate"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_every_command_needing_the_database_says_what_to_run_and_creates_nothing(
    in_empty_directory: Path, run: Run, command: tuple[str, ...]
):
    (in_empty_directory / "rows.csv").write_text("project_id,title,hypothesis,method\n")

    result = run(*command)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (f"error: database sqlite:///./portfolio.db does not exist; {FIX}\n")
    assert sorted(p.name for p in in_empty_directory.iterdir()) == ["rows.csv"]


def test_a_database_that_is_not_migrated_is_named_too(in_empty_directory: Path, run: Run):
    sqlite3.connect(in_empty_directory / "old.db").close()  # an empty file, no tables
    url = f"sqlite:///{in_empty_directory / 'old.db'}"

    result = run("report", "spread", database_url=url)

    assert result.exit_code == 2
    assert result.stderr == f"error: database {url} is not at the latest migration; {FIX}\n"
    assert run("migrate", database_url=url).exit_code == 0
    assert run("report", "spread", database_url=url).exit_code == 0


def test_an_unreachable_server_is_named_without_its_password(in_empty_directory: Path, run: Run):
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    url = "postgresql+psycopg://reporter:s3cret@127.0.0.1:1/portfolio"

    result = run("create-key", "--role", "admin", "--name", "ops", database_url=url)

    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(
        "error: cannot open database postgresql+psycopg://reporter:***@127.0.0.1:1/portfolio ("
    )
    assert line.endswith(f"); {FIX}")
    assert "s3cret" not in result.stderr


def test_help_names_the_database_setting(run: Run):
    result = run("--help")

    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "The database is PORTFOLIO_DATABASE_URL (or DATABASE_URL)" in text
    assert "sqlite:///./portfolio.db" in text
