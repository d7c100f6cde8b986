"""Plausibility: a deal that breaks a shopper's sanity rule is flagged for review, not accepted
silently, and the flyer counts them; a deal that cannot be one is dropped."""

from __future__ import annotations

from decimal import Decimal

from jobhost_flyer_ocr.extract import combine, read_page
from jobhost_flyer_ocr.model import Item
from jobhost_flyer_ocr.plausible import FLAGGED_CONFIDENCE, problems, review
from tests.plugins.flyer_ocr.test_flyer_extract import line


def deal(name: str, price: str, unit: str = "each", confidence: float = 0.95) -> Item:
    return Item(name, Decimal(price), unit=unit, unit_price=Decimal(price), confidence=confidence)


def test_strawberries_at_997_dollars_are_flagged_not_silently_accepted():
    words = line("Fresh Strawberries", 100, 100) + line("$997.00", 100, 140, height=48)
    reading = read_page(words)
    (item,) = reading.items
    assert (item.name, item.price) == ("Fresh Strawberries", Decimal("997.00"))
    assert item.needs_review and item.confidence <= FLAGGED_CONFIDENCE
    assert combine([reading]).needs_review == 1
    assert combine([reading]).as_dict()["needs_review"] == 1


def test_a_plausible_deal_is_not_flagged():
    (item,) = review([deal("Fresh Strawberries", "2.99")])
    assert not item.needs_review and item.confidence == 0.95


def test_unit_prices_out_of_range_for_their_unit():
    assert problems(deal("Beef Sirloin Steak", "64.99", unit="lb"), None) == [
        "$64.99 per lb is more than $50"
    ]
    assert problems(deal("Beef Sirloin Steak", "64.99", unit="kg"), None) == []
    assert problems(deal("Genoa Salami", "19.99", unit="100 g"), None)


def test_a_lost_decimal_point_stands_out_from_the_page():
    found = review([deal("Bananas", "0.59"), deal("Gala Apples", "1.49"), deal("Navel Oranges", "99.00")])
    assert [item.needs_review for item in found] == [False, False, True]


def test_a_name_without_letters_or_a_guess_of_ocr_is_flagged():
    assert problems(deal("7b", "1.99"), None) == ["the name '7b' has fewer than 3 letters"]
    assert problems(deal("Black Beans", "0.79", confidence=0.2), None) == [
        "OCR confidence 0.20 is below 0.35"
    ]


def test_a_price_of_nothing_is_no_deal():
    assert review([deal("Sweet Corn", "0.00"), deal("Sweet Corn", "0.50")]) == (deal("Sweet Corn", "0.50"),)


def test_offer_words_are_never_a_name():
    """`NOW` and `Reg.` once became items: the row's name is the product's."""
    words = (
        line("Hass Avocados", 60, 100)
        + line("Reg. $2.19", 600, 104, height=26)
        + line("NOW", 820, 100, height=30)
        + line("$1.29", 900, 96, height=42)
    )
    (item,) = read_page(words).items
    assert (item.name, item.price, item.regular_price) == ("Hass Avocados", Decimal("1.29"), Decimal("2.19"))
