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
import random
import struct
import zlib
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import attrs
from PIL import Image, ImageDraw, ImageFilter, ImageFont

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


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _header(draw: ImageDraw.ImageDraw, face: str, store: str, dates: str, page: int) -> int:
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
) -> Image.Image:
    image = Image.new("RGB", PAGE_SIZE, "white")
    draw = ImageDraw.Draw(image)
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
    return image


def _list_page(
    rng: random.Random, face: str, store: str, dates: str, items: list[TrueItem], page: int
) -> Image.Image:
    image = Image.new("RGB", PAGE_SIZE, "white")
    draw = ImageDraw.Draw(image)
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
    return image


def make_flyer(
    seed: int, *, layout: str | None = None, pages: int = 1, items_per_page: int | None = None
) -> TestFlyer:
    """A flyer of `pages` pages, the same seed giving the same flyer."""
    rng = random.Random(seed)
    layout = layout or rng.choice(("grid", "list"))
    face = rng.choice(sorted(FONTS))
    store = rng.choice(STORES)
    start, end, dates = _dates(rng)
    per_page = items_per_page or (rng.choice((8, 9, 12)) if layout == "grid" else rng.choice((10, 12)))
    products = rng.sample(CATALOG, per_page * pages)
    images, truth = [], []
    for number in range(1, pages + 1):
        chosen = products[(number - 1) * per_page : number * per_page]
        items = [attrs.evolve(_offer(rng, *product), page=number) for product in chosen]
        draw_page = _grid_page if layout == "grid" else _list_page
        images.append(draw_page(rng, face, store, dates, items, number))
        truth += items
    return TestFlyer(f"{layout}-{face}-{seed}", images, truth, store, start, end, layout, face)


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
    raise ValueError(f"unknown degradation {kind!r}; use rotate, blur, jpeg, noise or photo")


DEGRADATIONS = ("rotate", "blur", "jpeg", "noise", "photo")


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
