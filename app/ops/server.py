"""How `portfolio serve` runs uvicorn, with bounds on what a client can hold open.

uvicorn's httptools protocol (the one it picks when httptools is installed, as here)
reads request headers without any size limit and waits for them without any time limit;
its h11 protocol bounds the size only. `BoundedHttpToolsProtocol` adds both, per
connection, before the application sees anything:

- the request line and headers may take at most `PORTFOLIO_MAX_HEADER_BYTES`: past that
  the client gets 431 and the connection is closed (memory held: the limit plus one read);
- they must arrive within `PORTFOLIO_HEADER_TIMEOUT_SECONDS` of the connection opening or
  of the first byte of the next request on it: past that the connection is closed
  (a client that connects and says nothing, or trickles its headers, is cut off).

The rest is uvicorn's own options: an idle keep-alive connection is closed after
`PORTFOLIO_KEEP_ALIVE_TIMEOUT_SECONDS`; beyond `PORTFOLIO_MAX_CONNECTIONS` open connections
per worker new requests get 503. The header field count and the body's arrival time are
bounded in the application (`app.api.request_limits`), so they hold under any server.
"""

import asyncio
import json
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from app.core.config import Settings, get_settings


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The HTTP-layer options `portfolio serve` passes to `uvicorn.run`."""
    return {
        "http": f"{__name__}:{BoundedHttpToolsProtocol.__name__}",
        "timeout_keep_alive": settings.keep_alive_timeout_seconds,
        "limit_concurrency": settings.max_connections,
    }


def _too_large_response(limit: int) -> bytes:
    body = json.dumps(
        {
            "type": "/problems/request-header-fields-too-large",
            "title": "Request header fields too large",
            "status": 431,
            "detail": f"the request line and headers are larger than {limit} bytes",
        }
    ).encode()
    head = (
        "HTTP/1.1 431 Request Header Fields Too Large\r\n"
        "content-type: application/problem+json\r\n"
        "connection: close\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        settings = get_settings()
        self.max_header_bytes = settings.max_header_bytes
        self.header_timeout = settings.header_timeout_seconds
        # True while the connection waits for (the rest of) a request's head.
        self.reading_head = True
        self.head_bytes = 0
        self.head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.reading_head:
            self.head_bytes += len(data)
        super().data_received(data)
        if (
            self.reading_head
            and self.head_bytes > self.max_header_bytes
            and not self.transport.is_closing()
        ):
            self._cancel_head_timer()
            self.transport.write(_too_large_response(self.max_header_bytes))
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.reading_head = True
        if self.head_timer is None:
            self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self.reading_head = False
        self.head_bytes = 0
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Waiting for the next request: its first bytes count towards its head. The idle
        # wait itself is uvicorn's keep-alive timeout.
        self.reading_head = True

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self.head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.transport.is_closing() or not self.reading_head:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined request's head is late while the one before is still being
            # answered: look again once more time has passed.
            self._arm_head_timer()
            return
        self.transport.close()
