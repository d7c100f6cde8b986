"""Fixtures of the flyer OCR tests: generated flyers with their truth, and their bytes."""

from __future__ import annotations

import flyergen
import pytest


@pytest.fixture(scope="session")
def grid_flyer() -> flyergen.TestFlyer:
    """A 12-deal grid flyer: per-lb, per-kg, per-100 g, multi-buy, BOGO, save and percent-off deals."""
    return flyergen.make_flyer(48, layout="grid", items_per_page=12)


@pytest.fixture(scope="session")
def list_flyer() -> flyergen.TestFlyer:
    """A list flyer with dotted leaders between names and prices, and section headings."""
    return flyergen.make_flyer(1007, layout="list")


@pytest.fixture(scope="session")
def two_page_flyer() -> flyergen.TestFlyer:
    return flyergen.make_flyer(7, layout="grid", pages=2, items_per_page=8)
