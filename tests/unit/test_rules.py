"""The pure rules behind the API's numbers, at their boundaries, without a database."""

from datetime import date

import pytest

from app.cli.demo import resolve_dates
from app.core.config import Settings
from app.criteria.models import CriterionStatus, Direction, criterion_status
from app.projects.models import RiskBand, risk_band
from app.reports.schemas import SpreadVerdict, UnitSpreadStatus
from app.reports.service import spread_verdict, unit_status

TODAY = date(2026, 6, 15)


@pytest.mark.parametrize(
    ("score", "band"),
    [(1, RiskBand.low), (6, RiskBand.low), (8, RiskBand.medium), (12, RiskBand.medium),
     (15, RiskBand.high), (25, RiskBand.high)],
)
def test_risk_band_edges(score, band):
    assert risk_band(score) == band


@pytest.mark.parametrize(
    ("direction", "latest", "due_on", "status"),
    [
        (Direction.increase, 20.0, None, CriterionStatus.met),  # reaching the target is met
        (Direction.increase, 19.9, None, CriterionStatus.pending),
        (Direction.decrease, 20.0, None, CriterionStatus.met),
        (Direction.decrease, 20.1, date(2026, 6, 14), CriterionStatus.missed),
        (Direction.increase, None, date(2026, 6, 15), CriterionStatus.pending),  # due today
        (Direction.increase, None, date(2026, 6, 14), CriterionStatus.missed),  # due yesterday
        (Direction.increase, 25.0, date(2026, 1, 1), CriterionStatus.met),  # met beats overdue
    ],
)
def test_criterion_status(direction, latest, due_on, status):
    got = criterion_status(
        direction=direction, target=20.0, latest_value=latest, due_on=due_on, today=TODAY
    )
    assert got == status


@pytest.mark.parametrize(
    ("active", "side", "core", "status"),
    [
        (0, 0, 0, UnitSpreadStatus.none),
        (4, 2, 2, UnitSpreadStatus.side_of_desk),  # 2/4 = 0.5 reaches the threshold
        (4, 1, 2, UnitSpreadStatus.embedded),
        (4, 1, 1, UnitSpreadStatus.mixed),
        (3, 1, 1, UnitSpreadStatus.mixed),  # 1/3 < 0.5
    ],
)
def test_unit_status(active, side, core, status):
    by_work_mode = {"side_of_desk": side, "dedicated": active - side - core, "core_business": core}
    assert unit_status(active, by_work_mode, 0.5) == status


def _verdict(active: int, **shares: float | None) -> SpreadVerdict:
    values: dict[str, float | None] = {
        "side_share": 0.2, "core_share": 0.6, "individual_share": 0.2, "coverage": 1.0,
        "lab_share": 0.1,
    }
    values.update(shares)
    return spread_verdict(active=active, settings=Settings(), **values)  # type: ignore[arg-type]


def test_spread_verdict_rules_in_order():
    assert _verdict(4) == SpreadVerdict.insufficient_data  # fewer than 5 active projects
    assert _verdict(5) == SpreadVerdict.spread
    assert _verdict(5, side_share=0.5) == SpreadVerdict.side_of_desk
    # side of desk is checked before concentration
    assert _verdict(5, side_share=0.5, lab_share=0.9) == SpreadVerdict.side_of_desk
    assert _verdict(5, coverage=0.49) == SpreadVerdict.concentrated
    assert _verdict(5, coverage=None) == SpreadVerdict.spread  # no business line: no coverage
    assert _verdict(5, lab_share=0.5) == SpreadVerdict.concentrated
    assert _verdict(5, individual_share=0.5) == SpreadVerdict.mixed
    assert _verdict(5, core_share=0.49) == SpreadVerdict.mixed


def test_demo_dates_are_relative_to_the_loading_day():
    document = {"a": "today-1", "b": ["today+30", "today"], "c": {"d": "2026-01-01", "e": 3}}
    assert resolve_dates(document, TODAY) == {
        "a": "2026-06-14",
        "b": ["2026-07-15", "today"],
        "c": {"d": "2026-01-01", "e": 3},
    }
