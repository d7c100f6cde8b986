"""The stages in order, page by page: load, prepare, recognise, extract (a PDF page with a text
layer skips prepare and recognise: its words are exact).

`process` is what the job, the deprecated synchronous endpoints, `jobhost demo` and the
benchmarks all run. It reports progress after every stage of every page, so a client watching a
ten-page PDF sees it move, and during recognition too: tesseract says nothing while it reads a
page, so the progress moves on an estimate of its time (the previous page's, at first a guess)
that approaches the stage's end and never passes it.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date

from jobhost_flyer_ocr.cents import read_raised, set_raised_apart
from jobhost_flyer_ocr.errors import OcrUnavailable
from jobhost_flyer_ocr.extract import combine, read_page
from jobhost_flyer_ocr.load import load_pages
from jobhost_flyer_ocr.model import Flyer
from jobhost_flyer_ocr.prepare import prepare
from jobhost_flyer_ocr.recognise import recognise
from jobhost_flyer_ocr.validate import DEFAULT_LIMITS, Limits

# Where each stage ends within one page, in percent of that page's work: OCR is most of it.
STAGE_ENDS = {"load": 5, "prepare": 12, "recognise": 92, "extract": 100}
# The share of the whole job the pages take; the rest is for storing the result.
PAGES_SHARE = 90

# Seconds tesseract is expected to take on a first page; later pages expect what the last took.
FIRST_PAGE_GUESS = 4.0
# How often progress moves while tesseract reads a page.
TICK = 0.5

Progress = Callable[[str, float, int, int], None]


def _quiet(stage: str, percent: float, page: int, pages: int) -> None:
    pass


def process(
    data: bytes,
    *,
    limits: Limits = DEFAULT_LIMITS,
    progress: Progress = _quiet,
    deadline: float | None = None,
    today: date | None = None,
    tick: float = TICK,
) -> Flyer:
    """The flyer in `data`: its store, dates and deals.

    `progress(stage, percent, page, pages)` is called after each stage of each page, `percent`
    running to 90. `deadline` (a `time.monotonic()` value) bounds the whole run: tesseract is
    killed when it would pass it. Raises `FlyerRejected` (permanent) for a bad file and
    `OcrUnavailable` (retry later) when tesseract is missing, crashes or runs out of time.
    """
    readings = []
    expected = FIRST_PAGE_GUESS
    for page in load_pages(data, limits, deadline=deadline):

        def report(
            stage: str, within: float = 1.0, number: int = page.number, pages: int = page.count
        ) -> None:
            start = max([0, *(end for end in STAGE_ENDS.values() if end < STAGE_ENDS[stage])])
            done = (number - 1 + (start + (STAGE_ENDS[stage] - start) * within) / 100) / pages
            progress(stage, round(done * PAGES_SHARE, 1), number, pages)

        report("load")
        if page.words is not None:  # a PDF page's own text layer: exact, and no OCR to wait for
            words, scale = list(page.words), 1.0
        else:
            prepared = prepare(page)
            raised = set_raised_apart(prepared)
            report("prepare")
            started = time.monotonic()
            with _moving(lambda within: report("recognise", within), expected, tick):
                found = recognise(raised.page, timeout=_remaining(deadline, page.number))
            expected = max(time.monotonic() - started, tick)
            words = read_raised(raised, found)
            scale = prepared.scale
            report("recognise")
        readings.append(read_page(words, page=page.number, scale=scale, today=today))
        report("extract")
    return combine(readings)


@contextlib.contextmanager
def _moving(report: Callable[[float], None], expected: float, tick: float) -> Iterator[None]:
    """Within the block, report every `tick` seconds how far a stage expected to take `expected`
    seconds is: 1 - e^(-elapsed/expected), so it slows down rather than reaching the end early."""
    stop = threading.Event()
    started = time.monotonic()

    def move() -> None:
        while not stop.wait(tick):
            report(1 - math.exp(-(time.monotonic() - started) / expected))

    mover = threading.Thread(target=move, name="flyer-progress", daemon=True)
    mover.start()
    try:
        yield
    finally:
        stop.set()
        mover.join()


def _remaining(deadline: float | None, page: int) -> float:
    """Seconds tesseract may take on this page; 0 means no limit."""
    if deadline is None:
        return 0
    left = deadline - time.monotonic()
    if left <= 0:
        raise OcrUnavailable(f"out of time before page {page} was read")
    return left
