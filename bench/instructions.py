"""Instructions per request, counted by callgrind: a measure the machine's noise does not move.

This VM's speed drifts by 2x within minutes (bench/RESULTS.md), so two wall-clock runs of
the same code can differ more than two versions of it. `valgrind --tool=callgrind` counts
the instructions the process runs (every thread: the event loop, the threadpool, the
driver's client side), the same for the same code and data whatever else the machine does.
It counts neither PostgreSQL's work nor the kernel's (a thread hop's futex and self-pipe
write), so it complements the wall-clock runs of `bench.run`; it does not replace them.

Each request kind is sent straight to the ASGI app in process (no HTTP server, no client),
the API's and the peer's (`bench/peer.py`), one at a time: 30 to warm up, then `--count`
with counting switched on (`callgrind_control -i on`) around them only.

    python -m bench.instructions [--database-url postgresql+psycopg://...] \\
        [--requests healthz,list,peer_list,single,plain_single,peer_single] [--count 100]

Needs valgrind (Debian's package) and a database loaded by `bench.generate` (by default
the S one on PostgreSQL, as `bench.run` names it); it writes an API key and, for the
writes, experiments under project 1.
"""

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

from bench.run import default_url

REQUESTS = ("healthz", "list", "peer_list", "single", "plain_single", "peer_single")
Call = Callable[[int], Awaitable[int]]


def _scope(method: str, path: str, query: str, headers: list[tuple[bytes, bytes]]) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"localhost"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("localhost", 80),
        "state": {},
    }


async def _send_to(app: Any, method: str, path: str, query: str, headers: Any, body: bytes) -> int:
    """One request to the ASGI app; its status."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(_scope(method, path, query, headers), receive, send)
    return int(sent[0]["status"])


def _callgrind(switch: str) -> None:
    subprocess.run(
        ["callgrind_control", "-i", switch, str(os.getpid())], check=True, capture_output=True
    )


async def _inner(database_url: str, kind: str, count: int) -> None:
    """Run under callgrind: warm up, then `count` requests of `kind` with counting on."""
    # Imported here: the peer reads its database from the environment when it loads.
    os.environ["BENCH_PEER_DATABASE_URL"] = database_url
    from app.core.config import Settings
    from app.main import create_app
    from bench import peer
    from bench.run import admin_key

    app = create_app(
        Settings(
            database_url=database_url,
            report_cache_bytes=0,
            log_level="WARNING",
            rate_limit_per_second=1e9,
            rate_limit_burst=1_000_000_000,
        )
    )
    auth = [(b"authorization", f"Bearer {admin_key(database_url)}".encode())]
    json_body = [(b"content-type", b"application/json")]

    def experiment() -> bytes:
        title = f"instructions {uuid.uuid4().hex}"
        return json.dumps(
            {"project_id": 1, "title": title, "hypothesis": "It helps", "method": "pilot"}
        ).encode()

    def idempotency_key() -> list[tuple[bytes, bytes]]:
        return [(b"idempotency-key", uuid.uuid4().hex.encode())]

    calls: dict[str, Call] = {
        "healthz": lambda _: _send_to(app, "GET", "/healthz", "", [], b""),
        "list": lambda _: _send_to(app, "GET", "/api/v1/projects", "limit=100", auth, b""),
        "peer_list": lambda _: _send_to(peer.app, "GET", "/projects", "limit=100", [], b""),
        "single": lambda _: _send_to(
            app,
            "POST",
            "/api/v1/experiments",
            "",
            [*auth, *json_body, *idempotency_key()],
            experiment(),
        ),
        "plain_single": lambda _: _send_to(
            app, "POST", "/api/v1/experiments", "", [*auth, *json_body], experiment()
        ),
        "peer_single": lambda _: _send_to(
            peer.app, "POST", "/experiments", "", json_body, experiment()
        ),
    }
    call = calls[kind]
    # The peer's pools only for its own requests: it serves PostgreSQL alone.
    uses_peer = kind.startswith("peer_")
    async with app.router.lifespan_context(app), AsyncExitStack() as stack:
        if uses_peer:
            await stack.enter_async_context(peer.app.router.lifespan_context(peer.app))
        for index in range(30):
            status = await call(index)
        if status not in (200, 201):
            raise RuntimeError(f"{kind}: answered {status}")
        _callgrind("on")
        for index in range(count):
            await call(index)
        _callgrind("off")


def count_instructions(database_url: str, kind: str, count: int) -> int:
    """Instructions per request of `kind`, from a process of its own under callgrind."""
    with tempfile.TemporaryDirectory() as directory:
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={directory}/callgrind.out",
                sys.executable,
                "-m",
                "bench.instructions",
                "--inner",
                kind,
                "--database-url",
                database_url,
                "--count",
                str(count),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    collected = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or collected is None:
        raise RuntimeError(f"{kind}: callgrind run failed:\n{done.stderr[-3000:]}")
    return int(collected.group(1)) // count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=default_url("postgres", "S"))
    parser.add_argument("--requests", default=",".join(REQUESTS))
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--inner", choices=REQUESTS, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.inner:
        asyncio.run(_inner(arguments.database_url, arguments.inner, arguments.count))
        return
    counts = {}
    for kind in arguments.requests.split(","):
        counts[kind] = count_instructions(arguments.database_url, kind, arguments.count)
        print(f"{kind}: {counts[kind] / 1e6:.2f} M instructions per request", flush=True)
    for ours, theirs in (("list", "peer_list"), ("single", "peer_single")):
        if ours in counts and theirs in counts:
            print(f"{theirs} / {ours}: {counts[theirs] / counts[ours]:.3f}")


if __name__ == "__main__":
    main()
