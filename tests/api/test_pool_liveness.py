"""Pooled connections the server has closed are replaced at checkout, without a ping.

The engine has no `pool_pre_ping` (a round trip per checkout); `app.core.db` looks at the
idle connection's socket instead. These tests kill the pool's connections between
requests and expect the next request to succeed as if nothing had happened.
"""

from typing import Any

import pytest
from sqlalchemy import create_engine, event, text

from tests.builders import POSTGRES_URL, create_unit

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL terminates backends")


def _terminate_idle_pool_connections(database_url: str) -> int:
    killer = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with killer.connect() as connection:
            pids = connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).all()
            # Until the backends are really gone (their sockets closed).
            for _ in range(100):
                left = connection.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                        "current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
                if left == 0:
                    break
        return len(pids)
    finally:
        killer.dispose()


def test_reads_and_writes_after_the_server_closed_every_pooled_connection(
    app: Any, admin: Any, database_url: str
):
    unit = create_unit(admin, "TAX")
    assert admin.get(f"/api/v1/units/{unit['id']}").status_code == 200

    assert _terminate_idle_pool_connections(database_url) >= 1
    read = admin.get(f"/api/v1/units/{unit['id']}")
    assert read.status_code == 200, read.text
    assert read.json()["code"] == "TAX"

    assert _terminate_idle_pool_connections(database_url) >= 1
    create_unit(admin, "HR")
    assert [u["code"] for u in admin.get("/api/v1/units").json()["items"]] == ["TAX", "HR"]


def test_a_live_pooled_connection_is_reused_without_a_ping(
    app: Any, admin: Any, monkeypatch: pytest.MonkeyPatch
):
    unit = create_unit(admin, "TAX")
    admin.get(f"/api/v1/units/{unit['id']}")
    engine = app.state.engine
    statements: list[str] = []
    opened: list[object] = []
    pings: list[object] = []
    monkeypatch.setattr(engine.dialect, "do_ping", pings.append)

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    def connected(dbapi_connection: Any, _record: Any) -> None:
        opened.append(dbapi_connection)

    event.listen(engine, "before_cursor_execute", record)
    event.listen(engine, "connect", connected)
    try:
        assert admin.get(f"/api/v1/units/{unit['id']}").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
        event.remove(engine, "connect", connected)
    # The key lookup and the unit: no ping before them, and no new connection.
    assert len(statements) == 2, statements
    assert pings == []
    assert opened == []
