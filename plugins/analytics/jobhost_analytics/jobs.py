"""The report tasks: make a period's report (see `reporting`), store it, mail it once complete."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from taskiq import TaskiqDepends

import jobhost
from jobhost import Host, JobContext, PermanentError
from jobhost_analytics import reporting
from jobhost_analytics.periods import DAILY, WEEKLY, Period, PeriodError, to_report

DAILY_QUEUE = "analytics-reporting"
WEEKLY_QUEUE = "weekly-analytics-reporting"
DAILY_TASK = "analytics.daily_report"
WEEKLY_TASK = "analytics.weekly_report"
Job = Annotated[JobContext, TaskiqDepends()]
# The task making each kind of report, and its parameter naming the period.
TASKS = {DAILY: (DAILY_TASK, "day"), WEEKLY: (WEEKLY_TASK, "week")}


async def request(host: Host, kind: str, key: str | None, now: datetime) -> tuple[Period, dict[str, Any]]:
    """Queue the report job of `kind` for period `key` (default: the previous whole one); the
    period and the job. PeriodError for a period that is malformed or has not begun."""
    period = to_report(kind, key, now)
    task, field = TASKS[kind]
    return period, (await host.enqueue(task, {field: period.key})).as_dict()


async def _run(ctx: JobContext, kind: str, key: str | None) -> dict[str, Any]:
    now = datetime.now(UTC)
    try:
        period = to_report(kind, key, now)
    except PeriodError as exc:
        raise PermanentError(f"{ctx.task}: {exc}") from None  # the same input fails every time
    report = await reporting.make(ctx.host, period, now)
    flyers = report.summary["flyers"]["processed"]
    ctx.log(f"{kind} report {period.key}: {flyers} flyers{'' if report.complete else ' so far'}")
    if report.complete:
        mails = await reporting.mail_admins(ctx.host, report)
        if mails:
            ctx.log(f"mailed to {len(mails)} admin(s): jobs {', '.join(mails)}")
    return report.as_dict()


@jobhost.task(DAILY_TASK, queue=DAILY_QUEUE)
async def daily_report(ctx: Job, day: str | None = None) -> dict[str, Any]:
    """The report of one UTC day (`2026-01-05`; default: yesterday)."""
    return await _run(ctx, DAILY, day)


@jobhost.task(WEEKLY_TASK, queue=WEEKLY_QUEUE)
async def weekly_report(ctx: Job, week: str | None = None) -> dict[str, Any]:
    """The report of one ISO week (`2026-W02`; default: last week)."""
    return await _run(ctx, WEEKLY, week)
