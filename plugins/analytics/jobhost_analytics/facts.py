"""What the analytics plugin keeps of a `flyer.processed` event: one fact per flyer.

The flyer plugin announces `{"flyer_id", "owner", "store", "items": [{"name", "price",
"quantity", "unit", "unit_price", "page"}, ...]}` with prices as decimal strings. A fact keeps
the store, the item count and each priced item's price per item (`unit_price`, else `price`
over `quantity`), which is what the reports aggregate.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import attrs

EVENT = "flyer.processed"
CENT = Decimal("0.01")
# Column widths of `analytics_flyers`.
MAX_ID = 255
MAX_OWNER = 64


def _one_line(text: str) -> str:
    return " ".join(text.split())


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _decimal(value: Any) -> Decimal | None:
    """A price the event carries (string or number), or None when it is no usable price."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() and number >= 0 else None


def item_price(item: Any) -> Decimal | None:
    """The price of one item of an offer: its unit price, else its price over its quantity."""
    if not isinstance(item, Mapping):
        return None
    unit_price = _decimal(item.get("unit_price"))
    if unit_price is not None:
        return money(unit_price)
    price = _decimal(item.get("price"))
    if price is None:
        return None
    quantity = item.get("quantity")
    if isinstance(quantity, int) and not isinstance(quantity, bool) and quantity > 1:
        price /= quantity
    return money(price)


@attrs.frozen
class FlyerFact:
    """One processed flyer as the reports count it; `store` None when the flyer did not say."""

    flyer_id: str
    owner: str | None
    store: str | None
    items: int
    prices: tuple[Decimal, ...]

    @classmethod
    def from_event(cls, data: Any) -> FlyerFact:
        """The fact an event announces; ValueError naming the field when it cannot be used."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{EVENT}: data must be a JSON object, got {type(data).__name__}")
        flyer_id = data.get("flyer_id")
        if not isinstance(flyer_id, str | int) or isinstance(flyer_id, bool) or not str(flyer_id).strip():
            raise ValueError(f"{EVENT}: flyer_id must be a string or number, got {flyer_id!r}")
        flyer_id = str(flyer_id).strip()
        if len(flyer_id) > MAX_ID:
            raise ValueError(f"{EVENT}: flyer_id must be at most {MAX_ID} characters, got {len(flyer_id)}")
        items = data.get("items")
        if not isinstance(items, list):
            raise ValueError(f"{EVENT} {flyer_id}: items must be a list, got {type(items).__name__}")
        owner, store = data.get("owner"), data.get("store")
        owner = str(owner) if isinstance(owner, str | int) and not isinstance(owner, bool) else None
        if owner is not None and len(owner) > MAX_OWNER:
            raise ValueError(
                f"{EVENT} {flyer_id}: owner must be at most {MAX_OWNER} characters, got {len(owner)}"
            )
        return cls(
            flyer_id=flyer_id,
            owner=owner,
            store=_one_line(store)[:MAX_ID] if isinstance(store, str) and store.strip() else None,
            items=len(items),
            prices=tuple(price for price in map(item_price, items) if price is not None),
        )
