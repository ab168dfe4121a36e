"""The database's floor: each report's numbers from hand-written SQL, run directly.

Plain SQL as a database person would write it to answer the report's question (aggregate
FILTER clauses run on PostgreSQL and on SQLite >= 3.30). The benchmark times these against
the report over HTTP; `numbers` pulls out a few figures to check both agree.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

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
    statements: Callable[[], list[str]]
    conditional: bool = True  # answers If-None-Match with 304 (reports do; lineage not)


REPORTS = {
    "spread": Report("/api/v1/reports/spread", 1.2, lambda: [SPREAD_TOTALS, SPREAD_UNITS]),
    "portfolio": Report(
        "/api/v1/reports/portfolio",
        1.5,
        lambda: [PROJECT_BALANCE, FACET_BY_BAND, EXPERIMENT_COUNTS],
    ),
    "outcomes": Report(
        "/api/v1/reports/outcomes",
        1.5,
        lambda: [OUTCOME_COVERAGE, criteria_by_kind_and_status(_today()), EXPERIMENT_COUNTS],
    ),
    "determinants": Report(
        "/api/v1/reports/determinants", 1.5, lambda: [DETERMINANT_TOTALS, BARRIERS_BY_UNIT]
    ),
    "barometer": Report("/api/v1/reports/barometer", 1.5, barometer),
    "lineage": Report(
        f"/api/v1/projects/{LINEAGE_PROJECT}/lineage", 1.5, lambda: LINEAGE, conditional=False
    ),
}
