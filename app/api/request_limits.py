"""Bounds on a request's headers and on the time its body may take to arrive.

The server's protocol (`app.ops.server`, used by `portfolio serve`) already refuses
oversized headers while reading them and closes connections whose headers are too slow;
this middleware holds the same header bounds whatever server runs the app, and bounds the
body, which only the application reads:

- more than `max_header_count` header fields, or more than `max_header_bytes` of them:
  431 before anything else runs;
- a body that has not fully arrived `body_timeout_seconds` after the request started:
  408, and the connection is closed. Only reads of the body are timed: a streamed
  response waiting for the client to go away is not.
"""

import anyio
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.asgi import HTTPOnlyMiddleware
from app.core.errors import problem_response


class RequestLimitsMiddleware(HTTPOnlyMiddleware):
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_header_count: int,
        max_header_bytes: int,
        body_timeout_seconds: float,
    ) -> None:
        super().__init__(app)
        self.max_header_count = max_header_count
        self.max_header_bytes = max_header_bytes
        self.body_timeout_seconds = body_timeout_seconds

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = scope["headers"]
        size = sum(len(name) + len(value) + 4 for name, value in headers)  # "n: v\r\n"
        if len(headers) > self.max_header_count or size > self.max_header_bytes:
            response = problem_response(
                Request(scope),
                status=431,
                slug="request-header-fields-too-large",
                title="Request header fields too large",
                detail=f"at most {self.max_header_count} header fields and "
                f"{self.max_header_bytes} bytes of them (got {len(headers)}, {size} bytes)",
                headers={"Connection": "close"},
            )
            await response(scope, receive, send)
            return
        deadline = anyio.current_time() + self.body_timeout_seconds
        body_complete = False

        async def timed_receive() -> Message:
            nonlocal body_complete
            if body_complete:
                return await receive()
            try:
                with anyio.fail_after(max(0.0, deadline - anyio.current_time())):
                    message = await receive()
            except TimeoutError:
                raise HTTPException(
                    status_code=408,
                    detail=f"the request body did not arrive within "
                    f"{self.body_timeout_seconds:g} seconds",
                    headers={"Connection": "close"},
                ) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_complete = True
            return message

        await self.app(scope, timed_receive, send)
