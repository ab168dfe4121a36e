"""The `portfolio` command."""

import json
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlmodel import Session

from app.api_keys import service as api_key_service
from app.api_keys.models import ApiKeyCreate
from app.auth.models import Role, command_line_actor
from app.core.config import Settings, get_settings
from app.reports.schemas import ReportName
from app.reports.window import Interval

cli = typer.Typer(
    help="Innovation portfolio service. The database is PORTFOLIO_DATABASE_URL (or "
    "DATABASE_URL), by default sqlite:///./portfolio.db in the current directory; "
    "create or upgrade it with `portfolio migrate`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

OPENAPI_PATH = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
# Exit code of a command that cannot run as invoked (usage errors are 2 in click too).
CANNOT_RUN = 2
# Report tables written to a pipe or file are not cut to a terminal's width.
PIPE_WIDTH = 10_000


def open_database(settings: Settings | None = None) -> Engine:
    """The engine of an existing, migrated database; otherwise exit 2 with one line naming
    the database and what to run, having created nothing (SQLite would create the file)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from app.core.db import create_db_engine, is_sqlite
    from app.core.migrations import is_at_head

    settings = settings or get_settings()
    url = make_url(settings.database_url)
    shown = url.render_as_string(hide_password=True)
    fix = "run `portfolio migrate`, or set PORTFOLIO_DATABASE_URL to the database to use"
    on_disk = is_sqlite(settings.database_url) and url.database not in (None, "", ":memory:")
    if on_disk and not Path(str(url.database)).exists():
        _cannot_run(f"database {shown} does not exist; {fix}")
    engine = create_db_engine(settings)
    try:
        migrated = is_at_head(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        _cannot_run(f"cannot open database {shown} ({reason}); {fix}")
    if not migrated:
        engine.dispose()
        _cannot_run(f"database {shown} is not at the latest migration; {fix}")
    return engine


def _cannot_run(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(CANNOT_RUN)


def report_console() -> Console:
    console = Console()
    if not console.is_terminal:
        console.width = PIPE_WIDTH
    return console


@cli.command()
def migrate() -> None:
    """Create or upgrade the database (PORTFOLIO_DATABASE_URL) to the latest migration."""
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
    from app.ops.server import uvicorn_options

    settings = get_settings()
    if run_migrations:
        migrate()
    else:
        open_database(settings).dispose()
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
            **uvicorn_options(settings),
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

    engine = open_database()
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
        summary = demo.fill(
            engine=engine,
            actor=command_line_actor("portfolio demo-data"),
            fiscal_start_month=get_settings().fiscal_year_start_month,
        )
    finally:
        engine.dispose()
    typer.echo(
        f"demo portfolio added: {summary.units} units, {summary.projects} projects, "
        f"{summary.experiments} experiments, {summary.criteria} criteria, "
        f"{summary.measurements} measurements, {summary.commitments} commitments"
    )


summaries_cli = typer.Typer(help="The per-unit summaries behind reports.", no_args_is_help=True)
cli.add_typer(summaries_cli, name="summaries")


@summaries_cli.command("rebuild")
def rebuild_summaries() -> None:
    """Recompute every report summary, and the run columns of the periods, from the
    projects, their periods, experiments, criteria and tags,
    in one transaction (the triggers keep them in step; this repairs them after a load
    with the triggers off or a hand edit)."""
    from app.core.revision import service as revision
    from app.reports.summary_families import FAMILIES

    engine = open_database()
    try:
        with engine.begin() as connection:
            for family in FAMILIES:
                family.rebuild(connection)
            # The repaired numbers are new answers: every report's ETag must change.
            revision.bump_all(connection)
    finally:
        engine.dispose()
    typer.echo("report summaries rebuilt")


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
    from rich.progress import Progress

    from app.cli import importer

    chosen = (file_format or importer.detect_format(file)).lower()
    if chosen not in importer.FORMATS:
        typer.echo(f"error: --format must be one of {', '.join(importer.FORMATS)}", err=True)
        raise typer.Exit(2)
    engine = open_database()
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
                in_csv=chosen == "csv",
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
    from app.core.errors import DomainError

    engine = open_database()
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
    engine = open_database()
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
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            formats=["%Y-%m-%d"],
            help="spread: as at the end of this day (YYYY-MM-DD, not after today)",
        ),
    ] = None,
    start: Annotated[
        datetime | None,
        typer.Option(
            "--from", formats=["%Y-%m-%d"], help="trends, flow, barometer: first day of the window"
        ),
    ] = None,
    end: Annotated[
        datetime | None,
        typer.Option(
            "--to", formats=["%Y-%m-%d"], help="trends, flow, barometer: last day (default today)"
        ),
    ] = None,
    interval: Annotated[
        Interval | None, typer.Option(help="trends: month, quarter (default) or year")
    ] = None,
    year: Annotated[
        int | None,
        typer.Option(
            min=1900,
            max=9998,
            help="experimentation: the fiscal year (default: the one containing today)",
        ),
    ] = None,
) -> None:
    """Print a report, computed by the same queries as GET /api/v1/reports/{name}."""
    from app.core.db import read_only_engine, today
    from app.core.errors import DomainError
    from app.reports import catalog, queries, render

    as_of_date = as_of.date() if as_of else None
    if as_of_date is not None and as_of_date > today():
        typer.echo(f"error: --as-of {as_of_date} is after today ({today()})", err=True)
        raise typer.Exit(2)
    timeline_options = {"--from": start, "--to": end, "--interval": interval}
    given = [option for option, value in timeline_options.items() if value is not None]
    windowed = (ReportName.trends, ReportName.flow, ReportName.barometer)
    if given and name not in windowed:
        typer.echo(f"error: {', '.join(given)} apply to trends, flow and barometer only", err=True)
        raise typer.Exit(2)
    if interval is not None and name != ReportName.trends:
        typer.echo("error: --interval applies to trends only", err=True)
        raise typer.Exit(2)
    settings = get_settings()
    engine = open_database(settings)
    # As the API's reports: a read that never takes SQLite's write lock.
    with Session(read_only_engine(engine), expire_on_commit=False) as session:
        root_id = None
        if unit is not None:
            root_id = queries.unit_id_by_code(session=session, code=unit)
            if root_id is None:
                typer.echo(f"error: no unit with code {unit!r}", err=True)
                raise typer.Exit(2)
        request = catalog.ReportRequest(
            session=session,
            settings=settings,
            root_id=root_id,
            today=today(),
            as_of=as_of_date,
            year=year,
            start=start.date() if start else None,
            end=end.date() if end else None,
            interval=interval or Interval.quarter,
        )
        try:
            result = catalog.build(name, request)
        except DomainError as error:  # a window the API would answer with a 422
            typer.echo(f"error: {error.detail}", err=True)
            raise typer.Exit(2) from None
    engine.dispose()
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        render.print_report(result, report_console())


def render_openapi() -> str:
    from app.core.config import Settings
    from app.main import create_app

    spec = create_app(Settings(database_url="sqlite://")).openapi()
    return json.dumps(spec, indent=2, sort_keys=False) + "\n"


def main() -> None:
    cli()
