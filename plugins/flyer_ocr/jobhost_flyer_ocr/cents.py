"""Prices set with big dollars and small raised cents and no decimal point: `$2⁹⁹`, `2⁹⁹`.

tesseract reads such a price as one word and guesses at the small raised digits (`$2°°`, `$299`,
`$qoe`). So before OCR the page's marks are looked at: where small marks sit raised right after
big digits, the price is set again as an ordinary one (dollars, a point, the cents enlarged) on
a strip added under the page, and the one tesseract run reads it there (`set_raised_apart`,
`read_raised`): no second run, whose start-up alone would cost more than the page's budget. A
PDF's text layer gives the dollars and the cents as words of their own, which `join_raised`
puts together by their boxes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs
import cv2
import numpy as np
from PIL import Image, ImageDraw

from jobhost_flyer_ocr.corrections import normalize_word
from jobhost_flyer_ocr.model import Box, PreparedPage, Word

# Digits of a price are at least this tall on a prepared page (a name's capitals are ~25 px).
MIN_DIGIT_HEIGHT = 28
# Marks this small next to the dollars' digits (a share of their height), starting this close to
# their top, are raised cents; in a text layer's words, within RAISED of the top.
SMALL = 0.7
SMALL_MIN = 0.3
TOP_ALIGN = 0.15
RAISED = 0.35
# OCR confusions in a re-set price.
_DIGITISH = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", "|": "1", "S": "5", "s": "5", " ": ""})
_DOLLARS = re.compile(r"^\$?\d{1,3}$")
_CENTS = re.compile(r"^\d{2}$")
_PRICE = re.compile(r"^\d{1,3}\.\d{2}$")
_ALL_DIGITS = re.compile(r"^\d{3,5}$")
# A unit read from under the cents, as it joins the price: `$1.69/lb`, `$0.99ea`.
_UNIT_SUFFIX = {"lb": "/lb", "kg": "/kg", "100g": "/100g", "ea": "ea", "each": "ea"}
PAD = 12


@attrs.frozen
class Raised:
    """A price set with raised cents, found by its pixels, and where its copy is in the strip."""

    box: Box  # the price's ink on the page
    row: int  # its row in the strip under the page
    parts: tuple[Box, ...]  # the dollars', the cents' and a unit's ink under them
    unit_at: int | None = None  # where the unit's copy starts on its row


@attrs.frozen(eq=False)
class RaisedPrices:
    """The prepared page with a strip under it holding each raised-cents price set again."""

    page: PreparedPage
    found: tuple[Raised, ...]
    strip_top: int
    row_height: int


def _marks(ink: np.ndarray) -> np.ndarray:
    """Every mark of ink on the page: rows of left, top, width, height."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    return stats[1:][stats[1:, 4] >= 4][:, :4].astype(np.int64)


def _units(marks: np.ndarray, cents: np.ndarray, h: int) -> np.ndarray:
    """The marks of a unit set in small type under the cents (`/lb`), if there is one."""
    xs, ys, _, hs = marks.T
    c0, c1 = cents[:, 0].min(), (cents[:, 0] + cents[:, 2]).max()
    bottom = (cents[:, 1] + cents[:, 3]).max()
    return marks[
        (ys >= bottom - 2)
        & (ys <= bottom + 0.6 * h)
        & (ys + hs <= bottom + 1.0 * h)
        & (xs >= c0 - 0.2 * h)
        & (xs <= c1 + 0.6 * h)
        & (hs <= 0.6 * h)
        & (hs >= 0.1 * h)
    ]


def _runs(marks: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(dollars, cents) mark groups: big digits, then small marks raised at their top right."""
    xs, ys, ws, hs = marks.T
    found = []
    for x, y, w, h in marks[hs >= MIN_DIGIT_HEIGHT]:
        right = x + w
        cents = marks[
            (xs >= right - 2)
            & (xs <= right + 0.9 * h)
            & (hs >= SMALL_MIN * h)
            & (hs <= SMALL * h)
            & (np.abs(ys - y) <= TOP_ALIGN * h)
            & (ys + hs <= y + 0.8 * h)
        ]
        if not 1 <= len(cents) <= 3:
            continue
        first = cents[:, 0].min()
        if first - right > 0.35 * h or (cents[:, 0] + cents[:, 2]).max() - first < 0.4 * h:
            continue
        # The dollars: this digit and the big ones just left of it, level with it.
        dollars = [(x, y, w, h)]
        while True:
            left = dollars[0][0]
            near = marks[
                (np.abs(hs - h) <= 0.2 * h)
                & (np.abs(ys - y) <= TOP_ALIGN * h)
                & (xs + ws <= left)
                & (xs + ws >= left - 0.35 * h)
            ]
            if not len(near):
                break
            dollars.insert(0, tuple(near[np.argmax(near[:, 0])]))
        found.append((np.array(dollars), cents))
    return found


def set_raised_apart(page: PreparedPage) -> RaisedPrices:
    """The page with each raised-cents price set again as an ordinary one (`3.59`: dollars, a
    point, the cents enlarged to the dollars' height) on a row of a strip under the page, so one
    tesseract run reads both: the page as it is, and the prices as tesseract reads them best."""
    paper = np.asarray(page.image.convert("1"), dtype=bool)
    marks = _marks(~paper)
    runs = _runs(marks)
    if not runs:
        return RaisedPrices(page, (), paper.shape[0], 1)
    height = int(max(d[:, 3].max() for d, _ in runs)) + 2 * PAD
    strip_top = paper.shape[0] + height
    canvas = Image.new("1", (paper.shape[1], strip_top + height * len(runs)), 1)
    canvas.paste(page.image.convert("1"), (0, 0))
    found = []
    for row, (dollars, cents) in enumerate(runs):
        x0, y0 = int(dollars[:, 0].min()), int(dollars[:, 1].min())
        x1, y1 = int((dollars[:, 0] + dollars[:, 2]).max()), int((dollars[:, 1] + dollars[:, 3]).max())
        c0, c1 = int(cents[:, 0].min()), int((cents[:, 0] + cents[:, 2]).max())
        cy0, cy1 = int(cents[:, 1].min()), int((cents[:, 1] + cents[:, 3]).max())
        top = strip_top + row * height + PAD
        canvas.paste(Image.fromarray(paper[y0:y1, x0:x1]), (PAD, top))
        dot = max(3, (y1 - y0) // 7)
        x = PAD + (x1 - x0) + dot
        ImageDraw.Draw(canvas).rectangle((x, top + (y1 - y0) - dot, x + dot, top + (y1 - y0)), fill=0)
        # Enlarged smoothly, in gray, then back to one bit: blown-up pixels make a `5` a `2`.
        small = Image.fromarray(paper[cy0:cy1, c0:c1]).convert("L")
        scale = (y1 - y0) / max(cy1 - cy0, 1)
        big = small.resize((max(1, round(small.width * scale)), y1 - y0), Image.Resampling.LANCZOS)
        canvas.paste(big.point(lambda v: 255 if v > 127 else 0).convert("1"), (x + 2 * dot, top))
        parts: tuple[Box, ...] = (Box(x0, y0, x1 - x0, y1 - y0), Box(c0, cy0, c1 - c0, cy1 - cy0))
        unit, unit_at = _units(marks, cents, y1 - y0), None
        if len(unit):
            u0, v0 = int(unit[:, 0].min()), int(unit[:, 1].min())
            u1, v1 = int((unit[:, 0] + unit[:, 2]).max()), int((unit[:, 1] + unit[:, 3]).max())
            unit_at = x + 2 * dot + big.width + 3 * dot
            canvas.paste(Image.fromarray(paper[v0:v1, u0:u1]), (unit_at, top + (y1 - y0) - (v1 - v0)))
            parts = (*parts, Box(u0, v0, u1 - u0, v1 - v0))
        found.append(Raised(Box(x0, y0, c1 - x0, y1 - y0), row, parts, unit_at))
    return RaisedPrices(attrs.evolve(page, image=canvas), tuple(found), strip_top, height)


def read_raised(raised: RaisedPrices, words: list[Word]) -> list[Word]:
    """The page's words, each raised-cents price read from its copy in the strip (`$2°°` and the
    like it overlaps dropped), the strip's own words gone."""
    if not raised.found:
        return words
    rows: list[list[Word]] = [[] for _ in raised.found]
    page_words = []
    for word in words:
        if word.box.center_y < raised.strip_top - raised.row_height // 2:
            page_words.append(word)
            continue
        row = int((word.box.center_y - raised.strip_top) // raised.row_height)
        if 0 <= row < len(rows):
            rows[row].append(word)
    prices = []
    for price, parts in zip(raised.found, rows, strict=True):
        parts = sorted(parts, key=lambda p: p.box.left)
        unit = [p for p in parts if price.unit_at is not None and p.box.right > price.unit_at]
        figures = [p for p in parts if p not in unit]
        text = "".join(p.text for p in figures).translate(_DIGITISH).lstrip("$")
        unit_text = normalize_word("".join(p.text for p in unit)).lstrip("/")
        if _ALL_DIGITS.match(text):  # the point we drew was not read: the cents are the last two
            text = f"{text[:-2]}.{text[-2:]}"
        if _PRICE.match(text):
            confidence = min((p.confidence for p in figures), default=0.0)
            suffix = _UNIT_SUFFIX.get(unit_text, "")
            # The unit's own OCR words go only when its copy was read: else they still count.
            covered = price.parts if suffix else price.parts[:2]
            box = price.box.union(covered[-1])
            prices.append((covered, Word(f"${text}{suffix}", box, confidence, (0, 0, 0))))
    gone = [box for covered, _ in prices for box in covered]
    kept = [w for w in page_words if not any(_inside(w.box, box) for box in gone)]
    return kept + [word for _, word in prices]


def _inside(word: Box, part: Box) -> bool:
    """Whether a word is (part of) the misread price: it covers much of a part's ink."""
    x = max(0, min(word.right, part.right) - max(word.left, part.left))
    y = max(0, min(word.bottom, part.bottom) - max(word.top, part.top))
    return x * y >= 0.3 * min(word.width * word.height, part.width * part.height)


def join_raised(words: Sequence[Word]) -> list[Word]:
    """Words with each `$`, dollars and small raised cents run (a text layer's) made one price
    word; also dollars and cents that OCR split at the point (`$3.` `19`)."""
    ordered = sorted(words, key=lambda w: (w.box.left, w.box.top))
    used: set[int] = set()
    joined: dict[int, Word] = {}
    for i, dollars in enumerate(ordered):
        point = dollars.text.endswith(".")
        if i in used or not _DOLLARS.match(dollars.text.lstrip("$").rstrip(".")) or dollars.text == "$":
            continue
        d = dollars.box

        def follows(w: Word, d: Box = d, point: bool = point) -> bool:
            close = -0.1 * d.height <= w.box.left - d.right <= 0.5 * d.height  # narrow type: boxes touch
            if point:  # cents on the same line, after the point
                return close and _overlap(w.box, d) > 0.5 * w.box.height
            return close and w.box.height <= SMALL * d.height and abs(w.box.top - d.top) <= RAISED * d.height

        cents = next(
            ((j, w) for j, w in enumerate(ordered) if j not in used and _CENTS.match(w.text) and follows(w)),
            None,
        )
        if cents is None:
            continue
        sign = next(
            (
                (j, w)
                for j, w in enumerate(ordered)
                if j not in used
                and w.text == "$"
                and abs(w.box.top - d.top) <= RAISED * d.height
                and -0.1 * d.height <= d.left - w.box.right <= 0.5 * d.height
            ),
            None,
        )
        box = d.union(cents[1].box)
        parts = [i, cents[0]]
        if sign is not None:
            box = box.union(sign[1].box)
            parts.append(sign[0])
        used.update(parts)
        text = f"${dollars.text.strip('$.')}.{cents[1].text}"
        joined[i] = Word(text, box, dollars.confidence, dollars.line)
    return [joined.get(i, w) for i, w in enumerate(ordered) if i in joined or i not in used]


def _overlap(a: Box, b: Box) -> int:
    """How many rows two boxes share."""
    return max(0, min(a.bottom, b.bottom) - max(a.top, b.top))
