"""The value objects the pipeline passes from stage to stage."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import attrs
from PIL import Image


@attrs.frozen
class Box:
    """A rectangle in page pixels: left, top, width, height."""

    left: int
    top: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.left + self.width

    @property
    def bottom(self) -> int:
        return self.top + self.height

    @property
    def center_x(self) -> float:
        return self.left + self.width / 2

    @property
    def center_y(self) -> float:
        return self.top + self.height / 2

    def union(self, other: Box) -> Box:
        left, top = min(self.left, other.left), min(self.top, other.top)
        right, bottom = max(self.right, other.right), max(self.bottom, other.bottom)
        return Box(left, top, right - left, bottom - top)

    def scaled(self, factor: float) -> Box:
        return Box(
            round(self.left * factor),
            round(self.top * factor),
            round(self.width * factor),
            round(self.height * factor),
        )

    def as_dict(self) -> dict[str, int]:
        return attrs.asdict(self)


@attrs.frozen(eq=False)
class Page:
    """One page of an upload; `number` counts from 1 in the document's order.

    A scan or photo is an `image`. A PDF page with a text layer has its `words` instead (exact,
    confidence 100), in the pixels of a `size` page as it would have been rendered.
    """

    number: int
    image: Image.Image | None
    words: tuple[Word, ...] | None = None
    size: tuple[int, int] | None = None
    count: int = 1  # how many pages the document has


@attrs.frozen(eq=False)
class PreparedPage:
    """A page ready for tesseract, and the factor that maps its pixels back to the loaded page."""

    number: int
    image: Image.Image
    scale: float
    skew: float


@attrs.frozen
class Word:
    """One word tesseract read: its text, box, confidence (0-100) and tesseract's line key."""

    text: str
    box: Box
    confidence: float
    line: tuple[int, int, int]


@attrs.frozen
class Item:
    """One deal: `price` is the offer's total and buys `quantity` items (or one `unit` of weight).

    `unit_price` is `price / quantity`. `save` and `percent_off` are printed savings; `bogo` marks
    buy-one-get-one offers (quantity 2); `regular_price` is the struck-out or `Reg.` price beside
    the deal; `limit` a printed `Limit N`. `size` is a printed pack size such as `12 oz`, and
    `description` the line under the name (`Selected Varieties`). `confidence` (0-1) is how sure
    the reading is; `needs_review` marks a deal that breaks a plausibility rule (see `plausible`), for a
    person to check before it is trusted.
    """

    name: str
    price: Decimal
    quantity: int = 1
    unit: str = "each"
    unit_price: Decimal | None = None
    size: str | None = None
    save: Decimal | None = None
    percent_off: int | None = None
    bogo: bool = False
    page: int = 1
    box: Box = Box(0, 0, 0, 0)
    confidence: float = 0.0
    regular_price: Decimal | None = None
    description: str | None = None
    limit: int | None = None
    needs_review: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: decimals as strings, as the API and the `flyer.processed` event carry them."""
        return {
            "name": self.name,
            "price": str(self.price),
            "quantity": self.quantity,
            "unit": self.unit,
            "unit_price": None if self.unit_price is None else str(self.unit_price),
            "size": self.size,
            "save": None if self.save is None else str(self.save),
            "percent_off": self.percent_off,
            "bogo": self.bogo,
            "page": self.page,
            "box": self.box.as_dict(),
            "confidence": round(self.confidence, 3),
            "regular_price": None if self.regular_price is None else str(self.regular_price),
            "description": self.description,
            "limit": self.limit,
            "needs_review": self.needs_review,
        }


@attrs.frozen
class Flyer:
    """What a flyer says: the store, the dates its prices are valid, its pages' deals."""

    store: str | None
    valid_from: date | None
    valid_to: date | None
    pages: int
    items: tuple[Item, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "valid_from": self.valid_from and self.valid_from.isoformat(),
            "valid_to": self.valid_to and self.valid_to.isoformat(),
            "pages": self.pages,
            "needs_review": self.needs_review,
            "items": [item.as_dict() for item in self.items],
        }

    @property
    def needs_review(self) -> int:
        """How many deals a person should check."""
        return sum(item.needs_review for item in self.items)
