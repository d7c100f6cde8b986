"""Stage 2, prepare: one bit per pixel, a readable size, straight, without borders."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from jobhost_flyer_ocr.model import Page
from jobhost_flyer_ocr.prepare import (
    MAX_SIDE,
    MIN_SIDE,
    binarize,
    estimate_skew,
    even_light,
    flatten_perspective,
    grayscale,
    otsu_threshold,
    paper_outline,
    prepare,
    remove_rules,
    rescale,
    straighten,
    turn_over_tags,
)
from tests.plugins.flyer_ocr import flyergen


def _ink(image: Image.Image) -> int:
    return int((~np.asarray(image.convert("1"), dtype=bool)).sum())


def test_prepare_gives_black_on_white_one_bit_pages(grid_flyer):
    prepared = prepare(Page(1, grid_flyer.pages[0]))
    assert prepared.image.mode == "1"
    assert prepared.number == 1
    assert prepared.scale == 1.0  # a 150 dpi letter page is already a good size
    # Paper stays paper: most of the page is white, the coloured panels included.
    assert _ink(prepared.image) < 0.1 * prepared.image.width * prepared.image.height


@pytest.mark.parametrize("angle", [-3.0, -1.2, 0.8, 2.5])
def test_skew_is_measured_to_a_fraction_of_a_degree(grid_flyer, angle):
    turned = grid_flyer.pages[0].rotate(
        angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="white"
    )
    assert estimate_skew(grayscale(turned)) == pytest.approx(angle, abs=0.25)


def test_a_skewed_page_comes_out_straight(list_flyer):
    turned = list_flyer.pages[0].rotate(
        2.4, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="white"
    )
    prepared = prepare(Page(1, turned))
    assert prepared.skew == pytest.approx(2.4, abs=0.25)
    assert abs(estimate_skew(prepared.image.convert("L"))) <= 0.25


def test_a_straight_page_is_not_rotated(list_flyer):
    prepared = prepare(Page(1, list_flyer.pages[0]))
    assert prepared.image.size == list_flyer.pages[0].size


def test_a_blank_page_has_no_skew():
    assert estimate_skew(Image.new("L", (800, 1000), 255)) == 0.0


@pytest.mark.parametrize(
    "size, factor",
    [((600, 800), MIN_SIDE / 800), ((1275, 1650), 1.0), ((6000, 8000), MAX_SIDE / 8000)],
)
def test_rescale_brings_pages_to_a_readable_size(size, factor):
    image, applied = rescale(Image.new("L", size, 255))
    assert applied == pytest.approx(factor)
    assert max(image.size) == round(max(size) * factor)


def test_otsu_splits_ink_from_paper():
    image = Image.new("L", (100, 100), 230)
    ImageDraw.Draw(image).rectangle((0, 0, 30, 100), fill=40)
    threshold = otsu_threshold(image)
    assert 40 <= threshold < 230
    assert _ink(binarize(image, threshold)) == 31 * 100


def test_remove_rules_takes_borders_and_keeps_letters(grid_flyer):
    gray = grayscale(grid_flyer.pages[0])
    threshold = otsu_threshold(gray)
    binary = binarize(gray, threshold)
    cleaned = remove_rules(binary, gray, threshold)
    # Cell borders and the header rule are long straight runs of ink...
    ink = ~np.asarray(cleaned, dtype=bool)
    assert _longest_run(~np.asarray(binary, dtype=bool)) > 1000
    assert _longest_run(ink) < 60
    assert _longest_run(ink.T) < 60
    # ...the text is what is left: a little less ink, never most of it.
    assert 0.5 * _ink(binary) < _ink(cleaned) < _ink(binary)


def _longest_run(ink: np.ndarray) -> int:
    """The longest horizontal run of ink anywhere in the array."""
    padded = np.pad(ink.astype(np.int8), ((0, 0), (1, 1)))
    edges = np.diff(padded, axis=1).ravel()
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return int((ends - starts).max(initial=0))


def test_remove_rules_leaves_a_page_without_lines_alone():
    image = Image.new("L", (400, 300), 255)
    ImageDraw.Draw(image).text((20, 20), "Bananas $0.59/lb", fill=0)
    threshold = otsu_threshold(image)
    binary = binarize(image, threshold)
    assert remove_rules(binary, image, threshold) is binary


def test_a_photo_sized_page_is_not_enlarged(grid_flyer):
    photo = flyergen.degrade(grid_flyer.pages[0], "photo", 1)
    prepared = prepare(Page(1, photo))
    assert prepared.image.width * prepared.image.height <= 1.3 * photo.width * photo.height


# -- photos of a page, tags and pictures (issue 11) -------------------------------------------
def _photo_of_a_sheet(corners: list[tuple[float, float]], size=(1200, 1500)) -> Image.Image:
    """A white sheet with print on a dark table, its corners where given, lit from the left."""
    photo = Image.new("L", size, 70)
    draw = ImageDraw.Draw(photo)
    draw.polygon(corners, fill=235)
    (x0, y0), (_, y1) = corners[0], corners[2]
    for row in range(12):
        y = y0 + (y1 - y0) * (0.1 + row * 0.07)
        draw.rectangle((x0 + 120, y, x0 + 120 + 500, y + 18), fill=20)
    light = np.linspace(0.6, 1.0, size[0])[None, :]
    return Image.fromarray((np.asarray(photo) * light).astype(np.uint8))


CORNERS = [(180.0, 140.0), (1010.0, 190.0), (1060.0, 1380.0), (130.0, 1310.0)]


def test_the_sheet_is_found_in_a_photo_and_squared():
    photo = _photo_of_a_sheet(CORNERS)
    found = paper_outline(np.asarray(photo))
    assert found is not None
    for (x, y), (fx, fy) in zip(CORNERS, found.tolist(), strict=True):
        assert abs(x - fx) < 15 and abs(y - fy) < 15, (CORNERS, found)
    flat = flatten_perspective(np.asarray(photo), found)
    # Squared: its sides as long as the sheet's longer edges, the table gone from the corners.
    (a, b, c, d) = np.array(CORNERS)
    width = max(np.linalg.norm(b - a), np.linalg.norm(c - d))
    height = max(np.linalg.norm(d - a), np.linalg.norm(c - b))
    assert abs(flat.shape[1] - width) < 20 and abs(flat.shape[0] - height) < 20
    assert min(flat[5, 5], flat[5, -5], flat[-5, 5], flat[-5, -5]) > 120


def test_a_scan_is_left_as_it_is(grid_flyer):
    assert paper_outline(np.asarray(grayscale(grid_flyer.pages[0]))) is None
    assert straighten(grayscale(grid_flyer.pages[0])) is not None


def test_uneven_light_is_evened_out():
    photo = _photo_of_a_sheet([(0, 0), (1200, 0), (1200, 1500), (0, 1500)])
    flat = even_light(np.asarray(photo))
    paper = flat[50:100, :]
    assert int(paper.max()) - int(paper.min()) < 25  # was 235 × (0.6 … 1.0): 94 levels apart
    assert flat[1500 // 10 + 5, 300] < 100  # the print stays dark


def test_a_phone_photo_of_a_page_is_read(grid_flyer):
    photo = flyergen.degrade(grid_flyer.pages[0], "phone", seed=4)
    prepared = prepare(Page(1, photo))
    ratio = prepared.image.width / prepared.image.height
    assert abs(ratio - 1275 / 1650) < 0.03  # the page, squared, without the table around it


def test_light_on_dark_price_tags_are_turned_over_and_pictures_become_paper():
    page = Image.new("L", (800, 400), 255)
    draw = ImageDraw.Draw(page)
    draw.rectangle((50, 50, 350, 150), fill=40)  # a dark tag with a light price in it
    font = flyergen._font("dejavu-sans", True, 60)
    draw.text((70, 60), "$3.99", font=font, fill=255)
    draw.rectangle((450, 50, 650, 250), fill=30)  # a photo: dark, no glyphs
    binary = binarize(page, otsu_threshold(page))
    turned = np.asarray(turn_over_tags(binary), dtype=bool)
    tag = turned[50:151, 50:351]
    assert 0.05 < (~tag).mean() < 0.4  # black print on white, where it was a black block
    assert turned[50:251, 450:651].all()  # the picture is paper
