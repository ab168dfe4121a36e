"""The mixed workload (issue 17, target 6): writes and dashboards at once, at fixed rates.

Submitters of different units send 20 writes a second, in turn `POST /experiments` with an
`Idempotency-Key`, `PATCH /projects/{id}` and a measurement on a criterion, each in its own
unit, while 10 dashboards poll every report once a second with `If-None-Match` of the ETag
they last saw.

Open loop, as wrk2 drives a server: a write is due every 50 ms and a dashboard's round
every second whatever became of the earlier ones, so a slow server meets the same demand
instead of being asked less. Latency runs from when a request was due, not from when it
went out (no coordinated omission). A request due while `MAX_IN_FLIGHT` are still open is
not sent and is counted in `not_sent`; one that went out more than `LATE_MS` after it was
due is counted in `late`: both say that the load generator or the server fell behind.

One asyncio process on one core (the caller pins it, as wrk is), with an `httpx.AsyncClient`
per dashboard and per submitter, as each is its own program: one client for all of them
spent 80 % of that core in httpcore's pool, which scans every connection for every
request (py-spy, 2026-12-02), so the generator, not the server, set the pace.
"""

import asyncio
import contextlib
import functools
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from bench import floor

API = "/api/v1"
WRITES_PER_SECOND = 20
DASHBOARDS = 10
POLL_INTERVAL_S = 1.0
SUBMITTER_UNITS = 10  # submitter keys, each of its own unit
MAX_IN_FLIGHT = 200
# Connections per dashboard (one per report it shows) and per submitter.
DASHBOARD_CONNECTIONS = 8
SUBMITTER_CONNECTIONS = 10
LATE_MS = 20.0
SETTLED_S = 20.0
# After the last request is due: how long open requests may still take to answer.
DRAIN_S = 60.0
WRITE_KINDS = ("post_experiment", "patch_project", "post_measurement")
# Reports a dashboard shows: every conditional one (lineage is one project's, not a report).
DASHBOARD_REPORTS = {name: r.path for name, r in floor.REPORTS.items() if r.conditional}


@dataclass
class Tally:
    """What happened to one kind of request."""

    latencies_ms: list[float] = field(default_factory=list)
    # Those of requests due after the first `SETTLED_S` seconds: in the first second all ten
    # dashboards ask all eight reports of fresh workers at once, and the backlog takes 8-10 s
    # to drain at L (per-second medians, 2026-12-02); after it, every dashboard holds its
    # reports' ETags.
    settled_ms: list[float] = field(default_factory=list)
    not_modified: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    late: int = 0
    not_sent: int = 0

    def as_dict(self, *, polls: bool) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        answered = len(ordered)

        def percentile(share: float, ordered: list[float] = ordered) -> float | None:
            if not ordered:
                return None
            return ordered[min(len(ordered) - 1, int(len(ordered) * share))]

        settled = sorted(self.settled_ms)

        result: dict[str, Any] = {
            "count": answered + self.errors,
            "p50_ms": percentile(0.5),
            "p99_ms": percentile(0.99),
            "mean_ms": statistics.fmean(ordered) if ordered else None,
            "settled_p50_ms": percentile(0.5, settled),
            "settled_p99_ms": percentile(0.99, settled),
            "errors": self.errors,
            "late": self.late,
            "not_sent": self.not_sent,
        }
        if polls:
            result["not_modified_share"] = self.not_modified / answered if answered else None
        if self.error_samples:
            result["error_samples"] = self.error_samples
        return result

    def merge(self, other: "Tally") -> None:
        self.latencies_ms += other.latencies_ms
        self.settled_ms += other.settled_ms
        self.not_modified += other.not_modified
        self.errors += other.errors
        self.error_samples = (self.error_samples + other.error_samples)[:5]
        self.late += other.late
        self.not_sent += other.not_sent


@dataclass(frozen=True)
class Submitter:
    secret: str
    unit_id: int
    project_ids: list[int]
    criterion_ids: list[int]


def _create_key(client: httpx.Client, role: str, unit_id: int | None, name: str) -> str:
    response = client.post(f"{API}/api-keys", json={"name": name, "role": role, "unit_id": unit_id})
    response.raise_for_status()
    return str(response.json()["key"])


def prepare(base_url: str, admin_secret: str, database_url: str) -> tuple[list[Submitter], str]:
    """Submitter keys for the units with most live projects (and criteria to measure), and
    a viewer key for the dashboards, created through the API."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        units = connection.execute(
            text(
                "SELECT unit_id FROM projects WHERE archived = false GROUP BY unit_id "
                "ORDER BY count(*) DESC, unit_id LIMIT :n"
            ),
            {"n": SUBMITTER_UNITS},
        ).scalars()
        unit_ids = list(units)
        projects: dict[int, list[int]] = {u: [] for u in unit_ids}
        listed = ", ".join(str(int(u)) for u in unit_ids) or "NULL"
        for project_id, unit_id in connection.execute(
            text(
                "SELECT id, unit_id FROM projects WHERE archived = false "
                f"AND unit_id IN ({listed}) ORDER BY id"
            )
        ):
            projects[unit_id].append(project_id)
        # Live criteria under a live project of the unit, or a live experiment of one.
        criteria: dict[int, list[int]] = {u: [] for u in unit_ids}
        for criterion_id, unit_id in connection.execute(
            text(
                "SELECT c.id, p.unit_id FROM criteria c "
                "LEFT JOIN experiments e ON e.id = c.experiment_id "
                "JOIN projects p ON p.id = coalesce(c.project_id, e.project_id) "
                "WHERE c.archived = false AND p.archived = false "
                "AND (e.id IS NULL OR e.archived = false) ORDER BY c.id"
            )
        ):
            if unit_id in criteria:
                criteria[unit_id].append(criterion_id)
    engine.dispose()
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {admin_secret}"}, timeout=60
    ) as client:
        submitters = [
            Submitter(
                secret=_create_key(client, "submitter", unit_id, f"mixed submitter {unit_id}"),
                unit_id=unit_id,
                project_ids=projects[unit_id],
                criterion_ids=criteria[unit_id],
            )
            for unit_id in unit_ids
        ]
        viewer = _create_key(client, "viewer", None, "mixed dashboards")
    return submitters, viewer


class _Run:
    def __init__(self, started: float) -> None:
        self.started = started
        self.in_flight = 0
        self.tasks: set[asyncio.Task[None]] = set()

    async def at(self, due: float) -> float:
        """Sleep until `due` (seconds after the start); how late we woke, in ms."""
        delay = self.started + due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        return max(0.0, (time.perf_counter() - self.started - due) * 1000)

    def launch(
        self,
        tally: Tally,
        due: float,
        lateness_ms: float,
        send: Callable[[], Awaitable[httpx.Response]],
        on_answer: Callable[[httpx.Response], None] | None = None,
    ) -> None:
        if self.in_flight >= MAX_IN_FLIGHT:
            tally.not_sent += 1
            return
        if lateness_ms > LATE_MS:
            tally.late += 1
        self.in_flight += 1
        task = asyncio.get_running_loop().create_task(self._request(tally, due, send, on_answer))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _request(
        self,
        tally: Tally,
        due: float,
        send: Callable[[], Awaitable[httpx.Response]],
        on_answer: Callable[[httpx.Response], None] | None,
    ) -> None:
        try:
            response = await send()
        except (httpx.HTTPError, asyncio.CancelledError) as exc:
            tally.errors += 1
            if len(tally.error_samples) < 5:
                tally.error_samples.append(type(exc).__name__)
            return
        finally:
            self.in_flight -= 1
        elapsed_ms = (time.perf_counter() - self.started - due) * 1000
        if response.status_code == 304:
            tally.not_modified += 1
        elif not 200 <= response.status_code < 300:
            tally.errors += 1
            if len(tally.error_samples) < 5:
                tally.error_samples.append(f"{response.status_code} {response.text[:200]}")
            return
        tally.latencies_ms.append(elapsed_ms)
        if due >= SETTLED_S:
            tally.settled_ms.append(elapsed_ms)
        if on_answer is not None:
            on_answer(response)


async def _drive(
    base_url: str, submitters: list[Submitter], viewer: str, seconds: float
) -> dict[str, Any]:
    writes = {kind: Tally() for kind in WRITE_KINDS}
    polls = {name: Tally() for name in DASHBOARD_REPORTS}
    today = datetime.now(UTC).date().isoformat()
    async with contextlib.AsyncExitStack() as clients:

        def client(connections: int) -> httpx.AsyncClient:
            # Idle connections are dropped well before the server's keep-alive (5 s) closes
            # them, so no request goes out on a connection the server is closing.
            limits = httpx.Limits(
                max_connections=connections,
                max_keepalive_connections=connections,
                keepalive_expiry=2.0,
            )
            return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=DRAIN_S)

        submitter_clients = [
            await clients.enter_async_context(client(SUBMITTER_CONNECTIONS)) for _ in submitters
        ]
        dashboard_clients = [
            await clients.enter_async_context(client(DASHBOARD_CONNECTIONS))
            for _ in range(DASHBOARDS)
        ]
        run = _Run(time.perf_counter() + 0.5)

        def write(number: int) -> tuple[str, Callable[[], Awaitable[httpx.Response]]]:
            submitter = submitters[number % len(submitters)]
            client = submitter_clients[number % len(submitters)]
            auth = {"Authorization": f"Bearer {submitter.secret}"}
            # Kinds and submitters in turn (10 and 3 have no common factor: every pair).
            kind = WRITE_KINDS[number % len(WRITE_KINDS)]
            if kind == "post_measurement" and not submitter.criterion_ids:
                kind = "post_experiment"
            pick = number // (len(submitters) * len(WRITE_KINDS))
            if kind == "post_experiment":
                project_id = submitter.project_ids[pick % len(submitter.project_ids)]
                body = {
                    "project_id": project_id,
                    "title": f"Mixed experiment {number}",
                    "hypothesis": "Doing X changes Y.",
                    "method": "pilot",
                }
                headers = {**auth, "Idempotency-Key": f"mixed-{uuid.uuid4()}"}
                return kind, lambda: client.post(f"{API}/experiments", json=body, headers=headers)
            if kind == "patch_project":
                project_id = submitter.project_ids[pick % len(submitter.project_ids)]
                body = {"summary": f"Mixed workload update {number}"}
                return kind, lambda: client.patch(
                    f"{API}/projects/{project_id}", json=body, headers=auth
                )
            criterion_id = submitter.criterion_ids[pick % len(submitter.criterion_ids)]
            body = {"value": float(number % 100), "measured_on": today}
            return kind, lambda: client.post(
                f"{API}/criteria/{criterion_id}/measurements", json=body, headers=auth
            )

        async def writer() -> None:
            interval = 1 / WRITES_PER_SECOND
            for number in range(int(seconds * WRITES_PER_SECOND)):
                due = number * interval
                lateness = await run.at(due)
                kind, send = write(number)
                run.launch(writes[kind], due, lateness, send)

        async def dashboard(number: int) -> None:
            etags: dict[str, str] = {}
            auth = {"Authorization": f"Bearer {viewer}"}

            def keep(name: str) -> Callable[[httpx.Response], None]:
                def on_answer(response: httpx.Response) -> None:
                    if "ETag" in response.headers:
                        etags[name] = response.headers["ETag"]

                return on_answer

            # Dashboards start spread over the first second, as people open them.
            offset = number * POLL_INTERVAL_S / DASHBOARDS
            for round_ in range(int(seconds / POLL_INTERVAL_S)):
                due = offset + round_ * POLL_INTERVAL_S
                lateness = await run.at(due)
                for name, path in DASHBOARD_REPORTS.items():
                    headers = dict(auth)
                    if name in etags:
                        headers["If-None-Match"] = etags[name]
                    run.launch(
                        polls[name],
                        due,
                        lateness,
                        functools.partial(dashboard_clients[number].get, path, headers=headers),
                        keep(name),
                    )

        await asyncio.gather(writer(), *(dashboard(n) for n in range(DASHBOARDS)))
        # Let open requests finish; what is still open after DRAIN_S counts as an error.
        if run.tasks:
            _, pending = await asyncio.wait(set(run.tasks), timeout=DRAIN_S)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    all_writes, all_polls = Tally(), Tally()
    for tally in writes.values():
        all_writes.merge(tally)
    for tally in polls.values():
        all_polls.merge(tally)
    return {
        "seconds": seconds,
        "writes_per_second": WRITES_PER_SECOND,
        "dashboards": DASHBOARDS,
        "poll_interval_s": POLL_INTERVAL_S,
        "submitter_units": len(submitters),
        "writes": all_writes.as_dict(polls=False),
        "writes_by_kind": {k: t.as_dict(polls=False) for k, t in writes.items()},
        "polls": all_polls.as_dict(polls=True),
        "polls_by_report": {k: t.as_dict(polls=True) for k, t in polls.items()},
    }


def mixed(base_url: str, admin_secret: str, database_url: str, seconds: float) -> dict[str, Any]:
    """Run the mixed workload against a server for `seconds`; the figures per kind."""
    submitters, viewer = prepare(base_url, admin_secret, database_url)
    if not submitters:
        raise RuntimeError("the mixed workload needs live projects to write to")
    return asyncio.run(_drive(base_url, submitters, viewer, seconds))
