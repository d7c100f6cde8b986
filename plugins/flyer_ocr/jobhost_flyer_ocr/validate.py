"""Checks on an upload before anything is stored: size, sniffed type, pixels, pages, file name.

Every check reads only headers (image size; a PDF's page count, read in a bounded child process
by `pdf`), so a request can afford them; the pixels themselves are decoded later by `load`. Each
failure is a `FlyerRejected` whose message says what is wrong and what is allowed.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings

import attrs
from PIL import Image

from jobhost_flyer_ocr.errors import FlyerRejected
from jobhost_flyer_ocr.pdf import page_count

# Sniffed kind → media type; the declared type and the file name's extension are never trusted.
MEDIA_TYPES = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "tiff": "image/tiff",
    "pdf": "application/pdf",
}
ALLOWED = "PNG, JPEG, WebP, TIFF or PDF"
_DRIVE = re.compile(r"^[A-Za-z]:")


@attrs.frozen
class Limits:
    """What an upload may be: bytes, pixels per page, pages; PDFs render at `pdf_dpi`, each page
    within `render_memory` bytes of address space and `render_seconds` of CPU (see `pdf`)."""

    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_pages: int = 20
    pdf_dpi: int = 200
    render_memory: int = 1024 * 1024 * 1024
    render_seconds: float = 15.0


DEFAULT_LIMITS = Limits()


@attrs.frozen
class Upload:
    """A checked upload: its sniffed kind, byte size, page count and the name it came with."""

    kind: str
    size: int
    pages: int
    filename: str | None = None

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.kind]


def sniff(data: bytes) -> str | None:
    """The file's kind from its first bytes, or None when it is none of the allowed kinds."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if data.startswith(b"%PDF-"):
        return "pdf"
    return None


_BIDI_CONTROLS = frozenset({"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"})


def safe_filename(name: str | None) -> str | None:
    """The client's file name if it is a bare name; it is kept as metadata, never used as a path."""
    if not name:
        return None
    if any(unicodedata.category(char) == "Cc" for char in name):
        raise FlyerRejected(
            "file name contains NUL or control characters; send a plain file name such as flyer.pdf",
            status=400,
        )
    if any(unicodedata.bidirectional(char) in _BIDI_CONTROLS for char in name):
        # An override makes the name shown back read as another (`gpj.exe` as `exe.jpg`).
        raise FlyerRejected(
            "file name contains bidirectional control characters; send a plain file name such as flyer.pdf",
            status=400,
        )
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise FlyerRejected(
            f"file name {name!r} is an absolute path; send a bare file name such as flyer.pdf", status=400
        )
    if ".." in re.split(r"[\\/]", name):
        raise FlyerRejected(
            f"file name {name!r} contains '..'; send a bare file name such as flyer.pdf", status=400
        )
    if "/" in name or "\\" in name:
        raise FlyerRejected(
            f"file name {name!r} contains a directory; send a bare file name such as flyer.pdf", status=400
        )
    if len(name.encode()) > 255:
        raise FlyerRejected("file name is longer than 255 bytes", status=400)
    return unicodedata.normalize("NFC", name)


def _unreadable(kind: str, exc: BaseException) -> FlyerRejected:
    return FlyerRejected(f"the file looks like {kind.upper()} but cannot be read ({exc}); it may be corrupt")


def image_sizes(data: bytes, kind: str, limits: Limits) -> list[tuple[int, int]]:
    """Width and height of every frame of an image, read from headers, within the limits."""
    try:
        with warnings.catch_warnings():
            # Our pixel limit is lower than Pillow's bomb warning; the error below says more.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                frames = getattr(image, "n_frames", 1)
                if frames > limits.max_pages:
                    raise FlyerRejected(
                        f"the image has {frames} pages; at most {limits.max_pages} are allowed"
                    )
                sizes = []
                for index in range(frames):
                    image.seek(index)
                    sizes.append(image.size)
    except FlyerRejected:
        raise
    except Image.DecompressionBombError as exc:
        raise FlyerRejected(
            f"the image is a decompression bomb ({exc}); at most {limits.max_pixels / 1e6:.0f} MP per page "
            "are allowed"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _unreadable(kind, exc) from None
    for number, (width, height) in enumerate(sizes, 1):
        if width * height > limits.max_pixels:
            raise FlyerRejected(
                f"page {number} is {width}×{height} pixels ({width * height / 1e6:.0f} MP); "
                f"at most {limits.max_pixels / 1e6:.0f} MP per page are allowed"
            )
    return sizes


def check_upload(data: bytes, filename: str | None = None, limits: Limits = DEFAULT_LIMITS) -> Upload:
    """Everything about an upload that can be refused before it is stored, in the order a user fixes it."""
    name = safe_filename(filename)
    kind = check_kind(data, limits)
    pages = page_count(data, limits) if kind == "pdf" else len(image_sizes(data, kind, limits))
    return Upload(kind, len(data), pages, name)


def check_kind(data: bytes, limits: Limits = DEFAULT_LIMITS) -> str:
    """The upload's sniffed kind, once it is not empty, not too big and one of the allowed kinds."""
    if not data:
        raise FlyerRejected(f"the file is empty; upload a {ALLOWED} flyer", status=400)
    if len(data) > limits.max_bytes:
        raise FlyerRejected(
            f"the file is {len(data) / 1048576:.1f} MiB; at most {limits.max_bytes / 1048576:.0f} MiB "
            "are allowed",
            status=413,
        )
    kind = sniff(data)
    if kind is None:
        raise FlyerRejected(
            f"the file's content is not an allowed type; upload a {ALLOWED} flyer", status=415
        )
    return kind
