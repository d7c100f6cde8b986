"""Test flyers: grocery flyer pages drawn with Pillow, and the true items printed on each.

`make_flyer(seed)` draws a flyer (grid or list layout, one of several fonts, plain, per-unit,
multi-buy, BOGO, save and percent-off offers) and returns its pages with the truth. `degrade`
makes the rotated, blurred, JPEG-compressed and noisy variants a phone photo or a scan gives.
`encode` writes pages as PNG, JPEG, WebP, TIFF or a PDF (every page). The tests and the
benchmarks (`bench/extraction.py`, `bench/ocr.py`) share this one source of truth.

Fonts come from the Debian packages fonts-dejavu-core and fonts-liberation.
"""

from __future__ import annotations

import io
import math
import random
import struct
import zlib
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import attrs
import numpy as np
from PIL import Image, ImageColor, ImageDraw, ImageFilter, ImageFont

FONT_DIRS = (Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
# (regular, bold) file names: sans, serif, narrow and condensed faces.
FONTS = {
    "dejavu-sans": ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    "liberation-sans": ("LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf"),
    "liberation-serif": ("LiberationSerif-Regular.ttf", "LiberationSerif-Bold.ttf"),
    "dejavu-serif": ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf"),
    "liberation-narrow": ("LiberationSansNarrow-Regular.ttf", "LiberationSansNarrow-Bold.ttf"),
    "dejavu-condensed": ("DejaVuSansCondensed.ttf", "DejaVuSansCondensed-Bold.ttf"),
}
PAGE_SIZE = (1275, 1650)  # US letter at 150 dpi
PT = 72 / 150  # PDF points per page pixel
STORES = (
    "FreshMart",
    "Green Valley Market",
    "Sunrise Foods",
    "Maple Grocers",
    "Harbor Fresh",
    "Village Market",
)
PANELS = ((255, 255, 255), (255, 249, 196), (225, 240, 255), (255, 232, 236), (232, 248, 232))

# (name, kind, low, high, size): kind picks the offers that suit the product.
CATALOG = (
    ("Bananas", "produce", "0.49", "0.79", None),
    ("Gala Apples", "produce", "0.99", "1.99", None),
    ("Navel Oranges", "produce", "0.89", "1.49", None),
    ("Red Seedless Grapes", "produce", "1.49", "2.99", None),
    ("Russet Potatoes", "produce", "0.59", "0.99", None),
    ("Yellow Onions", "produce", "0.69", "1.19", None),
    ("Roma Tomatoes", "produce", "0.99", "1.79", None),
    ("Green Bell Peppers", "produce", "0.79", "1.29", None),
    ("Broccoli Crowns", "produce", "1.29", "1.99", None),
    ("Hass Avocados", "each", "0.79", "1.49", None),
    ("Seedless Cucumbers", "each", "0.89", "1.29", None),
    ("Iceberg Lettuce", "each", "0.99", "1.69", None),
    ("Sweet Corn", "each", "0.33", "0.50", None),
    ("Fresh Strawberries", "pantry", "2.49", "3.99", "1 lb"),
    ("Blueberries", "pantry", "2.99", "4.49", "11 oz"),
    ("Baby Carrots", "pantry", "0.99", "1.49", "16 oz"),
    ("Organic Baby Spinach", "pantry", "2.99", "4.29", "5 oz"),
    ("Boneless Chicken Breast", "meat", "1.99", "3.49", None),
    ("Chicken Drumsticks", "meat", "0.99", "1.59", None),
    ("Lean Ground Beef", "meat", "3.49", "5.99", None),
    ("Pork Tenderloin", "meat", "2.49", "3.99", None),
    ("Atlantic Salmon Fillets", "meat", "7.99", "11.99", None),
    ("Beef Sirloin Steak", "meat", "5.99", "8.99", None),
    ("Pork Back Ribs", "meat", "2.99", "4.49", None),
    ("Black Forest Ham", "deli", "0.99", "1.79", None),
    ("Oven Roasted Turkey", "deli", "1.09", "1.89", None),
    ("Swiss Cheese", "deli", "1.29", "1.99", None),
    ("Genoa Salami", "deli", "1.49", "2.29", None),
    ("Large Brown Eggs", "pantry", "2.49", "3.99", "12 ct"),
    ("2% Reduced Fat Milk", "pantry", "2.99", "3.99", "1 gal"),
    ("Greek Yogurt", "multi", "0.89", "1.25", "5.3 oz"),
    ("Salted Butter", "pantry", "3.49", "4.99", "16 oz"),
    ("Sharp Cheddar Cheese", "pantry", "2.49", "3.99", "8 oz"),
    ("Cream Cheese", "multi", "1.49", "2.49", "8 oz"),
    ("Orange Juice", "pantry", "2.99", "4.49", "52 fl oz"),
    ("Whole Wheat Bread", "multi", "1.99", "2.99", "20 oz"),
    ("Plain Bagels", "pantry", "2.49", "3.49", "6 ct"),
    ("Honey Nut Cereal", "multi", "2.49", "3.99", "12 oz"),
    ("Old Fashioned Oats", "pantry", "2.99", "4.49", "42 oz"),
    ("Spaghetti Pasta", "multi", "0.89", "1.49", "16 oz"),
    ("Marinara Sauce", "multi", "1.99", "2.99", "24 oz"),
    ("Long Grain White Rice", "pantry", "1.99", "3.49", "2 lb"),
    ("Black Beans", "multi", "0.69", "1.09", "15 oz"),
    ("Chicken Noodle Soup", "multi", "0.99", "1.49", "10.75 oz"),
    ("Creamy Peanut Butter", "pantry", "2.29", "3.49", "16 oz"),
    ("Strawberry Jam", "pantry", "2.49", "3.29", "18 oz"),
    ("Extra Virgin Olive Oil", "pantry", "6.99", "9.99", "17 fl oz"),
    ("Ground Coffee", "pantry", "5.99", "8.99", "12 oz"),
    ("Green Tea Bags", "pantry", "2.49", "3.99", "20 ct"),
    ("Sparkling Water", "multi", "3.49", "4.99", "8 pk"),
    ("Cola Soft Drink", "multi", "4.99", "6.99", "12 pk"),
    ("Apple Juice", "pantry", "2.49", "3.49", "64 fl oz"),
    ("Potato Chips", "multi", "2.99", "4.29", "8 oz"),
    ("Tortilla Chips", "multi", "2.49", "3.99", "13 oz"),
    ("Chocolate Chip Cookies", "pantry", "2.99", "4.49", "13 oz"),
    ("Vanilla Ice Cream", "pantry", "3.49", "5.99", "48 oz"),
    ("Frozen Pepperoni Pizza", "multi", "4.99", "6.99", "21 oz"),
    ("Frozen Mixed Vegetables", "multi", "1.29", "1.99", "12 oz"),
    ("Fish Sticks", "pantry", "3.99", "5.49", "24 oz"),
    ("Paper Towels", "pantry", "5.99", "9.99", "6 rolls"),
    ("Bath Tissue", "pantry", "6.99", "11.99", "12 rolls"),
    ("Laundry Detergent", "pantry", "7.99", "12.99", "92 fl oz"),
    ("Dish Soap", "multi", "1.99", "3.49", "19.4 fl oz"),
    ("Dog Food", "pantry", "9.99", "17.99", "15 lb"),
    ("Shredded Mozzarella", "multi", "2.49", "3.49", "8 oz"),
    ("Sliced Almonds", "pantry", "3.49", "4.99", "6 oz"),
    ("Canned Tuna", "multi", "0.99", "1.59", "5 oz"),
    ("Maple Syrup", "pantry", "6.49", "9.99", "12 fl oz"),
    ("Flour Tortillas", "multi", "2.29", "3.29", "10 ct"),
    ("Mac and Cheese", "multi", "0.99", "1.49", "7.25 oz"),
)
HEADINGS = ("PRODUCE", "MEAT & SEAFOOD", "DELI", "DAIRY", "PANTRY", "FROZEN", "HOUSEHOLD")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
CENT = Decimal("0.01")


@attrs.frozen
class TrueItem:
    """One deal as printed; `offer` is the price text, `extra` the line under it (or None)."""

    name: str
    price: Decimal
    quantity: int = 1
    unit: str = "each"
    size: str | None = None
    save: Decimal | None = None
    percent_off: int | None = None
    bogo: bool = False
    page: int = 1
    offer: str = ""
    extra: str | None = None
    regular_price: Decimal | None = None
    description: str | None = None
    limit: int | None = None

    @property
    def unit_price(self) -> Decimal:
        return (self.price / self.quantity).quantize(CENT, ROUND_HALF_UP)


@attrs.frozen(eq=False)
class TestFlyer:
    __test__ = False  # not a pytest test class

    name: str
    pages: list[Image.Image]
    items: list[TrueItem]
    store: str
    valid_from: date
    valid_to: date
    layout: str
    font: str
    canvases: list[Canvas] = attrs.field(factory=list)


class Canvas:
    """A page drawn with Pillow that also records its drawing as PDF operators (`text_pdf`), so
    one layout gives both a raster page and a born-digital PDF page with a real text layer.

    The PDF uses the standard Helvetica and Times faces (no embedding): the Liberation faces
    share their metrics, so born-digital flyers are laid out in those.
    """

    def __init__(self, size: tuple[int, int] = PAGE_SIZE, fill: object = "white") -> None:
        self.image = Image.new("RGB", size, fill)  # type: ignore[arg-type]
        self.draw = ImageDraw.Draw(self.image)
        self.ops: list[bytes] = []
        self.photos: list[tuple[Image.Image, tuple[int, int]]] = []

    def _y(self, y: float) -> float:
        return (self.image.height - y) * PT

    @staticmethod
    def _colour(fill: object, op: str) -> bytes:
        rgb = ImageColor.getrgb(fill) if isinstance(fill, str) else fill
        red, green, blue = (channel / 255 for channel in rgb[:3])  # type: ignore[index]
        return f"{red:.3f} {green:.3f} {blue:.3f} {op}".encode()

    def textlength(self, text: str, font: ImageFont.FreeTypeFont) -> float:
        return self.draw.textlength(text, font=font)

    def text(self, xy: tuple[float, float], text: str, font: ImageFont.FreeTypeFont, fill: object) -> None:
        self.draw.text(xy, text, font=font, fill=fill)  # type: ignore[arg-type]
        face = "/F2" if "Bold" in font.path else "/F1"  # type: ignore[attr-defined]
        if "Serif" in font.path:  # type: ignore[attr-defined]
            face = "/F4" if "Bold" in font.path else "/F3"  # type: ignore[attr-defined]
        baseline = xy[1] + font.getmetrics()[0]
        escaped = text.encode("cp1252").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
        self.ops.append(
            b"BT %s %s %.2f Tf %.2f %.2f Td (%s) Tj ET"
            % (
                self._colour(fill, "rg"),
                face.encode(),
                font.size * PT,
                xy[0] * PT,
                self._y(baseline),
                escaped,
            )
        )

    def rectangle(
        self, box: tuple[float, float, float, float], fill: object = None, outline: object = None
    ) -> None:
        self.draw.rectangle(box, fill=fill, outline=outline)  # type: ignore[arg-type]
        left, top, right, bottom = box
        path = b"%.2f %.2f %.2f %.2f re" % (
            left * PT,
            self._y(bottom),
            (right - left) * PT,
            (bottom - top) * PT,
        )
        if fill is not None:
            self.ops.append(self._colour(fill, "rg") + b" " + path + b" f")
        if outline is not None:
            self.ops.append(self._colour(outline, "RG") + b" 0.5 w " + path + b" S")

    def polygon(self, points: list[tuple[float, float]], fill: object) -> None:
        self.draw.polygon(points, fill=fill)  # type: ignore[arg-type]
        path = b" ".join(
            b"%.2f %.2f %s" % (x * PT, self._y(y), b"l" if i else b"m") for i, (x, y) in enumerate(points)
        )
        self.ops.append(self._colour(fill, "rg") + b" " + path + b" h f")

    def line(self, xy: tuple[float, float, float, float], fill: object, width: int = 1) -> None:
        self.draw.line(xy, fill=fill, width=width)  # type: ignore[arg-type]
        x0, y0, x1, y1 = xy
        self.ops.append(
            self._colour(fill, "RG")
            + b" %.2f w %.2f %.2f m %.2f %.2f l S" % (width * PT, x0 * PT, self._y(y0), x1 * PT, self._y(y1))
        )

    def paste(self, photo: Image.Image, xy: tuple[int, int]) -> None:
        self.image.paste(photo, xy)
        self.photos.append((photo, xy))


def font_path(file_name: str) -> Path:
    for root in FONT_DIRS:
        found = next(root.rglob(file_name), None) if root.is_dir() else None
        if found:
            return found
    raise FileNotFoundError(
        f"font {file_name} not found under {', '.join(map(str, FONT_DIRS))}; "
        "install the Debian packages fonts-dejavu-core and fonts-liberation"
    )


def _font(face: str, bold: bool, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(FONTS[face][bold])), size)


def _money(value: Decimal) -> str:
    return f"${value:.2f}"


def _pick_price(rng: random.Random, low: str, high: str) -> Decimal:
    cents = rng.randint(int(Decimal(low) * 100), int(Decimal(high) * 100))
    # Flyer prices end in 9 (1.99, 0.49) or are round multi-buy totals.
    return (Decimal(cents - cents % 10 + 9) / 100).quantize(CENT)


def _offer(rng: random.Random, name: str, kind: str, low: str, high: str, size: str | None) -> TrueItem:
    """Pick how this product's deal is printed, and its true fields."""
    price = _pick_price(rng, low, high)
    if kind == "produce":
        unit = rng.choice(("lb", "lb", "kg"))
        if unit == "kg":
            price = (price * Decimal("2.2")).quantize(Decimal("0.1")) + Decimal("0.09")
        text = rng.choice(
            (f"{_money(price)}/{unit}", f"{_money(price)} {unit}", f"{_money(price)} per {unit}")
        )
        return TrueItem(name, price, unit=unit, offer=text)
    if kind == "meat":
        unit = rng.choice(("lb", "kg"))
        if unit == "kg":
            price = (price * Decimal("2.2")).quantize(Decimal("0.1")) + Decimal("0.09")
        return TrueItem(name, price, unit=unit, offer=f"{_money(price)}/{unit}")
    if kind == "deli":
        return TrueItem(name, price, unit="100 g", offer=f"{_money(price)}/100 g")
    if kind == "each":
        if price < 1 and rng.random() < 0.5:
            return TrueItem(name, price, offer=f"{int(price * 100)}¢ ea")
        return TrueItem(name, price, offer=rng.choice((f"{_money(price)} ea", f"{_money(price)} each")))
    if kind == "multi" and rng.random() < 0.7:
        quantity = rng.choice((2, 2, 3, 4, 5, 10))
        # Multi-buy totals are whole dollars, printed as `$5` or `$5.00`.
        total = Decimal(max(1, round(float(price) * quantity * 0.9)))
        money = rng.choice((f"${total}", _money(total)))
        text = rng.choice((f"{quantity} for {money}", f"{quantity}/{money}"))
        return TrueItem(name, total.quantize(CENT), quantity=quantity, size=size, offer=text)
    roll = rng.random()
    if roll < 0.2:
        return TrueItem(
            name,
            price,
            quantity=2,
            size=size,
            bogo=True,
            offer=_money(price),
            extra=rng.choice(("Buy 1 Get 1 Free", "BOGO")),
        )
    if roll < 0.4:
        save = Decimal(rng.choice(("0.50", "1.00", "1.50", "2.00")))
        return TrueItem(name, price, size=size, save=save, offer=_money(price), extra=f"Save {_money(save)}")
    if roll < 0.55:
        percent = rng.choice((10, 20, 25, 30, 40))
        return TrueItem(
            name, price, size=size, percent_off=percent, offer=_money(price), extra=f"{percent}% off"
        )
    return TrueItem(name, price, size=size, offer=_money(price))


def _dates(rng: random.Random) -> tuple[date, date, str]:
    start = date(2026, 1, 1) + timedelta(days=rng.randint(0, 330))
    end = start + timedelta(days=6)
    style = rng.randrange(3)
    if style == 0:
        first, last = MONTHS[start.month - 1], MONTHS[end.month - 1]
        text = f"Prices valid {first} {start.day} - {last} {end.day}, {end.year}"
    elif style == 1:
        text = f"Sale dates: {start:%m/%d/%Y} - {end:%m/%d/%Y}"
    else:
        text = f"Valid {start:%B} {start.day} through {end:%B} {end.day}, {end.year}"
    return start, end, text


def _wrap(draw: Canvas, text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _header(draw: Canvas, face: str, store: str, dates: str, page: int) -> int:
    """Draw the store name, a banner and the dates; return where the body starts."""
    width = PAGE_SIZE[0]
    y = 40
    for text, font in (
        (store, _font(face, True, 68)),
        ("Weekly Specials" if page == 1 else f"More Weekly Specials - Page {page}", _font(face, False, 34)),
        (dates, _font(face, False, 28)),
    ):
        length = draw.textlength(text, font=font)
        draw.text(((width - length) / 2, y), text, font=font, fill=(20, 20, 20))
        y += font.size + 18
    draw.line((50, y, width - 50, y), fill=(120, 120, 120), width=3)
    return y + 30


def _grid_page(
    rng: random.Random, face: str, store: str, dates: str, items: list[TrueItem], page: int
) -> Canvas:
    draw = Canvas()
    top = _header(draw, face, store, dates, page)
    cols = 3 if len(items) > 8 else 2
    rows = -(-len(items) // cols)
    gap, margin = 24, 50
    cell_w = (PAGE_SIZE[0] - 2 * margin - (cols - 1) * gap) // cols
    cell_h = min(330, (PAGE_SIZE[1] - top - margin - (rows - 1) * gap) // rows)
    name_font = _font(face, False, 32 if cols == 3 else 36)
    size_font = _font(face, False, 24)
    price_font = _font(face, True, 52)
    extra_font = _font(face, True, 28)
    for index, item in enumerate(items):
        row, col = divmod(index, cols)
        left = margin + col * (cell_w + gap)
        cell_top = top + row * (cell_h + gap)
        fill = rng.choice(PANELS)
        draw.rectangle((left, cell_top, left + cell_w, cell_top + cell_h), fill=fill, outline=(150, 150, 150))
        y = cell_top + 16
        for line in _wrap(draw, item.name, name_font, cell_w - 32):
            draw.text((left + 16, y), line, font=name_font, fill=(10, 10, 10))
            y += name_font.size + 8
        if item.size:
            draw.text((left + 16, y), item.size, font=size_font, fill=(70, 70, 70))
            y += size_font.size + 8
        y += 10
        draw.text((left + 16, y), item.offer, font=price_font, fill=(170, 0, 0))
        y += price_font.size + 12
        if item.extra:
            draw.text((left + 16, y), item.extra, font=extra_font, fill=(0, 90, 0))
    return draw


def _list_page(
    rng: random.Random, face: str, store: str, dates: str, items: list[TrueItem], page: int
) -> Canvas:
    draw = Canvas()
    y = _header(draw, face, store, dates, page)
    name_font = _font(face, False, 32)
    small_font = _font(face, False, 24)
    price_font = _font(face, True, 36)
    heading_font = _font(face, True, 40)
    leaders = rng.random() < 0.5
    headings = iter(rng.sample(HEADINGS, len(HEADINGS)))
    right = PAGE_SIZE[0] - 60
    for index, item in enumerate(items):
        if index % 5 == 0:
            y += 10
            draw.text((60, y), next(headings), font=heading_font, fill=(0, 60, 140))
            y += heading_font.size + 16
        label = f"{item.name} {item.size}" if item.size else item.name
        draw.text((60, y), label, font=name_font, fill=(10, 10, 10))
        offer_width = draw.textlength(item.offer, font=price_font)
        draw.text((right - offer_width, y - 2), item.offer, font=price_font, fill=(170, 0, 0))
        if leaders:
            start = 60 + draw.textlength(label, font=name_font) + 20
            dots = "." * int((right - offer_width - 30 - start) / draw.textlength(".", font=name_font))
            draw.text((start, y), dots, font=name_font, fill=(150, 150, 150))
        y += name_font.size + 12
        if item.extra:
            draw.text((90, y), item.extra, font=small_font, fill=(0, 90, 0))
            y += small_font.size + 10
        y += 14
    return draw


DESCRIPTIONS = (
    "Selected Varieties",
    "Fresh, Never Frozen",
    "Grade A",
    "Family Pack",
    "Product of Canada",
    "Assorted Flavours",
    "Imported",
    "Club Size",
)
LIMITS = (2, 4, 6)


def _styled_offer(
    rng: random.Random, name: str, kind: str, low: str, high: str, size: str | None
) -> TrueItem:
    """A deal for the newer layouts: often a regular price beside the sale price, sometimes a
    description, a limit, a saving, a multi-buy or BOGO; the layout draws the price itself."""
    item = _offer(rng, name, kind, low, high, size)
    if item.unit == "kg":  # the newer layouts print per-kg prices as flyers do: `$5.49 /kg`
        item = attrs.evolve(item, price=item.price.quantize(CENT))
    regular = None
    if item.quantity == 1 and not item.bogo and rng.random() < 0.6:
        regular = (item.price * Decimal(rng.choice(("1.25", "1.4", "1.6")))).quantize(
            Decimal("0.1")
        ) + Decimal("0.09")
    description = rng.choice(DESCRIPTIONS) if rng.random() < 0.6 else None
    limit = rng.choice(LIMITS) if rng.random() < 0.2 else None
    return attrs.evolve(item, regular_price=regular, description=description, limit=limit)


def _unit_text(item: TrueItem) -> str | None:
    return {"lb": "/lb", "kg": "/kg", "100 g": "/100 g"}.get(item.unit) or (
        "ea" if "ea" in item.offer.split() or item.offer.endswith(" each") else None
    )


def _draw_price(
    draw: Canvas,
    xy: tuple[float, float],
    item: TrueItem,
    size: int,
    face: str,
    fill: object,
    raised: bool,
) -> tuple[float, float]:
    """The sale price at `xy`: `$2⁹⁹` (big dollars, small raised cents, the unit in small type
    under the cents) when `raised`, else `$2.99 /lb`; multi-buys as `2/$5`. Returns its width
    and height."""
    x, y = xy
    big, small = _font(face, True, size), _font(face, True, size // 2)
    if item.quantity > 1 and not item.bogo:
        text = f"{item.quantity}/${item.price:.0f}" if item.price == item.price.to_integral() else item.offer
        draw.text((x, y), text, font=big, fill=fill)
        return draw.textlength(text, big), size
    unit = _unit_text(item)
    dollars, cents = divmod(int(item.price * 100), 100)
    if not raised:
        text = f"${item.price:.2f}"
        draw.text((x, y), text, font=big, fill=fill)
        width = draw.textlength(text, big)
        if unit:
            draw.text((x + width + size // 6, y + size * 0.45), unit, font=small, fill=fill)
            width += size // 6 + draw.textlength(unit, small)
        return width, size
    if dollars == 0:
        text = f"{cents}¢"
        draw.text((x, y), text, font=big, fill=fill)
        width = draw.textlength(text, big)
        if unit:
            draw.text((x + width + size // 8, y + size * 0.45), unit, font=small, fill=fill)
            width += size // 8 + draw.textlength(unit, small)
        return width, size
    # Everything raised is top-aligned with the dollars' digits, as flyers set it.
    digit_top = y + big.getmetrics()[0] + big.getbbox("8", anchor="ls")[1]
    raised_y = digit_top - small.getmetrics()[0] - small.getbbox("8", anchor="ls")[1]
    draw.text((x, raised_y), "$", font=small, fill=fill)
    x1 = x + draw.textlength("$", small) + 2
    draw.text((x1, y), str(dollars), font=big, fill=fill)
    x2 = x1 + draw.textlength(str(dollars), big) + 3
    cents_top = raised_y
    draw.text((x2, cents_top), f"{cents:02d}", font=small, fill=fill)
    width = x2 + draw.textlength(f"{cents:02d}", small) - x
    if unit:
        draw.text(
            (x2, cents_top + small.size * 1.25), unit, font=_font(face, False, size * 7 // 20), fill=fill
        )
        width = max(width, x2 - x + draw.textlength(unit, _font(face, False, size * 7 // 20)))
    return width, size


def _struck(
    draw: Canvas, xy: tuple[float, float], text: str, font: ImageFont.FreeTypeFont, fill: object
) -> None:
    """A regular price as flyers print it: struck out."""
    draw.text(xy, text, font=font, fill=fill)
    middle = xy[1] + font.getmetrics()[0] * 0.62
    draw.line((xy[0] - 2, middle, xy[0] + draw.textlength(text, font) + 2, middle), fill=fill, width=2)


def _extras(item: TrueItem) -> list[str]:
    lines = [item.extra] if item.extra else []
    if item.limit:
        lines.append(f"Limit {item.limit}")
    return lines


def _superscript_page(
    rng: random.Random, face: str, store: str, dates: str, items: list[TrueItem], page: int
) -> Canvas:
    """Cells like the grid's, the price set with big dollars and small raised cents."""
    draw = Canvas()
    top = _header(draw, face, store, dates, page)
    cols = 3 if len(items) > 8 else 2
    rows = -(-len(items) // cols)
    gap, margin = 24, 50
    cell_w = (PAGE_SIZE[0] - 2 * margin - (cols - 1) * gap) // cols
    cell_h = min(340, (PAGE_SIZE[1] - top - margin - (rows - 1) * gap) // rows)
    name_font, small_font = _font(face, False, 32 if cols == 3 else 36), _font(face, False, 24)
    for index, item in enumerate(items):
        row, col = divmod(index, cols)
        left, cell_top = margin + col * (cell_w + gap), top + row * (cell_h + gap)
        draw.rectangle(
            (left, cell_top, left + cell_w, cell_top + cell_h),
            fill=rng.choice(PANELS),
            outline=(150, 150, 150),
        )
        y = cell_top + 16
        for text in _wrap(draw, item.name, name_font, cell_w - 32):
            draw.text((left + 16, y), text, font=name_font, fill=(10, 10, 10))
            y += name_font.size + 8
        if item.size:
            draw.text((left + 16, y), item.size, font=small_font, fill=(70, 70, 70))
            y += small_font.size + 8
        _, height = _draw_price(draw, (left + 16, y + 8), item, 64, face, (170, 0, 0), raised=True)
        y += height + 24
        if item.regular_price:
            draw.text((left + 16, y), f"Reg. ${item.regular_price:.2f}", font=small_font, fill=(90, 90, 90))
            y += small_font.size + 6
        for text in _extras(item):
            draw.text((left + 16, y), text, font=small_font, fill=(0, 90, 0))
            y += small_font.size + 6
    return draw


def _wasnow_page(
    rng: random.Random, face: str, store: str, dates: str, items: list[TrueItem], page: int
) -> Canvas:
    """Rows: the name (and size), the regular price struck out or after `Reg.`/`was`, then `NOW`
    or `Sale` and the deal in big red type."""
    draw = Canvas()
    y = _header(draw, face, store, dates, page) + 10
    name_font, reg_font = _font(face, False, 32), _font(face, False, 26)
    tag_font, small_font = _font(face, True, 30), _font(face, False, 22)
    right = PAGE_SIZE[0] - 60
    for item in items:
        label = f"{item.name} {item.size}" if item.size else item.name
        draw.text((60, y + 6), label, font=name_font, fill=(10, 10, 10))
        sale_word = rng.choice(("NOW", "Sale", "NOW ONLY")) if item.regular_price else None
        probe = Canvas((10, 10))
        width, _ = _draw_price(probe, (0, 0), item, 42, face, (170, 0, 0), raised=False)
        x = right - width
        _draw_price(draw, (x, y), item, 42, face, (170, 0, 0), raised=False)
        if sale_word:
            x -= draw.textlength(sale_word, tag_font) + 14
            draw.text((x, y + 8), sale_word, font=tag_font, fill=(170, 0, 0))
        if item.regular_price:
            regular = rng.choice(
                (
                    f"Reg. ${item.regular_price:.2f}",
                    f"was ${item.regular_price:.2f}",
                    f"${item.regular_price:.2f}",
                )
            )
            x -= draw.textlength(regular, reg_font) + 40
            if regular.startswith("$"):
                _struck(draw, (x, y + 10), regular, reg_font, (90, 90, 90))
            else:
                draw.text((x, y + 10), regular, font=reg_font, fill=(90, 90, 90))
        y += 56
        for text in _extras(item):
            draw.text((90, y), text, font=small_font, fill=(0, 90, 0))
            y += small_font.size + 8
        draw.line((60, y + 4, right, y + 4), fill=(210, 210, 210), width=1)
        y += 18
    return draw


def _photo(rng: random.Random, size: int) -> Image.Image:
    """A stand-in product photo: a lit, coloured blob on a soft background, with texture."""
    hue = rng.choice(((200, 40, 40), (240, 170, 30), (90, 160, 60), (150, 90, 50), (230, 220, 200)))
    photo = Image.new("RGB", (size, size), tuple(min(255, c + 60) for c in hue[::-1]))  # type: ignore[arg-type]
    paint = ImageDraw.Draw(photo)
    for step in range(12):
        inset = size * (0.12 + step * 0.025)
        shade = tuple(max(0, min(255, c + step * 8 - 40)) for c in hue)
        paint.ellipse((inset + rng.uniform(-4, 4), inset, size - inset, size - inset * 0.8), fill=shade)  # type: ignore[arg-type]
    noise = Image.effect_noise((size, size), 30).convert("RGB")
    return Image.blend(photo, noise, 0.12).filter(ImageFilter.GaussianBlur(1))


def _tag(draw: Canvas, rng: random.Random, box: tuple[float, float, float, float], fill: object) -> None:
    """A price tag: a rectangle or a starburst."""
    if rng.random() < 0.6:
        draw.rectangle(box, fill=fill)
        return
    left, top, right, bottom = box
    cx, cy, rx, ry = (left + right) / 2, (top + bottom) / 2, (right - left) / 2 + 14, (bottom - top) / 2 + 14
    points = []
    for i in range(32):
        angle = math.pi * i / 16
        reach = 1.0 if i % 2 == 0 else 0.86
        points.append((cx + rx * reach * math.cos(angle), cy + ry * reach * math.sin(angle)))
    draw.polygon(points, fill=fill)


def _cards_page(
    rng: random.Random, face: str, store: str, dates: str, items: list[TrueItem], page: int
) -> Canvas:
    """Cards: a product photo beside the name, a description and a size line under the name,
    the price white on a red (or dark) tag, the regular price struck out beside it, clutter."""
    draw = Canvas()
    top = _header(draw, face, store, dates, page)
    cols, margin, gap = 2, 50, 30
    rows = -(-len(items) // cols)
    cell_w = (PAGE_SIZE[0] - 2 * margin - gap) // cols
    cell_h = min(330, (PAGE_SIZE[1] - top - margin - (rows - 1) * gap) // rows)
    name_font, desc_font = _font(face, True, 30), _font(face, False, 22)
    small_font = _font(face, False, 22)
    for index, item in enumerate(items):
        row, col = divmod(index, cols)
        left, cell_top = margin + col * (cell_w + gap), top + row * (cell_h + gap)
        draw.rectangle(
            (left, cell_top, left + cell_w, cell_top + cell_h), fill=(255, 255, 255), outline=(200, 200, 200)
        )
        side = min(cell_h - 40, 170)
        draw.paste(_photo(rng, side), (left + 14, cell_top + 20))
        x, y = left + side + 34, cell_top + 18
        for text in _wrap(draw, item.name, name_font, cell_w - side - 50):
            draw.text((x, y), text, font=name_font, fill=(10, 10, 10))
            y += name_font.size + 6
        for text in (item.description, item.size):
            if text:
                draw.text((x, y), text, font=desc_font, fill=(90, 90, 90))
                y += desc_font.size + 6
        probe = Canvas((10, 10))
        raised = rng.random() < 0.5
        width, height = _draw_price(probe, (0, 0), item, 56, face, "white", raised=raised)
        tag_top = max(y + 14, cell_top + cell_h - height - 40)
        tag = (x - 10, tag_top - 8, x + width + 12, tag_top + height + 14)
        _tag(draw, rng, tag, rng.choice(((200, 16, 30), (200, 16, 30), (30, 30, 30))))
        _draw_price(draw, (x, tag_top), item, 56, face, "white", raised=raised)
        aside = x + width + 34
        if item.regular_price:
            _struck(draw, (aside, tag_top + 4), f"Reg. ${item.regular_price:.2f}", small_font, (90, 90, 90))
        for i, text in enumerate(_extras(item)):
            draw.text((aside, tag_top + 34 + i * 28), text, font=small_font, fill=(0, 90, 0))
    return draw


def _columns_page(
    rng: random.Random, face: str, store: str, dates: str, items: list[TrueItem], page: int
) -> Canvas:
    """A dense price list in two or three columns, dotted leaders between name and price."""
    draw = Canvas()
    top = _header(draw, face, store, dates, page)
    cols = 3 if len(items) > 24 else 2
    margin, gap = 50, 40
    col_w = (PAGE_SIZE[0] - 2 * margin - (cols - 1) * gap) / cols
    per_col = -(-len(items) // cols)
    name_font, price_font = (
        _font(face, False, 22 if cols == 3 else 26),
        _font(face, True, 24 if cols == 3 else 28),
    )
    small_font = _font(face, False, 18)
    step = min(64, (PAGE_SIZE[1] - top - margin) / per_col)
    dot = draw.textlength(".", name_font)
    for index, item in enumerate(items):
        col, row = divmod(index, per_col)
        left, y = margin + col * (col_w + gap), top + row * step
        right = left + col_w
        offer_width = draw.textlength(item.offer, price_font)
        name_room = col_w - offer_width - 30
        label = (
            f"{item.name} {item.size}"
            if item.size and draw.textlength(f"{item.name} {item.size}", name_font) < name_room
            else item.name
        )
        draw.text((left, y), label, font=name_font, fill=(10, 10, 10))
        draw.text((right - offer_width, y - 2), item.offer, font=price_font, fill=(170, 0, 0))
        start = left + draw.textlength(label, name_font) + 12
        draw.text(
            (start, y),
            "." * max(int((right - offer_width - 12 - start) / dot), 0),
            font=name_font,
            fill=(150, 150, 150),
        )
        if item.extra:
            draw.text((left + 20, y + name_font.size + 4), item.extra, font=small_font, fill=(0, 90, 0))
    return draw


DRAW = {
    "grid": _grid_page,
    "list": _list_page,
    "superscript": _superscript_page,
    "wasnow": _wasnow_page,
    "cards": _cards_page,
    "columns": _columns_page,
}


LAYOUTS = ("grid", "list", "superscript", "wasnow", "cards", "columns")


def make_flyer(
    seed: int,
    *,
    layout: str | None = None,
    pages: int = 1,
    items_per_page: int | None = None,
    face: str | None = None,
) -> TestFlyer:
    """A flyer of `pages` pages, the same seed giving the same flyer.

    Layouts: `grid` and `list` (the first styles; a seed without a layout picks one of them),
    `superscript` (cells with big dollars and small raised cents), `wasnow` (rows with a
    struck-out regular price beside the sale price), `cards` (a product photo beside the name,
    description and size lines, the price white on a red tag or burst, clutter around) and
    `columns` (a dense two- or three-column list with dotted leaders).
    """
    rng = random.Random(seed)
    layout = layout or rng.choice(("grid", "list"))
    face = face or rng.choice(sorted(FONTS))
    store = rng.choice(STORES)
    start, end, dates = _dates(rng)
    per_page = items_per_page or _per_page(rng, layout)
    products = rng.sample(CATALOG, per_page * pages)
    canvases, truth = [], []
    for number in range(1, pages + 1):
        chosen = products[(number - 1) * per_page : number * per_page]
        offer = _offer if layout in ("grid", "list", "columns") else _styled_offer
        items = [attrs.evolve(offer(rng, *product), page=number) for product in chosen]
        if layout != "cards":  # only cards print a description line
            items = [attrs.evolve(item, description=None) for item in items]
        canvases.append(DRAW[layout](rng, face, store, dates, items, number))
        truth += items
    images = [canvas.image for canvas in canvases]
    return TestFlyer(f"{layout}-{face}-{seed}", images, truth, store, start, end, layout, face, canvases)


def _per_page(rng: random.Random, layout: str) -> int:
    if layout == "grid":
        return rng.choice((8, 9, 12))
    if layout == "columns":
        return rng.choice((20, 24, 30))
    if layout == "cards":
        return rng.choice((6, 8))
    return rng.choice((10, 12)) if layout != "superscript" else rng.choice((8, 9, 12))


def degrade(image: Image.Image, kind: str, seed: int = 0) -> Image.Image:
    """A worse copy: `rotate` (a skewed scan), `blur`, `jpeg` (heavy compression), `noise`, `photo`."""
    rng = random.Random(seed)
    if kind == "rotate":
        angle = rng.choice((-1, 1)) * rng.uniform(1.5, 3.0)
        return image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="white")
    if kind == "blur":
        return image.filter(ImageFilter.GaussianBlur(1.2))
    if kind == "jpeg":
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=20)
        return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    if kind == "noise":
        noise = Image.effect_noise(image.size, 40).convert("RGB")
        return Image.blend(image.convert("RGB"), noise, 0.25)
    if kind == "photo":
        return degrade(degrade(degrade(image, "rotate", seed), "blur"), "jpeg")
    if kind == "phone":
        return _phone(image, rng)
    raise ValueError(f"unknown degradation {kind!r}; use rotate, blur, jpeg, noise, photo or phone")


DEGRADATIONS = ("rotate", "blur", "jpeg", "noise", "photo")


def _perspective(source: list[tuple[float, float]], target: list[tuple[float, float]]) -> list[float]:
    """Pillow's PERSPECTIVE coefficients that map each `target` corner back to its `source` one."""
    rows, values = [], []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values += [u, v]
    return [float(c) for c in np.linalg.solve(np.array(rows), np.array(values))]


def _phone(image: Image.Image, rng: random.Random) -> Image.Image:
    """The page photographed on a table: seen at an angle, lit unevenly, a little soft, JPEG."""
    width, height = image.size
    out_w, out_h = round(width * 1.2), round(height * 1.15)
    table = Image.new("RGB", (out_w, out_h), rng.choice(((96, 78, 60), (60, 64, 70), (120, 110, 96))))
    margin_x, margin_y = (out_w - width) / 2, (out_h - height) / 2
    jitter = lambda: rng.uniform(-0.07, 0.07)  # noqa: E731
    corners = [
        (margin_x + width * jitter(), margin_y + height * jitter()),
        (margin_x + width * (1 + jitter()), margin_y + height * jitter()),
        (margin_x + width * (1 + jitter()), margin_y + height * (1 + jitter())),
        (margin_x + width * jitter(), margin_y + height * (1 + jitter())),
    ]
    square = [(0, 0), (width, 0), (width, height), (0, height)]
    warped = image.convert("RGB").transform(
        (out_w, out_h), Image.Transform.PERSPECTIVE, _perspective(square, corners), Image.Resampling.BICUBIC
    )
    mask = Image.new("L", image.size, 255).transform(
        (out_w, out_h), Image.Transform.PERSPECTIVE, _perspective(square, corners), Image.Resampling.BILINEAR
    )
    table.paste(warped, mask=mask)
    # Light from one side: a gradient from full to about half brightness, and a soft spot.
    angle = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    along = (xs / out_w - 0.5) * math.cos(angle) + (ys / out_h - 0.5) * math.sin(angle)
    light = 1.0 - rng.uniform(0.3, 0.45) * (along + 0.5)
    pixels = np.asarray(table, dtype=np.float32) * light[..., None]
    shot = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.0))
    buffer = io.BytesIO()
    shot.save(buffer, "JPEG", quality=60)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def encode(pages: list[Image.Image], fmt: str) -> bytes:
    """The pages as a file: PNG, JPEG, WebP or TIFF (first page; TIFF keeps them all) or PDF."""
    buffer = io.BytesIO()
    first = pages[0].convert("RGB")
    rest = [page.convert("RGB") for page in pages[1:]]
    if fmt == "pdf":
        first.save(buffer, "PDF", save_all=True, append_images=rest, resolution=150)
    elif fmt == "tiff":
        first.save(buffer, "TIFF", save_all=True, append_images=rest, compression="tiff_deflate")
    elif fmt == "jpeg":
        first.save(buffer, "JPEG", quality=90)
    elif fmt == "webp":
        first.save(buffer, "WEBP", quality=90)
    else:
        first.save(buffer, "PNG")
    return buffer.getvalue()


_PDF_FONTS = {"F1": "Helvetica", "F2": "Helvetica-Bold", "F3": "Times-Roman", "F4": "Times-Bold"}


def text_pdf(pages: list[Canvas | Image.Image]) -> bytes:
    """A PDF of `pages`: a `Canvas` becomes a born-digital page (vector text with a text layer,
    its photos as images), an image a scanned page without text. Mixed lists give mixed PDFs."""
    objects: list[bytes] = [b"", b""]  # the catalog and the page tree, filled in last
    fonts = " ".join(f"/{key} {len(objects) + i + 1} 0 R" for i, key in enumerate(_PDF_FONTS))
    for base in _PDF_FONTS.values():
        objects.append(
            b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>" % base.encode()
        )

    def image_object(picture: Image.Image) -> int:
        buffer = io.BytesIO()
        picture.convert("RGB").save(buffer, "JPEG", quality=90)
        data = buffer.getvalue()
        objects.append(
            b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB"
            b" /BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n%s\nendstream"
            % (picture.width, picture.height, len(data), data)
        )
        return len(objects)

    kids = []
    for page in pages:
        size = page.image.size if isinstance(page, Canvas) else page.size
        width, height = size[0] * PT, size[1] * PT
        ops, images = [], []
        if isinstance(page, Canvas):
            ops = list(page.ops)
            for photo, (x, y) in page.photos:
                images.append(image_object(photo))
                ops.append(
                    b"q %.2f 0 0 %.2f %.2f %.2f cm /Im%d Do Q"
                    % (
                        photo.width * PT,
                        photo.height * PT,
                        x * PT,
                        height - (y + photo.height) * PT,
                        len(images),
                    )
                )
        else:
            images.append(image_object(page))
            ops.append(b"q %.2f 0 0 %.2f 0 0 cm /Im1 Do Q" % (width, height))
        content = b"\n".join(ops)
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
        xobjects = " ".join(f"/Im{i} {number} 0 R" for i, number in enumerate(images, 1))
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width:.2f} {height:.2f}]"
            f" /Contents {len(objects)} 0 R"
            f" /Resources << /Font << {fonts} >> /XObject << {xobjects} >> >> >>".encode()
        )
        kids.append(len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        " ".join(f"{k} 0 R" for k in kids).encode(),
        len(kids),
    )
    return pdf_file(objects)


def pdf_file(objects: list[bytes]) -> bytes:
    """A PDF of these objects (numbered from 1, the first the catalog), with its xref table."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def bomb_png(width: int, height: int) -> bytes:
    """A PNG whose header claims `width`×`height` pixels but holds one row: a bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit gray
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * (width // 8 + 2)))
        + chunk(b"IEND", b"")
    )


def pairs(items: Iterable[TrueItem] | Iterable[object]) -> set[tuple[str, Decimal]]:
    """(name, price) of each deal, true or found."""
    return {(item.name, item.price) for item in items}  # type: ignore[attr-defined]
