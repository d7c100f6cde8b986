"""The plain parts of the analytics plugin: facts from events, periods, and the aggregation."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from jobhost_analytics.facts import FlyerFact, item_price
from jobhost_analytics.periods import DAILY, WEEKLY, PeriodError, parse, previous, to_report
from jobhost_analytics.summary import summarize

EVENT = {
    "flyer_id": "f-1",
    "owner": "7",
    "store": "  Fresh   Mart ",
    "items": [
        {"name": "Gala Apples", "price": "3.98", "quantity": 1, "unit": "lb", "unit_price": None, "page": 1},
        {"name": "Yogurt", "price": "5.00", "quantity": 3, "unit": "each", "unit_price": "1.67", "page": 1},
        {"name": "Bread", "price": "6.00", "quantity": 2, "unit": "each", "unit_price": None, "page": 2},
        {"name": "Mystery", "price": None, "quantity": 1, "unit": "each", "unit_price": None, "page": 2},
    ],
}


def test_a_fact_keeps_the_store_the_item_count_and_prices_per_item():
    fact = FlyerFact.from_event(EVENT)
    assert fact == FlyerFact("f-1", "7", "Fresh Mart", 4, (Decimal("3.98"), Decimal("1.67"), Decimal("3.00")))


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


def test_a_period_that_has_not_ended_is_refused():
    noon = datetime(2026, 1, 7, 12, tzinfo=UTC)
    with pytest.raises(PeriodError, match=r"daily period 2026-01-07 has not ended yet \(it ends 2026-01-08"):
        to_report(DAILY, "2026-01-07", noon)
    with pytest.raises(PeriodError, match="weekly period 2026-W02 has not ended yet"):
        to_report(WEEKLY, "2026-W02", noon)
    assert to_report(DAILY, "2026-01-06", noon).key == "2026-01-06"
