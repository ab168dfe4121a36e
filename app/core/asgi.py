"""The skeleton of a pure ASGI middleware (not Starlette's BaseHTTPMiddleware, which would
buffer streamed bodies and cost a task per request) that acts on HTTP requests only."""

from starlette.types import ASGIApp, Receive, Scope, Send


class HTTPOnlyMiddleware:
    """Passes lifespan and websocket scopes straight through; `handle` sees HTTP ones."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError
