"""Stage 2: make a page easy for tesseract: grayscale, the paper cut out of a photo and squared,
even light, a readable size, contrast, straight, black on white (light-on-dark tags turned over).

Each step is cheap next to OCR (tens of milliseconds on a letter page): the whole stage must not
cost more than tesseract saves by reading a clean one-channel image instead of a colour one.
OpenCV does the geometry (contours, perspective) and the morphology; Pillow and numpy the rest.
"""

from __future__ import annotations

import cv2
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
# Shortest straight line, in pixels and in a share of the page's width, taken for a border or a
# rule rather than part of a letter (a price struck out is shorter: its glyphs are left whole).
RULE_MIN_LENGTH = 60
RULE_MIN_SHARE = 1 / 6
# Width of the thumbnail the skew is measured on.
SKEW_SAMPLE_WIDTH = 600
# Width of the thumbnail the paper's outline and the light are measured on.
OUTLINE_SAMPLE_WIDTH = 500
# A photo's paper covers at least this share of the frame, and less than the second: a scan's
# paper is the whole frame.
PAPER_SHARE = (0.3, 0.92)
# Light varying by more than this share across the paper is evened out (a phone photo's).
UNEVEN_LIGHT = 0.15
# A dark region at least this many pixels each way, with at least this many light holes (the
# glyphs printed in it) and a convex outline (a rectangle, a burst; not bold glyphs run together,
# `$4` has three holes too) is a tag or banner to be turned over.
TAG_MIN_SIDE = 40
TAG_MIN_FILL = 0.5
TAG_MIN_HOLES = 3
TAG_MIN_HOLE_AREA = 16
TAG_MIN_SOLIDITY = 0.8
# A solid dark region this big each way without glyphs in it is a picture.
PICTURE_MIN_SIDE = 2 * TAG_MIN_SIDE


def _order(corners: np.ndarray) -> np.ndarray:
    """Four points as top-left, top-right, bottom-right, bottom-left."""
    total, diff = corners.sum(axis=1), np.diff(corners, axis=1).ravel()
    return np.array(
        [
            corners[np.argmin(total)],
            corners[np.argmin(diff)],
            corners[np.argmax(total)],
            corners[np.argmax(diff)],
        ],
        dtype=np.float32,
    )


def paper_outline(gray: np.ndarray) -> np.ndarray | None:
    """The corners of the sheet in a photo of it (top-left first, clockwise), in `gray`'s
    pixels; None when the paper fills the frame (a scan) or no four-sided sheet is found."""
    ratio = OUTLINE_SAMPLE_WIDTH / gray.shape[1]
    small = cv2.resize(gray, None, fx=ratio, fy=ratio, interpolation=cv2.INTER_AREA)
    _, paper = cv2.threshold(cv2.GaussianBlur(small, (5, 5), 0), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # Close the print on the sheet, so the paper is one region.
    paper = cv2.morphologyEx(paper, cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8))
    contours, _ = cv2.findContours(paper, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    sheet = max(contours, key=cv2.contourArea)
    share = cv2.contourArea(sheet) / (small.shape[0] * small.shape[1])
    if not PAPER_SHARE[0] <= share < PAPER_SHARE[1]:
        return None
    hull = cv2.convexHull(sheet)
    outline = cv2.approxPolyDP(hull, 0.01 * cv2.arcLength(hull, True), True).reshape(-1, 2).astype(np.float32)
    corners = outline if len(outline) == 4 else _four_sides(outline)
    if corners is None:
        return None
    return _order(corners / ratio)


def _four_sides(outline: np.ndarray) -> np.ndarray | None:
    """The corners where the four longest sides of a polygon meet: a sheet whose corner fell in
    the shadow (or out of the frame) comes out with that corner cut off."""
    if len(outline) < 4:
        return None
    ends = np.roll(outline, -1, axis=0)
    longest = sorted(np.argsort(-np.linalg.norm(ends - outline, axis=1))[:4])
    corners = []
    for this, after in zip(longest, longest[1:] + longest[:1], strict=True):
        (p, q), (r, s) = (outline[this], ends[this]), (outline[after], ends[after])
        d1, d2 = q - p, s - r
        cross = d1[0] * d2[1] - d1[1] * d2[0]
        if abs(cross) < 1e-6:
            return None  # parallel neighbours: not a sheet
        t = ((r[0] - p[0]) * d2[1] - (r[1] - p[1]) * d2[0]) / cross
        corners.append(p + t * d1)
    return np.array(corners, dtype=np.float32)


def flatten_perspective(gray: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """The sheet inside `corners` as a straight-on rectangle, as long as its longer edges."""
    top_left, top_right, bottom_right, bottom_left = corners
    width = round(max(np.linalg.norm(top_right - top_left), np.linalg.norm(bottom_right - bottom_left)))
    height = round(max(np.linalg.norm(bottom_left - top_left), np.linalg.norm(bottom_right - top_right)))
    target = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(corners, target)
    return cv2.warpPerspective(gray, matrix, (width, height), flags=cv2.INTER_LINEAR, borderValue=255)


def even_light(gray: np.ndarray) -> np.ndarray:
    """The page divided by its paper's brightness, where that varies (a photo lit from one side).

    The paper's brightness is the brightest level around each point, over a neighbourhood wider
    than any tag or letter (so dark tags and print do not count as shadow), then smoothed.
    """
    ratio = 160 / gray.shape[1]
    small = cv2.resize(gray, None, fx=ratio, fy=ratio, interpolation=cv2.INTER_AREA)
    paper = cv2.GaussianBlur(cv2.dilate(small, np.ones((15, 15), np.uint8)), (15, 15), 0)
    low, high = np.percentile(paper, (2, 98))
    if high <= 0 or (high - low) / high < UNEVEN_LIGHT:
        return gray
    light = cv2.resize(paper, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)
    return cv2.divide(gray, np.maximum(light, 1), scale=255)


def straighten(image: Image.Image) -> Image.Image:
    """A photographed sheet cut out, squared and evenly lit; a scan as it is."""
    gray = np.asarray(image)
    corners = paper_outline(gray)
    if corners is None:
        return image
    return Image.fromarray(even_light(flatten_perspective(gray, corners)))


def turn_over_tags(binary: Image.Image) -> Image.Image:
    """Light-on-dark regions (price tags, bursts, banners) as dark on light, like the rest, and
    pictures as paper.

    After binarization a tag is a solid black region with the price as white holes in it; inside
    its outline every pixel is flipped, so the price becomes black print on white. A big solid
    region without such holes is a photo: it would only give tesseract noise to read.
    """
    ink = (~np.asarray(binary, dtype=bool)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    page = np.asarray(binary, dtype=bool).copy()
    flipped = False
    for label in range(1, count):
        left, top, width, height, area = stats[label]
        if width < TAG_MIN_SIDE or height < TAG_MIN_SIDE or area < TAG_MIN_FILL * width * height:
            continue
        window = page[top : top + height, left : left + width]
        mask = labels[top : top + height, left : left + width] == label
        region = (labels[top : top + height, left : left + width] == label).astype(np.uint8)
        contours, hierarchy = cv2.findContours(region, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
        parents = hierarchy[0][:, 3]
        holes = sum(
            1
            for c, p in zip(contours, parents, strict=True)
            if p >= 0 and cv2.contourArea(c) >= TAG_MIN_HOLE_AREA
        )
        if holes < TAG_MIN_HOLES:
            if min(width, height) >= PICTURE_MIN_SIDE:
                window[mask] = True  # a picture (a product photo), not print: paper for tesseract
                flipped = True
            continue
        outline = max((c for c, p in zip(contours, parents, strict=True) if p < 0), key=cv2.contourArea)
        if cv2.contourArea(outline) < TAG_MIN_SOLIDITY * cv2.contourArea(cv2.convexHull(outline)):
            continue
        inside = np.zeros_like(region)
        cv2.drawContours(inside, [outline], -1, 1, thickness=cv2.FILLED)
        window[inside.astype(bool)] = ~window[inside.astype(bool)]
        flipped = True
    return Image.fromarray(page) if flipped else binary


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
    length = max(RULE_MIN_LENGTH, round(gray.width * RULE_MIN_SHARE))
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
    image, factor = rescale(straighten(grayscale(page.image)))
    image = ImageOps.autocontrast(image, cutoff=0.5)
    skew = estimate_skew(image)
    image = deskew(image, skew)
    threshold = otsu_threshold(image)
    image = remove_rules(turn_over_tags(binarize(image, threshold)), image, threshold)
    return PreparedPage(page.number, image, factor, skew)
