"""The flyer plugin's settings: how big an upload may be, and how PDFs are rasterized and bounded."""

from __future__ import annotations

from jobhost import Setting
from jobhost_flyer_ocr.validate import DEFAULT_LIMITS, Limits


def parse_count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be a whole number >= 1")
    return value


MAX_MB = Setting(
    "FLYER_MAX_UPLOAD_MB",
    DEFAULT_LIMITS.max_bytes // 1024**2,
    parse_count,
    help="largest flyer upload in MiB (keep it under JOBHOST_MAX_BODY_SIZE)",
    allowed="must be a whole number of MiB >= 1",
)
MAX_MEGAPIXELS = Setting(
    "FLYER_MAX_MEGAPIXELS",
    DEFAULT_LIMITS.max_pixels // 1_000_000,
    parse_count,
    help="most pixels a flyer page may have, in millions (larger: refused as a likely decompression bomb)",
    allowed="must be a whole number >= 1",
)
MAX_PAGES = Setting(
    "FLYER_MAX_PAGES",
    DEFAULT_LIMITS.max_pages,
    parse_count,
    help="most pages a PDF or TIFF flyer may have",
    allowed="must be a whole number >= 1",
)
PDF_DPI = Setting(
    "FLYER_PDF_DPI",
    DEFAULT_LIMITS.pdf_dpi,
    parse_count,
    help="resolution PDF pages are rasterized at for OCR",
    allowed="must be a whole number of dots per inch >= 1",
)
RENDER_MEMORY_MB = Setting(
    "FLYER_RENDER_MEMORY_MB",
    DEFAULT_LIMITS.render_memory // 1024**2,
    parse_count,
    help="address space, in MiB, of the child process that reads a PDF (past it the PDF is refused)",
    allowed="must be a whole number of MiB >= 1",
)
RENDER_SECONDS = Setting(
    "FLYER_RENDER_SECONDS",
    int(DEFAULT_LIMITS.render_seconds),
    parse_count,
    help="CPU seconds a PDF page may take to open and render (it is killed after 3x that in wall time)",
    allowed="must be a whole number of seconds >= 1",
)
SETTINGS = (MAX_MB, MAX_MEGAPIXELS, MAX_PAGES, PDF_DPI, RENDER_MEMORY_MB, RENDER_SECONDS)


def limits_from(settings) -> Limits:
    """The upload limits in the host's environment."""
    return Limits(
        max_bytes=settings.read(MAX_MB) * 1024**2,
        max_pixels=settings.read(MAX_MEGAPIXELS) * 1_000_000,
        max_pages=settings.read(MAX_PAGES),
        pdf_dpi=settings.read(PDF_DPI),
        render_memory=settings.read(RENDER_MEMORY_MB) * 1024**2,
        render_seconds=settings.read(RENDER_SECONDS),
    )
