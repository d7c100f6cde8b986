"""Plausibility: how sure each deal is, and which ones a person should look at before they count.

A deal read wrong usually breaks a rule a shopper knows: strawberries are not $997.00, nothing sells
for more than $50 a pound, a product is not called `NOW`. Such a deal is kept but flagged
`needs_review`, with its confidence lowered, so the flyer's record says how many deals to check;
a deal that cannot be one (a price of nothing) is dropped. `extract` already refuses names that
are only offer words (`NOW`, `Reg.`, `Sale`).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from decimal import Decimal

import attrs

from jobhost_flyer_ocr.model import Item

# The most a grocery deal's unit price plausibly is, by unit.
MAX_UNIT_PRICE = {
    "each": Decimal("100"),
    "lb": Decimal("50"),
    "kg": Decimal("110"),
    "100 g": Decimal("12"),
    "oz": Decimal("10"),
}
# A unit price this many times the page's median is an outlier (a lost decimal point: $399 for $3.99).
OUTLIER = 15
# Below this reading confidence (0-1) OCR was guessing (right readings go down to about 0.5).
MIN_CONFIDENCE = 0.35
# What a flagged deal's confidence becomes, at most.
FLAGGED_CONFIDENCE = 0.3
_LETTERS = re.compile(r"[A-Za-z]")


def problems(item: Item, typical: Decimal | None) -> list[str]:
    """Why `item` is doubtful; empty when it is plausible."""
    found = []
    unit_price = item.unit_price if item.unit_price is not None else item.price
    ceiling = MAX_UNIT_PRICE.get(item.unit, MAX_UNIT_PRICE["each"])
    if unit_price > ceiling:
        found.append(f"${unit_price} per {item.unit} is more than ${ceiling}")
    elif typical is not None and unit_price > OUTLIER * typical:
        found.append(f"${unit_price} is over {OUTLIER} times the page's typical ${typical}")
    if len(_LETTERS.findall(item.name)) < 3:
        found.append(f"the name {item.name!r} has fewer than 3 letters")
    if item.confidence < MIN_CONFIDENCE:
        found.append(f"OCR confidence {item.confidence:.2f} is below {MIN_CONFIDENCE}")
    return found


def review(items: Sequence[Item]) -> tuple[Item, ...]:
    """The deals that can be deals, each doubtful one flagged `needs_review`."""
    kept = [item for item in items if item.price > 0]
    prices = [item.unit_price or item.price for item in kept]
    typical = statistics.median(prices) if len(prices) >= 3 else None
    checked = []
    for item in kept:
        if problems(item, typical):
            item = attrs.evolve(item, needs_review=True, confidence=min(item.confidence, FLAGGED_CONFIDENCE))
        checked.append(item)
    return tuple(checked)
