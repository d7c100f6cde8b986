"""The whole pipeline on generated flyers with real tesseract: the deals found are the deals printed."""

from __future__ import annotations

import time

import pytesseract
import pytest

from jobhost_flyer_ocr.demo import SAMPLE_FLYER
from jobhost_flyer_ocr.errors import FlyerRejected, OcrUnavailable
from jobhost_flyer_ocr.pipeline import PAGES_SHARE, process
from tests.plugins.flyer_ocr import flyergen


def _fields(items) -> set[tuple]:
    return {
        (
            item.name,
            item.price,
            item.quantity,
            item.unit,
            item.unit_price,
            item.bogo,
            item.save,
            item.percent_off,
        )
        for item in items
    }


@pytest.fixture(scope="module")
def grid_result(grid_flyer):
    return process(flyergen.encode(grid_flyer.pages, "png"))


@pytest.fixture(scope="module")
def list_result(list_flyer):
    return process(flyergen.encode(list_flyer.pages, "jpeg"))


def test_every_deal_of_a_clean_grid_flyer_is_found_with_its_offer(grid_flyer, grid_result):
    assert _fields(grid_result.items) == _fields(grid_flyer.items)
    sizes = {item.name: item.size for item in grid_result.items}
    assert {name: size for name, size in sizes.items() if size} == {
        item.name: item.size for item in grid_flyer.items if item.size
    }


def test_store_and_validity_dates_are_read(grid_flyer, grid_result):
    assert grid_result.store == grid_flyer.store
    assert (grid_result.valid_from, grid_result.valid_to) == (grid_flyer.valid_from, grid_flyer.valid_to)
    assert grid_result.pages == 1


def test_every_deal_of_a_list_flyer_with_leaders_is_found(list_flyer, list_result):
    assert _fields(list_result.items) == _fields(list_flyer.items)


def test_deals_keep_page_box_and_confidence(grid_flyer, grid_result):
    width, height = grid_flyer.pages[0].size
    for item in grid_result.items:
        assert item.page == 1
        assert 0 <= item.box.left < item.box.right <= width
        assert 0 <= item.box.top < item.box.bottom <= height
        assert 0.3 < item.confidence <= 1.0
    # Grid cells are read left to right, top to bottom, as the truth lists them.
    assert [item.name for item in grid_result.items] == [item.name for item in grid_flyer.items]


@pytest.mark.parametrize("kind", ["rotate", "photo"])
def test_degraded_pages_still_give_most_deals(grid_flyer, kind):
    page = flyergen.degrade(grid_flyer.pages[0], kind, seed=3)
    result = process(flyergen.encode([page], "png"))
    found = flyergen.pairs(result.items) & flyergen.pairs(grid_flyer.items)
    assert len(found) >= 0.8 * len(grid_flyer.items)
    assert len(found) >= 0.8 * len(result.items)


def test_a_two_page_pdf_keeps_page_numbers(two_page_flyer):
    reports = []
    data = flyergen.encode(two_page_flyer.pages, "pdf")
    result = process(data, progress=lambda *r: reports.append(r), tick=0.05)
    assert result.pages == 2
    found = {(item.name, item.price, item.page) for item in result.items}
    assert found == {(item.name, item.price, item.page) for item in two_page_flyer.items}
    assert result.store == two_page_flyer.store
    # Progress after every stage of every page, rising to the pages' share of the job...
    stages = [(stage, page) for stage, _, page, _ in reports]
    assert [s for i, s in enumerate(stages) if i == 0 or s != stages[i - 1]] == [
        (stage, page) for page in (1, 2) for stage in ("load", "prepare", "recognise", "extract")
    ]
    percents = [percent for _, percent, _, _ in reports]
    assert percents == sorted(percents)
    assert percents[-1] == PAGES_SHARE
    assert {pages for *_, pages in reports} == {2}
    # ... and while tesseract reads each page, not one jump from the prepare stage to its end.
    for page in (1, 2):
        prepared = next(p for stage, p, n, _ in reports if (stage, n) == ("prepare", page))
        read = [p for stage, p, n, _ in reports if (stage, n) == ("recognise", page)]
        assert len(read) >= 3 and prepared < read[0] < read[-1], (page, prepared, read)


def test_the_sample_flyer_shipped_for_the_demo_gives_its_deals(grid_flyer):
    result = process(SAMPLE_FLYER.read_bytes())
    assert flyergen.pairs(result.items) == flyergen.pairs(grid_flyer.items)


def test_a_corrupt_file_is_rejected_for_good(grid_flyer):
    data = flyergen.encode(grid_flyer.pages, "jpeg")
    with pytest.raises(FlyerRejected, match="cannot be decoded"):
        process(data[: len(data) // 3])


def test_missing_tesseract_fails_the_try_not_the_flyer(grid_flyer, monkeypatch):
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    with pytest.raises(OcrUnavailable):
        process(SAMPLE_FLYER.read_bytes())


def test_a_deadline_bounds_tesseract(grid_flyer):
    started = time.monotonic()
    with pytest.raises(OcrUnavailable, match=r"ran longer than|out of time"):
        process(SAMPLE_FLYER.read_bytes(), deadline=started + 0.2)
    assert time.monotonic() - started < 5  # tesseract was stopped, not waited for
    with pytest.raises(OcrUnavailable, match="out of time before page 1"):
        process(SAMPLE_FLYER.read_bytes(), deadline=time.monotonic() - 1)
