"""Fiscal years: a year starts on the first day of a configured month
(`PORTFOLIO_FISCAL_YEAR_START_MONTH`) and is named by the calendar year it starts in."""

from datetime import date

FIRST_YEAR = 1900
# The year after the last must still be a date (its start ends the last one).
LAST_YEAR = 9998


def bounds(year: int, start_month: int) -> tuple[date, date]:
    """The first day of fiscal year `year` and the first day of the next one."""
    return date(year, start_month, 1), date(year + 1, start_month, 1)


def year_of(day: date, start_month: int) -> int:
    """The fiscal year containing `day`."""
    return day.year if day.month >= start_month else day.year - 1
