"""Database faults on PostgreSQL: the API answers 503 quickly while the database is gone,
recovers by itself, and keeps every acknowledged submission exactly once.

A client thread submits experiments, each with a unique title and its own Idempotency-Key,
retrying anything but a 2xx with the same key. Meanwhile the test kills every connection
the servers hold (pg_terminate_backend, this test database only) and, for a while, refuses
new ones (ALLOW_CONNECTIONS false).
"""

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from app.core.config import Settings
from tests.builders import POSTGRES_URL, bootstrap_key, create_project, create_unit
from tests.system.live_server import live_servers

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not POSTGRES_URL, reason="faults are injected into PostgreSQL"),
]

SUBMISSIONS = 60
CLIENT_TIMEOUT_SECONDS = 10.0  # a request taking longer than this counts as a hang
MAX_ATTEMPTS = 200
# Short timeouts so an outage turns into a 503 fast; a claim left behind by a request
# whose connection died may be taken over after this long.
SERVER_ENV = {
    "PORTFOLIO_DB_POOL_TIMEOUT_SECONDS": "2",
    "PORTFOLIO_DB_CONNECT_TIMEOUT_SECONDS": "2",
    "PORTFOLIO_IDEMPOTENCY_LOCK_TIMEOUT_SECONDS": "3",
}


@dataclass
class Outcomes:
    acknowledged: dict[str, int] = field(default_factory=dict)  # title -> experiment id
    statuses: list[int] = field(default_factory=list)
    slowest_seconds: float = 0.0
    bad: list[str] = field(default_factory=list)  # anything but 2xx, 503 or 409-in-flight
    gave_up: list[str] = field(default_factory=list)
    # A stored 5xx: a retry would get it for 24 hours although nothing was saved.
    replayed_5xx: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)


def submit_all(urls: list[str], secret: str, project_id: int, out: Outcomes) -> None:
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(timeout=CLIENT_TIMEOUT_SECONDS) as client:
        for number in range(SUBMISSIONS):
            title = f"fault-{number}"
            body = {"project_id": project_id, "title": title, "hypothesis": "h", "method": "pilot"}
            key = str(uuid.uuid4())
            for attempt in range(MAX_ATTEMPTS):
                url = urls[(number + attempt) % len(urls)]
                started = time.monotonic()
                try:
                    response = client.post(
                        f"{url}/api/v1/experiments",
                        json=body,
                        headers={**headers, "Idempotency-Key": key},
                    )
                except httpx.TimeoutException:
                    out.bad.append(f"{title}: no answer within {CLIENT_TIMEOUT_SECONDS}s")
                    continue
                out.slowest_seconds = max(out.slowest_seconds, time.monotonic() - started)
                out.statuses.append(response.status_code)
                if response.status_code >= 500 and response.headers.get("Idempotent-Replayed"):
                    out.replayed_5xx.append(f"{title}: {response.status_code} {key}")
                if response.is_success:
                    out.acknowledged[title] = response.json()["id"]
                    break
                problem = response.headers.get("content-type", "")
                if not problem.startswith("application/problem+json"):
                    out.bad.append(f"{title}: {response.status_code} {problem}")
                elif "Traceback" in response.text or "psycopg" in response.text:
                    out.bad.append(f"{title}: internals leaked: {response.text[:200]}")
                elif response.status_code not in (503, 409):
                    out.bad.append(f"{title}: {response.status_code} {response.text[:200]}")
                time.sleep(0.05)
            else:
                out.gave_up.append(title)
    out.done.set()


def kill_connections(admin: Any, database: str) -> int:
    with admin.connect() as connection:
        return len(
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :database AND pid <> pg_backend_pid()"
                ),
                {"database": database},
            ).all()
        )


def allow_connections(admin: Any, database: str, allowed: bool) -> None:
    with admin.connect() as connection:
        connection.execute(
            text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        )


def test_outages_get_quick_503s_recovery_and_no_lost_or_doubled_submission(database_url):
    assert POSTGRES_URL is not None
    database = make_url(database_url).database
    assert database and database.startswith("portfolio_test_"), database
    # Faults are injected from a connection to the server's maintenance database.
    admin_engine = create_engine(
        make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    secret = bootstrap_key(Settings(database_url=database_url))
    out = Outcomes()
    try:
        with live_servers(database_url, **SERVER_ENV) as urls:
            admin = httpx.Client(headers={"Authorization": f"Bearer {secret}"}, timeout=10)
            unit = create_unit(_Api(admin, urls[0]), "TAX")
            project = create_project(_Api(admin, urls[0]), unit["id"])
            client = threading.Thread(
                target=submit_all, args=(urls, secret, project["id"], out), daemon=True
            )
            client.start()
            killed = 0
            for _ in range(3):
                time.sleep(0.4)
                killed += kill_connections(admin_engine, database)
            # A real outage: no new connection is accepted for a while.
            allow_connections(admin_engine, database, False)
            try:
                killed += kill_connections(admin_engine, database)
                outage_ends = time.monotonic() + 1.5
                during = []
                while time.monotonic() < outage_ends:
                    started = time.monotonic()
                    response = admin.get(f"{urls[1]}/api/v1/projects")
                    during.append((response.status_code, time.monotonic() - started))
                    assert response.headers["content-type"].startswith("application/problem+json")
                    time.sleep(0.1)
            finally:
                allow_connections(admin_engine, database, True)
            time.sleep(0.3)
            killed += kill_connections(admin_engine, database)
            assert out.done.wait(timeout=120), "the client never finished"
            client.join()
            # Recovered without a restart: both processes answer reads again.
            for url in urls:
                response = admin.get(f"{url}/api/v1/experiments", params={"limit": 500})
                assert response.status_code == 200, response.text
    finally:
        allow_connections(admin_engine, database, True)
        admin_engine.dispose()

    assert killed > 0
    assert {status for status, _ in during} == {503}, during
    assert max(seconds for _, seconds in during) < 5.0
    assert out.bad == []
    assert out.replayed_5xx == []
    # A submission whose request died after saving keeps its key claimed (never saved
    # twice); its client may run out of retries without a 2xx. Rare, and never doubled.
    assert len(out.gave_up) <= 2, out.gave_up
    assert out.slowest_seconds < CLIENT_TIMEOUT_SECONDS
    assert 503 in out.statuses  # the client really lived through the outage
    assert len(out.acknowledged) + len(out.gave_up) == SUBMISSIONS
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT title, count(*), min(id) FROM experiments GROUP BY title")
        ).all()
    engine.dispose()
    stored = {title: (count, first_id) for title, count, first_id in rows}
    unacknowledged = {title: stored.pop(title) for title in out.gave_up if title in stored}
    assert stored == {title: (1, id_) for title, id_ in out.acknowledged.items()}
    assert all(count == 1 for count, _ in unacknowledged.values())


class _Api:
    """An httpx client bound to one base URL, for the conftest builders."""

    def __init__(self, client: httpx.Client, base_url: str) -> None:
        self.client = client
        self.base_url = base_url

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.post(self.base_url + path, **kwargs)


def test_a_connection_killed_mid_transaction_is_a_503_and_the_pool_recovers(
    app: Any, admin: Any, database_url: str
):
    unit = create_unit(admin, "TAX")
    project = create_project(admin, unit["id"])
    body = {"project_id": project["id"], "title": "E", "hypothesis": "h", "method": "pilot"}
    killer = create_engine(database_url, isolation_level="AUTOCOMMIT")
    armed = [True]

    def kill_before_insert(connection: Any, cursor: Any, statement: str, *_: Any) -> None:
        # The transaction has already read the project; its connection dies before the INSERT.
        if armed[0] and statement.lstrip().upper().startswith("INSERT INTO EXPERIMENTS"):
            armed[0] = False
            pid = connection.connection.dbapi_connection.info.backend_pid
            with killer.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                for _ in range(50):  # until the backend is really gone
                    gone = other.execute(
                        text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                        {"pid": pid},
                    ).scalar_one()
                    if gone == 0:
                        break
                    time.sleep(0.05)

    engine = app.state.engine
    event.listen(engine, "before_cursor_execute", kill_before_insert)
    try:
        response = admin.post("/api/v1/experiments", json=body)
    finally:
        event.remove(engine, "before_cursor_execute", kill_before_insert)
        killer.dispose()
    assert armed == [False]
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"] == "2"
    assert response.json()["title"] == "Database unavailable"
    # Nothing half-written, and the same pool serves the next requests.
    assert admin.get("/api/v1/experiments").json()["items"] == []
    created = admin.post("/api/v1/experiments", json=body)
    assert created.status_code == 201, created.text
    assert [e["id"] for e in admin.get("/api/v1/experiments").json()["items"]] == [
        created.json()["id"]
    ]
