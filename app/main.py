"""The FastAPI application: routers, middleware and error handlers."""

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from app.api.body_limit import BodySizeLimitMiddleware
from app.api.deps import reject_nul_characters
from app.api.idempotency import dependency as idempotency
from app.api_keys.router import router as api_keys_router
from app.core.config import Settings, get_settings
from app.core.db import create_db_engine, read_only_engine
from app.core.errors import install_error_handlers
from app.core.revision import service as data_revision
from app.criteria.router import router as criteria_router
from app.experiments.router import router as experiments_router
from app.ops import health, observability
from app.projects.metrics import ProjectsByStage
from app.projects.router import router as projects_router
from app.register.router import router as register_router
from app.reports import conditional as report_conditional
from app.reports.router import router as reports_router
from app.units.router import router as units_router

API_PREFIX = "/api/v1"

DESCRIPTION = """
Records every innovation **project** and **experiment** across departments: who sponsors it,
how the work is done (side of desk, dedicated, core business), its risk profile, outcome-based
success criteria and the determinants (clarity, parity, suitability, normality) that help or
hinder it. Reports show whether innovation is spread across the core business or stuck as
side-of-desk work.

Authenticate with `Authorization: Bearer <api key>`. Errors are RFC 9457 problem details.
Unknown fields in a request body are rejected (422), including fields only the server sets
(`id`, `version`, `created_at`, `updated_at`, `archived`, risk `score`/`band`, a criterion's
`status`/`latest_value`).
"""


def operation_id(route: APIRoute) -> str:
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Innovation portfolio API",
        version="1.0.0",
        description=DESCRIPTION,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.engine = create_db_engine(settings)
    app.state.read_only_engine = read_only_engine(app.state.engine)
    install_error_handlers(app)
    data_revision.install()
    report_conditional.install(app)
    idempotency.install(app)
    app.add_middleware(
        BodySizeLimitMiddleware,
        default_limit=settings.max_body_bytes,
        path_limits={f"{API_PREFIX}/experiments/batch": settings.max_batch_body_bytes},
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["ETag", "X-Request-ID", "Idempotent-Replayed"],
        )
    api = APIRouter(prefix=API_PREFIX, dependencies=[Depends(reject_nul_characters)])
    for router in (
        units_router,
        projects_router,
        experiments_router,
        criteria_router,
        api_keys_router,
        reports_router,
    ):
        api.include_router(router)
    app.include_router(api)
    # The open register: no key, 404 unless switched on.
    app.include_router(register_router, dependencies=[Depends(reject_nul_characters)])
    app.include_router(health.router)
    observability.install(app, settings, scrape_collectors=[ProjectsByStage])
    return app


app = create_app()
