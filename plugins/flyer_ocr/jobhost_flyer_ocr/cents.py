"""Prices set with big dollars and small raised cents and no decimal point: `$2⁹⁹`, `2⁹⁹`.

tesseract reads such a price as one word and guesses at the small raised digits (`$2°°`, `$299`,
`$qoe`). So a big price word is looked at again by its pixels: when small marks sit raised at
its right, the dollars and the cents are cut apart, the cents enlarged to the dollars' height,
and all such prices of a page re-read in one more tesseract run on a strip of them (digits
and a point). A PDF's text layer gives the dollars and the cents as words of their own, which
`join_raised` puts together by their boxes.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Sequence

import attrs
import cv2
import numpy as np
from PIL import Image, ImageDraw

from jobhost_flyer_ocr.model import Box, PreparedPage, Word

# A price word is printed at least this many times the page's typical word height.
PRICE_HEIGHT = 1.5
# Marks this small next to the dollars' digits, and this high, are raised cents.
SMALL = 0.7
RAISED = 0.35
# What a raised-cents price looks like once OCR ran its parts together (`$2°°`, `*11`, `sg`): a
# short word with a digit or a dollar sign, without decimals or a slash (`5/$13` and `$1.99` are
# fine as read; `$3.` lost its cents); its pixels decide.
_MERGED = re.compile(r"^(?!.*\d[.,]\d)(?=.*[$*\d])[^/\s]{2,7}$")
_DOLLARS = re.compile(r"^\$?\d{1,3}$")
# Dollars as OCR read them beside their split-off cents: a small raised `$` reads as `*` or `S`.
_READ_DOLLARS = re.compile(r"^[$S*#]?\d{1,3}$")
_CENTS = re.compile(r"^\d{2}$")
_PRICE = re.compile(r"^\d{1,3}\.\d{2}$")
_ALL_DIGITS = re.compile(r"^\d{3,5}$")
PAD = 12


@attrs.frozen
class _Split:
    word: Word
    dollars: Image.Image
    cents: Image.Image
    box: Box  # the price's whole ink, which tesseract's box may not cover


def _split(page: np.ndarray, word: Word) -> _Split | None:
    """The word's dollars and raised cents as images (black ink on white), if it has raised cents.

    tesseract's box of such a word may stop halfway down the big digits, or leave the cents out:
    the marks are taken whole, from around the box, wherever they touch it or follow it closely.
    """
    box = word.box
    reach = box.height
    ox, oy = max(box.left - reach // 4, 0), max(box.top - reach // 2, 0)
    right, bottom = min(box.right + 2 * reach, page.shape[1]), min(box.bottom + 2 * reach, page.shape[0])
    area = page[oy:bottom, ox:right]
    if area.size == 0:
        return None
    count, _, stats, _ = cv2.connectedComponentsWithStats((~area).astype(np.uint8), connectivity=8)
    touching = [
        stats[i]
        for i in range(1, count)
        if stats[i][4] >= 4
        and stats[i][0] < box.right - ox + 0.6 * reach  # cents OCR boxed apart start this close
        and stats[i][0] + stats[i][2] > box.left - ox
        and stats[i][1] < box.bottom - oy
        and stats[i][1] + stats[i][3] > box.top - oy
    ]
    if not touching:
        return None
    x0, y0 = min(m[0] for m in touching), min(m[1] for m in touching)
    x1, y1 = max(m[0] + m[2] for m in touching), max(m[1] + m[3] for m in touching)
    crop = area[y0:y1, x0:x1]
    marks = [(m[0] - x0, m[1] - y0, m[2], m[3], m[4]) for m in touching]
    if not marks:
        return None
    tall = max(mark[3] for mark in marks)
    big = [m for m in marks if m[3] >= 0.8 * tall]
    digits_left = min(m[0] for m in big)
    digits_right = max(m[0] + m[2] for m in big)
    top = min(m[1] for m in big)
    # Raised: small, starting near the digits' top and ending well above their baseline (an
    # x-height letter after a capital ends on it), right of the dollars; two digits, maybe a mark.
    raised = [
        m
        for m in marks
        if m[3] <= SMALL * tall
        and m[1] <= top + RAISED * tall
        and m[1] + m[3] <= top + 0.8 * tall
        and m[0] >= digits_right - 2
    ]
    # Two digits, run together or apart (and maybe a mark): as wide as two digits at least.
    width = max(m[0] + m[2] for m in raised) - min(m[0] for m in raised) if raised else 0
    if not 1 <= len(raised) <= 3 or width < 0.5 * tall:
        return None
    cents_left = min(m[0] for m in raised)
    cents_bottom = max(m[1] + m[3] for m in raised)
    dollars = Image.fromarray(crop[:, digits_left:digits_right]).convert("L")
    # Enlarged smoothly, in gray: blown-up one-bit pixels make a `5` look like a `2`.
    cents = Image.fromarray(crop[: cents_bottom + 1, cents_left:]).convert("L")
    scale = tall / max(cents_bottom - min(m[1] for m in raised), 1)
    size = (max(1, round(cents.width * scale)), max(1, round(cents.height * scale)))
    cents = cents.resize(size, Image.Resampling.LANCZOS)
    whole = Box(ox + x0, oy + y0, x1 - x0, y1 - y0)
    return _Split(word, dollars, cents, whole)


def reread_raised(
    page: PreparedPage, words: list[Word], read: Callable[[PreparedPage], list[Word]]
) -> list[Word]:
    """`words` with every raised-cents price re-read: `$2°°` becomes `$2.99`, boxed whole.

    `read(prepared_page)` is the OCR call (`recognise`, digits only), run once on the strip of all
    such prices of the page, and not at all when there are none.
    """
    if not words:
        return words
    typical = statistics.median(w.box.height for w in words)
    words = _rejoin(words, typical)
    pixels = np.asarray(page.image.convert("1"), dtype=bool)
    splits = [
        split for word in words if _MERGED.match(word.text) and (split := _split(pixels, word)) is not None
    ]
    if not splits:
        return words
    # Each price set again as an ordinary one, `3.59`: dollars, a point, the cents enlarged to the
    # dollars' height, on a row of its own. tesseract reads whole prices best.
    height = max(max(s.dollars.height, s.cents.height) for s in splits) + 2 * PAD
    width = max(s.dollars.width + s.cents.width for s in splits) + 2 * PAD + height
    strip = Image.new("L", (width, height * len(splits)), 255)
    paint = ImageDraw.Draw(strip)
    for row, split in enumerate(splits):
        top = row * height + PAD
        baseline = top + split.dollars.height
        strip.paste(split.dollars, (PAD, top))
        dot = max(3, split.dollars.height // 7)
        x = PAD + split.dollars.width + dot
        paint.rectangle((x, baseline - dot, x + dot, baseline), fill=0)
        strip.paste(split.cents, (x + 2 * dot, baseline - split.cents.height))
    rows: list[list[Word]] = [[] for _ in splits]
    for part in read(PreparedPage(page.number, strip, 1.0, 0.0)):
        row = int(part.box.center_y // height)
        if 0 <= row < len(rows):
            rows[row].append(part)
    fixed = {}
    for split, parts in zip(splits, rows, strict=True):
        text = "".join(p.text for p in sorted(parts, key=lambda p: p.box.left)).lstrip("$")
        if _ALL_DIGITS.match(text):  # the point we drew was not read: the cents are the last two
            text = f"{text[:-2]}.{text[-2:]}"
        if _PRICE.match(text):
            fixed[id(split.word)] = attrs.evolve(split.word, text=f"${text}", box=split.box)
    return [fixed.get(id(w), w) for w in words]


def _rejoin(words: list[Word], typical: float) -> list[Word]:
    """Words with a big dollars word and the small raised word OCR split off it (`$7` `8°`) as one."""
    gone: set[int] = set()
    out = []
    for i, word in enumerate(words):
        if i in gone:
            continue
        box = word.box
        if box.height >= PRICE_HEIGHT * typical and _READ_DOLLARS.match(word.text):
            tail = next(
                (
                    j
                    for j, other in enumerate(words)
                    if j != i
                    and j not in gone
                    and other.box.height <= SMALL * box.height
                    and abs(other.box.top - box.top) <= RAISED * box.height
                    and -0.1 * box.height <= other.box.left - box.right <= 0.6 * box.height
                ),
                None,
            )
            if tail is not None:
                gone.add(tail)
                word = attrs.evolve(word, text=word.text + words[tail].text, box=box.union(words[tail].box))
        out.append(word)
    return out


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
