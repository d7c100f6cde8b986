"""Stage 1, load: every allowed type by its content, every page in order, unreadable = permanent."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from jobhost import PermanentError
from jobhost_flyer_ocr.errors import FlyerRejected
from jobhost_flyer_ocr.load import load_pages
from jobhost_flyer_ocr.validate import Limits, check_upload
from tests.plugins.flyer_ocr import flyergen


def _numbered_pages(count: int) -> list[Image.Image]:
    """Pages told apart by a black bar whose width is the page number."""
    pages = []
    for number in range(1, count + 1):
        page = Image.new("RGB", (300, 400), "white")
        ImageDraw.Draw(page).rectangle((0, 0, number * 50 - 1, 20), fill="black")
        pages.append(page)
    return pages


def _bar_width(image: Image.Image) -> int:
    row = image.convert("L").crop((0, 10, image.width, 11))
    return sum(1 for value in row.tobytes() if value < 128)


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp", "tiff", "pdf"])
def test_each_type_loads_as_pages_numbered_from_one(fmt):
    pages = list(load_pages(flyergen.encode(_numbered_pages(1), fmt)))
    assert [page.number for page in pages] == [1]
    assert pages[0].image.mode in ("L", "RGB")
    assert abs(_bar_width(pages[0].image) * 300 / pages[0].image.width - 50) <= 3


@pytest.mark.parametrize("fmt", ["pdf", "tiff"])
def test_every_page_of_a_multi_page_file_keeps_its_number(fmt):
    pages = list(load_pages(flyergen.encode(_numbered_pages(3), fmt)))
    assert [page.number for page in pages] == [1, 2, 3]
    widths = [round(_bar_width(page.image) * 300 / page.image.width / 50) for page in pages]
    assert widths == [1, 2, 3]


def test_pdf_pages_render_at_the_configured_dpi():
    data = flyergen.encode(_numbered_pages(1), "pdf")  # 300×400 px at 150 dpi = 2×2.67 in
    (page,) = load_pages(data, Limits(pdf_dpi=200))
    assert page.image.size == (400, 534)
    assert page.image.mode == "L"  # rendered gray: the next stage needs no colour


def test_a_huge_pdf_page_renders_within_the_pixel_limit():
    data = flyergen.encode(_numbered_pages(1), "pdf")
    (page,) = load_pages(data, Limits(pdf_dpi=600, max_pixels=500_000))
    assert page.image.width * page.image.height <= 500_000


def test_transparency_becomes_white_paper():
    image = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    ImageDraw.Draw(image).text((10, 10), "ink", fill=(0, 0, 0, 255))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    (page,) = load_pages(buffer.getvalue())
    assert page.image.mode == "RGB"
    assert page.image.getpixel((150, 80)) == (255, 255, 255)


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (300, 100), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: display rotated 90° clockwise
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    (page,) = load_pages(buffer.getvalue())
    assert page.image.size == (100, 300)


def test_a_truncated_image_passes_the_header_check_but_fails_to_load_permanently(grid_flyer):
    data = flyergen.encode(grid_flyer.pages, "png")
    truncated = data[: len(data) // 2]
    assert check_upload(truncated).kind == "png"  # the upload route accepts it...
    with pytest.raises(FlyerRejected) as caught:
        list(load_pages(truncated))  # ...and the job finds out, without retrying
    assert isinstance(caught.value, PermanentError)
    assert "cannot be decoded" in str(caught.value)
    assert "truncated or corrupt" in str(caught.value)


def test_load_checks_the_bytes_itself():
    with pytest.raises(FlyerRejected) as caught:
        list(load_pages(b"not a flyer at all"))
    assert caught.value.status == 415
