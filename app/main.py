"""The FastAPI application: routers, middleware and error handlers."""

import functools

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from app.api import docs, etags, openapi, problems
from app.api.body_limit import BodySizeLimitMiddleware
from app.api.deps import reject_nul_characters
from app.api.head import HeadAsGet
from app.api.idempotency import dependency as idempotency
from app.api.request_limits import RequestLimitsMiddleware
from app.api.strict import api_request, strict_request
from app.api_keys.router import router as api_keys_router
from app.core.config import Settings, get_settings
from app.core.db import create_db_engine, read_only_engine
from app.core.errors import install_error_handlers
from app.core.rate_limit import RateLimiter, RateLimitHeadersMiddleware
from app.core.revision import service as data_revision
from app.criteria.router import router as criteria_router
from app.experiments.router import router as experiments_router
from app.ops import health, observability, warmup
from app.projects.metrics import ProjectsByStage
from app.projects.router import router as projects_router
from app.register.router import router as register_router
from app.reports import conditional as report_conditional
from app.reports.answers import AnswerCache
from app.reports.router import router as reports_router
from app.units.router import router as units_router

API_PREFIX = "/api/v1"

DESCRIPTION = """
Records every innovation **project** and **experiment** across departments: who sponsors it,
how the work is done (side of desk, dedicated, core business), its risk profile, outcome-based
success criteria and the determinants (clarity, parity, suitability, normality) that help or
hinder it. Reports show whether innovation is spread across the core business or stuck as
side-of-desk work.

Authenticate with `Authorization: Bearer <api key>`. Errors are RFC 9457 problem details;
each `type` is a link to its explanation on this server (`/problems/{name}`).
Unknown fields in a request body are rejected (422), including fields only the server sets
(`id`, `version`, `created_at`, `updated_at`, `archived`, risk `score`/`band`, a criterion's
`status`/`latest_value`), and so are query parameters an operation does not take.
An `Accept` header that admits neither JSON nor, where offered, CSV gets 406. Every `GET`
also answers `HEAD` (same status and headers, no body).
"""


@functools.cache
def _routes() -> tuple[BaseRoute, ...]:
    """The API's routes, built once per process and shared by every app it creates.

    Including a router makes FastAPI resolve every route's dependencies and response
    models (~0.1 s for this API), which an app per test paid a thousand times a run. The
    routes hold no state of their own app: they read it from `request.app.state`.
    """
    # Checked on every route from its own declaration, so new routes need nothing.
    strict = [Depends(strict_request)]
    routes = APIRouter(generate_unique_id_function=openapi.operation_id)
    # Each included straight under `routes`, not through an API router of its own: FastAPI
    # matches a request against every level of inclusion and again while handling it, so a
    # level fewer is a pass over every API route fewer per request (bench/RESULTS.md,
    # tenth pass). Checked first: unknown query parameters, the Accept header, NUL
    # characters, oversized objects.
    for router in (
        units_router,
        projects_router,
        experiments_router,
        criteria_router,
        api_keys_router,
        reports_router,
    ):
        routes.include_router(router, prefix=API_PREFIX, dependencies=[Depends(api_request)])
    routes.include_router(problems.router, dependencies=strict)
    # The open register: no key, 404 unless switched on.
    routes.include_router(register_router, dependencies=[Depends(reject_nul_characters)])
    routes.include_router(health.router)
    return tuple(routes.routes)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Innovation portfolio API",
        version="1.0.0",
        description=DESCRIPTION,
        generate_unique_id_function=openapi.operation_id,
        docs_url=None,
        redoc_url=None,
        openapi_tags=openapi.TAGS,
        servers=openapi.SERVERS,
        contact=openapi.CONTACT,
    )
    app.state.settings = settings
    app.state.engine = create_db_engine(settings)
    app.state.read_only_engine = read_only_engine(app.state.engine)
    app.state.rate_limiter = RateLimiter(
        key_rate=settings.rate_limit_per_second,
        key_burst=settings.rate_limit_burst,
        address_rate=settings.anonymous_rate_limit_per_second,
        address_burst=settings.anonymous_rate_limit_burst,
        max_buckets=settings.rate_limit_max_buckets,
    )
    app.state.report_answers = AnswerCache(settings.report_cache_bytes)
    install_error_handlers(app)
    etags.install(app)
    docs.install(app)
    data_revision.install()
    report_conditional.install(
        app,
        paths=[API_PREFIX + r.path for r in reports_router.routes if isinstance(r, APIRoute)],
    )
    idempotency.install(app)
    app.add_middleware(
        BodySizeLimitMiddleware,
        default_limit=settings.max_body_bytes,
        path_limits={f"{API_PREFIX}/experiments/batch": settings.max_batch_body_bytes},
    )
    app.add_middleware(RateLimitHeadersMiddleware)
    app.add_middleware(
        RequestLimitsMiddleware,
        max_header_count=settings.max_header_count,
        max_header_bytes=settings.max_header_bytes,
        body_timeout_seconds=settings.body_timeout_seconds,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            # Response headers a browser client may read (beyond the CORS-safelisted ones).
            expose_headers=[
                "ETag",
                observability.REQUEST_ID_HEADER,
                idempotency.REPLAYED_HEADER,
                "Retry-After",
                "Content-Disposition",
                "RateLimit",
                "RateLimit-Policy",
            ],
        )
    app.router.routes.extend(_routes())
    observability.install(app, settings, scrape_collectors=[ProjectsByStage])
    openapi.install(app, request_id_header=observability.REQUEST_ID_HEADER)
    warmup.install(app)
    app.add_middleware(HeadAsGet)  # outermost: everything inside sees a GET
    return app


app = create_app()
