"""Request ids, one JSON log line per request, and Prometheus metrics at `/metrics`.

With several worker processes, prometheus_client keeps each process's samples in files
under PROMETHEUS_MULTIPROC_DIR and `/metrics` adds them up; `portfolio serve` creates
that directory before the workers start (the variable must be set before
prometheus_client is first imported, which is why this module reads it at import time).
"""

import contextvars
import json
import logging
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event
from starlette.types import Message, Receive, Scope, Send

from app.core.asgi import HTTPOnlyMiddleware
from app.core.config import Settings
from app.core.errors import _internal as internal_error_response

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
REQUEST_ID_HEADER = "X-Request-ID"
# Ids from a client or a proxy are kept only when they cannot break a log line or a header.
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$")
UNMATCHED_ROUTE = "<unmatched>"

access_logger = logging.getLogger("portfolio.access")
error_logger = logging.getLogger("portfolio.errors")
current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

REQUESTS = Counter(
    "portfolio_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "portfolio_http_request_duration_seconds",
    "Time from receiving a request to the end of its response body.",
    ["method", "route", "status"],
)
POOL_IN_USE = Gauge(
    "portfolio_db_pool_connections_in_use",
    "Database connections checked out of the pool, summed over live worker processes.",
    multiprocess_mode="livesum",
)


def is_multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def request_id_from(raw: str | None) -> str:
    if raw is not None and VALID_REQUEST_ID.match(raw):
        return raw
    return uuid.uuid4().hex


class RequestContextMiddleware(HTTPOnlyMiddleware):
    """Outermost layer: gives every request an id, times it, counts it and logs it.

    A pure ASGI middleware (not BaseHTTPMiddleware) so streamed CSV bodies pass through
    untouched and the timing covers the whole body.
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = next((v for k, v in scope["headers"] if k == b"x-request-id"), None)
        request_id = request_id_from(raw.decode("latin-1") if raw is not None else None)
        scope.setdefault("state", {})["request_id"] = request_id
        token = current_request_id.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if response_started:
                raise
            error_logger.exception("unhandled error", exc_info=exc)
            # The crash handler's own 500 problem, answered here (inside this layer) so that
            # it carries the X-Request-ID header like every other response.
            await internal_error_response(Request(scope))(scope, receive, send_with_id)
        finally:
            duration = time.perf_counter() - started
            _observe(scope, status, duration, request_id)
            current_request_id.reset(token)


def route_template(scope: Scope) -> str:
    """The matched route's path with its parameters as `{name}`: one time series per
    endpoint, not per id. Rebuilt from the path and the matched parameters because with
    nested routers the route object knows only its own part of the path."""
    if scope.get("route") is None and scope.get("endpoint") is None:
        return UNMATCHED_ROUTE
    names = {str(value): name for name, value in scope.get("path_params", {}).items()}
    segments = scope["path"].split("/")
    return "/".join(f"{{{names[s]}}}" if s in names else s for s in segments)


def _observe(scope: Scope, status: int, duration: float, request_id: str) -> None:
    template = route_template(scope)
    method = scope["method"]
    labels = {"method": method, "route": template, "status": str(status)}
    REQUESTS.labels(**labels).inc()
    LATENCY.labels(**labels).observe(duration)
    access_logger.info(
        "%s %s %s %.1fms",
        method,
        template,
        status,
        duration * 1000,
        extra={
            "fields": {
                "method": method,
                "route": template,
                "path": scope["path"],
                "status": status,
                "duration_ms": round(duration * 1000, 2),
                "request_id": request_id,
            }
        },
    )


class JsonFormatter(logging.Formatter):
    """One JSON object per line; `fields` passed as `extra` become top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id.get()
        if request_id:
            entry["request_id"] = request_id
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def logging_config(settings: Settings) -> dict[str, Any]:
    """The `logging.config.dictConfig` for uvicorn and the app (passed to every worker)."""
    level = settings.log_level.upper()
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"}
        if settings.log_format.lower() == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    )
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "default",
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            # Our access line replaces uvicorn's (it has the route template and the id).
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "portfolio": {"handlers": ["default"], "level": level, "propagate": False},
        },
    }


def instrument_pool(engine: Engine) -> None:
    @event.listens_for(engine, "checkout")
    def _checkout(*_: Any) -> None:
        POOL_IN_USE.inc()

    @event.listens_for(engine, "checkin")
    def _checkin(*_: Any) -> None:
        POOL_IN_USE.dec()


# Collectors that count domain data when /metrics is scraped, each built from the engine.
# The app passes them in (app.main), so this module imports no domain.
ScrapeCollector = Callable[[Engine], Collector]


def render_metrics(engine: Engine, scrape_collectors: Sequence[ScrapeCollector] = ()) -> bytes:
    if is_multiprocess():
        process_registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(process_registry)
        shared = generate_latest(process_registry)
    else:
        shared = generate_latest(REGISTRY)
    scrape_registry = CollectorRegistry()
    for make_collector in scrape_collectors:
        scrape_registry.register(make_collector(engine))
    return shared + generate_latest(scrape_registry)


router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    summary="Prometheus metrics (no auth)",
    description="Prometheus text format: request counts and latency histograms by method, "
    "route template and status; database connections in use; projects by stage. Aggregate "
    "numbers only; keep it on the internal network (see the README).",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
def metrics(request: Request) -> Response:
    body = render_metrics(request.app.state.engine, request.app.state.scrape_collectors)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def _marking_process_dead(inner: Any) -> Any:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async with inner(app) as state:
            yield state
        if is_multiprocess():
            # Drops this worker's live gauges from the sums the other workers report.
            multiprocess.mark_process_dead(os.getpid())

    return lifespan


def install(
    app: FastAPI, settings: Settings, scrape_collectors: Sequence[ScrapeCollector] = ()
) -> None:
    """Call last in create_app: the request-id layer must wrap every other middleware."""
    app.state.scrape_collectors = tuple(scrape_collectors)
    instrument_pool(app.state.engine)
    app.router.lifespan_context = _marking_process_dead(app.router.lifespan_context)
    if settings.metrics_enabled:
        app.include_router(router)
    app.add_middleware(RequestContextMiddleware)
