"""Hook implementations of the analytics plugin."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jobhost import Backoff, QueuePolicy, hookimpl
from jobhost_analytics import routes
from jobhost_analytics.cli import analytics
from jobhost_analytics.facts import EVENT, MAX_OWNER, UPLOADED, FlyerFact, flyer_id_of
from jobhost_analytics.jobs import (
    DAILY_QUEUE,
    DAILY_TASK,
    WEEKLY_QUEUE,
    WEEKLY_TASK,
    daily_report,
    weekly_report,
)
from jobhost_analytics.records import Records

log = logging.getLogger("jobhost_analytics")

MIGRATIONS = Path(__file__).parent / "migrations"


@hookimpl
def register_queues(register):
    register(
        QueuePolicy(
            DAILY_QUEUE,
            attempts=2,
            backoff=Backoff.exponential(60),
            concurrency=1,
            concurrency_env="ANALYTICS_WORKER_CONCURRENCY",
            description="daily report generation",
        )
    )
    register(
        QueuePolicy(
            WEEKLY_QUEUE,
            attempts=2,
            backoff=Backoff.exponential(3600),
            concurrency=1,
            concurrency_env="ANALYTICS_WORKER_CONCURRENCY",
            description="weekly report generation",
        )
    )


@hookimpl
def register_tasks(register):
    register(daily_report)
    register(weekly_report)


@hookimpl
def register_schedules(register):
    # Cron times are UTC: yesterday's report at 00:15, last week's on Monday at 01:00.
    register("analytics.daily-report", cron="15 0 * * *", task=DAILY_TASK)
    register("analytics.weekly-report", cron="0 1 * * 1", task=WEEKLY_TASK)


@hookimpl
def register_admin_routes(register):
    register(routes.list_reports)
    register(routes.show_report)
    register(routes.make_report)


@hookimpl
def register_commands(cli):
    cli.add_command(analytics)


@hookimpl
def register_migrations(register):
    register(MIGRATIONS)


@hookimpl
def handle_event(event, host):
    if event.name == EVENT:
        return record_flyer(host, event.data, event.id)
    if event.name == UPLOADED:
        return record_upload(host, event.data)
    return None


async def record_flyer(host: Any, data: Any, event_id: str = "") -> None:
    """Keep the facts of a processed flyer for the reports (once per event id); a malformed
    event is logged and left."""
    try:
        fact = FlyerFact.from_event(data)
    except ValueError as exc:
        log.warning("analytics: event ignored: %s", exc)
        return
    await Records(host.db).record(fact, datetime.now(UTC), event_id)


async def record_upload(host: Any, data: Any) -> None:
    """Count an uploaded flyer; a malformed event is logged and left."""
    try:
        flyer_id = flyer_id_of(UPLOADED, data)
    except ValueError as exc:
        log.warning("analytics: event ignored: %s", exc)
        return
    owner, pages = data.get("owner"), data.get("pages")
    await Records(host.db).record_upload(
        flyer_id,
        str(owner)[:MAX_OWNER] if isinstance(owner, str | int) and not isinstance(owner, bool) else None,
        pages if isinstance(pages, int) and not isinstance(pages, bool) and pages >= 0 else None,
        datetime.now(UTC),
    )
