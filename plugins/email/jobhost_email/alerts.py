"""Deal alerts: which deals of a processed flyer each watchlist matches, as one mail per user.

The flyer plugin announces `flyer.processed` with `{"flyer_id", "owner", "store", "items":
[{"name", "price", "quantity", "unit", "unit_price", "page"}, ...]}` (prices as decimal strings).
An alert's Message-ID is derived from the flyer and the user, so an event announced twice
gives the same message twice, which the delivery ledger sends once.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from jobhost_email.mail import Mail, bulk_headers
from jobhost_email.quoting import ITEM_LENGTH, STORE_LENGTH, UNIT_LENGTH, plain
from jobhost_email.templates import render
from jobhost_email.unsubscribe import Unsubscribe
from jobhost_email.watchlist import Watchlist

log = logging.getLogger("jobhost_email")

EVENT = "flyer.processed"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def matches(keyword: str, name: str) -> bool:
    """A keyword matches a deal whose name has it at the start of a word: `apple` finds
    'Gala Apples' but not 'Pineapple'; `greek yogurt` finds 'Greek Yogurt 500 g'."""
    return re.search(rf"(?<!\w){re.escape(keyword)}", _one_line(name.casefold())) is not None


def _money(value: Any) -> str | None:
    try:
        return f"{Decimal(str(value)):.2f}" if value is not None else None
    except InvalidOperation:
        return None


@attrs.frozen
class Deal:
    """One item of the flyer, as an alert shows it."""

    name: str
    price: str | None
    quantity: int = 1
    unit: str = "each"
    unit_price: str | None = None
    page: int | None = None

    @classmethod
    def from_item(cls, item: Any) -> Deal | None:
        """The deal an event item describes, or None when it has no name to match."""
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"].strip():
            return None
        quantity, page = item.get("quantity"), item.get("page")
        return cls(
            name=_one_line(item["name"]),  # matched as it is; shown as `shown_name`
            price=_money(item.get("price")),
            quantity=quantity if isinstance(quantity, int) and quantity > 0 else 1,
            unit=plain(str(item.get("unit") or ""), UNIT_LENGTH) or "each",
            unit_price=_money(item.get("unit_price")),
            page=page if isinstance(page, int) else None,
        )

    @property
    def shown_name(self) -> str:
        """The name as other users read it (the uploader's text: see `quoting`)."""
        return plain(self.name, ITEM_LENGTH)

    @property
    def price_text(self) -> str:
        if self.price is None:
            return "see flyer"
        if self.unit != "each":
            return f"{self.price}/{self.unit}"
        return f"{self.quantity} for {self.price}" if self.quantity > 1 else self.price

    @property
    def unit_price_text(self) -> str:
        return f"{self.unit_price} each" if self.quantity > 1 and self.unit_price else ""


@attrs.frozen
class Flyer:
    flyer_id: str
    store: str
    deals: tuple[Deal, ...]

    @classmethod
    def from_event(cls, data: Mapping[str, Any]) -> Flyer:
        """The flyer an event announces; ValueError naming the field when it cannot be used."""
        flyer_id = data.get("flyer_id")
        if not isinstance(flyer_id, str | int) or isinstance(flyer_id, bool) or str(flyer_id) == "":
            raise ValueError(f"{EVENT}: flyer_id must be a string or number, got {flyer_id!r}")
        items = data.get("items")
        if not isinstance(items, list):
            raise ValueError(f"{EVENT} {flyer_id}: items must be a list, got {type(items).__name__}")
        deals = tuple(deal for deal in map(Deal.from_item, items) if deal is not None)
        if len(deals) < len(items):
            log.warning("%s %s: %d items without a name left out", EVENT, flyer_id, len(items) - len(deals))
        store = data.get("store")
        return cls(str(flyer_id), plain(store, STORE_LENGTH) if isinstance(store, str) else "", deals)


def alert(flyer: Flyer, watchlist: Watchlist, unsubscribe: Unsubscribe, domain: str) -> Mail | None:
    """The mail telling this watchlist's user about the flyer's deals it matches; None if none."""
    deals = [d for d in flyer.deals if any(matches(k, d.name) for k in watchlist.keywords)]
    if not deals:
        return None
    keywords = [k for k in watchlist.keywords if any(matches(k, d.name) for d in deals)]
    # The store name is the uploader's: quoted, so it never reads as the service's own words.
    where = f'at "{flyer.store}"' if flyer.store else "in a new flyer"
    link = unsubscribe.url(watchlist.user_id)
    text, html = render("deal_alert", where=where, deals=deals, keywords=keywords, unsubscribe_url=link)
    count = f"{len(deals)} deal{'s' if len(deals) > 1 else ''}"
    identity = hashlib.sha256(f"{flyer.flyer_id}:{watchlist.user_id}".encode()).hexdigest()[:32]
    return Mail.compose(
        watchlist.email,
        f"{count} {where} on your watchlist",
        text,
        html,
        bulk_headers(link),
        domain=domain,
        unique=f"deal-alert.{identity}",
    )


def alerts(
    flyer: Flyer, watchlists: Iterable[Watchlist], unsubscribe: Unsubscribe, domain: str
) -> list[tuple[Watchlist, Mail]]:
    """One alert per watchlist that matches something, in watchlist order."""
    found = ((w, alert(flyer, w, unsubscribe, domain)) for w in watchlists)
    return [(w, mail) for w, mail in found if mail is not None]
