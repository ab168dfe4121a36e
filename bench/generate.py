"""Fill a database with a synthetic innovation portfolio, fast.

    python -m bench.generate --size M --database-url postgresql+psycopg://postgres@127.0.0.1/bench_m

The database is the generator's own: its schema is dropped and rebuilt with the
migrations (`portfolio migrate`) every time. Rows go in with PostgreSQL
COPY or, on SQLite, executemany in one transaction: never through the HTTP API, which
would take hours at size L.

Every row is drawn from a seeded generator, so a size always yields the same data and
the hand-written SQL of the benchmark can be checked against the API's numbers.
"""

import argparse
import bisect
import hashlib
import itertools
import random
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from app.core.db import is_sqlite, today
from app.core.migrations import upgrade
from app.reports import outcome_summaries
from app.reports.summary_families import FAMILIES


@dataclass(frozen=True)
class Size:
    units: int
    projects: int
    experiments: int
    criteria: int
    measurements: int
    api_keys: int


SIZES = {
    "XS": Size(
        units=12, projects=100, experiments=400, criteria=500, measurements=1_000, api_keys=5
    ),
    "S": Size(
        units=40,
        projects=1_000,
        experiments=4_000,
        criteria=5_000,
        measurements=10_000,
        api_keys=10,
    ),
    "M": Size(
        units=200,
        projects=20_000,
        experiments=80_000,
        criteria=100_000,
        measurements=200_000,
        api_keys=50,
    ),
    "L": Size(
        units=1_000,
        projects=200_000,
        experiments=800_000,
        criteria=1_000_000,
        measurements=2_000_000,
        api_keys=200,
    ),
}

# Child tables first: the order rows are deleted in.
TABLES = (
    "history",
    "idempotency_keys",
    "measurements",
    "criteria",
    "determinant_tags",
    "experiments",
    "project_periods",
    "projects",
    "api_keys",
    "unit_commitments",
    "units",
)

TODAY = datetime.now(UTC).date()
# The lineage the benchmark reads (`bench.floor`): project 50 sits on a long chain of
# adoptions, every third project from 2 to 599 adopted from the one before (199 links at
# sizes S and up, close to `app.projects.service.MAX_LINEAGE_DEPTH`; 32 at XS).
LINEAGE_PROJECT = 50
CHAIN_STEP = 3
CHAIN_END = 600
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
DETERMINANTS = ("clarity", "parity", "suitability", "normality")
STAGE_PATH = ("idea", "exploration", "experiment", "scaling", "embedded")

Row = tuple[Any, ...]


def _ts(moment: datetime) -> str:
    # The format SQLAlchemy writes for DateTime on SQLite; PostgreSQL reads it as UTC
    # because the loading session's time zone is UTC.
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _weighted(
    rng: random.Random, values: tuple[str, ...], weights: tuple[int, ...]
) -> Callable[[], str]:
    cumulative = list(itertools.accumulate(weights))
    total = cumulative[-1]

    def pick() -> str:
        return values[bisect.bisect_right(cumulative, rng.random() * total)]

    return pick


class Portfolio:
    """Row generators for every table, consistent with each other and with the services'
    rules (experiment.unit_id = its project's unit, criterion.latest_value = the value of
    its latest measurement, one owner per criterion and tag, unique determinant per owner)."""

    def __init__(self, size: Size, seed: int = 20261128) -> None:
        self.size = size
        self.rng = random.Random(seed)
        # The experimentation fields (issue 15) draw from their own generator, so the rest of
        # the portfolio is the same data as before they existed.
        self.experimentation_rng = random.Random(seed + 15)
        self.seed = seed
        self.project_unit: list[int] = []
        self.periods: list[Row] = []
        self.period_id = 0
        self.history_rng = random.Random(seed + 1)
        self.stamp = _ts(EPOCH)

    def units(self) -> Iterator[Row]:
        # A tree: a handful of departments, each with divisions, each with teams.
        rng = self.rng
        kinds = ("business_line", "corporate", "innovation_lab")
        for unit_id in range(1, self.size.units + 1):
            parent = None if unit_id <= 8 else rng.randint(1, max(8, unit_id // 4))
            kind = kinds[0] if rng.random() < 0.7 else kinds[1 + (unit_id % 2)]
            yield (
                unit_id,
                f"U{unit_id:05d}",
                f"Unit {unit_id}",
                kind,
                parent,
                self.stamp,
                self.stamp,
                1,
                False,
            )

    def _barometer_fields(self, brng: random.Random, project_id: int, stage: str) -> Row:
        """novelty, adopted_from, initiated_by, evaluation, embedded_on and the three set
        masks; by their own generator, so the other columns stay as they were."""
        on_chain = project_id % CHAIN_STEP == LINEAGE_PROJECT % CHAIN_STEP and (
            CHAIN_STEP < project_id < CHAIN_END
        )
        source = None
        if on_chain:
            source = project_id - CHAIN_STEP
        elif project_id > 1 and brng.random() < 0.25:
            # A random earlier project, never one on the long chain (which would lengthen
            # it past the bound).
            source = brng.randint(max(1, project_id - 5000), project_id - 1)
            if source % CHAIN_STEP == LINEAGE_PROJECT % CHAIN_STEP and source < CHAIN_END:
                source -= 1
        if source is not None:
            novelty: str | None = brng.choice(("adapted", "copied"))
        else:
            novelty = brng.choice(("first", "first", "adapted", "copied", None))
        embedded_on = None
        if stage == "embedded":
            embedded_on = (TODAY - timedelta(days=brng.randint(0, 1400))).isoformat()
        return (
            novelty,
            source,
            brng.choice(
                ("employees", "managers", "politicians", "citizens", "businesses", "other", None)
            ),
            brng.choice(("none", "internal", "external", None)),
            embedded_on,
            brng.randint(0, 31),
            brng.randint(0, 31) if brng.random() < 0.6 else 0,
            brng.randint(0, 31),
        )

    def projects(self) -> Iterator[Row]:
        rng = self.rng
        brng = random.Random(self.seed + 16)
        work_mode = _weighted(rng, ("side_of_desk", "dedicated", "core_business"), (45, 30, 25))
        sponsor = _weighted(rng, ("individual", "organizational", "system"), (50, 40, 10))
        stage = _weighted(
            rng,
            ("idea", "exploration", "experiment", "scaling", "embedded", "stopped"),
            (20, 20, 25, 15, 10, 10),
        )
        facets = ("enhancement", "mission", "adaptive", "anticipatory", None)
        units = self.size.units
        for project_id in range(1, self.size.projects + 1):
            unit_id = rng.randint(1, units)
            self.project_unit.append(unit_id)
            has_risk = rng.random() < 0.8
            likelihood, impact = rng.randint(1, 5), rng.randint(1, 5)
            score = likelihood * impact
            band = "low" if score <= 6 else "medium" if score <= 12 else "high"
            started = TODAY - timedelta(days=rng.randint(30, 1500))
            created_at = EPOCH + timedelta(seconds=project_id * 7)
            created = _ts(created_at)
            tracked = (sponsor(), work_mode(), stage())
            stage_since = self._history(project_id, unit_id, *tracked)
            project_stage = tracked[2]
            yield (
                project_id,
                f"Project {project_id}",
                "Synthetic project for the benchmark.",
                unit_id,
                tracked[0],
                None,
                tracked[1],
                tracked[2],
                facets[project_id % 5],
                round(rng.uniform(10_000, 2_000_000), 2),
                round(rng.uniform(0.1, 12), 2),
                started.isoformat(),
                None,
                likelihood if has_risk else None,
                impact if has_risk else None,
                rng.randint(1, 5) if has_risk else None,
                None,
                score if has_risk else None,
                band if has_risk else None,
                created,
                created,
                1,
                project_id % 50 == 0,
                stage_since,
                *self._barometer_fields(brng, project_id, project_stage),
            )

    def _history(self, project_id: int, unit_id: int, sponsor: str, mode: str, stage: str) -> str:
        """Append the project's periods, oldest first, ending with its current values;
        returns its stage_since. One to four periods (2.5 on average) going back up to eight
        years: earlier stages along the path, more side-of-desk work and individual sponsors
        earlier on, now and then another unit. A separate generator, so the other tables
        are the same as before periods were added."""
        rng = self.history_rng
        periods = [(sponsor, mode, stage, unit_id)]
        count = rng.choices((1, 2, 3, 4), (20, 30, 30, 20))[0]
        while len(periods) < count:
            sponsor, mode, stage, unit = periods[0]
            if stage != "idea" and rng.random() < 0.6:
                path_index = STAGE_PATH.index(stage) if stage in STAGE_PATH else 4
                stage = STAGE_PATH[rng.randint(0, max(0, path_index - 1))]
            elif rng.random() < 0.5:
                mode = "side_of_desk"
                sponsor = "individual" if rng.random() < 0.6 else sponsor
            else:
                unit = rng.randint(1, self.size.units)
            periods.insert(0, (sponsor, mode, stage, unit))
        # Start dates: the last period began 20-400 days ago, each earlier one 60-900 days
        # before the next.
        starts = [TODAY - timedelta(days=rng.randint(20, 400))]
        while len(starts) < len(periods):
            starts.insert(0, starts[0] - timedelta(days=rng.randint(60, 900)))
        # The run columns (`ProjectPeriod`): the previous stage, and the start of the run
        # of this period's stage and of the previous one's.
        prev_stage: str | None = None
        since: date | None = None
        for index, ((level, work, phase, unit), start) in enumerate(
            zip(periods, starts, strict=True)
        ):
            end = starts[index + 1].isoformat() if index + 1 < len(starts) else None
            prev_since = since
            since = since if phase == prev_stage else start
            self.period_id += 1
            self.periods.append(
                (
                    self.period_id,
                    project_id,
                    start.isoformat(),
                    end,
                    level,
                    work,
                    phase,
                    unit,
                    prev_stage,
                    since.isoformat(),
                    None if prev_since is None else prev_since.isoformat(),
                )
            )
            prev_stage = phase
        assert since is not None
        return since.isoformat()

    def experiments(self) -> Iterator[Row]:
        rng = self.rng
        method = _weighted(
            rng,
            ("rct", "ab_test", "pilot", "prototype", "simulation", "other"),
            (10, 15, 35, 25, 5, 10),
        )
        status = _weighted(rng, ("proposed", "running", "completed", "stopped"), (20, 30, 40, 10))
        result = _weighted(rng, ("supported", "not_supported", "inconclusive"), (50, 25, 25))
        projects = self.size.projects
        extra = self.experimentation_rng
        comparison = _weighted(
            extra, ("none", "before_after", "comparison_group", "randomized"), (40, 25, 20, 15)
        )
        for experiment_id in range(1, self.size.experiments + 1):
            project_id = rng.randint(1, projects)
            state = status()
            created = _ts(EPOCH + timedelta(seconds=experiment_id * 2))
            started = TODAY - timedelta(days=rng.randint(10, 900))
            outcome = result() if state == "completed" else None
            ended = published = None
            if state in ("completed", "stopped"):
                ended = min(TODAY, started + timedelta(days=extra.randint(30, 200)))
                # Successes published more often than failures: a visible publication gap.
                if extra.random() < (0.7 if outcome == "supported" else 0.4):
                    published = min(TODAY, ended + timedelta(days=extra.randint(0, 150)))
            preregistered = (
                started - timedelta(days=extra.randint(-5, 30)) if extra.random() < 0.3 else None
            )
            yield (
                experiment_id,
                project_id,
                self.project_unit[project_id - 1],
                f"Experiment {experiment_id}",
                "Doing X changes Y by Z.",
                method(),
                state,
                outcome,
                None,
                started.isoformat(),
                ended and ended.isoformat(),
                comparison(),
                extra.randint(20, 5000) if extra.random() < 0.5 else None,
                preregistered and preregistered.isoformat(),
                extra.random() < 0.2,
                extra.randint(100_000, 20_000_000) / 100 if extra.random() < 0.6 else None,
                published and published.isoformat(),
                f"https://open.example.org/e/{experiment_id}" if published else None,
                created,
                created,
                1,
                experiment_id % 40 == 0,
            )

    def unit_commitments(self) -> Iterator[Row]:
        """A commitment for this year for two units in three."""
        extra = random.Random(self.experimentation_rng.random())
        commitment_id = 0
        for unit_id in range(1, self.size.units + 1):
            if unit_id % 3 == 0:
                continue
            commitment_id += 1
            yield (
                commitment_id,
                unit_id,
                TODAY.year,
                extra.randint(1_000_000, 50_000_000),
                extra.choice((0.01, 0.03, 0.05)),
            )

    def determinant_tags(self) -> Iterator[Row]:
        rng = self.rng
        tag_id = 0
        owners = ((self.size.projects, 2, True), (self.size.experiments, 1, False))
        for count, max_tags, on_project in owners:
            for owner_id in range(1, count + 1):
                for determinant in rng.sample(DETERMINANTS, rng.randint(0, max_tags)):
                    tag_id += 1
                    effect = "barrier" if rng.random() < 0.55 else "enabler"
                    yield (
                        tag_id,
                        determinant,
                        effect,
                        None,
                        owner_id if on_project else None,
                        None if on_project else owner_id,
                    )

    def criteria_and_measurements(self) -> tuple[list[Row], list[Row]]:
        """Criteria with their latest measurement filled in, and the measurements."""
        rng = self.rng
        size = self.size
        kinds = ("outcome", "output", "activity")
        # Measurements per criterion cycle 0,2,4,1,3: on average exactly two.
        per_criterion = (0, 2, 4, 1, 3)
        criteria: list[Row] = []
        measurements: list[Row] = []
        measurement_id = 0
        for criterion_id in range(1, size.criteria + 1):
            on_project = rng.random() < 0.4
            owner = rng.randint(1, size.projects if on_project else size.experiments)
            increase = rng.random() < 0.6
            baseline = float(rng.randint(10, 100))
            target = baseline * (1.3 if increase else 0.7)
            due = TODAY + timedelta(days=rng.randint(-365, 365))
            latest_value = latest_on = None
            day = TODAY - timedelta(days=rng.randint(60, 400))
            for _ in range(per_criterion[criterion_id % 5]):
                if measurement_id >= size.measurements:
                    break
                measurement_id += 1
                day += timedelta(days=rng.randint(1, 30))
                value = round(baseline * rng.uniform(0.6, 1.5), 2)
                latest_value, latest_on = value, day.isoformat()
                measurements.append(
                    (measurement_id, criterion_id, value, latest_on, None, self.stamp)
                )
            criteria.append(
                (
                    criterion_id,
                    f"Metric {criterion_id}",
                    kinds[criterion_id % 3],
                    None,
                    baseline,
                    target,
                    "increase" if increase else "decrease",
                    due.isoformat(),
                    owner if on_project else None,
                    None if on_project else owner,
                    latest_value,
                    latest_on,
                    self.stamp,
                    self.stamp,
                    1,
                    criterion_id % 60 == 0,
                )
            )
        return criteria, measurements

    def api_keys(self) -> tuple[list[Row], str]:
        """Keys of every role; returns the rows and the secret of the first admin key."""
        rows: list[Row] = []
        admin_secret = ""
        roles = ("admin", "manager", "viewer", "submitter")
        for key_id in range(1, self.size.api_keys + 1):
            role = roles[(key_id - 1) % 4]
            secret = "pf_" + secrets.token_urlsafe(32)
            if key_id == 1:
                admin_secret = secret
            unit = self.rng.randint(1, self.size.units) if role == "submitter" else None
            digest = hashlib.sha256(secret.encode()).hexdigest()
            rows.append(
                (
                    key_id,
                    f"bench {role} {key_id}",
                    role,
                    unit,
                    secret[:10],
                    digest,
                    self.stamp,
                    None,
                )
            )
        return rows, admin_secret


COLUMNS = {
    "units": "id, code, name, kind, parent_id, created_at, updated_at, version, archived",
    "projects": "id, title, summary, unit_id, sponsor_level, sponsor, work_mode, stage, facet, "
    "budget, fte, started_on, ended_on, risk_likelihood, risk_impact, risk_of_not_innovating, "
    "risk_mitigation, risk_score, risk_band, created_at, updated_at, version, archived, "
    "stage_since, novelty, adopted_from, initiated_by, evaluation, embedded_on, "
    "innovation_types_mask, collaborators_mask, value_types_mask",
    "project_periods": "id, project_id, valid_from, valid_to, sponsor_level, work_mode, stage, "
    "unit_id, prev_stage, stage_since, prev_stage_since",
    "experiments": "id, project_id, unit_id, title, hypothesis, method, status, result, lessons, "
    "started_on, ended_on, comparison, sample_size, preregistered_on, independent_evaluation, "
    "cost, published_on, publication_url, created_at, updated_at, version, archived",
    "unit_commitments": "id, unit_id, year, program_funds, target_share",
    "determinant_tags": "id, determinant, effect, note, project_id, experiment_id",
    "criteria": "id, metric, kind, unit_of_measure, baseline, target, direction, due_on, "
    "project_id, experiment_id, latest_value, latest_measured_on, created_at, updated_at, "
    "version, archived",
    "measurements": "id, criterion_id, value, measured_on, note, created_at",
    "api_keys": "id, name, role, unit_id, prefix, key_hash, created_at, revoked_at",
}


def _sqlite_load(url: str, tables: Iterable[tuple[str, Iterable[Row]]]) -> None:
    import sqlite3

    connection = sqlite3.connect(make_url(url).database or "", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("BEGIN")
    # SQLite cannot switch triggers off: the summary triggers are dropped for the load and
    # created again, in the same transaction, after the summaries' rebuild (but for the
    # families that load with their triggers on).
    rebuilt = [f for f in FAMILIES if f.has_triggers() and not f.sqlite_load_with_triggers]
    for family in rebuilt:
        for statement in family.drop_trigger_ddl("sqlite"):
            connection.execute(statement)
    for table in (*TABLES, *(t.name for family in rebuilt for t in family.tables)):
        connection.execute(f"DELETE FROM {table}")
    for table, rows in tables:
        columns = COLUMNS[table]
        marks = ", ".join("?" * len(columns.split(",")))
        connection.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
    for family in rebuilt:
        for statement in (*family.rebuild_sql("sqlite"), *family.trigger_ddl("sqlite")):
            connection.execute(statement)
    connection.execute("UPDATE data_revisions SET revision = revision + 1")
    connection.execute("COMMIT")
    connection.execute("ANALYZE")
    connection.close()


def _postgres_load(
    url: str, tables: Iterable[tuple[str, Iterable[Row]]], *, with_triggers: bool = False
) -> None:
    """COPY every table in one transaction. The report summaries' triggers are off during
    the load and the summaries rebuilt at its end (`app.reports.summary_families`), unless
    ``with_triggers``. The triggers run once per COPY (statement triggers), so either way
    costs about the same: M loaded in 51-60 s with the rebuild, 54-84 s with the triggers,
    on a loaded machine (bench/RESULTS.md, "Summaries")."""
    import psycopg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    rebuilt = [] if with_triggers else [f for f in FAMILIES if f.has_triggers()]
    with psycopg.connect(dsn) as connection:
        connection.execute("SET TIME ZONE 'UTC'")
        connection.execute("SET synchronous_commit = off")
        connection.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        summary_tables = [t.name for family in FAMILIES for t in family.tables]
        connection.execute(f"TRUNCATE {', '.join(summary_tables)}")
        for family in rebuilt:
            for statement in family.switch_triggers_sql(enabled=False):
                connection.execute(statement)
        for table, rows in tables:
            with connection.cursor().copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        for table in COLUMNS:
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        for family in rebuilt:
            for statement in family.rebuild_sql("postgresql"):
                connection.execute(statement)
        for family in rebuilt:
            for statement in family.switch_triggers_sql(enabled=True):
                connection.execute(statement)
        connection.execute("UPDATE data_revisions SET revision = revision + 1")
        connection.commit()
        # Fresh statistics, so the planner sees the real sizes at once.
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")


def reset_schema(database_url: str) -> None:
    """Start from an empty schema, so a benchmark database never lags behind a migration
    that was rewritten since it was created (the generator owns this database)."""
    if is_sqlite(database_url):
        path = make_url(database_url).database or ""
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)
        return
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


def generate(
    database_url: str,
    size_name: str,
    *,
    log: Callable[[str], None] = print,
    with_triggers: bool = False,
) -> str:
    """Recreate the schema (`portfolio migrate`) and fill it; returns an admin key's secret."""
    size = SIZES[size_name]
    started = time.perf_counter()
    reset_schema(database_url)
    upgrade(database_url)
    portfolio = Portfolio(size)
    keys, admin_secret = portfolio.api_keys()
    # Criteria need the measurement generator's results, so they are built up front;
    # everything else streams straight into the database.
    tables: list[tuple[str, Iterable[Row]]] = [
        ("units", list(portfolio.units())),
        ("api_keys", keys),
        ("projects", portfolio.projects()),
        ("project_periods", portfolio.periods),  # filled while the projects stream
        ("experiments", portfolio.experiments()),
        ("unit_commitments", portfolio.unit_commitments()),
        ("determinant_tags", portfolio.determinant_tags()),
    ]

    def criteria_then_measurements() -> Iterator[tuple[str, Iterable[Row]]]:
        yield from tables
        criteria, measurements = portfolio.criteria_and_measurements()
        yield "criteria", criteria
        yield "measurements", measurements

    if is_sqlite(database_url):
        _sqlite_load(database_url, criteria_then_measurements())
    else:
        _postgres_load(database_url, criteria_then_measurements(), with_triggers=with_triggers)
    engine = create_engine(database_url)
    # Fold the criteria due before today, as the first report would, so it does not pay it.
    with engine.begin() as connection:
        outcome_summaries.compact(connection, today=today())
    with engine.connect() as connection:
        counts = {
            table: connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
            for table in COLUMNS
        }
    engine.dispose()
    log(f"size {size_name} loaded in {time.perf_counter() - started:.1f} s: {counts}")
    return admin_secret


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="S")
    parser.add_argument("--database-url", required=True)
    parser.add_argument(
        "--with-triggers",
        action="store_true",
        help="PostgreSQL: keep the summary triggers on during the load (default: off, then "
        "a rebuild)",
    )
    args = parser.parse_args()
    generate(args.database_url, args.size, with_triggers=args.with_triggers)


if __name__ == "__main__":
    main()
