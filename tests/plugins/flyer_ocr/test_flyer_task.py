"""The job in a worker of this process (embedded store, no Redis): a try that outlives its
queue's timeout stops tesseract, fails, and fails the flyer on its last try."""

from __future__ import annotations

import time
import types
from pathlib import Path

import pytest
from PIL import Image

from jobhost import QueuePolicy, hookimpl
from jobhost.testing import discard
from jobhost_flyer_ocr import plugin
from jobhost_flyer_ocr.cents import set_raised_apart
from jobhost_flyer_ocr.intake import TASK, accept
from jobhost_flyer_ocr.load import load_pages
from jobhost_flyer_ocr.prepare import prepare
from jobhost_flyer_ocr.records import Flyers
from jobhost_flyer_ocr.task import process_flyer
from jobhost_flyer_ocr.validate import DEFAULT_LIMITS
from tests.plugins.flyer_ocr import flyergen
from tests.plugins.flyer_ocr.conftest import migrate
from tests.plugins.flyer_ocr.flyerstack import tesseract_children


def short_queue(timeout: float) -> types.SimpleNamespace:
    """The flyer plugin's task and tables on a flyer-processing queue with one short try."""
    return types.SimpleNamespace(
        register_queues=hookimpl(
            lambda register: register(QueuePolicy("flyer-processing", attempts=1, timeout=timeout))
        ),
        register_tasks=hookimpl(
            lambda register: register(process_flyer, queue="flyer-processing", name=TASK)
        ),
        register_migrations=hookimpl(lambda register: register(plugin.MIGRATIONS)),
    )


@pytest.fixture
def migrated_url(tmp_path: Path) -> str:
    """A SQLite database with the plugin's tables, made by `jobhost db upgrade`."""
    url = f"sqlite:///{tmp_path / 'task.db'}"
    migrate(url, tmp_path)
    return url


def big_page(flyer: flyergen.TestFlyer) -> bytes:
    """The flyer tiled 3×3 on one page: seconds of OCR, so a timeout falls in the middle of it."""
    page = flyer.pages[0]
    poster = Image.new("RGB", (page.width * 3, page.height * 3), "white")
    for row in range(3):
        for column in range(3):
            poster.paste(page, (column * page.width, row * page.height))
    return flyergen.encode([poster], "png")


def before_ocr(data: bytes) -> float:
    """Seconds this machine, as loaded now, takes over what comes before tesseract on `data`."""
    started = time.monotonic()
    for page in load_pages(data, DEFAULT_LIMITS):
        set_raised_apart(prepare(page))
    return time.monotonic() - started


async def test_a_try_past_the_queue_timeout_stops_tesseract_and_fails_the_flyer(
    make_host, migrated_url, grid_flyer
):
    data = big_page(grid_flyer)
    # The deadline (0.9 of the timeout) must fall while tesseract reads the page, which takes
    # about four times as long as what comes before it: scaled to the machine's pace, not fixed,
    # since a loaded machine can spend a fixed 3 s before tesseract even starts.
    host = make_host(("flyer_ocr", short_queue(3 * before_ocr(data))), DATABASE_URL=migrated_url)
    try:
        async with host.worker():
            accepted = await accept(host, "7", data)
            job = await host.wait(accepted.job_id, timeout=60)
            # tesseract was stopped at the task's deadline, before the queue's timeout.
            assert (job.state, job.attempt) == ("dead", 1)
            assert "tesseract ran longer than" in job.errors[0].error, job.errors
            assert tesseract_children() == []
        flyer = await Flyers(host.db).get(accepted.flyer_id)
        assert flyer.status == "failed" and "ran longer than" in flyer.error
    finally:
        await discard(host)
