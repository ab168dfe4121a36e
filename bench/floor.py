"""The database's floor: each report's numbers from hand-written SQL, run directly.

Plain SQL as a database person would write it to answer the report's question (aggregate
FILTER clauses run on PostgreSQL and on SQLite >= 3.30). The benchmark times these against
the report over HTTP; `numbers` pulls out a few figures to check both agree.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from app.reports.window import Interval, interval_ends, points, years_before
from bench.generate import LINEAGE_PROJECT

ACTIVE = "('exploration', 'experiment', 'scaling')"


def _filters(column: str, values: tuple[str, ...]) -> str:
    return ", ".join(f"count(*) FILTER (WHERE {column} = '{v}') AS {v}" for v in values)


WORK_MODES = ("side_of_desk", "dedicated", "core_business")
SPONSORS = ("individual", "organizational", "system")
STAGES = ("idea", "exploration", "experiment", "scaling", "embedded", "stopped")
STATUSES = ("proposed", "running", "completed", "stopped")
METHODS = ("rct", "ab_test", "pilot", "prototype", "simulation", "other")
RESULTS = ("supported", "not_supported", "inconclusive")
DETERMINANTS = ("clarity", "parity", "suitability", "normality")

SPREAD_TOTALS = f"""
SELECT count(*) AS active_projects,
       {_filters("p.work_mode", WORK_MODES)},
       {_filters("p.sponsor_level", SPONSORS)},
       count(*) FILTER (WHERE u.kind = 'innovation_lab') AS lab_projects
  FROM projects p JOIN units u ON u.id = p.unit_id
 WHERE NOT p.archived AND p.stage IN {ACTIVE}
"""

SPREAD_UNITS = f"""
SELECT u.id, u.code, u.name, u.kind, u.parent_id, count(p.id) AS active_projects,
       {_filters("p.work_mode", WORK_MODES)}
  FROM units u
  LEFT JOIN projects p ON p.unit_id = u.id AND NOT p.archived AND p.stage IN {ACTIVE}
 WHERE NOT u.archived
 GROUP BY u.id, u.code, u.name, u.kind, u.parent_id
 ORDER BY u.code
"""

PROJECT_BALANCE = f"""
SELECT count(*) AS projects,
       {_filters("stage", STAGES)},
       {_filters("work_mode", WORK_MODES)},
       {_filters("sponsor_level", SPONSORS)},
       count(*) FILTER (WHERE risk_band = 'high' AND risk_of_not_innovating >= 4)
         AS high_risk_justified,
       count(*) FILTER (WHERE stage <> 'idea' AND risk_score IS NULL) AS without_risk_profile
  FROM projects WHERE NOT archived
"""

# The facet x risk band cross-table, as a database person writes it: a GROUP BY.
FACET_BY_BAND = """
SELECT facet, risk_band, count(*) FROM projects WHERE NOT archived GROUP BY facet, risk_band
"""

EXPERIMENT_COUNTS = f"""
SELECT count(*) AS experiments,
       {_filters("e.status", STATUSES)},
       {_filters("e.method", METHODS)},
       {_filters("e.result", RESULTS)},
       count(*) FILTER (WHERE e.status = 'completed' AND trim(coalesce(e.lessons, '')) <> '')
         AS completed_with_lessons
  FROM experiments e JOIN projects p ON p.id = e.project_id
 WHERE NOT e.archived AND NOT p.archived
"""

OUTCOME_COVERAGE = """
SELECT count(*) AS projects, count(o.project_id) AS with_outcome
  FROM projects p
  LEFT JOIN (SELECT project_id FROM criteria
              WHERE kind = 'outcome' AND NOT archived AND project_id IS NOT NULL
             UNION
             SELECT e.project_id FROM experiments e JOIN criteria c ON c.experiment_id = e.id
              WHERE NOT e.archived AND c.kind = 'outcome' AND NOT c.archived) AS o
    ON o.project_id = p.id
 WHERE NOT p.archived AND p.stage <> 'idea'
"""


def criteria_by_kind_and_status(today: str) -> str:
    return f"""
SELECT c.kind,
       CASE WHEN c.latest_value IS NOT NULL AND (
                 (c.direction = 'increase' AND c.latest_value >= c.target)
              OR (c.direction = 'decrease' AND c.latest_value <= c.target)) THEN 'met'
            WHEN c.due_on < '{today}' THEN 'missed'
            ELSE 'pending' END AS status,
       count(*)
  FROM criteria c
  LEFT JOIN projects p ON p.id = c.project_id AND NOT p.archived
  LEFT JOIN experiments e ON e.id = c.experiment_id AND NOT e.archived
       AND EXISTS (SELECT 1 FROM projects ep WHERE ep.id = e.project_id AND NOT ep.archived)
 WHERE NOT c.archived AND (p.id IS NOT NULL OR e.id IS NOT NULL)
 GROUP BY 1, 2
"""


LIVE_TAGS = """
SELECT coalesce(p.unit_id, e.unit_id) AS unit_id, t.determinant, t.effect
  FROM determinant_tags t
  LEFT JOIN projects p ON p.id = t.project_id AND NOT p.archived
  LEFT JOIN experiments e ON e.id = t.experiment_id AND NOT e.archived
       AND EXISTS (SELECT 1 FROM projects ep WHERE ep.id = e.project_id AND NOT ep.archived)
 WHERE p.id IS NOT NULL OR e.id IS NOT NULL
"""

DETERMINANT_TOTALS = f"""
SELECT determinant, effect, count(*) FROM ({LIVE_TAGS}) AS tags GROUP BY determinant, effect
"""

BARRIERS_BY_UNIT = f"""
SELECT u.id, u.code, u.name, u.kind, u.parent_id,
       {_filters("tags.determinant", DETERMINANTS)}
  FROM units u
  LEFT JOIN ({LIVE_TAGS}) AS tags ON tags.unit_id = u.id AND tags.effect = 'barrier'
 WHERE NOT u.archived
 GROUP BY u.id, u.code, u.name, u.kind, u.parent_id
 ORDER BY u.code
"""


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


# -- timeline reports (issue 12) ---------------------------------------------------------------
#
# Dates: `date('YYYY-MM-DD')` is a DATE on PostgreSQL and ISO text on SQLite, which is how
# SQLite stores the period dates. Day counts and medians need each database's own words.


def _days(later: str, earlier: str, sqlite: bool) -> str:
    if sqlite:
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"
    return f"({later} - {earlier})"


def _holds(alias: str, day: str) -> str:
    return f"{alias}.valid_from <= {day} AND ({alias}.valid_to IS NULL OR {alias}.valid_to > {day})"


def _filtered_counts(condition: str, column: str, values: tuple[str, ...]) -> str:
    return ", ".join(f"count(*) FILTER (WHERE {condition} AND {column} = '{v}')" for v in values)


def trends_window(today: date) -> tuple[date, date]:
    """24 quarter ends: `to` is the last quarter end on or before today, `from` the day
    after the quarter end six years before it."""
    end = interval_ends(today - timedelta(days=95), today, Interval.quarter, 2)[-1]
    return years_before(end, 6) + timedelta(days=1), end


def trends_statements(sqlite: bool) -> list[str]:
    start, end = trends_window(_today_date())
    days = points(start, end, Interval.quarter)
    assert len(days) == 24, days
    values = ", ".join(f"(date('{day.isoformat()}'))" for day in days)
    active = f"pp.stage IN {ACTIVE}"
    return [
        f"""
WITH points(as_of) AS (VALUES {values})
SELECT pt.as_of, count(*) AS projects,
       {_filters("pp.stage", STAGES)},
       count(*) FILTER (WHERE {active}) AS active_projects,
       {_filtered_counts(active, "pp.work_mode", WORK_MODES)},
       {_filtered_counts(active, "pp.sponsor_level", SPONSORS)},
       count(*) FILTER (
         WHERE {active} AND u.kind = 'innovation_lab' AND NOT u.archived) AS lab_projects,
       count(DISTINCT pp.unit_id) FILTER (
         WHERE {active} AND u.kind = 'business_line' AND NOT u.archived) AS with_innovation
  FROM points pt
  JOIN project_periods pp ON {_holds("pp", "pt.as_of")}
  JOIN projects p ON p.id = pp.project_id AND NOT p.archived
  JOIN units u ON u.id = pp.unit_id
 GROUP BY pt.as_of
 ORDER BY pt.as_of
""",
        "SELECT count(*) FROM units WHERE kind = 'business_line' AND NOT archived",
    ]


def flow_statements(sqlite: bool) -> list[str]:
    """The flow report over its default window (the year up to today), whole organization,
    default stall limits."""
    today = _today_date()
    end = f"date('{today.isoformat()}')"
    start = f"date('{years_before(today, 1).isoformat()}')"
    # Each period's previous stage and run starts are columns (migration 0013), so the
    # runs are the live projects' periods up to `to`.
    runs = f"""
WITH runs AS (
  SELECT pp.*
    FROM project_periods pp JOIN projects p ON p.id = pp.project_id AND NOT p.archived
   WHERE pp.valid_from <= {end})"""
    measured = "('idea', 'exploration', 'experiment', 'scaling')"
    stays = f"""
SELECT 'completed' AS kind, prev_stage AS stage,
       {_days("valid_from", "prev_stage_since", sqlite)} AS days
  FROM runs
 WHERE valid_from >= {start} AND prev_stage <> stage AND prev_stage IN {measured}
UNION ALL
SELECT 'current', stage, {_days(end, "stage_since", sqlite)}
  FROM runs r WHERE {_holds("r", end)} AND stage IN {measured}"""
    if sqlite:  # no percentile_cont: the middle row(s) by row_number
        medians = f"""{runs}, stays AS ({stays}),
ranked AS (
  SELECT kind, stage, days, row_number() OVER (PARTITION BY kind, stage ORDER BY days) AS n,
         count(*) OVER (PARTITION BY kind, stage) AS total
    FROM stays)
SELECT kind, stage, max(total), avg(days) FILTER (WHERE n IN ((total + 1) / 2, (total + 2) / 2))
  FROM ranked GROUP BY kind, stage"""
    else:
        medians = f"""{runs}, stays AS ({stays})
SELECT kind, stage, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY days)
  FROM stays GROUP BY kind, stage"""
    days_in_stage = _days(end, "r.stage_since", sqlite)
    stalled = f"""{runs},
stalled AS (
  SELECT r.project_id, r.unit_id, r.stage, r.stage_since, {days_in_stage} AS days
    FROM runs r
   WHERE {_holds("r", end)} AND r.stage IN {ACTIVE}
     AND {days_in_stage} > CASE r.stage
           WHEN 'exploration' THEN 180 WHEN 'experiment' THEN 270 ELSE 365 END)"""
    side = f"s.stage IN {ACTIVE} AND s.work_mode = 'side_of_desk'"
    individual = f"s.stage IN {ACTIVE} AND s.sponsor_level = 'individual'"
    return [
        f"""{runs}
SELECT prev_stage, stage, count(*) FROM runs
 WHERE valid_from >= {start} AND (prev_stage IS NULL OR prev_stage <> stage)
 GROUP BY prev_stage, stage""",
        medians,
        f"""{runs}
SELECT count(*) FILTER (WHERE {side}), {_filtered_counts(side, "e.work_mode", WORK_MODES)},
       count(*) FILTER (WHERE {individual}),
       {_filtered_counts(individual, "e.sponsor_level", SPONSORS)}
  FROM runs s JOIN runs e ON e.project_id = s.project_id
 WHERE {_holds("s", start)} AND {_holds("e", end)}""",
        f"""{stalled}
SELECT count(*), {_filters("stage", ("exploration", "experiment", "scaling"))} FROM stalled""",
        f"""{stalled},
active AS (
  SELECT unit_id, count(*) AS active FROM runs r
   WHERE {_holds("r", end)} AND r.stage IN {ACTIVE} GROUP BY unit_id),
per_unit AS (SELECT unit_id, count(*) AS stalled FROM stalled GROUP BY unit_id)
SELECT u.id, u.code, u.name, pu.stalled, a.active
  FROM per_unit pu JOIN units u ON u.id = pu.unit_id JOIN active a ON a.unit_id = pu.unit_id
 WHERE NOT u.archived
 ORDER BY pu.stalled DESC, u.code""",
        f"""{stalled}
SELECT st.project_id, p.title, st.unit_id, st.stage, st.stage_since, st.days
  FROM stalled st JOIN projects p ON p.id = st.project_id
 ORDER BY st.days DESC, st.project_id LIMIT 100""",
    ]


def _today_date() -> date:
    return datetime.now(UTC).date()


def _trends_path() -> str:
    start, end = trends_window(_today_date())
    return f"/api/v1/reports/trends?from={start.isoformat()}&to={end.isoformat()}&interval=quarter"


# --- experimentation: this calendar year (the default fiscal year starts in January) ----

COMPARISONS = ("none", "before_after", "comparison_group", "randomized")
LIVE_EXPERIMENTS = """
  FROM experiments e JOIN projects p ON p.id = e.project_id
 WHERE NOT e.archived AND NOT p.archived"""


def _year() -> tuple[str, str]:
    year = datetime.now(UTC).year
    return f"{year}-01-01", f"{year + 1}-01-01"


def experimentation_statements() -> list[str]:
    start, end = _year()
    cutoff = (datetime.now(UTC).date() - timedelta(days=90)).isoformat()
    finished = (
        f"e.status IN ('completed', 'stopped') AND e.ended_on >= '{start}' AND e.ended_on < '{end}'"
    )
    by_result = ",\n       ".join(
        f"count(*) FILTER (WHERE e.status = 'completed' AND e.result = '{r}') AS {r}_finished, "
        f"count(*) FILTER (WHERE e.status = 'completed' AND e.result = '{r}' "
        f"AND e.published_on IS NOT NULL) AS {r}_published"
        for r in RESULTS
    )
    rigour = f"""
SELECT (CASE WHEN EXISTS (SELECT 1 FROM criteria c
                           WHERE c.experiment_id = e.id AND c.kind = 'outcome'
                             AND NOT c.archived AND c.baseline IS NOT NULL) THEN 1 ELSE 0 END
        + CASE WHEN e.comparison IN ('comparison_group', 'randomized') THEN 1 ELSE 0 END
        + CASE WHEN e.comparison = 'randomized' THEN 1 ELSE 0 END
        + CASE WHEN e.preregistered_on <= e.started_on THEN 1 ELSE 0 END
        + CASE WHEN e.independent_evaluation THEN 1 ELSE 0 END) AS rigour,
       e.comparison, count(*)
{LIVE_EXPERIMENTS} AND e.started_on >= '{start}' AND e.started_on < '{end}'
 GROUP BY 1, 2
"""
    publication = f"""
SELECT count(*) AS finished,
       count(*) FILTER (WHERE e.published_on IS NOT NULL) AS published,
       count(*) FILTER (WHERE e.published_on IS NULL) AS due,
       count(*) FILTER (WHERE e.published_on IS NULL AND e.ended_on < '{cutoff}') AS overdue,
       {by_result}
{LIVE_EXPERIMENTS} AND {finished}
"""
    spend = f"""
SELECT u.id, u.code, u.name, k.program_funds, k.target_share,
       coalesce(s.spend, 0) AS experiment_spend
  FROM units u
  LEFT JOIN unit_commitments k ON k.unit_id = u.id AND k.year = {start[:4]}
  LEFT JOIN (SELECT e.unit_id, sum(e.cost) AS spend
             {LIVE_EXPERIMENTS} AND e.cost IS NOT NULL
                AND e.started_on >= '{start}' AND e.started_on < '{end}'
              GROUP BY e.unit_id) AS s ON s.unit_id = u.id
 WHERE NOT u.archived AND (k.id IS NOT NULL OR s.unit_id IS NOT NULL)
 ORDER BY u.code
"""
    overdue = f"""
SELECT e.id, e.title, e.unit_id, e.ended_on
{LIVE_EXPERIMENTS} AND {finished} AND e.published_on IS NULL AND e.ended_on < '{cutoff}'
 ORDER BY e.ended_on, e.id
 LIMIT 100
"""
    return [rigour, publication, spend, overdue]


NOVELTIES = ("first", "adapted", "copied")
INITIATORS = ("employees", "managers", "politicians", "citizens", "businesses", "other")


def _bits(column: str, prefix: str, count: int = 5) -> str:
    return ", ".join(
        f"count(*) FILTER (WHERE {column} & {1 << bit} <> 0) AS {prefix}{bit}"
        for bit in range(count)
    )


def _two_years_back() -> tuple[str, str]:
    today = datetime.now(UTC).date()
    try:
        start = today.replace(year=today.year - 2)
    except ValueError:
        start = today.replace(year=today.year - 2, day=28)
    return start.isoformat(), today.isoformat()


def barometer() -> list[str]:
    """The barometer report's numbers for the default window (the two years to today)."""
    start, end = _two_years_back()
    # `date(timestamp)` is a function on SQLite and a cast on PostgreSQL (sessions in UTC).
    adoptions = f"""
SELECT a.unit_id AS adopter_unit, s.id AS source_id, s.title, s.unit_id AS source_unit
  FROM projects a JOIN projects s ON s.id = a.adopted_from
 WHERE NOT a.archived AND coalesce(a.started_on, date(a.created_at)) BETWEEN '{start}' AND '{end}'
"""
    totals = f"""
SELECT count(*) AS innovations,
       {_filters("novelty", NOVELTIES)}, count(*) FILTER (WHERE novelty IS NULL) AS nov_unknown,
       {_filters("initiated_by", INITIATORS)},
       count(*) FILTER (WHERE initiated_by IS NULL) AS initiator_unknown,
       {_bits("innovation_types_mask", "type_")},
       {_bits("collaborators_mask", "collaborator_")},
       {_bits("value_types_mask", "value_")},
       count(*) FILTER (WHERE collaborators_mask <> 0) AS collaborating,
       count(*) FILTER (WHERE evaluation IN ('internal', 'external')) AS evaluated,
       count(*) FILTER (WHERE evaluation IS NOT NULL) AS evaluation_known,
       count(DISTINCT unit_id) AS units_innovating,
       (SELECT count(*) FROM units WHERE NOT archived) AS units
  FROM projects
 WHERE NOT archived AND embedded_on BETWEEN '{start}' AND '{end}'
"""
    diffusion = f"""
SELECT count(*), count(*) FILTER (WHERE adopter_unit <> source_unit) FROM ({adoptions}) AS d
"""
    flows = f"""
SELECT u.id, u.code, sum(f.adopted_in), sum(f.adopted_out)
  FROM (SELECT adopter_unit AS unit_id, 1 AS adopted_in, 0 AS adopted_out
          FROM ({adoptions}) AS d WHERE adopter_unit <> source_unit
        UNION ALL
        SELECT source_unit, 0, 1 FROM ({adoptions}) AS d WHERE adopter_unit <> source_unit) AS f
  JOIN units u ON u.id = f.unit_id
 WHERE NOT u.archived
 GROUP BY u.id, u.code
 ORDER BY u.code
"""
    sources = f"""
SELECT source_id, title, source_unit,
       count(DISTINCT adopter_unit) FILTER (WHERE adopter_unit <> source_unit) AS adopting_units,
       count(*) AS adoptions
  FROM ({adoptions}) AS d
 GROUP BY source_id, title, source_unit
HAVING count(DISTINCT adopter_unit) FILTER (WHERE adopter_unit <> source_unit) > 0
 ORDER BY adopting_units DESC, source_id
 LIMIT 20
"""
    return [totals, diffusion, flows, sources]


# A project's lineage: one recursive query each way, bounded like the API's.
LINEAGE_FIELDS = "p.id, p.title, p.unit_id, p.novelty, p.stage, p.archived, t.depth"
LINEAGE = [
    # The project itself at depth 0 (a 404 when missing), then its ancestors.
    f"""
WITH RECURSIVE t(id, depth) AS (
  SELECT adopted_from, 1 FROM projects WHERE id = {LINEAGE_PROJECT} AND adopted_from IS NOT NULL
  UNION ALL
  SELECT p.adopted_from, t.depth + 1 FROM projects p JOIN t ON p.id = t.id
   WHERE p.adopted_from IS NOT NULL AND t.depth < 200)
SELECT {LINEAGE_FIELDS}
  FROM (SELECT id, depth FROM t UNION ALL SELECT {LINEAGE_PROJECT}, 0) AS t
  JOIN projects p ON p.id = t.id
 ORDER BY t.depth, p.id
""",
    f"""
WITH RECURSIVE t(id, depth) AS (
  SELECT id, 1 FROM projects WHERE adopted_from = {LINEAGE_PROJECT}
  UNION ALL
  SELECT p.id, t.depth + 1 FROM projects p JOIN t ON p.adopted_from = t.id WHERE t.depth < 200)
SELECT {LINEAGE_FIELDS} FROM t JOIN projects p ON p.id = t.id ORDER BY t.depth, p.id
""",
]


@dataclass(frozen=True)
class Report:
    path: str
    target: float  # ratio HTTP / SQL not to exceed at size L
    # The hand-written SQL for SQLite (True) or PostgreSQL (False).
    statements: Callable[[bool], list[str]]
    conditional: bool = True  # answers If-None-Match with 304 (reports do; lineage not)


REPORTS = {
    "spread": Report("/api/v1/reports/spread", 1.2, lambda _: [SPREAD_TOTALS, SPREAD_UNITS]),
    "portfolio": Report(
        "/api/v1/reports/portfolio",
        1.5,
        lambda _: [PROJECT_BALANCE, FACET_BY_BAND, EXPERIMENT_COUNTS],
    ),
    "outcomes": Report(
        "/api/v1/reports/outcomes",
        1.5,
        lambda _: [OUTCOME_COVERAGE, criteria_by_kind_and_status(_today()), EXPERIMENT_COUNTS],
    ),
    "determinants": Report(
        "/api/v1/reports/determinants", 1.5, lambda _: [DETERMINANT_TOTALS, BARRIERS_BY_UNIT]
    ),
    # Issue 12: trends at 24 quarter ends, flow over its default year.
    "trends": Report(_trends_path(), 1.5, trends_statements),
    "flow": Report("/api/v1/reports/flow", 1.5, flow_statements),
    "experimentation": Report(
        "/api/v1/reports/experimentation", 1.5, lambda sqlite: experimentation_statements()
    ),
    "barometer": Report("/api/v1/reports/barometer", 1.5, lambda sqlite: barometer()),
    "lineage": Report(
        f"/api/v1/projects/{LINEAGE_PROJECT}/lineage",
        1.5,
        lambda sqlite: LINEAGE,
        conditional=False,
    ),
}
