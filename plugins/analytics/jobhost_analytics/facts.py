"""What the analytics plugin keeps of a `flyer.processed` event: one fact per flyer.

The flyer plugin announces `{"flyer_id", "owner", "store", "pages", "items": [{"name", "price",
"quantity", "unit", "unit_price", "page", "save", "percent_off", "regular_price", "bogo"}, ...]}`
with prices as decimal strings. A fact keeps the store, the pages, the item count, each priced
item's price per item (`unit_price`, else `price` over `quantity`) and each deal's name, unit
kind and discount, which is what the reports aggregate.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import attrs

EVENT = "flyer.processed"
# `{"flyer_id", "owner", "pages"}` when a flyer is taken in: the report's uploads.
UPLOADED = "flyer.uploaded"
CENT = Decimal("0.01")
# Column widths of `analytics_flyers`.
MAX_ID = 255
MAX_OWNER = 64
MAX_NAME = 255
# How a report counts deals: by weight, or per item, or several items for one price.
UNIT_KINDS = ("each", "lb", "kg", "multi_buy")


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


def flyer_id_of(event: str, data: Any) -> str:
    """The flyer an event is about; ValueError naming the field when it cannot be used."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{event}: data must be a JSON object, got {type(data).__name__}")
    flyer_id = data.get("flyer_id")
    if not isinstance(flyer_id, str | int) or isinstance(flyer_id, bool) or not str(flyer_id).strip():
        raise ValueError(f"{event}: flyer_id must be a string or number, got {flyer_id!r}")
    flyer_id = str(flyer_id).strip()
    if len(flyer_id) > MAX_ID:
        raise ValueError(f"{event}: flyer_id must be at most {MAX_ID} characters, got {len(flyer_id)}")
    return flyer_id


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


@attrs.frozen
class Deal:
    """One named deal: its unit kind (one of UNIT_KINDS), its price and how much it takes off."""

    name: str
    kind: str
    price: Decimal | None = None
    regular_price: Decimal | None = None
    percent_off: int | None = None

    @classmethod
    def from_item(cls, item: Any) -> Deal | None:
        """The deal an item describes, or None without a name."""
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            return None
        name = _one_line(item["name"])[:MAX_NAME]
        if not name:
            return None
        unit = str(item.get("unit") or "").strip().lower()
        quantity = _count(item.get("quantity")) or 1
        kind = (
            unit
            if unit in ("lb", "kg")
            else "multi_buy"
            if quantity > 1 or item.get("bogo") is True
            else "each"
        )
        price, regular = _decimal(item.get("price")), _decimal(item.get("regular_price"))
        save = _decimal(item.get("save"))
        if regular is None and save is not None and price is not None:
            regular = price + save
        percent = _count(item.get("percent_off"))
        if not percent and regular and price is not None and regular > price:
            percent = int(((regular - price) * 100 / regular).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        return cls(
            name,
            kind,
            None if price is None else money(price),
            None if regular is None else money(regular),
            percent if percent and percent <= 100 else None,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "price": None if self.price is None else str(self.price),
            "regular_price": None if self.regular_price is None else str(self.regular_price),
            "percent_off": self.percent_off,
        }

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> Deal:
        return cls(
            row["name"],
            row["kind"],
            _decimal(row.get("price")),
            _decimal(row.get("regular_price")),
            row.get("percent_off"),
        )


@attrs.frozen
class FlyerFact:
    """One processed flyer as the reports count it; `store` None when the flyer did not say,
    `pages` None when the event did not (flyers recorded before it did)."""

    flyer_id: str
    owner: str | None
    store: str | None
    items: int
    prices: tuple[Decimal, ...]
    pages: int | None = None
    deals: tuple[Deal, ...] = ()

    @classmethod
    def from_event(cls, data: Any) -> FlyerFact:
        """The fact an event announces; ValueError naming the field when it cannot be used."""
        flyer_id = flyer_id_of(EVENT, data)
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
            pages=_count(data.get("pages")),
            deals=tuple(deal for deal in map(Deal.from_item, items) if deal is not None),
        )
