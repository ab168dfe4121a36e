"""The `portfolio` command."""

import json
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from app.api_keys import service as api_key_service
from app.api_keys.models import ApiKeyCreate, Role
from app.config import get_settings
from app.reports.schemas import ReportName

cli = typer.Typer(
    help="Innovation portfolio service.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

OPENAPI_PATH = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


@cli.command()
def migrate() -> None:
    """Upgrade the database named by DATABASE_URL to the latest migration."""
    from app.migrations import upgrade

    upgrade(get_settings().database_url)
    typer.echo("database is at the latest migration")


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: PORTFOLIO_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="Default: PORTFOLIO_PORT")] = None,
    workers: Annotated[int | None, typer.Option(help="Default: PORTFOLIO_WORKERS")] = None,
    bootstrap_admin: Annotated[
        bool, typer.Option(help="If the database has no active admin key, create one and print it.")
    ] = False,
) -> None:
    """Migrate, then serve the API."""
    import uvicorn

    settings = get_settings()
    migrate()
    if bootstrap_admin:
        _bootstrap_admin()
    uvicorn.run(
        "app.main:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
    )


@cli.command("create-key")
def create_key(
    role: Annotated[Role, typer.Option(help="admin, manager, submitter or viewer")],
    name: Annotated[str, typer.Option(help="Who or what uses the key")],
    unit_id: Annotated[int | None, typer.Option(help="Required for submitter")] = None,
) -> None:
    """Create an API key; the key alone is printed on the last line."""
    from app.db import create_db_engine
    from app.errors import DomainError

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
    from app.db import create_db_engine

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
) -> None:
    """Print a report, computed by the same queries as GET /api/v1/reports/{name}."""
    from app.db import create_db_engine, today
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
        result = service.build(
            name, session=session, settings=settings, root_id=root_id, today=today()
        )
    engine.dispose()
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        render.print_report(result)


def render_openapi() -> str:
    from app.config import Settings
    from app.main import create_app

    spec = create_app(Settings(database_url="sqlite://")).openapi()
    return json.dumps(spec, indent=2, sort_keys=False) + "\n"


def main() -> None:
    cli()
