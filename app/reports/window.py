"""The dates a timeline report covers: its window, its defaults and the trends' points.

Pure calendar rules, no SQL. Dates are calendar dates in UTC; ``today`` is passed in
(``app.core.db.today()``), so a default or a bound moves with the calendar and is never
stored.
"""

import calendar
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from app.core.errors import InvalidField

# A trends chart with more points than this is unreadable and its query scans the
# periods once per point: 10 years of months.
MAX_POINTS = 120


class Interval(StrEnum):
    """Spacing of trend points: `month` (month ends), `quarter` (quarter ends) or `year`
    (31 December)."""
    month = "month"
    quarter = "quarter"
    year = "year"


# The months an interval ends in: every month, the quarter ends, December.
_END_MONTHS = {
    Interval.month: tuple(range(1, 13)),
    Interval.quarter: (3, 6, 9, 12),
    Interval.year: (12,),
}


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def years_before(day: date, years: int) -> date:
    """The same day of the month ``years`` earlier, or that month's last day if it has
    none (29 February in a common year); 1 January of year 1 at the calendar's start."""
    year = day.year - years
    if year < 1:
        return date.min
    return date(year, day.month, min(day.day, calendar.monthrange(year, day.month)[1]))


def is_interval_end(day: date, interval: Interval) -> bool:
    return day.month in _END_MONTHS[interval] and day == month_end(day.year, day.month)


def interval_ends(start: date, end: date, interval: Interval, limit: int) -> list[date]:
    """The interval ends E with start <= E <= end, oldest first; at most ``limit`` of them
    (the caller asks for one more than it accepts to learn that there are too many)."""
    months = _END_MONTHS[interval]
    ends: list[date] = []
    year, month = start.year, start.month
    while len(ends) < limit:
        if month in months:
            candidate = month_end(year, month)
            if candidate > end:
                break
            if candidate >= start:
                ends.append(candidate)
        if (year, month) == (end.year, end.month):
            break
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return ends


def points(start: date, end: date, interval: Interval) -> list[date]:
    """Every interval end within [start, end], plus ``end`` itself when it is not one.
    More than MAX_POINTS: 422 on `from` (the window is too long for the interval)."""
    dates = interval_ends(start, end, interval, MAX_POINTS + 1)
    if not dates or dates[-1] != end:
        dates.append(end)
    if len(dates) > MAX_POINTS:
        raise InvalidField(
            "from",
            f"the window from {start.isoformat()} to {end.isoformat()} has more than "
            f"{MAX_POINTS} {interval.value} points; choose a later `from` or a longer "
            "`interval`",
            location="query",
        )
    return dates


@dataclass(frozen=True)
class Window:
    start: date
    end: date


def window(*, start: date | None, end: date | None, years: int, today: date) -> Window:
    """The window [start, end] of a timeline report, both inclusive.

    ``end`` defaults to today and may not be after it (422 on `to`); ``start`` defaults to
    ``years`` before ``end`` (`years_before`) and may not be after ``end`` (422 on `from`).
    """
    if end is None:
        end = today
    elif end > today:
        raise InvalidField(
            "to", f"must not be after today ({today.isoformat()}, UTC)", location="query"
        )
    if start is None:
        start = years_before(end, years)
    elif start > end:
        raise InvalidField("from", f"must not be after `to` ({end.isoformat()})", location="query")
    return Window(start=start, end=end)
