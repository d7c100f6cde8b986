"""Upload checks: what is refused before anything is stored, with which status and message."""

from __future__ import annotations

import pytest
from PIL import Image

from jobhost import PermanentError
from jobhost_flyer_ocr.errors import FlyerRejected
from jobhost_flyer_ocr.validate import Limits, check_upload, safe_filename, sniff
from tests.plugins.flyer_ocr import flyergen


@pytest.fixture(scope="module")
def page() -> Image.Image:
    return Image.new("RGB", (400, 300), "white")


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp", "tiff", "pdf"])
def test_sniff_knows_each_allowed_type_by_content(page, fmt):
    data = flyergen.encode([page], fmt)
    assert sniff(data) == fmt
    upload = check_upload(data, f"flyer.{fmt}")
    assert (upload.kind, upload.size, upload.pages, upload.filename) == (fmt, len(data), 1, f"flyer.{fmt}")


def test_the_name_and_extension_never_decide_the_type(page):
    data = flyergen.encode([page], "pdf")
    assert check_upload(data, "holiday.png").kind == "pdf"
    assert check_upload(data, "holiday.png").media_type == "application/pdf"


@pytest.mark.parametrize(
    "data",
    [
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"just some text",
        b"PK\x03\x04 a zip archive",
    ],
)
def test_content_of_another_type_is_415(data):
    with pytest.raises(FlyerRejected) as caught:
        check_upload(data, "flyer.png")
    assert caught.value.status == 415
    assert "PNG, JPEG, WebP, TIFF or PDF" in str(caught.value)


def test_empty_file_is_400():
    with pytest.raises(FlyerRejected) as caught:
        check_upload(b"", "flyer.png")
    assert caught.value.status == 400
    assert "empty" in str(caught.value)


def test_file_over_the_size_limit_is_413(page):
    data = flyergen.encode([page], "png")
    with pytest.raises(FlyerRejected) as caught:
        check_upload(data, "flyer.png", Limits(max_bytes=len(data) - 1))
    assert caught.value.status == 413
    assert check_upload(data, "flyer.png", Limits(max_bytes=len(data))).size == len(data)


def test_decompression_bomb_is_refused_from_its_header():
    bomb = flyergen.bomb_png(60_000, 60_000)  # 3.6 gigapixels in a few hundred bytes
    assert len(bomb) < 1000
    with pytest.raises(FlyerRejected) as caught:
        check_upload(bomb, "bomb.png")
    assert caught.value.status == 422
    assert "decompression bomb" in str(caught.value)
    assert "at most 40 MP per page" in str(caught.value)


def test_image_over_the_pixel_limit_is_422_with_its_size():
    big = flyergen.bomb_png(8000, 6000)
    with pytest.raises(FlyerRejected) as caught:
        check_upload(big, "big.png")
    assert caught.value.status == 422
    assert "page 1 is 8000×6000 pixels (48 MP); at most 40 MP" in str(caught.value)


def test_pixel_limit_is_per_page(page):
    data = flyergen.encode([page], "png")
    with pytest.raises(FlyerRejected, match=r"page 1 is 400×300 pixels"):
        check_upload(data, "flyer.png", Limits(max_pixels=100_000))
    assert check_upload(data, "flyer.png", Limits(max_pixels=120_000)).pages == 1


def test_pdf_with_too_many_pages_is_refused(page):
    data = flyergen.encode([page] * 3, "pdf")
    with pytest.raises(FlyerRejected, match="the PDF has 3 pages; at most 2"):
        check_upload(data, "flyer.pdf", Limits(max_pages=2))
    assert check_upload(data, "flyer.pdf", Limits(max_pages=3)).pages == 3


def test_multi_page_tiff_counts_its_pages(page):
    data = flyergen.encode([page] * 3, "tiff")
    assert check_upload(data).pages == 3
    with pytest.raises(FlyerRejected, match="3 pages; at most 2"):
        check_upload(data, None, Limits(max_pages=2))


@pytest.mark.parametrize(
    "data, kind",
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 20, "PNG"),
        (b"%PDF-1.7\n this is not a PDF body", "PDF"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 40, "JPEG"),
    ],
)
def test_corrupt_file_is_a_permanent_422(data, kind):
    with pytest.raises(FlyerRejected) as caught:
        check_upload(data, "flyer")
    assert caught.value.status == 422
    assert f"looks like {kind}" in str(caught.value)
    assert isinstance(caught.value, PermanentError)  # a job given this file is not retried


@pytest.mark.parametrize(
    "name, why",
    [
        ("../../etc/passwd", "'..'"),
        ("..\\secrets.png", "'..'"),
        ("/etc/flyer.png", "absolute path"),
        ("\\\\server\\share\\flyer.png", "absolute path"),
        ("C:\\Users\\me\\flyer.png", "absolute path"),
        ("fly\x00er.png", "control characters"),
        ("flyer\n.png", "control characters"),
        ("flyer\x1b[31m.png", "control characters"),
        ("flyer\u202egnp.exe", "bidirectional control"),
        ("\u2067flyer.png", "bidirectional control"),
        ("uploads/flyer.png", "directory"),
        ("a" * 300 + ".png", "255 bytes"),
    ],
)
def test_unsafe_file_names_are_400(name, why):
    with pytest.raises(FlyerRejected) as caught:
        safe_filename(name)
    assert caught.value.status == 400
    assert why in str(caught.value)


def test_a_plain_name_is_kept_as_metadata():
    assert safe_filename("Weekly flyer (2).PDF") == "Weekly flyer (2).PDF"
    assert safe_filename("Café.png") == "Café.png"
    assert safe_filename(None) is None
    assert safe_filename("") is None


def test_a_bad_name_is_refused_before_the_content_is_read():
    with pytest.raises(FlyerRejected, match=r"'\.\.'"):
        check_upload(b"", "../x.png")
