"""The analytics plugin in a real host: `flyer.processed` events through `host.emit`, report jobs
run by a real worker on the shared Redis, rows in a real migrated database."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from croniter import croniter
from sqlalchemy import select

from jobhost.testing import deliver
from jobhost.worker import running_worker
from jobhost_analytics.facts import FlyerFact
from jobhost_analytics.jobs import DAILY_TASK, WEEKLY_TASK
from jobhost_analytics.periods import DAILY, WEEKLY, parse, previous
from jobhost_analytics.records import Records
from jobhost_analytics.tables import flyers

QUEUES = ["analytics-reporting", "weekly-analytics-reporting"]


def event(flyer_id: str, store: str, *prices: str) -> dict:
    return {
        "flyer_id": flyer_id,
        "owner": "1",
        "store": store,
        "items": [{"name": f"item {n}", "price": price, "quantity": 1} for n, price in enumerate(prices)],
    }


async def run(host, task: str, kwargs: dict | None = None):
    job = await host.enqueue(task, kwargs)
    async with running_worker(host, QUEUES):
        return await host.engine.wait(job.id, timeout=60)


def test_the_plugin_registers_queues_tasks_schedules_routes_and_migrations(make_host):
    host = make_host(installed=("analytics",))
    info = host.registry.plugins["analytics"]
    assert info.status == "loaded", info.error
    assert {name: (q.attempts, q.backoff.delay_for(1)) for name, q in host.registry.queues.items()} == {
        "analytics-reporting": (2, 60),
        "weekly-analytics-reporting": (2, 3600),
        "events.analytics": (10, 5),  # the host's: its flyer.processed deliveries
    }
    assert {t.name: t.queue for t in host.registry.tasks.values()} == {
        DAILY_TASK: "analytics-reporting",
        WEEKLY_TASK: "weekly-analytics-reporting",
        "analytics.handle_event": "events.analytics",
    }
    assert info.as_dict()["admin_routes"] == [
        "/api/admin/analytics/reports",
        "/api/admin/analytics/reports/{kind:str}/{period:str}",
    ]
    assert len(host.registry.migrations) == 1
    crons = {s.task: s.cron for s in host.registry.schedules.values()}
    sunday_night = datetime(2026, 1, 11, 23, 0, tzinfo=UTC).timestamp()
    daily = croniter(crons[DAILY_TASK], sunday_night)
    # Shortly after midnight UTC, every day; the weekly one on Monday.
    assert [datetime.fromtimestamp(daily.get_next(float), UTC).isoformat() for _ in range(2)] == [
        "2026-01-12T00:05:00+00:00",
        "2026-01-13T00:05:00+00:00",
    ]
    weekly = croniter(crons[WEEKLY_TASK], sunday_night)
    assert [datetime.fromtimestamp(weekly.get_next(float), UTC).isoformat() for _ in range(2)] == [
        "2026-01-12T00:20:00+00:00",
        "2026-01-19T00:20:00+00:00",
    ]


async def recorded(host):
    async with host.db() as session:
        rows = await session.execute(select(flyers.c.flyer_id, flyers.c.event_id, flyers.c.updated_at))
        return rows.all()


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_a_flyer_processed_event_is_recorded_as_a_fact(analytics_host, caplog):
    host = await analytics_host()
    [first] = await deliver(host, "flyer.processed", event("f-1", "Acme", "2.00", "4.00"), source="flyer_ocr")
    await deliver(host, "flyer.processed", {"flyer_id": "f-2", "items": "not a list"}, source="flyer_ocr")
    await deliver(host, "something.else", {"flyer_id": "f-3", "items": []})
    # The same delivery run again (a retried handler) changes nothing: the row keeps its event.
    before = await recorded(host)
    await host.engine.retry(first.id)
    async with host.worker([first.queue]):
        assert (await host.wait(first.id)).state == "completed"
    assert await recorded(host) == before and before[0][1] == first.kwargs["event_id"]
    now = datetime.now(UTC)
    facts = await Records(host.db).facts(now - timedelta(minutes=5), now + timedelta(minutes=5))
    assert [(f.flyer_id, f.store, f.items, [str(p) for p in f.prices]) for f in facts] == [
        ("f-1", "Acme", 2, ["2.00", "4.00"])
    ]
    assert "event ignored: flyer.processed f-2: items must be a list, got str" in caplog.text


async def test_the_daily_report_of_yesterday_by_default_and_rerunning_replaces_it(analytics_host):
    host = await analytics_host()
    records = Records(host.db)
    yesterday = previous(DAILY, datetime.now(UTC))
    await records.record(FlyerFact.from_event(event("a", "Acme", "1.00", "3.00")), yesterday.start)
    await records.record(
        FlyerFact.from_event(event("b", "Zed", "2.00")), yesterday.end - timedelta(seconds=1)
    )
    await records.record(
        FlyerFact.from_event(event("older", "Acme", "9.00")), yesterday.start - timedelta(days=1)
    )

    done = await run(host, DAILY_TASK)
    assert done.state == "completed", done.errors
    assert {k: done.result[k] for k in ("kind", "period", "flyers", "items", "average_price")} == {
        "kind": "daily",
        "period": yesterday.key,
        "flyers": 2,
        "items": 3,
        "average_price": "2.00",
    }
    assert [s["store"] for s in done.result["stores"]] == ["Acme", "Zed"]
    assert f"daily report {yesterday.key}: 2 flyers" in done.logs

    await records.record(FlyerFact.from_event(event("c", "Zed", "5.00")), yesterday.start)
    again = await run(host, DAILY_TASK, {"day": yesterday.key})
    assert again.state == "completed", again.errors
    stored = await records.get(DAILY, yesterday.key)
    assert stored.summary["flyers"] == again.result["flyers"] == 3
    assert (await records.page(None, 0, 10))[1] == 1


async def test_the_weekly_report_counts_monday_to_sunday(analytics_host):
    host = await analytics_host()
    records = Records(host.db)
    week = parse(WEEKLY, "2026-W01")
    await records.record(FlyerFact.from_event(event("mon", "Acme", "1.00")), week.start)
    await records.record(FlyerFact.from_event(event("sun", "Acme", "3.00")), week.end - timedelta(minutes=1))
    await records.record(FlyerFact.from_event(event("next-mon", "Acme", "50.00")), week.end)
    done = await run(host, WEEKLY_TASK, {"week": "2026-W01"})
    assert done.state == "completed", done.errors
    assert (done.result["period"], done.result["starts_at"], done.result["ends_at"]) == (
        "2026-W01",
        "2025-12-29T00:00:00+00:00",
        "2026-01-05T00:00:00+00:00",
    )
    assert (done.result["flyers"], done.result["max_price"]) == (2, "3.00")
    assert (await records.get(WEEKLY, "2026-W01")).summary == {
        k: v
        for k, v in done.result.items()
        if k not in ("kind", "period", "starts_at", "ends_at", "generated_at")
    }


@pytest.mark.parametrize(
    ("task", "kwargs", "message"),
    [
        (DAILY_TASK, {"day": "2026-02-30"}, "day must be an ISO date such as 2026-01-05, got '2026-02-30'"),
        (WEEKLY_TASK, {"week": "2026-02"}, "week must be an ISO week such as 2026-W02, got '2026-02'"),
        (DAILY_TASK, {"day": "2999-01-01"}, r"daily period 2999-01-01 has not ended yet"),
    ],
)
async def test_a_period_that_cannot_be_reported_fails_at_once_naming_the_field(
    analytics_host, task, kwargs, message
):
    host = await analytics_host()
    done = await run(host, task, kwargs)
    assert (done.state, done.attempt) == ("dead", 1)
    [failure] = done.errors
    assert re.match(f"PermanentError: {task}: {message}", failure.error), failure.error
    assert (await Records(host.db).page(None, 0, 10))[1] == 0
