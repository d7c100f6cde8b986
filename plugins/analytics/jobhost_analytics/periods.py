"""Report periods: a UTC day (`2026-01-05`) or an ISO week (`2026-W02`, Monday to Monday)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import attrs

DAILY = "daily"
WEEKLY = "weekly"
KINDS = (DAILY, WEEKLY)

# Only the canonical forms: Python also reads `20260105` or `2026-W02-1`, which would make two
# keys for one report.
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class PeriodError(ValueError):
    """A period or kind that cannot be reported on; the message names the field and the form."""


@attrs.frozen
class Period:
    """`[start, end)` in UTC, named by `key` (`2026-01-05` or `2026-W02`)."""

    kind: str
    key: str
    start: datetime
    end: datetime

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _day(day: date) -> Period:
    return Period(DAILY, day.isoformat(), _midnight(day), _midnight(day + timedelta(days=1)))


def _week(monday: date) -> Period:
    year, week, _ = monday.isocalendar()
    return Period(WEEKLY, f"{year:04d}-W{week:02d}", _midnight(monday), _midnight(monday + timedelta(days=7)))


def parse(kind: str, key: str) -> Period:
    """The period `key` names for reports of `kind`."""
    if kind == DAILY:
        try:
            if not isinstance(key, str) or not _DAY.match(key):
                raise ValueError(key)
            return _day(date.fromisoformat(key))
        except ValueError:
            raise PeriodError(f"day must be an ISO date such as 2026-01-05, got {key!r}") from None
    if kind == WEEKLY:
        found = _WEEK.match(key) if isinstance(key, str) else None
        try:
            if found is None:
                raise ValueError(key)
            return _week(date.fromisocalendar(int(found[1]), int(found[2]), 1))
        except ValueError:
            raise PeriodError(f"week must be an ISO week such as 2026-W02, got {key!r}") from None
    raise PeriodError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")


def previous(kind: str, now: datetime) -> Period:
    """The last whole period of `kind` before `now`: yesterday, or last week."""
    today = now.astimezone(UTC).date()
    if kind == DAILY:
        return _day(today - timedelta(days=1))
    return _week(today - timedelta(days=today.weekday() + 7))


def to_report(kind: str, key: str | None, now: datetime) -> Period:
    """The period a report job covers: `key`, or by default the previous whole one.

    A period that has not begun is refused; one still in progress is reported so far, and the
    report says it is not complete (see `Report.complete`).
    """
    if kind not in KINDS:
        raise PeriodError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    period = previous(kind, now) if key is None else parse(kind, key)
    if period.start > now:
        raise PeriodError(
            f"{period.kind} period {period.key} has not begun yet (it starts {period.start.isoformat()})"
        )
    return period
