"""The benchmark: the real server against the database's own speed, side by side.

    make bench SIZE=M DB=postgres        # or: python -m bench.run --size M --db postgres

Generates the data (bench.generate), starts `portfolio serve` with the worker count of
docker-compose.yml on a free loopback port pinned to core 0, drives it with wrk pinned to
core 1, and prints every measurement as a ratio (median and min..max over --repeats runs).
Results go to bench/results/<db>-<size>.json; `--summary` turns them into the tables of
bench/RESULTS.md.
"""

import argparse
import json
import os
import platform
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app.api_keys import service as api_key_service
from app.api_keys.models import ApiKeyCreate
from app.auth.models import Role
from app.core.config import Settings
from app.core.db import is_sqlite
from app.core.pagination import encode_cursor
from app.main import create_app
from bench import floor, load, mixed
from bench.generate import generate

RESULTS_DIR = Path(__file__).resolve().parent / "results"
API = "/api/v1"
LIST_PAGE = f"{API}/projects?limit=100"
BATCH_SIZE = 1000
# Measurements `--only` can pick (default: all of them).
PARTS = ("reports", "polls", "deep", "list", "single", "batch", "after_write", "mixed")

Log = Callable[[str], None]


def default_url(db: str, size: str) -> str:
    if db == "sqlite":
        return f"sqlite:///{load.ROOT / 'bench' / 'data' / f'bench_{size.lower()}.db'}"
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/portfolio_bench_{size.lower()}"


def ensure_database(database_url: str) -> None:
    if is_sqlite(database_url):
        Path(make_url(database_url).database or "").parent.mkdir(parents=True, exist_ok=True)
        return
    url = make_url(database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
        ).first()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()


def vacuum_analyze(database_url: str, log: Log) -> None:
    """What autovacuum would have done since the last run (the earlier runs' writes, the
    summaries' compactions): the development machines' PostgreSQL runs with it off (a CI
    setting), a production one with it on, so reused data is vacuumed and analyzed first."""
    started = time.perf_counter()
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    log(f"VACUUM ANALYZE of the reused data: {time.perf_counter() - started:.1f} s")


def admin_key(database_url: str) -> str:
    engine = create_engine(database_url)
    with Session(engine, expire_on_commit=False) as session:
        _, secret = api_key_service.create(
            session=session, key_in=ApiKeyCreate(name="benchmark", role=Role.admin)
        )
    engine.dispose()
    return secret


def ratio_runs(pairs: list[tuple[float, float]]) -> dict[str, Any]:
    """Each pair is (ours, reference); the ratio is ours / reference."""
    ratios = [ours / reference for ours, reference in pairs]
    return {
        **load.median_and_spread(ratios),
        "ours": statistics.median(p[0] for p in pairs),
        "reference": statistics.median(p[1] for p in pairs),
    }


# -- in-process: statement counts and query plans ---------------------------------------------


@contextmanager
def statements(engine: Any) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def count_statements_and_plans(database_url: str, secret: str) -> dict[str, Any]:
    """SQL statements per request (the same at every size if no query loops over rows),
    and PostgreSQL's plan for each report's statements."""
    # Answers not kept by ETag: a report asked twice is counted computing twice.
    app = create_app(
        Settings(
            database_url=database_url, db_pool_size=2, db_max_overflow=0, report_cache_bytes=0
        )
    )
    engine = app.state.engine
    client = TestClient(app, headers={"Authorization": f"Bearer {secret}"})
    counts: dict[str, int] = {}
    plans: dict[str, list[str]] = {}
    paths = {name: report.path for name, report in floor.REPORTS.items()}
    paths["projects_list"] = LIST_PAGE
    for name, path in paths.items():
        client.get(path)  # warm caches; count the second call
        with statements(engine) as seen:
            response = client.get(path)
        assert response.status_code == 200, response.text
        counts[name] = len(seen)
        if name in floor.REPORTS and floor.REPORTS[name].conditional:
            etag = response.headers["ETag"]
            with statements(engine) as polled:
                assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
            counts[f"{name}_304"] = len(polled)
        if not is_sqlite(database_url):
            plans[name] = _explain(engine, seen)
    app.state.engine.dispose()
    return {"statements_per_request": counts, "plans": plans}


def _explain(engine: Any, seen: list[tuple[str, Any]]) -> list[str]:
    plans = []
    with engine.connect() as connection:
        for statement, parameters in seen:
            if "api_keys" in statement or "data_revision" in statement:
                continue  # the key lookup and revision read are primary/unique-key probes
            rows = connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS, SUMMARY ON) " + statement, parameters
            ).all()
            plans.append("\n".join(row[0] for row in rows))
        connection.rollback()
    return plans


# -- the database's floor ----------------------------------------------------------------------


def sql_latency_ms(database_url: str, sql: list[str], duration: float) -> float:
    """Mean latency of a report's statements run back to back on one connection, all rows
    fetched."""
    if is_sqlite(database_url):
        connection: Any = sqlite3.connect(make_url(database_url).database or "")
    else:
        import psycopg

        dsn = make_url(database_url).set(drivername="postgresql")
        # JIT off, as the app runs it (app.core.config.Settings.db_jit): faster on both sides.
        connection = psycopg.connect(
            dsn.render_as_string(hide_password=False), autocommit=True, options="-c jit=off"
        )

    def run() -> None:
        for statement in sql:
            connection.execute(statement).fetchall()

    try:
        run()
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < duration or count < 3:
            run()
            count += 1
        return (time.perf_counter() - started) * 1000 / count
    finally:
        connection.close()


def raw_bulk_insert_ms(database_url: str, rows: int) -> float:
    """The floor for the batch endpoint: the same experiment rows in one multi-row insert."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        project_id, unit_id = connection.execute(
            text("SELECT id, unit_id FROM projects WHERE archived = false ORDER BY id LIMIT 1")
        ).one()
        now = datetime.now(UTC)
        values = [
            {
                "project_id": project_id,
                "unit_id": unit_id,
                "title": f"Raw {i}",
                "hypothesis": "Doing X changes Y.",
                "method": "pilot",
                "status": "proposed",
                "created_at": now,
                "updated_at": now,
                "version": 1,
                "archived": False,
            }
            for i in range(rows)
        ]
        insert = text(
            "INSERT INTO experiments (project_id, unit_id, title, hypothesis, method, status, "
            "created_at, updated_at, version, archived) VALUES (:project_id, :unit_id, :title, "
            ":hypothesis, :method, :status, :created_at, :updated_at, :version, :archived)"
        )
        started = time.perf_counter()
        connection.execute(insert, values)
        connection.commit()
        elapsed = (time.perf_counter() - started) * 1000
    engine.dispose()
    return elapsed


# -- the run -------------------------------------------------------------------------------------


def experiment_body(project_id: int, index: int) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "title": f"Bench experiment {index}",
        "hypothesis": "Doing X changes Y.",
        "method": "pilot",
    }


def measure(
    database_url: str,
    size: str,
    *,
    repeats: int = 3,
    duration: float = 5.0,
    connections: int = 8,
    workers: int | None = None,
    regenerate: bool = True,
    only: tuple[str, ...] = PARTS,
    reports_only: tuple[str, ...] | None = None,
    mixed_seconds: float = 60.0,
    log: Log = print,
) -> dict[str, Any]:
    backend = "sqlite" if is_sqlite(database_url) else "postgresql"
    workers = workers or load.compose_workers()
    ensure_database(database_url)
    if regenerate:
        generate(database_url, size, log=log)
    elif backend == "postgresql":
        vacuum_analyze(database_url, log)
    secret = admin_key(database_url)
    auth = {"Authorization": f"Bearer {secret}"}
    result: dict[str, Any] = {
        "size": size,
        "backend": backend,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        # Other work on the machine skews absolute figures (ratios less so): say how much.
        "load_average_at_start": os.getloadavg(),
        "workers": workers,
        "repeats": repeats,
        "duration_s": duration,
        "connections": connections,
        "parts": list(only),
    }
    result.update(count_statements_and_plans(database_url, secret))
    log(f"statements per request: {result['statements_per_request']}")

    with load.portfolio_server(database_url, workers) as server:
        base = server.base_url
        warm_ms: dict[str, float] = {}
        for path in [*(r.path for r in floor.REPORTS.values()), LIST_PAGE]:
            started = time.perf_counter()
            httpx.get(base + path, headers=auth, timeout=120).raise_for_status()
            warm_ms[path] = (time.perf_counter() - started) * 1000
        rest_mb = server.rss_mb()

        # 1 + 7: each report at one connection vs its SQL, memory sampled meanwhile.
        reports: dict[str, Any] = {}
        wanted = {n: r for n, r in floor.REPORTS.items() if not reports_only or n in reports_only}
        with load.RssSampler(server) as sampler:
            for name, report in wanted.items() if "reports" in only else ():
                sql = report.statements(is_sqlite(database_url))
                pairs = []
                bad = 0
                # Long enough for several requests even when one takes seconds.
                report_duration = max(duration, 5 * warm_ms[report.path] / 1000)
                for _ in range(repeats):
                    server.wait_idle()
                    http = load.http_load(
                        base + report.path, duration=report_duration, headers=auth
                    )
                    sql_ms = sql_latency_ms(database_url, sql, report_duration)
                    pairs.append((http.mean_ms, sql_ms))
                    bad += http.bad_responses
                # Non-2xx/3xx answers (429, 5xx) or socket errors: the mean is not the route's.
                reports[name] = {**ratio_runs(pairs), "target": report.target, "bad_responses": bad}
                log(f"report {name}: {reports[name]}")
            # Every worker busy with reports at once: the memory peak.
            for report in wanted.values() if "reports" in only else ():
                load.http_load(
                    base + report.path, duration=duration, connections=connections, headers=auth
                )
                server.wait_idle()
        if "reports" in only:
            result["reports_vs_sql"] = reports
            result["memory_mb"] = {
                "at_rest": rest_mb,
                "peak_serving_reports": sampler.peak_mb,
                "growth": sampler.peak_mb - rest_mb,
                "target_growth_below": 100,
            }
            log(f"memory: {result['memory_mb']}")

        # 2: conditional polls vs a trivial endpoint.
        if "polls" in only:
            report_path = floor.REPORTS["spread"].path
            etag = httpx.get(base + report_path, headers=auth, timeout=60).headers["ETag"]
            conditional = {**auth, "If-None-Match": etag}
            # wrk counts a 200 as success too: make sure these polls really are 304s.
            assert httpx.get(base + report_path, headers=conditional).status_code == 304
            pairs = []
            for _ in range(repeats):
                server.wait_idle()
                poll = load.http_load(
                    base + report_path,
                    duration=duration,
                    connections=connections,
                    headers=conditional,
                )
                health = load.http_load(
                    base + "/healthz", duration=duration, connections=connections
                )
                pairs.append((poll.requests_per_second, health.requests_per_second))
            result["polls_vs_healthz"] = {**ratio_runs(pairs), "target_at_least": 0.5}
            log(f"polls: {result['polls_vs_healthz']}")

        # 5: the page at 90% depth, reached by cursor, vs the first page.
        engine = create_engine(database_url)
        with engine.connect() as connection:
            live = connection.execute(
                text("SELECT count(*) FROM projects WHERE archived = false")
            ).scalar_one()
            before_deep = connection.execute(
                text(
                    "SELECT id FROM projects WHERE archived = false ORDER BY id LIMIT 1 OFFSET :n"
                ),
                {"n": int(live * 0.9)},
            ).scalar_one()
            project_id = connection.execute(text("SELECT min(id) FROM projects")).scalar_one()
        engine.dispose()
        if "deep" in only:
            deep = f"{LIST_PAGE}&cursor={encode_cursor(before_deep)}"
            pairs = []
            for _ in range(repeats):
                server.wait_idle()
                deep_page = load.http_load(base + deep, duration=duration, headers=auth)
                first_page = load.http_load(base + LIST_PAGE, duration=duration, headers=auth)
                pairs.append((deep_page.mean_ms, first_page.mean_ms))
            result["deep_page_vs_first"] = {**ratio_runs(pairs), "target_at_most": 1.2}
            log(f"deep page: {result['deep_page_vs_first']}")

        # 4: the list endpoint vs the SQL-as-API peer (PostgreSQL only: json_agg).
        if backend == "postgresql" and "list" in only:
            with load.peer_server(database_url, workers) as peer:
                # A floor only if it builds the same page: every public field, every item.
                our_items = httpx.get(base + LIST_PAGE, headers=auth, timeout=60).json()["items"]
                peer_items = httpx.get(peer.base_url + "/projects?limit=100", timeout=60).json()
                assert [sorted(i) for i in our_items] == [sorted(i) for i in peer_items], (
                    "the peer's page differs from the API's in its items or fields"
                )
                pairs = []
                for _ in range(repeats):
                    server.wait_idle()
                    ours = load.http_load(
                        base + LIST_PAGE, duration=duration, connections=connections, headers=auth
                    )
                    theirs = load.http_load(
                        peer.base_url + "/projects?limit=100",
                        duration=duration,
                        connections=connections,
                    )
                    pairs.append((ours.requests_per_second, theirs.requests_per_second))
            result["list_vs_peer"] = {**ratio_runs(pairs), "target_at_least": 0.6}
            log(f"list vs peer: {result['list_vs_peer']}")

        # 6: writes. Single POSTs with idempotency keys, many connections at once: on
        # SQLite this is also the "database is locked" check (bad_responses must be 0).
        if "single" in only:
            server.wait_idle()
            body = json.dumps(experiment_body(project_id, 0))
            single = load.http_load(
                base + f"{API}/experiments",
                duration=duration,
                connections=connections,
                headers=auth,
                post_json=body,
            )
            result["single_post"] = single.as_dict()
            log(f"single POST /experiments: {result['single_post']}")
            if backend == "postgresql":
                result["single_vs_floor"] = _single_vs_floor(
                    base, auth, database_url, workers, body, repeats, duration, connections, server
                )
                log(f"single POST vs write floor: {result['single_vs_floor']}")
        if "batch" in only:
            result["batch_vs_raw_insert"] = _batch(base, auth, database_url, project_id, repeats)
            log(f"batch: {result['batch_vs_raw_insert']}")
        if "after_write" in only:
            server.wait_idle()
            result["reports_after_write"] = _after_write(base, auth, database_url, wanted)
            log(f"reports right after a write: {result['reports_after_write']}")
    # 6 (issue 17): writes and dashboards at once, at fixed rates, on a server as deployed:
    # report answers kept by ETag, so ten dashboards asking after a write share one answer.
    if "mixed" in only:
        with load.portfolio_server(database_url, workers, answer_cache=True) as server:
            result["mixed"] = mixed.mixed(server.base_url, secret, database_url, mixed_seconds)
            log(f"mixed: writes {result['mixed']['writes']}, polls {result['mixed']['polls']}")
    result["load_average_at_end"] = os.getloadavg()
    return result


def _single_vs_floor(
    base: str,
    auth: dict[str, str],
    database_url: str,
    workers: int,
    body: str,
    repeats: int,
    duration: float,
    connections: int,
    server: load.Server,
) -> dict[str, Any]:
    """Issue 17, target 5: idempotent single POSTs against the write floor (`bench.peer`'s
    `POST /experiments`: the same row, one INSERT, same driver, workers and pinning),
    throughput ratio, alternating runs."""
    pairs = []
    with load.peer_server(database_url, workers) as peer:
        for _ in range(repeats):
            server.wait_idle()
            ours = load.http_load(
                base + f"{API}/experiments",
                duration=duration,
                connections=connections,
                headers=auth,
                post_json=body,
            )
            floor_run = load.http_load(
                peer.base_url + "/experiments",
                duration=duration,
                connections=connections,
                post_json=body,
            )
            if ours.bad_responses or floor_run.bad_responses:
                raise RuntimeError(f"failed writes: ours {ours}, floor {floor_run}")
            pairs.append((ours.requests_per_second, floor_run.requests_per_second))
    return {**ratio_runs(pairs), "target_at_least": 0.3}


def _batch_path(base: str) -> str | None:
    spec = httpx.get(base + "/openapi.json", timeout=30).json()
    for path, operations in spec["paths"].items():
        if path.startswith(f"{API}/experiments") and "batch" in path and "post" in operations:
            return str(path)
    return None


def _batch(
    base: str, auth: dict[str, str], database_url: str, project_id: int, repeats: int
) -> dict[str, Any]:
    path = _batch_path(base)
    if path is None:
        return {"skipped": "this build has no batch endpoint for experiments"}
    pairs = []
    for run in range(repeats):
        items = [experiment_body(project_id, run * BATCH_SIZE + i) for i in range(BATCH_SIZE)]
        started = time.perf_counter()
        response = httpx.post(
            base + path,
            json={"items": items},
            headers={**auth, "Idempotency-Key": f"bench-batch-{time.time_ns()}"},
            timeout=120,
        )
        elapsed = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        pairs.append((elapsed, raw_bulk_insert_ms(database_url, BATCH_SIZE)))
    return {**ratio_runs(pairs), "path": path, "rows": BATCH_SIZE, "target_at_most": 3.0}


# Write-then-read rounds per report: enough for a stable median at S and at L.
AFTER_WRITE_ROUNDS = 30


def first_live_project(database_url: str) -> int:
    """The project `after_write_ms` writes: the first live one."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        project_id = connection.execute(
            text("SELECT min(id) FROM projects WHERE archived = false")
        ).scalar_one()
    engine.dispose()
    return int(project_id)


def after_write_ms(client: httpx.Client, project_id: int, path: str, round_: int) -> float:
    """One round: PATCH the project's stage (between two active stages, so every report's
    data and ETag change), then GET the report at `path`; the GET's milliseconds."""
    stage = ("exploration", "experiment")[round_ % 2]
    client.patch(f"{API}/projects/{project_id}", json={"stage": stage}).raise_for_status()
    started = time.perf_counter()
    client.get(path).raise_for_status()
    return (time.perf_counter() - started) * 1000


def latency_summary(latencies: list[float]) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {
        "median_ms": statistics.median(ordered),
        "p90_ms": ordered[int(len(ordered) * 0.9)],
        "min_ms": ordered[0],
        "rounds": len(ordered),
    }


def _after_write(
    base: str, auth: dict[str, str], database_url: str, reports: dict[str, Any]
) -> dict[str, Any]:
    """Each report asked right after a write, as a dashboard asks it after a submission
    (`after_write_ms`), timed, on one connection. Issue 17 target 1 compares these
    latencies at L with those at S (at most 3x); `bench.scaling` does it in one run."""
    project_id = first_live_project(database_url)
    with httpx.Client(base_url=base, headers=auth, timeout=120) as client:
        return {
            name: latency_summary(
                [
                    after_write_ms(client, project_id, report.path, round_)
                    for round_ in range(AFTER_WRITE_ROUNDS)
                ]
            )
            for name, report in reports.items()
        }


def _merge_partial(previous: dict[str, Any], partial: dict[str, Any]) -> dict[str, Any]:
    """The earlier full run with the figures a partial run measured again replaced; when and
    under what machine load each part was last measured is kept in `partial_runs`."""
    merged = dict(previous)
    run_keys = ("date", "load_average_at_start", "load_average_at_end", "parts")
    for key, value in partial.items():
        if key in ("reports_vs_sql", "reports_after_write"):
            merged[key] = {**previous.get(key, {}), **value}
        elif key not in run_keys:
            merged[key] = value
    merged["partial_runs"] = [
        *previous.get("partial_runs", []),
        {key: partial[key] for key in run_keys},
    ]
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="S", help="S, M or L")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--database-url", help="Default: a bench database of that size")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="Seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--reuse", action="store_true", help="Keep the data already loaded")
    parser.add_argument("--summary", action="store_true", help="Print RESULTS.md tables")
    parser.add_argument(
        "--only",
        default=",".join(PARTS),
        help=f"Comma-separated measurements to run, of {','.join(PARTS)}; a partial run "
        "updates those figures in the existing results file and keeps the others",
    )
    parser.add_argument("--reports", help="With reports: comma-separated report names only")
    parser.add_argument(
        "--mixed-seconds", type=float, default=60.0, help="How long the mixed workload runs"
    )
    args = parser.parse_args()
    if args.summary:
        from bench.summary import render

        print(render(RESULTS_DIR))
        return
    load.pin_self()
    url = args.database_url or default_url(args.db, args.size)
    result = measure(
        url,
        args.size.upper(),
        repeats=args.repeats,
        duration=args.duration,
        connections=args.connections,
        regenerate=not args.reuse,
        only=tuple(part for part in args.only.split(",") if part),
        reports_only=tuple(args.reports.split(",")) if args.reports else None,
        mixed_seconds=args.mixed_seconds,
    )
    RESULTS_DIR.mkdir(exist_ok=True)
    if result.get("plans"):
        # From this run's own figures, also when a partial run merges into an earlier one.
        from bench.summary import plans_markdown

        plans = RESULTS_DIR / f"plans-{result['backend']}-{result['size']}.md"
        plans.write_text(plans_markdown(result) + "\n")
        print(f"wrote {plans}")
    out = RESULTS_DIR / f"{result['backend']}-{result['size']}.json"
    if set(result["parts"]) != set(PARTS) and out.exists():
        result = _merge_partial(json.loads(out.read_text()), result)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
