"""`HEAD` wherever there is a `GET` (RFC 9110 section 9.3.2): the GET's status and headers,
no body.

FastAPI routes answer only the methods they declare, and declaring HEAD on each route would
put a second operation per GET into the OpenAPI document. So this middleware, outermost,
runs a HEAD request as a GET and drops the body: a dashboard can ask whether a report
changed (its `ETag`) or how large an export is without transferring it.
"""

from starlette.types import Message, Receive, Scope, Send

from app.core.asgi import HTTPOnlyMiddleware


class HeadAsGet(HTTPOnlyMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        body_sent = False

        async def send_without_body(message: Message) -> None:
            nonlocal body_sent
            if message["type"] == "http.response.body":
                if body_sent:
                    return
                body_sent = True
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_without_body)
