"""Stage 3, recognise: real tesseract words with boxes; a missing or failing tesseract is retryable."""

from __future__ import annotations

import os
from pathlib import Path

import pytesseract
import pytest

from jobhost import RetryLater
from jobhost_flyer_ocr.errors import OcrUnavailable
from jobhost_flyer_ocr.model import Page
from jobhost_flyer_ocr.prepare import prepare
from jobhost_flyer_ocr.recognise import recognise
from tests.plugins.flyer_ocr.flyerstack import tesseract_children


@pytest.fixture(scope="module")
def prepared(grid_flyer):
    return prepare(Page(1, grid_flyer.pages[0]))


@pytest.fixture(scope="module")
def words(prepared):
    return recognise(prepared)


def test_words_come_with_boxes_inside_the_page_and_confidences(words, prepared):
    assert len(words) > 40
    for word in words:
        assert word.text and word.text == word.text.strip()
        assert 0 <= word.confidence <= 100
        assert word.box.left >= 0 and word.box.right <= prepared.image.width
        assert word.box.top >= 0 and word.box.bottom <= prepared.image.height


def test_prices_and_names_are_read(words, grid_flyer):
    texts = {word.text for word in words}
    assert grid_flyer.store.split()[0] in texts
    assert "$25.59/kg" in texts  # sparse-text mode keeps a price whole
    assert {"Shredded", "Mozzarella"} <= texts
    assert sum(word.confidence > 80 for word in words) > 0.8 * len(words)


def test_tesseract_runs_with_one_openmp_thread():
    assert os.environ["OMP_THREAD_LIMIT"] == "1"


def test_missing_tesseract_is_retryable(prepared, monkeypatch):
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    with pytest.raises(OcrUnavailable, match="tesseract is not installed") as caught:
        recognise(prepared)
    assert isinstance(caught.value, RetryLater)


def _fake_tesseract(folder: Path, script: str) -> str:
    """A `tesseract` executable that runs `script` (sh) when asked to read an image."""
    path = folder / "tesseract"
    path.write_text(
        f'#!/bin/sh\nif [ "$1" = --version ]; then echo "tesseract 5.3.0"; exit 0; fi\n{script}\n'
    )
    path.chmod(0o755)
    return str(path)


def test_crashing_tesseract_is_retryable(prepared, monkeypatch, tmp_path: Path):
    crashing = _fake_tesseract(tmp_path, "echo 'Error in pixReadStream: Segmentation fault' >&2; exit 139")
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", crashing)
    with pytest.raises(OcrUnavailable, match=r"tesseract failed on page 1: .*Segmentation fault"):
        recognise(prepared)


def test_a_tesseract_that_cannot_run_is_retryable(prepared, monkeypatch, tmp_path: Path):
    unusable = tmp_path / "tesseract"
    unusable.write_text("not a program")
    unusable.chmod(0o644)  # exists, but exec fails with EACCES
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", str(unusable))
    with pytest.raises(OcrUnavailable, match=r"tesseract (cannot run|is not installed)"):
        recognise(prepared)


def test_a_timeout_kills_tesseract_and_is_retryable(prepared):
    with pytest.raises(OcrUnavailable, match=r"ran longer than 0\.05 s on page 1"):
        recognise(prepared, timeout=0.05)
    assert tesseract_children() == []
