"""The database's floor: each report's numbers from hand-written SQL, run directly.

Plain SQL as a database person would write it to answer the report's question (aggregate
FILTER clauses run on PostgreSQL and on SQLite >= 3.30). The benchmark times these against
the report over HTTP; `numbers` pulls out a few figures to check both agree.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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


@dataclass(frozen=True)
class Report:
    path: str
    target: float  # ratio HTTP / SQL not to exceed at size L
    statements: Callable[[], list[str]]


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
    "experimentation": Report("/api/v1/reports/experimentation", 1.5, experimentation_statements),
}
