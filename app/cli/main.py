"""The `portfolio` command."""

import json
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from app.api_keys import service as api_key_service
from app.api_keys.models import ApiKeyCreate
from app.auth.models import Role, command_line_actor
from app.core.config import Settings, get_settings
from app.core.errors import InvalidField
from app.reports.schemas import ReportName

cli = typer.Typer(
    help="Innovation portfolio service.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

OPENAPI_PATH = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"


@cli.command()
def migrate() -> None:
    """Upgrade the database named by DATABASE_URL to the latest migration."""
    from app.core.migrations import upgrade

    upgrade(get_settings().database_url)
    typer.echo("database is at the latest migration")


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: PORTFOLIO_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="Default: PORTFOLIO_PORT")] = None,
    workers: Annotated[int | None, typer.Option(help="Default: PORTFOLIO_WORKERS")] = None,
    run_migrations: Annotated[
        bool,
        typer.Option(
            "--migrate/--no-migrate",
            help="Migrate first (off in the compose stack, where a one-shot service does it).",
        ),
    ] = True,
    bootstrap_admin: Annotated[
        bool, typer.Option(help="If the database has no active admin key, create one and print it.")
    ] = False,
    demo_data: Annotated[
        bool,
        typer.Option(help="Fill an empty database (no units) with the demo portfolio."),
    ] = False,
) -> None:
    """Migrate, then serve the API."""
    import uvicorn

    from app.ops.observability import logging_config

    settings = get_settings()
    if run_migrations:
        migrate()
    if bootstrap_admin:
        _bootstrap_admin()
    if demo_data:
        _fill_demo_data(only_if_empty=True)
    worker_count = workers or settings.workers
    created_metrics_dir = _prepare_metrics_dir(settings) if worker_count > 1 else None
    try:
        uvicorn.run(
            "app.main:app",
            host=host or settings.host,
            port=port or settings.port,
            workers=worker_count,
            log_config=logging_config(settings),
            log_level=settings.log_level.lower(),
            access_log=False,
            proxy_headers=True,
            forwarded_allow_ips=settings.forwarded_allow_ips,
            timeout_worker_healthcheck=settings.worker_healthcheck_timeout_seconds,
        )
    finally:
        if created_metrics_dir is not None:
            shutil.rmtree(created_metrics_dir, ignore_errors=True)


def _prepare_metrics_dir(settings: Settings) -> Path | None:
    """Point prometheus_client's multi-process mode at an empty directory before the
    workers start; returns the directory if we created it (and so remove it at exit)."""
    from app.ops.observability import MULTIPROC_ENV

    configured = settings.metrics_dir or os.environ.get(MULTIPROC_ENV)
    if configured:
        directory = Path(configured)
        directory.mkdir(parents=True, exist_ok=True)
        # Files left by an earlier run would be added to this run's counts.
        for stale in directory.glob("*.db"):
            stale.unlink()
        created = None
    else:
        directory = created = Path(tempfile.mkdtemp(prefix="portfolio-metrics-"))
    os.environ[MULTIPROC_ENV] = str(directory)
    return created


@cli.command()
def healthcheck(
    url: Annotated[
        str | None, typer.Option(help="Default: http://127.0.0.1:PORTFOLIO_PORT/healthz")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds")] = 3.0,
) -> None:
    """Exit 0 when the server answers /healthz (the container's HEALTHCHECK; no curl needed)."""
    import urllib.error
    import urllib.request

    target = url or f"http://127.0.0.1:{get_settings().port}/healthz"
    try:
        with urllib.request.urlopen(target, timeout=timeout) as response:
            healthy = response.status == 200
    except (urllib.error.URLError, OSError) as exc:
        typer.echo(f"unhealthy: {exc}", err=True)
        raise typer.Exit(1) from None
    if not healthy:
        raise typer.Exit(1)
    typer.echo("healthy")


@cli.command("demo-data")
def demo_data() -> None:
    """Fill an empty database with a demonstration portfolio (refuses a database with data)."""
    _fill_demo_data(only_if_empty=False)


def _fill_demo_data(*, only_if_empty: bool) -> None:
    from app.cli import demo
    from app.core.db import create_db_engine

    engine = create_db_engine(get_settings())
    try:
        if not demo.is_empty(engine):
            if only_if_empty:
                typer.echo("the database has data; no demo portfolio added")
                return
            typer.echo(
                "error: the database already has units; demo-data only fills an empty "
                "database (point DATABASE_URL at a new one)",
                err=True,
            )
            raise typer.Exit(1)
        summary = demo.fill(engine=engine, actor=command_line_actor("portfolio demo-data"))
    finally:
        engine.dispose()
    typer.echo(
        f"demo portfolio added: {summary.units} units, {summary.projects} projects, "
        f"{summary.experiments} experiments, {summary.criteria} criteria, "
        f"{summary.measurements} measurements"
    )


import_cli = typer.Typer(help="Load records from a file.", no_args_is_help=True)
cli.add_typer(import_cli, name="import")

# Files shorter than this import too fast for a progress bar to help.
PROGRESS_BAR_MIN_ROWS = 200


@import_cli.command("experiments")
def import_experiments(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    file_format: Annotated[
        str | None,
        typer.Option(
            "--format", help="csv or jsonl; default: from the file name (.csv, else jsonl)"
        ),
    ] = None,
) -> None:
    """Import experiments from CSV or JSON lines: all rows, or none if any row is bad."""
    from rich.console import Console
    from rich.progress import Progress

    from app.cli import importer
    from app.core.db import create_db_engine

    chosen = (file_format or importer.detect_format(file)).lower()
    if chosen not in importer.FORMATS:
        typer.echo(f"error: --format must be one of {', '.join(importer.FORMATS)}", err=True)
        raise typer.Exit(2)
    engine = create_db_engine(get_settings())
    console = Console(stderr=True)
    try:
        rows = importer.read_rows(file, chosen)
        with Progress(
            console=console, transient=True, disable=len(rows) < PROGRESS_BAR_MIN_ROWS
        ) as progress:
            task = progress.add_task(f"importing {file.name}", total=len(rows))
            count = importer.import_experiments(
                engine=engine,
                actor=command_line_actor(f"portfolio import {file.name}"[:100]),
                rows=rows,
                advance=lambda: progress.advance(task),
            )
    except importer.ImportFailed as failed:
        typer.echo(f"{file}: nothing imported; {len(failed.errors)} error(s):", err=True)
        for error in failed.errors:
            typer.echo(f"  row {error.row}: {error.field}: {error.reason}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(f"imported {count} experiments from {file}")


@cli.command("create-key")
def create_key(
    role: Annotated[Role, typer.Option(help="admin, manager, submitter or viewer")],
    name: Annotated[str, typer.Option(help="Who or what uses the key")],
    unit_id: Annotated[int | None, typer.Option(help="Required for submitter")] = None,
) -> None:
    """Create an API key; the key alone is printed on the last line."""
    from app.core.db import create_db_engine
    from app.core.errors import DomainError

    engine = create_db_engine(get_settings())
    with Session(engine, expire_on_commit=False) as session:
        try:
            key, secret = api_key_service.create(
                session=session, key_in=ApiKeyCreate(name=name, role=role, unit_id=unit_id)
            )
        except DomainError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(2) from None
    typer.echo(
        f"created {key.role.value} key {key.id} ({key.name}); store it now, it is not shown again:"
    )
    typer.echo(secret)


def _bootstrap_admin() -> None:
    from app.core.db import create_db_engine

    engine = create_db_engine(get_settings())
    with Session(engine, expire_on_commit=False) as session:
        if api_key_service.has_active_admin(session=session):
            typer.echo("an admin key exists; create more with `portfolio create-key`")
            return
        key, secret = api_key_service.create(
            session=session, key_in=ApiKeyCreate(name="first admin", role=Role.admin)
        )
    engine.dispose()
    typer.echo(
        f"first run: created admin key {key.id}. Use it as "
        f"`Authorization: Bearer {secret}` (shown only this once)"
    )


@cli.command()
def openapi(
    output: Annotated[Path, typer.Option(help="Where to write the spec")] = OPENAPI_PATH,
) -> None:
    """Write the OpenAPI spec (the contract for client generators)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_openapi())
    typer.echo(f"wrote {output}")


@cli.command()
def report(
    name: Annotated[ReportName, typer.Argument(help="Which report")],
    unit: Annotated[
        str | None, typer.Option(help="A unit's code: restrict the report to its subtree")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON instead")] = False,
    from_date: Annotated[
        datetime | None,
        typer.Option("--from", formats=["%Y-%m-%d"], help="barometer: first day of the window"),
    ] = None,
    to_date: Annotated[
        datetime | None,
        typer.Option("--to", formats=["%Y-%m-%d"], help="barometer: last day of the window"),
    ] = None,
) -> None:
    """Print a report, computed by the same queries as GET /api/v1/reports/{name}."""
    from app.core.db import create_db_engine, today
    from app.reports import queries, render, service

    settings = get_settings()
    engine = create_db_engine(settings)
    with Session(engine, expire_on_commit=False) as session:
        root_id = None
        if unit is not None:
            root_id = queries.unit_id_by_code(session=session, code=unit)
            if root_id is None:
                typer.echo(f"error: no unit with code {unit!r}", err=True)
                raise typer.Exit(2)
        try:
            result = service.build(
                name,
                session=session,
                settings=settings,
                root_id=root_id,
                today=today(),
                from_date=from_date.date() if from_date else None,
                to_date=to_date.date() if to_date else None,
            )
        except InvalidField as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(2) from None
    engine.dispose()
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        render.print_report(result)


def render_openapi() -> str:
    from app.core.config import Settings
    from app.main import create_app

    spec = create_app(Settings(database_url="sqlite://")).openapi()
    return json.dumps(spec, indent=2, sort_keys=False) + "\n"


def main() -> None:
    cli()
