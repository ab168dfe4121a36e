"""The calendar rules of the timeline reports: windows, defaults and trend points."""

from datetime import date

import pytest

from app.core.errors import InvalidField
from app.reports.window import Interval, is_interval_end, points, window, years_before


@pytest.mark.parametrize(
    ("day", "years", "expected"),
    [
        (date(2026, 4, 15), 2, date(2024, 4, 15)),  # same day of the month
        (date(2026, 2, 28), 2, date(2024, 2, 28)),  # 2024 has a 29th; the 28th still exists
        (date(2028, 2, 29), 2, date(2026, 2, 28)),  # no 29 February in 2026: its last day
        (date(2028, 2, 29), 1, date(2027, 2, 28)),
        (date(2028, 2, 29), 4, date(2024, 2, 29)),  # a leap year again: the same day
        (date(2026, 3, 31), 1, date(2025, 3, 31)),
        (date(2, 6, 1), 2, date(1, 1, 1)),  # before the calendar starts: its first day
    ],
)
def test_years_before(day, years, expected):
    assert years_before(day, years) == expected


def test_window_defaults_and_bounds():
    today = date(2026, 4, 15)
    assert window(start=None, end=None, years=2, today=today).start == date(2024, 4, 15)
    assert window(start=None, end=None, years=1, today=today).end == today
    assert window(start=None, end=date(2026, 2, 28), years=1, today=today).start == date(
        2025, 2, 28
    )
    # from == to is a one-day window.
    assert window(start=today, end=today, years=2, today=today).start == today

    with pytest.raises(InvalidField) as too_late:
        window(start=None, end=date(2026, 4, 16), years=2, today=today)
    assert too_late.value.errors[0].field == "to"
    with pytest.raises(InvalidField) as backwards:
        window(start=date(2026, 4, 2), end=date(2026, 4, 1), years=2, today=today)
    assert backwards.value.errors[0].field == "from"


def test_interval_ends():
    assert is_interval_end(date(2026, 2, 28), Interval.month)
    assert not is_interval_end(date(2028, 2, 28), Interval.month)  # 2028 has a 29 February
    assert is_interval_end(date(2026, 6, 30), Interval.quarter)
    assert not is_interval_end(date(2026, 5, 31), Interval.quarter)
    assert is_interval_end(date(2026, 12, 31), Interval.year)
    assert not is_interval_end(date(2026, 9, 30), Interval.year)


def test_points_month_quarter_year_and_the_extra_last_point():
    # Month ends from 15 Nov 2025 to 15 Feb 2026: 30 Nov, 31 Dec, 31 Jan, then 15 Feb itself.
    assert points(date(2025, 11, 15), date(2026, 2, 15), Interval.month) == [
        date(2025, 11, 30),
        date(2025, 12, 31),
        date(2026, 1, 31),
        date(2026, 2, 15),
    ]
    # Ending on a month end: no extra point. Starting on one: it counts (both inclusive).
    assert points(date(2025, 11, 30), date(2026, 1, 31), Interval.month) == [
        date(2025, 11, 30),
        date(2025, 12, 31),
        date(2026, 1, 31),
    ]
    assert points(date(2024, 2, 1), date(2024, 3, 31), Interval.month) == [
        date(2024, 2, 29),  # leap year
        date(2024, 3, 31),
    ]
    # Quarter ends from 1 Mar 2025 to 15 Apr 2026: 31 Mar, 30 Jun, 30 Sep, 31 Dec 2025,
    # 31 Mar 2026, then 15 Apr 2026.
    assert points(date(2025, 3, 1), date(2026, 4, 15), Interval.quarter) == [
        date(2025, 3, 31),
        date(2025, 6, 30),
        date(2025, 9, 30),
        date(2025, 12, 31),
        date(2026, 3, 31),
        date(2026, 4, 15),
    ]
    assert points(date(2025, 7, 1), date(2025, 9, 30), Interval.quarter) == [date(2025, 9, 30)]
    # Year ends from 1 Jan 2024 to 31 Dec 2025: two points, the last being `to`.
    assert points(date(2024, 1, 1), date(2025, 12, 31), Interval.year) == [
        date(2024, 12, 31),
        date(2025, 12, 31),
    ]
    # No interval end within the window: `to` alone.
    assert points(date(2026, 1, 2), date(2026, 3, 30), Interval.quarter) == [date(2026, 3, 30)]
    assert points(date(2026, 4, 15), date(2026, 4, 15), Interval.year) == [date(2026, 4, 15)]


def test_at_most_120_points():
    # 120 month ends, 31 Jan 2016 .. 31 Dec 2025, and `to` is one of them: allowed.
    assert len(points(date(2016, 1, 1), date(2025, 12, 31), Interval.month)) == 120
    # 119 month ends (31 Jan 2016 .. 30 Nov 2025) plus the extra point 15 Dec 2025: 120.
    assert len(points(date(2016, 1, 1), date(2025, 12, 15), Interval.month)) == 120
    # 120 month ends plus the extra point 15 Jan 2026: 121, too many.
    with pytest.raises(InvalidField) as too_many:
        points(date(2016, 1, 1), date(2026, 1, 15), Interval.month)
    assert too_many.value.errors[0].field == "from"
    assert too_many.value.errors[0].location == "query"
    # From the calendar's first day: stops counting at 121, never walks 2,000 years.
    with pytest.raises(InvalidField):
        points(date(1, 1, 1), date(2026, 4, 15), Interval.month)
    assert len(points(date(1906, 1, 1), date(2025, 12, 31), Interval.year)) == 120
