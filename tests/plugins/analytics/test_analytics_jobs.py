"""The analytics plugin in a real host: `flyer.processed` events through `host.emit`, report jobs
run by a real worker on the shared Redis, rows in a real migrated database."""

import asyncio
import json
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
from tests.plugins.analytics.conftest import REDIS_URL
from tests.plugins.email.conftest import jobhost

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
        "/api/admin/analytics/reports",  # GET the list, POST to make one
        "/api/admin/analytics/reports",
        "/api/admin/analytics/reports/{kind:str}/{period:str}",
    ]
    assert len(host.registry.migrations) == 1
    crons = {s.task: s.cron for s in host.registry.schedules.values()}
    sunday_night = datetime(2026, 1, 11, 23, 0, tzinfo=UTC).timestamp()
    daily = croniter(crons[DAILY_TASK], sunday_night)
    # 00:15 UTC every day; the weekly one on Monday at 01:00 UTC.
    assert [datetime.fromtimestamp(daily.get_next(float), UTC).isoformat() for _ in range(2)] == [
        "2026-01-12T00:15:00+00:00",
        "2026-01-13T00:15:00+00:00",
    ]
    weekly = croniter(crons[WEEKLY_TASK], sunday_night)
    assert [datetime.fromtimestamp(weekly.get_next(float), UTC).isoformat() for _ in range(2)] == [
        "2026-01-12T01:00:00+00:00",
        "2026-01-19T01:00:00+00:00",
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
    assert {k: done.result[k] for k in ("version", "kind", "period", "complete")} == {
        "version": 2,
        "kind": "daily",
        "period": yesterday.key,
        "complete": True,
    }
    assert (done.result["flyers"]["processed"], done.result["flyers"]["items"]) == (2, 3)
    assert done.result["prices"]["average"] == "2.00"
    assert [s["store"] for s in done.result["stores"]] == ["Acme", "Zed"]
    assert f"daily report {yesterday.key}: 2 flyers" in done.logs

    await records.record(FlyerFact.from_event(event("c", "Zed", "5.00")), yesterday.start)
    again = await run(host, DAILY_TASK, {"day": yesterday.key})
    assert again.state == "completed", again.errors
    stored = await records.get(DAILY, yesterday.key)
    assert stored.summary["flyers"]["processed"] == again.result["flyers"]["processed"] == 3
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
    assert (done.result["flyers"]["processed"], done.result["prices"]["max"]) == (2, "3.00")
    assert [d["day"] for d in done.result["days"]][::6] == ["2025-12-29", "2026-01-04"]
    assert (await records.get(WEEKLY, "2026-W01")).summary == {
        k: v
        for k, v in done.result.items()
        if k not in ("kind", "period", "starts_at", "ends_at", "generated_at", "complete")
    }


@pytest.mark.parametrize(
    ("task", "kwargs", "message"),
    [
        (DAILY_TASK, {"day": "2026-02-30"}, "day must be an ISO date such as 2026-01-05, got '2026-02-30'"),
        (WEEKLY_TASK, {"week": "2026-02"}, "week must be an ISO week such as 2026-W02, got '2026-02'"),
        (DAILY_TASK, {"day": "2999-01-01"}, r"daily period 2999-01-01 has not begun yet"),
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


@pytest.mark.slow
@pytest.mark.timeout(300)  # four `jobhost` processes: each starts in seconds, more on a busy machine
async def test_the_cli_queues_a_report_on_demand_and_says_what_is_wrong(analytics_host):
    host = await analytics_host()
    env = {
        "REDIS_URL": REDIS_URL,
        "JOBHOST_REDIS_PREFIX": host.settings.redis_prefix,
        "DATABASE_URL": str(host.settings.database_url),
        "JOBHOST_DATA_DIR": str(host.settings.data_dir),
        "JOBHOST_LOAD_PLUGINS": "analytics",
    }
    queued = await asyncio.to_thread(jobhost, "analytics", "report", "--daily", "2026-11-27", env=env)
    assert queued.returncode == 0, queued.stderr
    job_id = re.search(r"^daily report 2026-11-27: job (\S+) queued", queued.stdout)[1]
    job = await host.job(job_id)
    assert (job.task, job.kwargs, job.state) == (DAILY_TASK, {"day": "2026-11-27"}, "waiting")

    # with --wait, a worker makes it while the command waits, and it prints the report
    async with running_worker(host, QUEUES):
        waited = await asyncio.to_thread(
            jobhost, "analytics", "report", "--weekly", "2026-W47", "--wait", "60", env=env
        )
    assert waited.returncode == 0, waited.stderr
    report = json.loads(waited.stdout[waited.stdout.index("{") :])
    assert (report["kind"], report["period"], report["complete"]) == ("weekly", "2026-W47", True)
    assert (await Records(host.db).get(WEEKLY, "2026-W47")).summary["version"] == 2

    for args, message in [
        (["--weekly", "2999-W01"], "Invalid value for --weekly: weekly period 2999-W01 has not begun yet"),
        (
            ["--daily", "2026-11-27", "--weekly", "2026-W47"],
            "give exactly one of --daily YYYY-MM-DD or --weekly",
        ),
    ]:
        refused = await asyncio.to_thread(jobhost, "analytics", "report", *args, env=env)
        assert refused.returncode == 2, refused.stdout
        assert message in refused.stderr and "Traceback" not in refused.stderr
