"""Stage 2: make a page easy for tesseract: grayscale, a readable size, contrast, straight, black on white.

Each step is cheap next to OCR (tens of milliseconds on a letter page): the whole stage must not
cost more than tesseract saves by reading a clean one-channel image instead of a colour one.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

from jobhost_flyer_ocr.model import Page, PreparedPage

# Long side, in pixels, of the page tesseract reads: smaller pages are enlarged (small print
# gets lost below ~1500 px for a letter page), bigger ones reduced (OCR time grows with pixels).
MIN_SIDE = 1500
MAX_SIDE = 4200
# Small rotations a scan or a photo gets; larger ones are left to the page's own orientation.
MAX_SKEW = 6.0
MIN_SKEW = 0.3
# Shortest straight line, in pixels, taken for a border or a rule rather than part of a letter.
RULE_MIN_LENGTH = 60
# Width of the thumbnail the skew is measured on.
SKEW_SAMPLE_WIDTH = 600


def grayscale(image: Image.Image) -> Image.Image:
    return image if image.mode == "L" else image.convert("L")


def rescale(image: Image.Image) -> tuple[Image.Image, float]:
    """The image at a size tesseract reads well, and the factor applied."""
    side = max(image.size)
    factor = MIN_SIDE / side if side < MIN_SIDE else MAX_SIDE / side if side > MAX_SIDE else 1.0
    if factor == 1.0:
        return image, factor
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS if factor < 1 else Image.Resampling.BICUBIC), factor


def otsu_threshold(image: Image.Image) -> int:
    """The gray level that best splits ink from paper (Otsu's method on the histogram)."""
    hist = np.asarray(image.histogram()[:256], dtype=np.float64)
    levels = np.arange(256)
    weight = np.cumsum(hist)
    mass = np.cumsum(hist * levels)
    total, total_mass = weight[-1], mass[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total_mass * weight / total - mass) ** 2 / (weight * (total - weight))
    return int(np.nanargmax(between)) if np.isfinite(between).any() else 127


def estimate_skew(image: Image.Image) -> float:
    """The page's small rotation in degrees (counter-clockwise positive), 0 when there is no text.

    Projection profiles: text lines give the sharpest row histogram of the ink when the page is
    straight. The ink's coordinates are projected at each candidate angle, coarse then fine.
    """
    sample = image
    if image.width > SKEW_SAMPLE_WIDTH:
        ratio = SKEW_SAMPLE_WIDTH / image.width
        sample = image.resize((SKEW_SAMPLE_WIDTH, max(1, round(image.height * ratio))), Image.Resampling.BOX)
    pixels = np.asarray(sample)
    ys, xs = np.nonzero(pixels < otsu_threshold(sample))
    if len(xs) < 50:
        return 0.0
    xs = xs - pixels.shape[1] / 2

    def sharpness(angle: float) -> float:
        theta = np.deg2rad(angle)
        rows = np.round(ys * np.cos(theta) - xs * np.sin(theta)).astype(np.int64)
        profile = np.bincount(rows - rows.min())
        return float(np.sum(np.diff(profile.astype(np.float64)) ** 2))

    best = max(np.arange(-MAX_SKEW, MAX_SKEW + 0.01, 0.5), key=sharpness)
    best = max(np.arange(best - 0.4, best + 0.41, 0.1), key=sharpness)
    # Image rows grow downwards, so a page turned counter-clockwise measures negative here.
    return -round(float(best), 2)


def deskew(image: Image.Image, angle: float) -> Image.Image:
    if abs(angle) < MIN_SKEW:
        return image
    return image.rotate(-angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=255)


def _long_runs(ink: np.ndarray, length: int) -> list[tuple[int, int, int]]:
    """(row, start, end) of every horizontal run of at least `length` True pixels."""
    padded = np.zeros((ink.shape[0], ink.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = ink
    edges = np.diff(padded, axis=1)
    where = np.flatnonzero(edges)
    kinds = edges.ravel()[where]
    # Row-major order: starts and ends alternate, the n-th end closing the n-th start.
    starts, ends = where[kinds == 1], where[kinds == -1]
    long = ends - starts >= length
    rows, columns = np.divmod(starts[long], edges.shape[1])
    return list(zip(rows.tolist(), columns.tolist(), (columns + (ends - starts)[long]).tolist(), strict=True))


def remove_rules(binary: Image.Image, gray: Image.Image, threshold: int) -> Image.Image:
    """The one-bit page without its long straight lines: cell borders and rules.

    Tesseract takes a border a few pixels from a word into the word's box, which makes the
    line look twice as tall as its neighbours; no letter has a straight run this long. Lines
    are found in the gray page with a lenient threshold, since a thin line that was rotated
    comes out of binarization dashed.
    """
    faint = np.asarray(gray) < (threshold + 255) // 2
    length = max(RULE_MIN_LENGTH, gray.width // 15)
    across = _long_runs(faint, length)
    down = _long_runs(np.ascontiguousarray(faint.T), length)
    if not across and not down:
        return binary
    paper = np.asarray(binary, dtype=bool).copy()
    # One pixel either side too: the anti-aliased edge of a line binarizes as ink.
    for row, start, end in across:
        paper[max(row - 1, 0) : row + 2, start:end] = True
    for column, start, end in down:
        paper[start:end, max(column - 1, 0) : column + 2] = True
    return Image.fromarray(paper)


def binarize(image: Image.Image, threshold: int) -> Image.Image:
    """Black ink on white paper, one bit per pixel."""
    return image.point([255 if level > threshold else 0 for level in range(256)], mode="1")


def prepare(page: Page) -> PreparedPage:
    """The page as tesseract should see it, with the scale and skew that were applied."""
    if page.image is None:
        raise ValueError(f"page {page.number} is a text layer, not an image: it needs no OCR")
    image, factor = rescale(grayscale(page.image))
    image = ImageOps.autocontrast(image, cutoff=0.5)
    skew = estimate_skew(image)
    image = deskew(image, skew)
    threshold = otsu_threshold(image)
    image = remove_rules(binarize(image, threshold), image, threshold)
    return PreparedPage(page.number, image, factor, skew)
