"""The trends report's summaries (app.reports.timeline_summaries) and the flow report's
(app.reports.flow_summaries): the triggers keep them equal to a rebuild from the periods
after any mix of writes, and the report equals a plain count of the timelines built."""

import itertools
import random
import threading
import time
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select, text

from app.core.db import today
from app.projects.service import TIMELINES_LOCK_KEY as TIMELINES_LOCK
from app.reports import flow_summaries, timeline_summaries
from tests.builders import assert_rebuild_command_repairs, create_unit, enabled_trigger_names
from tests.reports.timelines import archive, change, started

TRENDS = "/api/v1/reports/trends"
# The flow report's summary tables: its four and the stays per bucket of lengths.
FLOW_TABLES = (*flow_summaries.TABLES, *flow_summaries.DETAILS.tables)
STAGES = ("idea", "exploration", "experiment", "scaling", "embedded", "stopped")
ACTIVE = ("exploration", "experiment", "scaling")
MODES = ("side_of_desk", "dedicated", "core_business")
SPONSORS = ("individual", "organizational", "system")
KINDS = ("business_line", "innovation_lab", "corporate")
CODES = itertools.count(1)


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def _summaries(connection: Any) -> dict[str, Any]:
    months = timeline_summaries.period_month_counts
    names = list(timeline_summaries.COUNTS)
    spans = timeline_summaries.unit_active_spans
    return {
        "months": sorted(
            tuple(row)
            for row in connection.execute(
                select(months.c.unit_id, months.c.month_start, *(months.c[n] for n in names))
            )
            if any(row[2:])
        ),
        "spans": sorted(
            connection.execute(select(spans.c.unit_id, spans.c.valid_from, spans.c.valid_to)),
            key=lambda row: (row[0], row[1]),
        ),
        # The flow report's summaries of the whole organization, zero rows left out.
        **{
            table.name: sorted(tuple(row) for row in connection.execute(select(table)) if row[-1])
            for table in FLOW_TABLES
        },
        # The run columns the writes set on each period (the flow report reads them).
        "runs": connection.execute(
            text(
                "SELECT id, prev_stage, stage_since, prev_stage_since FROM project_periods "
                "ORDER BY id"
            )
        ).all(),
    }


def kept_and_rebuilt(database_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The summaries as the triggers kept them (zero rows left out) and the periods' run
    columns as the writes set them, and both as a rebuild from scratch makes them (rolled
    back)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection, connection.begin() as transaction:
            kept = _summaries(connection)
            connection.exec_driver_sql(timeline_summaries.PERIOD_RUNS_REBUILD)
            timeline_summaries.rebuild(connection)
            flow_summaries.rebuild(connection)
            flow_summaries.DETAILS.rebuild(connection)
            rebuilt = _summaries(connection)
            transaction.rollback()
    finally:
        engine.dispose()
    return kept, rebuilt


# --- a random mix of writes ---------------------------------------------------------------


class RandomTimelineWrites:
    """Valid writes through the API, chosen at random: projects started on past dates,
    changes of stage, work mode and sponsor effective on dates from their current period
    on (the same day corrects it in place), moves, archives of projects and units, unit
    moves and kind changes."""

    def __init__(self, client: Any, rng: random.Random) -> None:
        self.client, self.rng, self.today = client, rng, today()
        self.units: list[int] = []
        self.projects: dict[int, date] = {}  # live project -> its current period's start

    def day_after(self, earliest: date) -> date:
        span = (self.today - earliest).days
        return earliest + timedelta(days=self.rng.choice([0, 0, self.rng.randint(0, span)]))

    def unit(self) -> None:
        parent = self.rng.choice([None, *self.units]) if self.units else None
        kind = self.rng.choice(KINDS)
        self.units.append(create_unit(self.client, f"T{next(CODES)}", kind, parent)["id"])

    def project(self) -> None:
        on = self.today - timedelta(days=self.rng.randint(0, 800))
        project = started(
            self.client,
            self.rng.choice(self.units),
            str(on),
            self.rng.choice(STAGES),
            work_mode=self.rng.choice(MODES),
            sponsor_level=self.rng.choice(SPONSORS),
        )
        self.projects[project] = on

    def retime(self, **changes: Any) -> None:
        project = self.rng.choice(list(self.projects))
        on = self.day_after(self.projects[project])
        change(self.client, project, str(on), **changes)
        current = ok(self.client.get(f"/api/v1/projects/{project}/timeline"))
        self.projects[project] = date.fromisoformat(current["periods"][-1]["from"])

    def stage(self) -> None:
        self.retime(stage=self.rng.choice(STAGES))

    def mode_and_sponsor(self) -> None:
        self.retime(work_mode=self.rng.choice(MODES), sponsor_level=self.rng.choice(SPONSORS))

    def move_project(self) -> None:
        self.retime(unit_id=self.rng.choice(self.units))

    def archive_project(self) -> None:
        project = self.rng.choice(list(self.projects))
        del self.projects[project]
        archive(self.client, f"projects/{project}")

    def archive_unit(self) -> None:
        # A unit with nothing live below it: a fresh leaf.
        leaf = create_unit(self.client, f"T{next(CODES)}", parent_id=self.rng.choice(self.units))
        archive(self.client, f"units/{leaf['id']}")

    def unit_kind(self) -> None:
        unit = self.rng.choice(self.units)
        ok(self.client.patch(f"/api/v1/units/{unit}", json={"kind": self.rng.choice(KINDS)}))

    def step(self) -> None:
        if len(self.units) < 3:
            return self.unit()
        if len(self.projects) < 3:
            return self.project()
        choices: list[Any] = [self.unit, self.project, self.project, self.archive_unit]
        choices += [self.stage] * 3 + [self.mode_and_sponsor] * 2 + [self.move_project] * 2
        choices += [self.unit_kind, self.archive_project]
        return self.rng.choice(choices)()


@pytest.mark.parametrize("seed", [1, 2])
def test_kept_summaries_equal_a_rebuild_after_random_writes(admin, viewer, database_url, seed):
    writes = RandomTimelineWrites(admin, random.Random(seed))
    for step in range(80):
        writes.step()
        if step % 20 == 19:
            kept, rebuilt = kept_and_rebuilt(database_url)
            assert kept == rebuilt
    assert kept["months"] and kept["spans"]
    assert all(kept[table.name] for table in FLOW_TABLES)
    assert any(run.prev_stage is not None for run in kept["runs"])
    # The report reads them without error at any window.
    ok(viewer.get(TRENDS, params={"interval": "month"}))


def test_the_rebuild_command_repairs_the_summaries_and_the_period_runs(
    admin, database_url, monkeypatch
):
    writes = RandomTimelineWrites(admin, random.Random(3))
    for _ in range(40):
        writes.step()
    assert_rebuild_command_repairs(
        database_url,
        monkeypatch,
        kept_and_rebuilt,
        [
            "DELETE FROM period_month_counts",
            "DELETE FROM unit_active_spans",
            "DELETE FROM flow_day_moves",
            "UPDATE flow_month_stays SET stays = stays + 1",
            "UPDATE flow_month_stay_buckets SET stays = stays - 1",
            "DELETE FROM flow_day_start_changes",
            "DELETE FROM flow_open_runs",
            "UPDATE project_periods SET prev_stage = NULL, stage_since = '2000-01-01', "
            "prev_stage_since = NULL",
        ],
    )


# --- random portfolios against a plain count of their timelines ------------------------------

TRACKED = st.fixed_dictionaries(
    {
        "stage": st.sampled_from(STAGES),
        "work_mode": st.sampled_from(MODES),
        "sponsor_level": st.sampled_from(SPONSORS),
    }
)
CHANGE = st.tuples(
    st.sampled_from([0, 0, 1, 4, 9, 30, 120]),  # days after the previous change
    st.sampled_from(["stage", "work_mode", "sponsor_level", "unit"]),
    st.integers(0, 5),  # the new value (an index)
)
PORTFOLIO = st.fixed_dictionaries(
    {
        "units": st.lists(st.sampled_from(KINDS), min_size=1, max_size=4),
        "projects": st.lists(
            st.fixed_dictionaries(
                {
                    "unit": st.integers(0, 3),
                    # Days after `to` (today at the latest): most of them near it, so
                    # some change falls in `to`'s month before or after it.
                    "started": st.sampled_from([-900, -200, -40, -9, -2, 0, 1, 3, 8]),
                    "tracked": TRACKED,
                    "changes": st.lists(CHANGE, max_size=4),
                    "archived": st.booleans(),
                }
            ),
            min_size=1,
            max_size=5,
        ),
        "to": st.sampled_from([0, 3, 11, 40]),  # days before today
        "month_end": st.booleans(),  # move `to` to the end of the month before
        "interval": st.sampled_from(["month", "quarter"]),
    }
)

Period = dict[str, Any]


def build(admin: Any, portfolio: dict[str, Any], units: list[int], to: date) -> list[list[Period]]:
    """Create the portfolio through the API; the timelines it must have, worked out here
    from the rules of the API's documentation: a change on the current period's first day
    corrects it, a later one ends it and starts the next; no tracked change, no period."""
    now = today()
    timelines = []
    for plan in portfolio["projects"]:
        on = min(to + timedelta(days=plan["started"]), now)
        unit = units[plan["unit"] % len(units)]
        project = started(admin, unit, str(on), **plan["tracked"])
        timeline: list[Period] = [{"from": on, "to": None, **plan["tracked"], "unit_id": unit}]
        for gap, field, index in plan["changes"]:
            on = min(on + timedelta(days=gap), now)
            last = timeline[-1]
            if field == "unit":
                values = {"unit_id": units[index % len(units)]}
            else:
                options = {"stage": STAGES, "work_mode": MODES, "sponsor_level": SPONSORS}[field]
                values = {field: options[index % len(options)]}
            change(admin, project, str(on), **values)
            if all(last[key] == value for key, value in values.items()):
                continue
            if last["from"] == on:
                last.update(values)
            else:
                last["to"] = on
                timeline.append({**last, "from": on, "to": None, **values})
        if plan["archived"]:
            archive(admin, f"projects/{project}")
        else:
            timelines.append(timeline)
    return timelines


def expected_point(
    day: date, timelines: list[list[Period]], kinds: dict[int, str]
) -> dict[str, Any]:
    held = [
        period
        for timeline in timelines
        for period in timeline
        if period["from"] <= day and (period["to"] is None or day < period["to"])
    ]
    active = [period for period in held if period["stage"] in ACTIVE]
    lines = [unit for unit, kind in kinds.items() if kind == "business_line"]

    def share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    def count(periods: list[Period], field: str, value: str) -> int:
        return sum(1 for period in periods if period[field] == value)

    return {
        "as_of": day.isoformat(),
        "active_projects": len(active),
        "side_of_desk_share": share(count(active, "work_mode", "side_of_desk"), len(active)),
        "core_business_share": share(count(active, "work_mode", "core_business"), len(active)),
        "individual_sponsor_share": share(
            count(active, "sponsor_level", "individual"), len(active)
        ),
        "business_line_coverage": share(
            len({p["unit_id"] for p in active if kinds[p["unit_id"]] == "business_line"}),
            len(lines),
        ),
        "lab_share": share(
            sum(1 for p in active if kinds[p["unit_id"]] == "innovation_lab"), len(active)
        ),
        "by_stage": {stage: count(held, "stage", stage) for stage in STAGES},
        "by_work_mode": {mode: count(active, "work_mode", mode) for mode in MODES},
    }


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(portfolio=PORTFOLIO)
def test_random_portfolios_match_a_count_of_their_timelines(admin, viewer, portfolio):
    """Each example builds its portfolio under a fresh root unit and reads the report of
    that subtree, so examples share the database without seeing each other."""
    root = create_unit(admin, f"R{next(CODES)}", "corporate")
    kinds = {
        create_unit(admin, f"C{next(CODES)}", kind, root["id"])["id"]: kind
        for kind in portfolio["units"]
    }
    to = today() - timedelta(days=portfolio["to"])
    if portfolio["month_end"]:
        to = to.replace(day=1) - timedelta(days=1)
    timelines = build(admin, portfolio, list(kinds), to)
    report = ok(
        viewer.get(
            TRENDS,
            params={"unit_id": root["id"], "to": str(to), "interval": portfolio["interval"]},
        )
    )
    assert report["points"][-1]["as_of"] == str(to)
    for point in report["points"]:
        day = date.fromisoformat(point["as_of"])
        expected = expected_point(day, timelines, kinds)
        assert {key: point[key] for key in expected} == expected, day


def test_two_writers_in_one_unit_leave_the_spans_a_rebuild_makes(admin, database_url, backend):
    """Two transactions changing periods of one unit at the same time (PostgreSQL; SQLite
    has one writer at a time): the second waits for the first, then recounts the unit's
    spans from both writes, instead of leaving spans computed without the other's."""
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    unit = create_unit(admin, "LINE")["id"]
    first = started(admin, unit, str(today() - timedelta(days=40)), "exploration")
    second = started(admin, unit, str(today() - timedelta(days=20)), "experiment")
    engine = create_engine(database_url)
    stop = text("UPDATE project_periods SET stage = 'stopped' WHERE project_id = :project")
    try:
        with engine.connect() as one, engine.connect() as two:
            one.execute(stop, {"project": first})

            def write_second() -> None:
                two.execute(stop, {"project": second})
                two.commit()

            writer = threading.Thread(target=write_second)
            writer.start()
            time.sleep(1)  # the second writer is inside its statement, waiting
            one.commit()
            writer.join(timeout=30)
            assert not writer.is_alive()
    finally:
        engine.dispose()
    kept, rebuilt = kept_and_rebuilt(database_url)
    assert kept == rebuilt
    assert kept["spans"] == []


def test_timeline_writes_wait_for_one_lock_first(admin, database_url, backend):
    """PostgreSQL: a project write that writes a period (or archives) takes the timelines'
    advisory lock before anything else, so two of them lock the whole organization's flow
    summaries in one order and cannot deadlock; an edit of other fields does not wait."""
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    unit = create_unit(admin, "LOCK")["id"]
    project = started(admin, unit, str(today() - timedelta(days=10)), "exploration")
    path = f"/api/v1/projects/{project}"
    engine = create_engine(database_url)
    answered: dict[str, int] = {}

    def change_stage() -> None:
        answered["stage"] = admin.patch(path, json={"stage": "experiment"}).status_code

    try:
        with engine.connect() as holder:
            holder.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": TIMELINES_LOCK})
            assert admin.patch(path, json={"summary": "No period"}).status_code == 200
            writer = threading.Thread(target=change_stage)
            writer.start()
            writer.join(timeout=1)
            assert writer.is_alive() and answered == {}  # waiting for the lock
            holder.commit()
            writer.join(timeout=30)
    finally:
        engine.dispose()
    assert answered == {"stage": 200}
    kept, rebuilt = kept_and_rebuilt(database_url)
    assert kept == rebuilt


def test_every_timeline_trigger_exists_at_head(database_url):
    """A later migration that recreates project_periods or projects (SQLite's batch mode
    copies a table into a new one) must create the triggers again."""
    names = enabled_trigger_names(database_url)
    assert set(timeline_summaries.TRIGGER_NAMES) <= names
    assert len(timeline_summaries.TRIGGER_NAMES) == 4
    assert set(flow_summaries.TRIGGER_NAMES) <= names
    assert len(flow_summaries.TRIGGER_NAMES) == 5
    assert set(flow_summaries.DETAIL_TRIGGER_NAMES) <= names
    assert len(flow_summaries.DETAIL_TRIGGER_NAMES) == 5
