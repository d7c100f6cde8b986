"""The report tasks: aggregate a period's flyer facts into its report row and return it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from taskiq import TaskiqDepends

import jobhost
from jobhost import JobContext, PermanentError
from jobhost_analytics.periods import DAILY, WEEKLY, PeriodError, to_report
from jobhost_analytics.records import Records, Report
from jobhost_analytics.summary import summarize

DAILY_QUEUE = "analytics-reporting"
WEEKLY_QUEUE = "weekly-analytics-reporting"
DAILY_TASK = "analytics.daily_report"
WEEKLY_TASK = "analytics.weekly_report"
Job = Annotated[JobContext, TaskiqDepends()]


async def _run(ctx: JobContext, kind: str, key: str | None) -> dict[str, Any]:
    now = datetime.now(UTC)
    try:
        period = to_report(kind, key, now)
    except PeriodError as exc:
        raise PermanentError(f"{ctx.task}: {exc}") from None  # the same input fails every time
    records = Records(ctx.host.db)
    facts = await records.facts(period.start, period.end)
    report = Report.of(period, summarize(facts), now)
    await records.save(report)
    ctx.log(f"{kind} report {period.key}: {len(facts)} flyers")
    return report.as_dict()


@jobhost.task(DAILY_TASK, queue=DAILY_QUEUE)
async def daily_report(ctx: Job, day: str | None = None) -> dict[str, Any]:
    """The report of one UTC day (`2026-01-05`; default: yesterday)."""
    return await _run(ctx, DAILY, day)


@jobhost.task(WEEKLY_TASK, queue=WEEKLY_QUEUE)
async def weekly_report(ctx: Job, week: str | None = None) -> dict[str, Any]:
    """The report of one ISO week (`2026-W02`; default: last week)."""
    return await _run(ctx, WEEKLY, week)
