"""A bounded load test on PostgreSQL: a fixed plan of mixed requests against two server
processes, from client threads on loopback. Passes when nothing fails with a 5xx, the
database holds exactly what was acknowledged, and no project update was lost.

Prints the throughput and latency percentiles it saw (README, "Reliability").
"""

import random
import statistics
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import create_engine, text

from app.core.config import Settings
from tests.builders import POSTGRES_URL, bootstrap_key
from tests.system.live_server import live_servers

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not POSTGRES_URL, reason="the load test runs two servers on PostgreSQL"),
]

REQUESTS = 600
CLIENT_THREADS = 8
UNITS = 3
PROJECTS_PER_UNIT = 2
SEED = 20261128


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.experiments: set[str] = set()  # acknowledged titles
        self.measurements = 0
        self.patches: Counter[int] = Counter()  # project id -> successful patches

    def timed(self, kind: str, send: Callable[[], httpx.Response]) -> httpx.Response:
        started = time.perf_counter()
        response = send()
        with self.lock:
            self.latencies[kind].append(time.perf_counter() - started)
            self.statuses[(kind, response.status_code)] += 1
        return response


# The production rate limits (tests/conftest.py turns them off for the in-process suite):
# every planned operation must succeed under them, so a 429 fails the counts below.
RATE_LIMITS = {
    f"PORTFOLIO_{name.upper()}": str(Settings.model_fields[name].default)
    for name in (
        "rate_limit_per_second",
        "rate_limit_burst",
        "anonymous_rate_limit_per_second",
        "anonymous_rate_limit_burst",
    )
}


def test_mixed_load_on_two_processes_loses_nothing(database_url: str):
    admin_secret = bootstrap_key(Settings(database_url=database_url))
    with live_servers(database_url, count=2, PORTFOLIO_DB_POOL_SIZE="10", **RATE_LIMITS) as urls:
        clients = [
            httpx.Client(base_url=url, timeout=30, limits=httpx.Limits(max_connections=16))
            for url in urls
        ]
        admin = {"Authorization": f"Bearer {admin_secret}"}

        def key(role: str, unit_id: int | None = None) -> dict[str, str]:
            body = {"name": f"load {role} {unit_id}", "role": role, "unit_id": unit_id}
            response = clients[0].post("/api/v1/api-keys", json=body, headers=admin)
            assert response.status_code == 201, response.text
            return {"Authorization": f"Bearer {response.json()['key']}"}

        units, projects, criteria, submitters = [], [], [], {}
        for u in range(UNITS):
            unit = (
                clients[0]
                .post(
                    "/api/v1/units",
                    json={"code": f"U{u}", "name": f"Unit {u}", "kind": "business_line"},
                    headers=admin,
                )
                .json()
            )
            units.append(unit["id"])
            submitters[unit["id"]] = key("submitter", unit["id"])
            for p in range(PROJECTS_PER_UNIT):
                project = (
                    clients[0]
                    .post(
                        "/api/v1/projects",
                        json={
                            "title": f"Project {u}.{p}",
                            "unit_id": unit["id"],
                            "sponsor_level": "organizational",
                            "work_mode": "core_business",
                            "stage": "experiment",
                        },
                        headers=admin,
                    )
                    .json()
                )
                projects.append((unit["id"], project["id"]))
                criterion = (
                    clients[0]
                    .post(
                        f"/api/v1/projects/{project['id']}/criteria",
                        json={
                            "metric": "Minutes",
                            "kind": "outcome",
                            "baseline": 60,
                            "target": 30,
                            "direction": "decrease",
                        },
                        headers=admin,
                    )
                    .json()
                )
                criteria.append((unit["id"], criterion["id"]))
        manager, viewer = key("manager"), key("viewer")
        record = Recorder()
        plan_random = random.Random(SEED)
        kinds = plan_random.choices(
            ["read", "experiment", "measurement", "patch"], weights=[35, 25, 20, 20], k=REQUESTS
        )

        def read(client: httpx.Client, n: int) -> None:
            path = (
                "/api/v1/reports/spread",
                "/api/v1/reports/portfolio",
                "/api/v1/reports/outcomes",
                "/api/v1/projects",
                "/api/v1/experiments",
            )[n % 5]
            response = record.timed("read", lambda: client.get(path, headers=viewer))
            assert response.status_code == 200, response.text

        def submit_experiment(client: httpx.Client, n: int) -> None:
            unit_id, project_id = projects[n % len(projects)]
            title = f"load-{n}"
            body = {"project_id": project_id, "title": title, "hypothesis": "h", "method": "pilot"}
            headers = {**submitters[unit_id], "Idempotency-Key": str(uuid.uuid4())}
            response = record.timed(
                "experiment", lambda: client.post("/api/v1/experiments", json=body, headers=headers)
            )
            if response.status_code == 201:
                with record.lock:
                    record.experiments.add(title)

        def submit_measurement(client: httpx.Client, n: int) -> None:
            unit_id, criterion_id = criteria[n % len(criteria)]
            body = {"value": n % 90, "measured_on": f"2026-{1 + n % 12:02d}-01"}
            response = record.timed(
                "measurement",
                lambda: client.post(
                    f"/api/v1/criteria/{criterion_id}/measurements",
                    json=body,
                    headers=submitters[unit_id],
                ),
            )
            if response.status_code == 201:
                with record.lock:
                    record.measurements += 1

        def patch_project(client: httpx.Client, n: int) -> None:
            _, project_id = projects[n % len(projects)]
            for _attempt in range(20):  # optimistic concurrency: re-read on 412
                current = record.timed(
                    "read", lambda: client.get(f"/api/v1/projects/{project_id}", headers=manager)
                )
                assert current.status_code == 200, current.text
                headers = {**manager, "If-Match": current.headers["etag"]}
                response = record.timed(
                    "patch",
                    lambda headers=headers: client.patch(
                        f"/api/v1/projects/{project_id}",
                        json={"summary": f"patch {n}"},
                        headers=headers,
                    ),
                )
                if response.status_code == 200:
                    with record.lock:
                        record.patches[project_id] += 1
                    return
                assert response.status_code == 412, response.text

        actions = {
            "read": read,
            "experiment": submit_experiment,
            "measurement": submit_measurement,
            "patch": patch_project,
        }
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENT_THREADS) as pool:
            futures = [
                pool.submit(actions[kind], clients[n % 2], n) for n, kind in enumerate(kinds)
            ]
            for future in futures:
                future.result()
        elapsed = time.perf_counter() - started
        for client in clients:
            client.close()

    server_errors = {k: v for k, v in record.statuses.items() if k[1] >= 500}
    assert server_errors == {}
    assert {k: v for k, v in record.statuses.items() if k[1] == 429} == {}
    planned = Counter(kinds)
    assert len(record.experiments) == planned["experiment"]
    assert record.measurements == planned["measurement"]
    assert sum(record.patches.values()) == planned["patch"]
    engine = create_engine(database_url)
    with engine.connect() as connection:
        titles = (
            connection.execute(text("SELECT title FROM experiments WHERE title LIKE 'load-%'"))
            .scalars()
            .all()
        )
        measurements = connection.execute(text("SELECT count(*) FROM measurements")).scalar_one()
        versions = dict(connection.execute(text("SELECT id, version FROM projects")).all())
    engine.dispose()
    assert sorted(titles) == sorted(record.experiments)
    assert measurements == record.measurements
    assert versions == {pid: record.patches[pid] + 1 for _, pid in projects}

    every = sorted(latency for values in record.latencies.values() for latency in values)
    sent = len(every)

    def percentile(values: list[float], q: float) -> float:
        return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000

    print(
        f"\nload: {sent} requests in {elapsed:.1f}s = {sent / elapsed:.0f} req/s "
        f"({CLIENT_THREADS} client threads, 2 server processes)"
    )
    for kind, values in sorted(record.latencies.items()):
        values.sort()
        print(
            f"  {kind:12} n={len(values):4} p50={percentile(values, 50):6.1f} ms "
            f"p95={percentile(values, 95):6.1f} ms p99={percentile(values, 99):6.1f} ms"
        )
    print(
        f"  {'all':12} n={sent:4} p50={percentile(every, 50):6.1f} ms "
        f"p95={percentile(every, 95):6.1f} ms p99={percentile(every, 99):6.1f} ms"
    )
