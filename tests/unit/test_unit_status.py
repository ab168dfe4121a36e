"""The spread report's unit status: the Python rule and the SQL `CASE` built from the same
data give the same verdict at, just below and just above the threshold."""

from typing import Any

import pytest
from sqlalchemy import create_engine, text

from app.reports.schemas import UnitSpreadStatus
from app.reports.unit_status import status, status_sql

# (active, side of desk, core business, threshold, verdict), worked out by hand.
CASES = [
    (0, 0, 0, 0.5, UnitSpreadStatus.none),
    (4, 2, 2, 0.5, UnitSpreadStatus.side_of_desk),  # 2/4 = 0.5: at the threshold
    (4, 2, 0, 0.5, UnitSpreadStatus.side_of_desk),
    (4, 1, 2, 0.5, UnitSpreadStatus.embedded),  # 1/4 below, 2/4 at
    (4, 1, 1, 0.5, UnitSpreadStatus.mixed),
    (3, 1, 1, 0.5, UnitSpreadStatus.mixed),  # 1/3 just below
    (3, 2, 1, 0.5, UnitSpreadStatus.side_of_desk),  # 2/3 above
    (1000, 499, 499, 0.5, UnitSpreadStatus.mixed),  # 0.499 just below
    (1000, 501, 0, 0.5, UnitSpreadStatus.side_of_desk),  # 0.501 just above
    (1000, 0, 501, 0.5, UnitSpreadStatus.embedded),
    (10, 3, 0, 0.3, UnitSpreadStatus.side_of_desk),  # 3/10 = 0.3 as a double, at 0.3
    (10, 2, 3, 0.3, UnitSpreadStatus.embedded),
    (3, 1, 0, 1 / 3, UnitSpreadStatus.side_of_desk),  # a threshold that is not a short decimal
    (7, 0, 7, 1.0, UnitSpreadStatus.embedded),
    (7, 6, 0, 1.0, UnitSpreadStatus.mixed),
]


def _by_work_mode(active: int, side: int, core: int) -> dict[str, int]:
    return {"side_of_desk": side, "dedicated": active - side - core, "core_business": core}


@pytest.mark.parametrize(("active", "side", "core", "threshold", "verdict"), CASES)
def test_python_rule(active: int, side: int, core: int, threshold: float, verdict: Any) -> None:
    assert status(active, _by_work_mode(active, side, core), threshold) == verdict


def test_sql_rule_agrees_with_python(database_url: str) -> None:
    """Every case through the test database (SQLite or PostgreSQL), integer columns divided
    as the report's JSON divides them."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            for active, side, core, threshold, verdict in CASES:
                case = status_sql(
                    "unit.active_projects", lambda mode: f"unit.mode_{mode.value}", threshold
                )
                row = connection.execute(
                    text(
                        f"SELECT {case} FROM (SELECT CAST(:active AS INTEGER) AS active_projects, "
                        "CAST(:side AS INTEGER) AS mode_side_of_desk, "
                        "CAST(:core AS INTEGER) AS mode_core_business) AS unit"
                    ),
                    {"active": active, "side": side, "core": core},
                ).scalar_one()
                python = status(active, _by_work_mode(active, side, core), threshold)
                assert (active, side, core, threshold, row) == (
                    active,
                    side,
                    core,
                    threshold,
                    python.value,
                )
                assert row == verdict.value
    finally:
        engine.dispose()
