"""The plain parts of the analytics plugin: facts from events, periods, and the aggregation."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from jobhost import QueueDay
from jobhost_analytics.facts import Deal, FlyerFact, item_price
from jobhost_analytics.figures import VERSION, figures
from jobhost_analytics.letter import letter
from jobhost_analytics.periods import DAILY, WEEKLY, PeriodError, parse, previous, to_report
from jobhost_analytics.summary import summarize

EVENT = {
    "flyer_id": "f-1",
    "owner": "7",
    "store": "  Fresh   Mart ",
    "pages": 2,
    "items": [
        {"name": "Gala Apples", "price": "3.98", "quantity": 1, "unit": "lb", "unit_price": None, "page": 1},
        {"name": "Yogurt", "price": "5.00", "quantity": 3, "unit": "each", "unit_price": "1.67", "page": 1},
        {"name": "Bread", "price": "6.00", "quantity": 2, "unit": "each", "unit_price": None, "page": 2},
        {"name": "Mystery", "price": None, "quantity": 1, "unit": "each", "unit_price": None, "page": 2},
    ],
}


def test_a_fact_keeps_the_store_pages_items_prices_per_item_and_deals():
    fact = FlyerFact.from_event(EVENT)
    assert fact == FlyerFact(
        "f-1",
        "7",
        "Fresh Mart",
        4,
        (Decimal("3.98"), Decimal("1.67"), Decimal("3.00")),
        pages=2,
        deals=(
            Deal("Gala Apples", "lb", Decimal("3.98")),
            Deal("Yogurt", "multi_buy", Decimal("5.00")),
            Deal("Bread", "multi_buy", Decimal("6.00")),
            Deal("Mystery", "each"),
        ),
    )


@pytest.mark.parametrize(
    ("item", "deal"),
    [
        ({"name": " Beef  Mince ", "price": "8.80", "unit": "KG"}, Deal("Beef Mince", "kg", Decimal("8.80"))),
        ({"name": "Cola", "price": "2.00", "bogo": True}, Deal("Cola", "multi_buy", Decimal("2.00"))),
        # the printed percentage wins; else it comes from the regular price, or from the saving
        (
            {"name": "Tea", "price": "3", "percent_off": 25, "regular_price": "5"},
            Deal("Tea", "each", Decimal("3.00"), Decimal("5.00"), 25),
        ),
        (
            {"name": "Tea", "price": "3.00", "regular_price": "4.00"},
            Deal("Tea", "each", Decimal("3.00"), Decimal("4.00"), 25),
        ),
        (
            {"name": "Tea", "price": "3.00", "save": "1.00"},
            Deal("Tea", "each", Decimal("3.00"), Decimal("4.00"), 25),
        ),
        # a "regular" price below the price is no discount, nor is a percentage over 100
        (
            {"name": "Tea", "price": "3", "regular_price": "2"},
            Deal("Tea", "each", Decimal("3.00"), Decimal("2.00")),
        ),
        ({"name": "Tea", "percent_off": 300}, Deal("Tea", "each")),
        ({"name": "  ", "price": "1"}, None),
        ({"price": "1"}, None),
    ],
)
def test_a_deal_has_a_unit_kind_and_its_discount(item, deal):
    assert Deal.from_item(item) == deal


@pytest.mark.parametrize(
    ("item", "price"),
    [
        ({"price": "4.99"}, Decimal("4.99")),
        ({"price": 5, "quantity": 3}, Decimal("1.67")),
        ({"price": "5.00", "quantity": 3, "unit_price": "1.66"}, Decimal("1.66")),
        ({"price": "-1"}, None),
        ({"price": "free"}, None),
        ({"price": "NaN"}, None),
        ({"price": True}, None),
        ({"name": "no price"}, None),
        ("not an item", None),
    ],
)
def test_item_price(item, price):
    assert item_price(item) == price


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"items": []}, "flyer.processed: flyer_id must be a string or number, got None"),
        ({"flyer_id": True, "items": []}, "flyer_id must be a string or number, got True"),
        ({"flyer_id": "  ", "items": []}, "flyer_id must be a string or number"),
        ({"flyer_id": "x" * 256, "items": []}, "flyer_id must be at most 255 characters, got 256"),
        ({"flyer_id": 12, "items": "lots"}, "flyer.processed 12: items must be a list, got str"),
        ({"flyer_id": 12, "owner": "9" * 65, "items": []}, "owner must be at most 64 characters, got 65"),
        (["not", "an", "object"], "data must be a JSON object, got list"),
    ],
)
def test_an_unusable_event_is_refused_naming_the_field(data, message):
    with pytest.raises(ValueError, match=message):
        FlyerFact.from_event(data)


def test_an_event_without_store_or_owner_is_still_counted():
    fact = FlyerFact.from_event({"flyer_id": 12, "store": "", "owner": None, "items": [{"price": "1"}]})
    assert (fact.flyer_id, fact.store, fact.owner, fact.items, fact.prices) == ("12", None, None, 1, (1,))


def test_summarize_counts_flyers_items_stores_and_prices():
    facts = [
        FlyerFact("a", "1", "Fresh Mart", 10, (Decimal("1.00"), Decimal("3.00"))),
        FlyerFact("b", "2", "Fresh Mart", 5, (Decimal("2.00"),)),
        FlyerFact("c", "1", "Acme", 3, (Decimal("10.00"),)),
        FlyerFact("d", None, None, 2, ()),
    ]
    assert summarize(facts).as_dict() == {
        "flyers": 4,
        "items": 20,
        "priced_items": 4,
        "uploaders": 2,
        "average_price": "4.00",
        "median_price": "2.50",
        "min_price": "1.00",
        "max_price": "10.00",
        "stores": [
            {"store": "Fresh Mart", "flyers": 2, "items": 15, "priced_items": 3, "average_price": "2.00"},
            {"store": "Acme", "flyers": 1, "items": 3, "priced_items": 1, "average_price": "10.00"},
            {"store": None, "flyers": 1, "items": 2, "priced_items": 0, "average_price": None},
        ],
    }


def test_summarize_nothing_is_a_report_of_zeros():
    assert summarize([]).as_dict() == {
        "flyers": 0,
        "items": 0,
        "priced_items": 0,
        "uploaders": 0,
        "average_price": None,
        "median_price": None,
        "min_price": None,
        "max_price": None,
        "stores": [],
    }


def test_averages_round_half_up_to_cents():
    facts = [FlyerFact("a", None, "S", 3, (Decimal("0.01"), Decimal("0.01"), Decimal("0.02")))]
    # 0.04 / 3 = 0.01333…; the median of an even count is the mean of the middle two.
    assert summarize(facts).average_price == Decimal("0.01")
    two = [FlyerFact("a", None, "S", 2, (Decimal("0.01"), Decimal("0.02")))]
    assert summarize(two).median_price == Decimal("0.02")


def test_a_day_is_a_utc_day_and_a_week_runs_monday_to_monday():
    day = parse(DAILY, "2026-01-05")
    assert (day.start, day.end) == (datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 6, tzinfo=UTC))
    week = parse(WEEKLY, "2026-W02")
    assert (week.start, week.end) == (datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 12, tzinfo=UTC))
    # ISO week 1 of 2026 starts in 2025.
    assert parse(WEEKLY, "2026-W01").start == datetime(2025, 12, 29, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "key", "message"),
    [
        (DAILY, "2026-13-01", "day must be an ISO date such as 2026-01-05, got '2026-13-01'"),
        (DAILY, "20260105", "day must be an ISO date"),
        (DAILY, 20260105, "day must be an ISO date"),
        (WEEKLY, "2026-W54", "week must be an ISO week such as 2026-W02, got '2026-W54'"),
        (WEEKLY, "2026-W02-1", "week must be an ISO week"),
        (WEEKLY, "2026-01-05", "week must be an ISO week"),
        ("monthly", "2026-01", "kind must be one of daily, weekly, got 'monthly'"),
    ],
)
def test_a_malformed_period_is_refused_naming_the_form(kind, key, message):
    with pytest.raises(PeriodError, match=message):
        parse(kind, key)


def test_the_default_period_is_the_previous_whole_one():
    wednesday = datetime(2026, 1, 7, 0, 5, tzinfo=UTC)
    assert previous(DAILY, wednesday).key == "2026-01-06"
    assert previous(WEEKLY, wednesday).key == "2026-W01"
    monday = datetime(2026, 1, 12, 0, 20, tzinfo=UTC)
    assert previous(WEEKLY, monday).key == "2026-W02"
    assert to_report(WEEKLY, None, monday).end == datetime(2026, 1, 12, tzinfo=UTC)


def test_a_period_in_progress_is_reported_but_one_not_begun_is_refused():
    noon = datetime(2026, 1, 7, 12, tzinfo=UTC)
    assert to_report(DAILY, "2026-01-07", noon).key == "2026-01-07"
    assert to_report(WEEKLY, "2026-W02", noon).key == "2026-W02"
    with pytest.raises(
        PeriodError, match=r"daily period 2026-01-08 has not begun yet \(it starts 2026-01-08T00"
    ):
        to_report(DAILY, "2026-01-08", noon)
    with pytest.raises(PeriodError, match="weekly period 2026-W03 has not begun yet"):
        to_report(WEEKLY, "2026-W03", noon)
    with pytest.raises(PeriodError, match="kind must be one of daily, weekly, got 'monthly'"):
        to_report("monthly", None, noon)


def test_the_default_periods_at_the_schedules_times():
    # the daily report runs at 00:15 UTC, the weekly one on Monday at 01:00 UTC
    assert to_report(DAILY, None, datetime(2026, 11, 28, 0, 15, tzinfo=UTC)).key == "2026-11-27"
    week = to_report(WEEKLY, None, datetime(2026, 11, 23, 1, 0, tzinfo=UTC))
    assert (week.key, week.start.date().isoformat(), week.days) == ("2026-W47", "2026-11-16", 7)


def test_deals_are_counted_by_unit_with_the_biggest_discounts_and_most_frequent_products():
    def fact(flyer_id, store, *deals):
        return FlyerFact(flyer_id, "1", store, len(deals), (), pages=3, deals=deals)

    tea = Deal("Tea", "each", Decimal("3.00"), Decimal("4.00"), 25)
    facts = [
        fact(
            "a", "Lidl", tea, Deal("Beef", "kg", Decimal("9.00"), Decimal("18.00"), 50), Deal("Apples", "lb")
        ),
        fact("b", "Aldi", Deal("TEA", "multi_buy", percent_off=10), Deal("Apples", "lb")),
        fact("c", "Lidl", Deal("tea", "each")),
    ]
    summary = summarize(facts)
    assert summary.pages == 9
    assert summary.deals_dict() == {
        "by_unit": {"each": 2, "lb": 2, "kg": 1, "multi_buy": 1},
        "biggest_discounts": [
            {**facts[0].deals[1].as_dict(), "store": "Lidl", "flyer_id": "a"},
            {**tea.as_dict(), "store": "Lidl", "flyer_id": "a"},
            {**facts[1].deals[0].as_dict(), "store": "Aldi", "flyer_id": "b"},
        ],
        "top_products": [
            {"name": "Tea", "count": 3},
            {"name": "Apples", "count": 2},
            {"name": "Beef", "count": 1},
        ],
    }


def day(queue, date_, **counts):
    raw = {k: str(v) for k, v in counts.items()}
    return QueueDay.from_hash(queue, date_, raw)


def test_queue_days_add_up_into_a_week_with_percentiles_from_buckets_and_the_exact_max():
    # bucket k holds tries of at most 2^(k/4) ms: d40 ≤ 1024 ms, d44 ≤ 2048 ms, d52 ≤ 8192 ms
    monday = day(
        "q",
        date(2026, 11, 16),
        completed=9,
        failed=2,
        retried=1,
        dead=1,
        d40=8,
        d44=1,
        sum_ms=9000,
        max_ms=1900,
    )
    tuesday = day("q", date(2026, 11, 17), completed=1, d52=1, sum_ms=7000, max_ms=7000)
    week = QueueDay.sum("q", monday.first, 7, [monday, tuesday])
    assert (week.completed, week.failed, week.retried, week.dead, week.tries) == (10, 2, 1, 1, 10)
    assert (week.sum_ms, week.max_ms, week.last.isoformat()) == (16000, 7000, "2026-11-22")
    assert week.percentile_ms(0.5) == 1024.0
    assert week.percentile_ms(0.9) == 2048.0
    assert monday.percentile_ms(0.95) == 1900.0  # bucket bound 2048 ms, but no try took more than 1900
    assert week.percentile_ms(0.95) == 7000.0
    assert QueueDay.sum("q", monday.first, 7, []).percentile_ms(0.5) is None


def test_the_figures_of_a_report():
    summary = summarize(
        [FlyerFact("a", "1", "Lidl", 2, (Decimal("1.00"),), pages=4, deals=(Deal("Tea", "each"),))]
    )
    days = {
        "flyer-processing": [
            day(
                "flyer-processing",
                date(2026, 11, 27),
                completed=1,
                failed=3,
                retried=2,
                dead=1,
                d40=4,
                max_ms=1000,
            )
        ],
        "email-sending": [day("email-sending", date(2026, 11, 27))],
    }
    shown = figures(summary, 2, days, {"sent": 3, "failed": 1, "bounced": 0})
    assert shown["version"] == VERSION == 2
    assert shown["flyers"] == {
        "uploaded": 2,
        "processed": 1,
        "failed": 3,
        "dead": 1,
        "pages": 4,
        "items": 2,
        "priced_items": 1,
        "uploaders": 1,
    }
    assert shown["prices"] == {"average": "1.00", "median": "1.00", "min": "1.00", "max": "1.00"}
    assert [q["queue"] for q in shown["queues"]] == ["email-sending", "flyer-processing"]
    assert shown["queues"][1] == {
        "queue": "flyer-processing",
        "completed": 1,
        "failed": 3,
        "retried": 2,
        "dead": 1,
        "tries": 4,
        "mean_ms": 0.0,
        "p50_ms": 1000.0,
        "p95_ms": 1000.0,
        "max_ms": 1000,
    }
    assert shown["queues"][0]["p50_ms"] is None and shown["queues"][0]["max_ms"] is None
    assert shown["days"] == [
        {
            "day": "2026-11-27",
            "queues": {
                "email-sending": {"completed": 0, "failed": 0, "retried": 0, "dead": 0},
                "flyer-processing": {"completed": 1, "failed": 3, "retried": 2, "dead": 1},
            },
        }
    ]
    assert shown["emails"] == {"sent": 3, "failed": 1, "bounced": 0}
    assert figures(summary, 0, days, None)["emails"] is None


def test_the_mail_of_a_report_has_its_key_figures_and_the_link():
    summary = summarize(
        [FlyerFact("a", "1", "<b>Lidl</b>", 2, (), pages=4, deals=(Deal("Tea", "each", percent_off=30),))]
    )
    report = {
        "kind": "daily",
        "period": "2026-11-27",
        "complete": True,
        **figures(
            summary,
            2,
            {"q": [day("q", date(2026, 11, 27), completed=5)]},
            {"sent": 1, "failed": 0, "bounced": 0},
        ),
    }
    subject, text, html = letter(report, "https://deals.example.com/api/admin/jobs/reports/daily/2026-11-27")
    assert subject == "Daily report 2026-11-27: 1 flyers, 2 deals"
    assert "Flyers: 2 uploaded, 1 processed, 0 failed tries, 0 dead" in text
    assert "30% off  Tea (<b>Lidl</b>)" in text
    assert "q: 5 / 0 / 0 / 0" in text
    assert "Emails: 1 sent, 0 failed, 0 bounced" in text
    assert text.rstrip().endswith("https://deals.example.com/api/admin/jobs/reports/daily/2026-11-27")
    assert "&lt;b&gt;Lidl&lt;/b&gt;" in html and "<b>Lidl</b>" not in html
    assert '<a href="https://deals.example.com/api/admin/jobs/reports/daily/2026-11-27">' in html
    assert "still in progress" not in text
    _, text, html = letter({**report, "complete": False}, "https://x.example/r")
    assert "still in progress" in text and "still in progress" in html
