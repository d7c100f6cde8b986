"""Aggregating flyer facts into the figures of a report: plain functions, no database."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import attrs

from jobhost_analytics.facts import UNIT_KINDS, Deal, FlyerFact, money

# How many of the biggest discounts and the most frequent products a report lists.
TOP_DISCOUNTS = 5
TOP_PRODUCTS = 10


def _text(value: Decimal | None) -> str | None:
    # Decimal strings, as the flyer event carries prices: JSON floats would round them.
    return None if value is None else str(value)


def _average(prices: Sequence[Decimal]) -> Decimal | None:
    return money(sum(prices, Decimal(0)) / len(prices)) if prices else None


@attrs.frozen
class StoreFigures:
    store: str | None
    flyers: int
    items: int
    priced_items: int
    average_price: Decimal | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "flyers": self.flyers,
            "items": self.items,
            "priced_items": self.priced_items,
            "average_price": _text(self.average_price),
        }


@attrs.frozen
class Discount:
    deal: Deal
    store: str | None
    flyer_id: str

    def as_dict(self) -> dict[str, Any]:
        return {**self.deal.as_dict(), "store": self.store, "flyer_id": self.flyer_id}


@attrs.frozen
class Summary:
    """A period's figures. Prices are per item (see `facts.item_price`), rounded to cents."""

    flyers: int
    items: int
    priced_items: int
    uploaders: int
    average_price: Decimal | None
    median_price: Decimal | None
    min_price: Decimal | None
    max_price: Decimal | None
    stores: tuple[StoreFigures, ...]
    pages: int = 0
    by_unit: tuple[tuple[str, int], ...] = tuple((kind, 0) for kind in UNIT_KINDS)
    discounts: tuple[Discount, ...] = ()
    products: tuple[tuple[str, int], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "flyers": self.flyers,
            "items": self.items,
            "priced_items": self.priced_items,
            "uploaders": self.uploaders,
            "average_price": _text(self.average_price),
            "median_price": _text(self.median_price),
            "min_price": _text(self.min_price),
            "max_price": _text(self.max_price),
            "stores": [store.as_dict() for store in self.stores],
        }

    def deals_dict(self) -> dict[str, Any]:
        return {
            "by_unit": dict(self.by_unit),
            "biggest_discounts": [d.as_dict() for d in self.discounts],
            "top_products": [{"name": name, "count": n} for name, n in self.products],
        }


def _store(store: str | None, facts: list[FlyerFact]) -> StoreFigures:
    prices = [price for fact in facts for price in fact.prices]
    return StoreFigures(store, len(facts), sum(f.items for f in facts), len(prices), _average(prices))


def summarize(facts: Iterable[FlyerFact]) -> Summary:
    """The figures of these flyers; stores by flyer count, then name (unknown store last)."""
    facts = list(facts)
    prices = sorted(price for fact in facts for price in fact.prices)
    by_store: dict[str | None, list[FlyerFact]] = {}
    for fact in facts:
        by_store.setdefault(fact.store, []).append(fact)
    stores = sorted(
        (_store(name, group) for name, group in by_store.items()),
        key=lambda s: (-s.flyers, s.store is None, (s.store or "").casefold()),
    )
    deals = [(deal, fact) for fact in facts for deal in fact.deals]
    by_unit = {kind: 0 for kind in UNIT_KINDS}
    products: dict[str, tuple[str, int]] = {}  # case-folded name → (first spelling seen, count)
    for deal, _ in deals:
        by_unit[deal.kind] = by_unit.get(deal.kind, 0) + 1
        shown, seen = products.get(deal.name.casefold(), (deal.name, 0))
        products[deal.name.casefold()] = (shown, seen + 1)
    discounted = sorted(
        (Discount(deal, fact.store, fact.flyer_id) for deal, fact in deals if deal.percent_off),
        key=lambda d: (-(d.deal.percent_off or 0), d.deal.name.casefold(), d.flyer_id),
    )
    return Summary(
        flyers=len(facts),
        items=sum(fact.items for fact in facts),
        priced_items=len(prices),
        uploaders=len({fact.owner for fact in facts if fact.owner is not None}),
        average_price=_average(prices),
        median_price=money(statistics.median(prices)) if prices else None,
        min_price=prices[0] if prices else None,
        max_price=prices[-1] if prices else None,
        stores=tuple(stores),
        pages=sum(fact.pages or 0 for fact in facts),
        by_unit=tuple(by_unit.items()),
        discounts=tuple(discounted[:TOP_DISCOUNTS]),
        products=tuple(sorted(products.values(), key=lambda p: (-p[1], p[0].casefold()))[:TOP_PRODUCTS]),
    )
