"""Stage 4: turn the words tesseract (or a PDF's text layer) gave into deals, the store's name and
the dates of the flyer.

1. Words become *phrases*: words side by side on one baseline with word-sized gaps (dotted
   leaders between a name and its price are dropped, so they split the phrase). Big dollars and
   small raised cents are one price (`cents`).
2. Each phrase is cut into *segments* by what its (OCR-corrected) text says: an offer
   (`$1.99`, `2 for $5`, `$0.59/lb`, `99¢ ea`), a modifier (`Save $1.00`, `25% off`, `BOGO`,
   `Reg. $5.49`, `Limit 4`, a lone `/lb` in small type), a pack size (`12 oz`) or a name. Offer
   words alone (`NOW`, `Sale`) are never a name.
3. Names are paired with offers by layout: a name in the same phrase or on the same row to the
   left of the price (list layouts), or above it in the same column (grid cells, cards), nearest
   first. A name wrapped over several lines is joined, and the smaller-set lines under it are
   its description; sizes and modifiers join the deal whose box they sit under, inside or
   beside. A price set much smaller beside a deal's is its struck-out regular price.
4. Each deal is checked for plausibility (`plausible`): doubtful ones are flagged for review.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import attrs

from jobhost_flyer_ocr.cents import join_raised
from jobhost_flyer_ocr.corrections import in_context, normalize_word
from jobhost_flyer_ocr.dates import NAMED_DATES, NUMERIC_DATES, find_dates
from jobhost_flyer_ocr.model import Box, Flyer, Item, Word
from jobhost_flyer_ocr.plausible import review

CENT = Decimal("0.01")

# An offer printed smaller than this share of the page's typical offer is not one.
SMALL_OFFER = 0.7
# How far, in offer heights, a name may sit above its price (a card's tag at its foot).
ABOVE_GAP = 5.0
# A line under a name set smaller than this share of the name's type is its description.
DESCRIPTION_SIZE = 0.85
# Below this tesseract is guessing (dotted leaders, speckles): such words never make a name.
MIN_WORD_CONFIDENCE = 15
_LEADER = re.compile(r"^[.·•…_,:;'`~\-–—]{3,}$")


# -- what a phrase says --------------------------------------------------------------------
_SIZE_UNITS = r"(?:fl\.?\s?oz|oz|lbs?|g|kg|ml|l|ct|pk|pack|rolls?|gal|count)"
# `$1.99`, `$5`, `99¢`, or a bare `1.99` where a price starts (a phrase, or after `for` or `/`):
# inside a line a bare decimal is more often a pack size (`Soup 10.75 oz`), and so is one
# followed by a pack unit (`1.99 lb` stays a price per pound).
_MONEY = (
    r"(?:\$\s?\d{1,4}(?:\.\d{2})?(?!\d)"
    r"|(?:^|(?<=for )|(?<=save )|(?<=/))\d{1,3}\.\d{2}(?![\d.])(?!\s?(?:fl|oz|g|ml|ct|pk|gal)\b)"
    r"|(?<![a-z\d.])\d{1,2}\s?[¢c](?![a-z]))"
)
_OFFER = re.compile(
    rf"(?i)(?:(?P<quantity>\d{{1,2}})\s?(?:for|/)\s?(?P<total>{_MONEY})|(?P<price>{_MONEY}))"
    r"(?:\s?(?:/|per)?\s?(?P<unit>lb|kg|100\s?g|oz|ea|each)\b\.?)?"
)
_SAVE = re.compile(rf"(?i)\bsave\s?(?:up\s?to\s?)?(?P<save>{_MONEY})")
# The regular price beside a deal: `Reg. $5.49`, `Regular $5.49`, `was $5.49`.
_REGULAR = re.compile(rf"(?i)\b(?:reg(?:ular)?\.?(?:\s?price)?|was)[\s:\-–]*(?P<regular>{_MONEY})")
_REGULAR_WORD = re.compile(r"(?i)^(?:reg|regular|was)\b")
_LIMIT = re.compile(r"(?i)\blimit\s?(?P<limit>\d{1,2})\b")
# A unit printed on its own in small type beside or under the price: `/lb`, `per kg`, `/100 g`.
_UNIT_ONLY = re.compile(r"(?i)^(?:/\s?|per\s)?(?P<alone>lb|kg|100\s?g)\.?$")
_PERCENT = re.compile(r"(?i)(?P<percent>\d{1,2})\s?%\s?off\b")
# A lone `1` often reads as `|`, `l` or `I`: `Buy | Get | Free`; small type may lose its end.
_BOGO = re.compile(
    r"(?i)\b(?:bogo|b1g1|buy\s?(?:[1lI|]|one)\s?,?\s?get(?:\s?(?:[1lI|]|one)(?:\s?free)?)?)(?!\w)"
)
# A pack size, maybe with its container: `12 oz`, `750 g jar`.
_SIZE = re.compile(
    rf"(?i)^(?P<size>\d+(?:\.\d+)?\s?{_SIZE_UNITS})\.?(?:\s(?:jar|can|bag|box|bottle|btl|pkg|tub|tin|carton))?$"
)
# A number and a short word alone on a line is a pack size OCR got wrong (`12 thos`, `8 az`).
_SIZE_LIKE = re.compile(rf"(?i)^(?:\d+(?:\.\d+)?\s?[a-z]{{1,4}}|[a-z0-9]{{0,3}}oz|(?:{_SIZE_UNITS}\s?)+)\.?$")
# A name ending in a number and maybe a short word: its pack size, perhaps misread (`7.25 072`).
_TRAILING_SIZE = re.compile(
    rf"(?i)\s(?P<size>\d{{1,3}}(?:\.\d+)?(?:\s?{_SIZE_UNITS}|(?:\s?[a-z0-9]{{1,4}}){{1,2}})?)\.?$"
)


def parse_money(text: str) -> Decimal:
    """`$1.99`, `$5`, `1.99`, `99¢` or `99c` as dollars."""
    text = text.replace(" ", "")
    if text[-1] in "¢cC":
        return (Decimal(text[:-1]) / 100).quantize(CENT)
    return Decimal(text.lstrip("$")).quantize(CENT)


def _unit(text: str | None) -> str:
    if not text or text.lower() in ("ea", "each"):
        return "each"
    text = text.lower()
    return "100 g" if text.startswith("100") else text


@attrs.frozen
class Offer:
    price: Decimal
    quantity: int = 1
    unit: str = "each"


@attrs.frozen
class Modifier:
    save: Decimal | None = None
    percent_off: int | None = None
    bogo: bool = False
    regular: Decimal | None = None
    limit: int | None = None
    unit: str | None = None


@attrs.frozen(eq=False)
class Segment:
    """Part of a phrase: an offer, a modifier, a size or a name, with its words' box."""

    kind: str  # offer | modifier | size | name | date
    text: str
    box: Box
    # The box from the words' median top and bottom: one tall misread word (a border taken
    # into a letter) does not make the line look like two.
    core: Box
    confidence: float
    phrase: int
    value: Offer | Modifier | None = None
    type_size: float = 0.0  # the font's size, from the words' heights and letters (`type_size`)

    @property
    def height(self) -> int:
        return max(self.core.height, 1)


@attrs.frozen(eq=False)
class Phrase:
    words: tuple[Word, ...]
    tokens: tuple[str, ...]

    @property
    def box(self) -> Box:
        box = self.words[0].box
        for word in self.words[1:]:
            box = box.union(word.box)
        return box

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def _has_alnum(word: Word) -> bool:
    return any(ch.isalnum() for ch in word.text)


def phrases(words: Iterable[Word]) -> list[Phrase]:
    """Words joined left to right while they share a baseline and sit a word-gap apart."""
    words = list(words)
    if not words:
        return []
    typical = statistics.median(w.box.height for w in words)
    # Dotted leaders between a name and its price: dots, or flat doubtful "words" read from them.
    kept = [
        w
        for w in words
        if not _LEADER.match(w.text) and (w.box.height >= 0.3 * typical or w.confidence >= 50)
    ]
    groups: list[list[Word]] = []
    for word in sorted(kept, key=lambda w: w.box.left):
        best, best_gap = None, None
        for group in groups:
            last = group[-1]
            a, b = last.box, word.box
            height = max(a.height, b.height, 1)
            gap = b.left - a.right
            same_row = a.top <= b.center_y <= a.bottom or b.top <= a.center_y <= b.bottom
            # Word boxes run from x-height ('oz') to ascender plus descender ('fly'): only a
            # big difference means another font size. Punctuation ('-') joins either way.
            similar = min(a.height, b.height) * 3 >= height or not (_has_alnum(last) and _has_alnum(word))
            close = -0.3 * height <= gap <= 0.8 * height
            if same_row and similar and close and (best_gap is None or gap < best_gap):
                best, best_gap = group, gap
        if best is None:
            groups.append([word])
        else:
            best.append(word)
    found = [Phrase(tuple(g), in_context([normalize_word(w.text) for w in g])) for g in groups]
    return sorted(found, key=lambda p: (p.box.top, p.box.left))


def _segment(index: int, phrase: Phrase) -> list[Segment]:
    """Cut one phrase into what its parts say."""
    text = phrase.text
    starts, position = [], 0
    for token in phrase.tokens:
        starts.append(position)
        position += len(token) + 1
    taken: list[int | None] = [None] * len(phrase.tokens)  # token → the span it belongs to
    spans: list[tuple[int, int, str, Offer | Modifier | None]] = []
    masked = text
    for pattern in (NAMED_DATES, NUMERIC_DATES, _SAVE, _REGULAR, _LIMIT, _UNIT_ONLY, _PERCENT, _BOGO, _OFFER):
        for match in pattern.finditer(masked):
            if match.end() == match.start():
                continue
            spans.append((match.start(), match.end(), *_meaning(pattern, match)))
            masked = masked[: match.start()] + "\0" * (match.end() - match.start()) + masked[match.end() :]
    spans.sort()
    for order, (start, end, _kind, _value) in enumerate(spans):
        for i, token_start in enumerate(starts):
            token_end = token_start + len(phrase.tokens[i])
            if token_start < end and token_end > start and taken[i] is None:
                taken[i] = order
    segments = []
    for order, (_start, _end, kind, value) in enumerate(spans):
        members = [i for i, owner in enumerate(taken) if owner == order]
        if members:
            segments.append(_make(index, phrase, members, kind, value))
    run: list[int] = []
    for i in [*range(len(phrase.tokens)), None]:
        if i is not None and taken[i] is None:
            run.append(i)
            continue
        if run:
            segments.extend(_text_segments(index, phrase, run))
            run = []
    return segments


def _meaning(pattern: re.Pattern[str], match: re.Match[str]) -> tuple[str, Offer | Modifier | None]:
    if pattern in (NAMED_DATES, NUMERIC_DATES):
        return "date", None
    if pattern is _SAVE:
        return "modifier", Modifier(save=parse_money(match["save"]))
    if pattern is _PERCENT:
        return "modifier", Modifier(percent_off=int(match["percent"]))
    if pattern is _BOGO:
        return "modifier", Modifier(bogo=True)
    if pattern is _REGULAR:
        return "modifier", Modifier(regular=parse_money(match["regular"]))
    if pattern is _LIMIT:
        return "modifier", Modifier(limit=int(match["limit"]))
    if pattern is _UNIT_ONLY:
        return "modifier", Modifier(unit=_unit(match["alone"]))
    if match["quantity"]:
        return "offer", Offer(parse_money(match["total"]), int(match["quantity"]), _unit(match["unit"]))
    return "offer", Offer(parse_money(match["price"]), 1, _unit(match["unit"]))


_ASCENDERS = set("bdfhklt0123456789$%&ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DESCENDERS = set("gjpqy,")


def type_size(word: Word) -> float:
    """The size of the type a word is set in, from its box: a word's ink is taller with capitals,
    ascenders (`Butter`) or descenders (`Family`) than in x-height letters alone (`one`)."""
    letters = set(word.text)
    share = 0.53 + 0.2 * bool(letters & _ASCENDERS) + 0.2 * bool(letters & _DESCENDERS)
    return word.box.height / share


def _make(index: int, phrase: Phrase, members: list[int], kind: str, value: object = None) -> Segment:
    words = [phrase.words[i] for i in members]
    box = words[0].box
    for word in words[1:]:
        box = box.union(word.box)
    if kind == "offer":  # the price's own figures, not the small `/lb` or `ea` beside them
        tallest = max(words, key=lambda w: w.box.height).box
        top, bottom = tallest.top, tallest.bottom
    else:
        top = round(statistics.median(w.box.top for w in words))
        bottom = round(statistics.median(w.box.bottom for w in words))
    core = Box(box.left, top, box.width, max(bottom - top, 1))
    text = " ".join(phrase.tokens[i] for i in members)
    confidence = sum(w.confidence for w in words) / len(words) / 100
    size = statistics.median(type_size(w) for w in words)
    return Segment(kind, text, box, core, confidence, index, value, size)  # type: ignore[arg-type]


def _text_segments(index: int, phrase: Phrase, run: list[int]) -> list[Segment]:
    """Runs of plain words: pack sizes and names. Words tesseract barely believes split a run."""
    segments, piece = [], []
    for i in [*run, None]:
        if i is not None and phrase.words[i].confidence >= MIN_WORD_CONFIDENCE:
            piece.append(i)
            continue
        while piece and not any(ch.isalnum() for ch in phrase.tokens[piece[0]]):
            piece.pop(0)
        while piece and not any(ch.isalnum() for ch in phrase.tokens[piece[-1]]):
            piece.pop()
        if piece:
            segments.extend(_classify(index, phrase, piece))
        piece = []
    return segments


# Words printed around prices that are never a product's name on their own.
STOP_WORDS = frozenset(
    {
        *("now", "only", "sale", "reg", "regular", "was", "price", "each", "ea", "special", "specials"),
        *("deal", "deals", "new", "hot", "buy", "get", "free", "limit", "save", "off", "with", "card"),
        *("per", "lb", "kg", "for", "and", "or", "our", "low", "everyday", "great", "value"),
    }
)


def is_stop_phrase(text: str) -> bool:
    words = re.findall(r"[a-z]+", text.lower())
    return bool(words) and all(word in STOP_WORDS for word in words)


def _classify(index: int, phrase: Phrase, run: list[int]) -> list[Segment]:
    """A pack size, a name, a name followed by its size, or nothing worth keeping."""
    text = " ".join(phrase.tokens[i] for i in run)
    if is_stop_phrase(text) or _REGULAR_WORD.match(text):
        return []  # `NOW`, `Sale`, `Reg. $6.4g`: the words of an offer, not a product
    if _SIZE.match(text) or _SIZE_LIKE.match(text):
        return [_make(index, phrase, run, "size")]
    trailing = _TRAILING_SIZE.search(text)
    if trailing:
        size_words = len(trailing["size"].split())
        return [
            *_classify(index, phrase, run[:-size_words]),
            _make(index, phrase, run[-size_words:], "size"),
        ]
    name = _make(index, phrase, run, "name")
    letters = sum(ch.isalpha() for ch in text)
    if (
        letters < 2
        or name.confidence < 0.35
        or (letters <= 3 and name.confidence < 0.8)
        or (len(run) == 1 and name.confidence < 0.5)
    ):
        return []  # a stray mark or a smudge read as a word
    return [name]


# -- pairing by layout ---------------------------------------------------------------------
def _pair_cost(name: Segment, offer: Segment) -> tuple[float, str] | None:
    """How well `name` reads as the name of `offer`'s deal, and where it sits; None if it can't be.

    Costs are gaps measured in offer heights, so they hold at any resolution. A name above the
    price in its column costs its gap; one on the price's row to the left (a list, often far
    from its price) starts at 0.6 and grows slowly with the distance; one below (price-first
    layouts) starts at 1.5, so a cell's own name beats the next cell's.
    """
    if name.phrase == offer.phrase:
        return (0.0, "phrase") if name.box.right <= offer.box.left + offer.height else None
    height = offer.height
    a, b = name.core, offer.core
    rows = _overlap(a.top, a.bottom, b.top, b.bottom) >= 0.4 * min(a.height, b.height)
    if rows and a.right <= b.left + 0.5 * height:
        return 0.6 + 0.02 * (b.left - a.right) / height, "row"
    columns = _overlap(a.left, a.right, b.left, b.right) > 0 or abs(a.left - b.left) < height
    if not columns:
        return None
    if a.bottom <= b.top + 0.3 * height:
        gap = (b.top - a.bottom) / height
        return (gap, "above") if gap <= ABOVE_GAP else None
    if a.top >= b.bottom - 0.3 * height:
        gap = (a.top - b.bottom) / height
        return (1.5 + gap, "below") if gap <= 1.5 else None
    return None


def _joins_above(upper: Segment, lower: Segment) -> bool:
    """Whether `upper` is the previous line of the same wrapped name as `lower`."""
    a, b = upper.core, lower.core
    height = min(a.height, b.height)
    gap = b.top - a.bottom
    # Leading goes with the type: a name over its small description line sits a line apart.
    room = max(height, 0.6 * max(upper.type_size, lower.type_size))
    aligned = abs(a.left - b.left) < height or abs(a.center_x - b.center_x) < height
    similar = 0.6 <= upper.type_size / max(lower.type_size, 1) <= 1.7
    return -0.2 * height <= gap <= room and aligned and similar


def _nearest_item(segment: Segment, items: list[tuple[Box, Box, int]]) -> int | None:
    """The deal a size or modifier belongs to: inside or just under its box, else just above it,
    or on its price's rows just right of the price."""
    best, best_cost = None, None
    s = segment.core
    for box, price, item in items:
        beside = (
            _overlap(price.top, price.bottom, s.top, s.bottom) > 0
            and 0 <= s.left - price.right <= 4 * s.height
        )
        if beside:
            cost = 0.5  # to the right of the deal, on its rows: `Reg. $2.59` beside a price tag
            if best_cost is None or cost < best_cost:
                best, best_cost = item, cost
            continue
        if _overlap(box.left, box.right, s.left, s.right) <= 0 and abs(box.left - s.left) > s.height * 2:
            continue
        if box.top - 0.3 * s.height <= s.center_y <= box.bottom + 0.3 * s.height:
            cost = 0.0
        elif s.top >= box.bottom - 0.3 * s.height:
            cost = (s.top - box.bottom) / s.height
        else:
            cost = 1.0 + (box.top - s.bottom) / s.height
        if cost <= 3.5 and (best_cost is None or cost < best_cost):
            best, best_cost = item, cost
    return best


@attrs.frozen
class PageReading:
    """What one page says: its deals and, when printed, the store and the validity dates."""

    page: int
    items: tuple[Item, ...]
    store: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None


def _store(free_names: list[Segment], names: list[Segment]) -> Segment | None:
    """The store: the largest free name in the top fifth of the page, printed bigger than the deals' names."""
    if not names:
        return None
    top = min(s.core.top for s in names)
    limit = top + (max(s.core.bottom for s in names) - top) * 0.2
    typical = statistics.median(s.height for s in names)
    heads = [s for s in free_names if s.core.top <= limit and s.height >= 1.3 * typical]
    return max(heads, key=lambda s: s.height, default=None)


def _pair(offers: list[Segment], names: list[Segment]) -> tuple[dict[int, list[Segment]], set[int]]:
    """Each offer's name lines (by offer index), nearest pairs first, and the names used."""
    candidates = []
    for o, offer in enumerate(offers):
        for n, name in enumerate(names):
            fit = _pair_cost(name, offer)
            if fit is not None:
                candidates.append((*fit, o, n))
    named: dict[int, list[Segment]] = {}
    above: list[int] = []
    used: set[int] = set()
    for _cost, where, o, n in sorted(candidates):
        if o in named or n in used:
            continue
        named[o] = [names[n]]
        used.add(n)
        if where == "above":
            above.append(o)
    # A name wrapped over lines above its price: join the free lines right above it.
    for lines in (named[o] for o in above):
        while True:
            upper = next(
                (n for n, name in enumerate(names) if n not in used and _joins_above(name, lines[0])), None
            )
            if upper is None:
                break
            used.add(upper)
            lines.insert(0, names[upper])
    return named, used


def _name_and_description(lines: list[Segment]) -> tuple[list[Segment], list[Segment]]:
    """A deal's lines, top to bottom, cut where the type gets smaller: the name, then its
    description (`Large Eggs` over `Selected Varieties`)."""
    for k in range(1, len(lines)):
        if lines[k].type_size < DESCRIPTION_SIZE * max(line.type_size for line in lines[:k]):
            return lines[:k], lines[k:]
    return lines, []


def _regular(value: Decimal | None, text: str, unit_price: Decimal) -> Decimal | None:
    """A regular price as read; the line through a struck-out one often costs its decimal point
    (`$1.49` read as `$149`)."""
    if value is not None and "." not in text and value >= 100 * unit_price:
        return (value / 100).quantize(CENT)
    return value


def _item(offer: Segment, lines: list[Segment], extras: list[Segment], page: int, scale: float) -> Item:
    assert isinstance(offer.value, Offer)
    price, quantity, unit = offer.value.price, offer.value.quantity, offer.value.unit
    size, save, percent, bogo, regular, limit = None, None, None, False, None, None
    for extra in extras:
        if extra.kind == "size":
            size = size or extra.text
        elif isinstance(extra.value, Modifier):
            value = extra.value
            save, percent, bogo = value.save or save, value.percent_off or percent, bogo or value.bogo
            regular, limit = (
                _regular(value.regular, extra.text, price / quantity) or regular,
                value.limit or limit,
            )
            if value.unit and unit == "each" and quantity == 1:
                unit = value.unit  # `/lb` in small type under the cents
        elif isinstance(extra.value, Offer) and regular is None:
            regular = _regular(extra.value.price, extra.text, price / quantity)  # a smaller price beside
    if bogo and quantity == 1:
        quantity = 2  # the price buys two
    if regular is not None and regular <= price / quantity:
        regular = None  # not a regular price: a deal is cheaper than it
    box = offer.box
    for line in lines:
        box = box.union(line.box)
    names, description = _name_and_description(lines)
    parts = [offer, *lines]
    return Item(
        name=" ".join(line.text for line in names).strip(" -:,."),
        price=price,
        quantity=quantity,
        unit=unit,
        unit_price=(price / quantity).quantize(CENT, ROUND_HALF_UP),
        size=size,
        save=save,
        percent_off=percent,
        bogo=bogo,
        page=page,
        box=box.scaled(1 / scale),
        confidence=sum(p.confidence for p in parts) / len(parts),
        regular_price=regular,
        description=" ".join(line.text for line in description).strip(" -:,.") or None,
        limit=limit,
    )


def read_page(
    words: Sequence[Word], *, page: int = 1, scale: float = 1.0, today: date | None = None
) -> PageReading:
    """The deals on one page; boxes are divided by `scale` to be in the loaded page's pixels."""
    found = phrases(join_raised(words))
    segments = [segment for index, phrase in enumerate(found) for segment in _segment(index, phrase)]
    valid_from, valid_to = find_dates((p.text for p in found), today)
    offers = [s for s in segments if s.kind == "offer"]
    small: list[Segment] = []
    if len(offers) >= 3:
        # Prices share a big font; a "price" far smaller is a struck-out regular price beside
        # one (`$5.49`), or a pack size OCR turned into one (`52 fl oz` read as `$2 floz`).
        typical = statistics.median(offer.height for offer in offers)
        small = [offer for offer in offers if offer.height < SMALL_OFFER * typical]
        offers = [offer for offer in offers if offer.height >= SMALL_OFFER * typical]
    names = [s for s in segments if s.kind == "name"]
    named, used = _pair(offers, names)
    store = _store([name for n, name in enumerate(names) if n not in used], names)

    deals = sorted(named.items())
    boxes = []
    for i, (o, lines) in enumerate(deals):
        box = offers[o].core
        for line in lines:
            box = box.union(line.core)
        boxes.append((box, offers[o].core, i))
    extras: dict[int, list[Segment]] = {}
    regulars = [offer for offer in small if "$" in offer.text]
    for segment in [*segments, *regulars]:
        if segment.kind in ("size", "modifier") or segment in regulars:
            owner = _nearest_item(segment, boxes)
            if owner is not None:
                extras.setdefault(owner, []).append(segment)
    items = [_item(offers[o], lines, extras.get(i, []), page, scale) for i, (o, lines) in enumerate(deals)]
    items.sort(key=lambda item: (item.box.top, item.box.left))
    return PageReading(page, review(items), store.text if store else None, valid_from, valid_to)


def combine(readings: Sequence[PageReading]) -> Flyer:
    """The flyer from its pages: every page's deals; the store and dates the first page that prints them."""
    store = next((r.store for r in readings if r.store), None)
    dated = next((r for r in readings if r.valid_from), None)
    return Flyer(
        store=store,
        valid_from=dated.valid_from if dated else None,
        valid_to=dated.valid_to if dated else None,
        pages=len(readings),
        items=tuple(item for reading in readings for item in reading.items),
    )
