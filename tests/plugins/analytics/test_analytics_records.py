"""The analytics tables on real SQLite and PostgreSQL databases, created by the plugin's migration."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from jobhost_analytics.facts import Deal, FlyerFact
from jobhost_analytics.figures import figures
from jobhost_analytics.periods import DAILY, WEEKLY, parse
from jobhost_analytics.records import Records, Report
from jobhost_analytics.summary import summarize

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)

MONDAY = datetime(2026, 1, 5, tzinfo=UTC)


def fact(flyer_id: str, store: str = "Acme", *prices: str) -> FlyerFact:
    return FlyerFact(flyer_id, "1", store, len(prices), tuple(map(Decimal, prices)))


def shaped(facts: list[FlyerFact]) -> dict:
    """A report's figures of these flyers and nothing else."""
    return figures(summarize(facts), 0, {}, None)


async def test_the_migration_creates_the_tables_in_a_history_of_their_own(analytics_host):
    host = await analytics_host()
    at = await host.migrated()
    assert at["analytics"] == ("analytics_0003",)
    assert at["jobhost"]


async def test_facts_are_found_by_the_period_they_were_first_seen_in(analytics_host):
    records = Records((await analytics_host()).db)
    await records.record(fact("before", "Acme", "1.00"), MONDAY - timedelta(microseconds=1))
    await records.record(fact("first", "Acme", "1.25", "2.50"), MONDAY)
    await records.record(fact("last", "Zed"), MONDAY + timedelta(hours=23, minutes=59))
    await records.record(fact("after", "Acme"), MONDAY + timedelta(days=1))
    found = await records.facts(MONDAY, MONDAY + timedelta(days=1))
    assert sorted(found, key=lambda f: f.flyer_id) == [
        fact("first", "Acme", "1.25", "2.50"),
        fact("last", "Zed"),
    ]


async def test_an_event_announced_again_replaces_the_fact_but_keeps_its_period(analytics_host):
    records = Records((await analytics_host()).db)
    await records.record(fact("f-1", "Acme", "1.00"), MONDAY)
    await records.record(fact("f-1", "Acme Fresh", "1.00", "3.00"), MONDAY + timedelta(days=3))
    [kept] = await records.facts(MONDAY, MONDAY + timedelta(days=1))
    assert kept == fact("f-1", "Acme Fresh", "1.00", "3.00")
    assert await records.facts(MONDAY + timedelta(days=1), MONDAY + timedelta(days=7)) == []


async def test_pages_deals_and_uploads_are_kept(analytics_host):
    records = Records((await analytics_host()).db)
    with_deals = FlyerFact(
        "d",
        "1",
        "Acme",
        2,
        (Decimal("1.00"),),
        pages=3,
        deals=(Deal("Tea", "kg", Decimal("1.00"), Decimal("2.00"), 50),),
    )
    await records.record(with_deals, MONDAY)
    assert await records.facts(MONDAY, MONDAY + timedelta(days=1)) == [with_deals]
    await records.record_upload("d", "1", 3, MONDAY)
    await records.record_upload("d", "1", 3, MONDAY + timedelta(days=1))  # announced again: counted once
    await records.record_upload("e", None, None, MONDAY + timedelta(hours=1))
    assert await records.uploads(MONDAY, MONDAY + timedelta(days=1)) == 2
    assert await records.uploads(MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)) == 0


async def test_saving_a_report_again_replaces_it(analytics_host):
    records = Records((await analytics_host()).db)
    day = parse(DAILY, "2026-01-05")
    await records.save(Report.of(day, shaped([fact("a", "Acme", "1.00")]), MONDAY + timedelta(days=1)))
    regenerated = MONDAY + timedelta(days=2)
    await records.save(Report.of(day, shaped([fact("a"), fact("b")]), regenerated))
    report = await records.get(DAILY, "2026-01-05")
    assert (report.summary["flyers"]["processed"], report.generated_at) == (2, regenerated)
    assert report.complete and report.as_dict()["version"] == 2
    assert (report.starts_at, report.ends_at) == (day.start, day.end)
    page, total = await records.page(None, 0, 10)
    assert (len(page), total) == (1, 1)
    assert await records.get(WEEKLY, "2026-W02") is None


async def test_pages_are_latest_period_first_and_filter_by_kind(analytics_host):
    records = Records((await analytics_host()).db)
    now = datetime.now(UTC)
    for kind, key in [
        (DAILY, "2026-01-04"),
        (DAILY, "2026-01-06"),
        (WEEKLY, "2026-W01"),
        (DAILY, "2026-01-05"),
    ]:
        await records.save(Report.of(parse(kind, key), shaped([]), now))
    everything, total = await records.page(None, 0, 10)
    assert total == 4
    assert [(r.kind, r.period) for r in everything] == [
        (DAILY, "2026-01-06"),
        (DAILY, "2026-01-05"),
        (DAILY, "2026-01-04"),
        (WEEKLY, "2026-W01"),
    ]
    daily, total = await records.page(DAILY, 1, 1)
    assert ([r.period for r in daily], total) == (["2026-01-05"], 3)
    weekly, total = await records.page(WEEKLY, 0, 10)
    assert ([r.period for r in weekly], total) == (["2026-W01"], 1)
