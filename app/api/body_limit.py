"""Request body size limits, enforced before a large body is held in memory."""

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.asgi import HTTPOnlyMiddleware
from app.core.errors import problem_response


def _too_large(limit: int) -> str:
    return f"the request body is larger than {limit} bytes"


class BodySizeLimitMiddleware(HTTPOnlyMiddleware):
    """413 for a body over the limit of its path.

    A declared Content-Length over the limit is refused before reading anything; a chunked
    body is counted as it streams and stops at the first chunk past the limit (FastAPI
    passes the HTTPException raised from `receive` on to the problem handler).
    """

    def __init__(self, app: ASGIApp, *, default_limit: int, path_limits: dict[str, int]) -> None:
        super().__init__(app)
        self.default_limit = default_limit
        self.path_limits = path_limits

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.path_limits.get(scope["path"].rstrip("/"), self.default_limit)
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            response = problem_response(
                Request(scope),
                status=413,
                slug="payload-too-large",
                title="Request body too large",
                detail=_too_large(limit),
            )
            await response(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(status_code=413, detail=_too_large(limit))
            return message

        await self.app(scope, counting_receive, send)
