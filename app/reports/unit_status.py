"""The spread report's unit status rule, written once as data.

The report computes a unit's status in Python (`status`, for SQLite and the model path)
and inside PostgreSQL's JSON of the unit rows (`status_sql`, `queries.spread_in_one_scan`).
Both are built from `VERDICTS`, so they cannot drift apart; `tests/unit/test_unit_status.py`
runs both at and around the threshold.
"""

from collections.abc import Callable, Mapping

from app.projects.models import WorkMode
from app.reports.schemas import UnitSpreadStatus

# Checked in this order: the first work mode whose share of the unit's active projects
# reaches the threshold gives the verdict. No active project is `none`; no share reaching
# the threshold is `mixed`.
VERDICTS: tuple[tuple[WorkMode, UnitSpreadStatus], ...] = (
    (WorkMode.side_of_desk, UnitSpreadStatus.side_of_desk),
    (WorkMode.core_business, UnitSpreadStatus.embedded),
)
NO_PROJECTS = UnitSpreadStatus.none
OTHERWISE = UnitSpreadStatus.mixed


def status(active: int, by_work_mode: Mapping[str, int], threshold: float) -> UnitSpreadStatus:
    if active == 0:
        return NO_PROJECTS
    for mode, verdict in VERDICTS:
        if by_work_mode[mode] / active >= threshold:
            return verdict
    return OTHERWISE


def status_sql(active: str, mode_count: Callable[[WorkMode], str], threshold: float) -> str:
    """The rule as an SQL `CASE` over the SQL expressions `active` (the active projects)
    and `mode_count(mode)` (those of one work mode). The division is in double precision,
    as Python's, so both give the same verdict at the threshold; the threshold is written
    as `repr` writes it, which both databases read back as the same double."""

    def double(expression: str) -> str:
        return f"CAST({expression} AS DOUBLE PRECISION)"

    limit = double(repr(float(threshold)))
    whens = "".join(
        f" WHEN {double(mode_count(mode))} / {active} >= {limit} THEN '{verdict.value}'"
        for mode, verdict in VERDICTS
    )
    return f"CASE WHEN {active} = 0 THEN '{NO_PROJECTS.value}'{whens} ELSE '{OTHERWISE.value}' END"
