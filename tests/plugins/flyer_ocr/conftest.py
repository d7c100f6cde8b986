"""Fixtures of the flyer OCR tests: generated flyers with their truth, and their bytes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.plugins.flyer_ocr import flyergen


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


def migrate(url: str, data_dir: Path) -> None:
    """Create the plugin's tables in `url` the way an operator does: `jobhost db upgrade`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBHOST_", "DATABASE_URL", "REDIS_URL"))}
    env.update(DATABASE_URL=url, JOBHOST_DATA_DIR=str(data_dir), JOBHOST_LOAD_PLUGINS="flyer_ocr")
    done = subprocess.run(
        [sys.executable, "-m", "jobhost", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "flyer_ocr: applied flyer_ocr_0001, flyer_ocr_0002" in done.stdout
