"""A fresh worker answers its first requests as fast as its later ones.

FastAPI builds the routing state of included routers (each route's dependencies,
parameter fields and validators) lazily, on the first request that walks them: a third of
a second of one core for this app's routes (bench/RESULTS.md, issue 17, seventh pass). A
worker that has just started, or restarted under load, paid it on its first requests while
others queued behind it. So at startup, before the server accepts connections, one request
for a path no route matches walks them all. It goes to the router alone, past the
middleware: it is not logged, counted, rate-limited or given a request id.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import Message, Scope

# No route has it (the API is under /api, the rest are named): the router tries them all.
WARMUP_PATH = "/-routing-warm-up-"


async def walk_routes(app: FastAPI) -> int:
    """Route one GET for `WARMUP_PATH` through `app.router`; returns its status (404)."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": WARMUP_PATH,
        "raw_path": WARMUP_PATH.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "server": ("localhost", 80),
        "client": None,
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    # Without "app" in the scope, Starlette's router answers an unmatched path with a plain
    # 404 instead of raising for the app's exception handlers.
    await app.router(scope, receive, send)
    return int(sent[0]["status"])


def _warming(inner: Any) -> Any:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async with inner(app) as state:
            await walk_routes(app)
            yield state

    return lifespan


def install(app: FastAPI) -> None:
    """Call after every router is included."""
    app.router.lifespan_context = _warming(app.router.lifespan_context)
