"""Stage 1: open an upload by its sniffed type and give back its pages.

Images keep every frame (a multi-page TIFF is a multi-page flyer) and their EXIF orientation;
PDF pages come from `pdf`: their text layer when they have one, else rasterized by PDFium. Each
page is checked against the limits before its pixels are decoded, and anything unreadable is a
permanent `FlyerRejected`.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator

from PIL import Image, ImageOps

from jobhost_flyer_ocr.errors import FlyerRejected
from jobhost_flyer_ocr.model import Page
from jobhost_flyer_ocr.pdf import pdf_pages
from jobhost_flyer_ocr.validate import DEFAULT_LIMITS, Limits, Upload, check_kind, check_upload


def _flatten(image: Image.Image) -> Image.Image:
    """An RGB or L copy; transparency becomes white paper rather than black."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        paper = Image.new("RGB", image.size, "white")
        paper.paste(rgba, mask=rgba.getchannel("A"))
        return paper
    if image.mode in ("L", "RGB"):
        return image.copy()
    return image.convert("L" if image.mode in ("1", "F") or image.mode.startswith("I") else "RGB")


def _image_pages(data: bytes, kind: str) -> Iterator[Page]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                count = getattr(image, "n_frames", 1)
                for index in range(count):
                    image.seek(index)
                    image.load()
                    yield Page(index + 1, _flatten(ImageOps.exif_transpose(image)), count=count)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise FlyerRejected(
            f"the file looks like {kind.upper()} but its pixels cannot be decoded ({exc}); it may be "
            "truncated or corrupt"
        ) from None


def load_pages(
    data: bytes,
    limits: Limits = DEFAULT_LIMITS,
    upload: Upload | None = None,
    deadline: float | None = None,
) -> Iterator[Page]:
    """Every page of the upload, in order, numbered from 1; refuses what `check_upload` refuses.

    Pass the `Upload` that `check_upload` returned for these bytes to skip checking them again.
    A PDF's pages come from a bounded child process, by `deadline` (a `time.monotonic()` value),
    which checks the page count itself: one child, not one to count and one to read.
    """
    kind = upload.kind if upload else check_kind(data, limits)
    if kind == "pdf":
        yield from pdf_pages(data, limits, deadline)
        return
    if upload is None:
        check_upload(data, None, limits)  # the frames' sizes, from the headers
    yield from _image_pages(data, kind)
