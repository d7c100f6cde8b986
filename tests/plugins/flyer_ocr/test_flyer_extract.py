"""Stage 4, extract: words with boxes (as tesseract gives them) into deals, store and dates.

These tests lay words out by hand, so each layout rule is pinned without OCR in the way; the
pipeline tests run the same code on what tesseract reads from generated flyers.
"""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest

from jobhost_flyer_ocr.corrections import normalize_word
from jobhost_flyer_ocr.dates import find_dates
from jobhost_flyer_ocr.extract import PageReading, combine, read_page
from jobhost_flyer_ocr.model import Box, Item, Word

H = 24  # a name's word height in pixels


def line(text: str, left: int, top: int, height: int = H, confidence: float = 95.0) -> list[Word]:
    """The words of `text` laid out left to right from (left, top), as tesseract boxes them."""
    words = []
    for token in text.split():
        width = max(len(token) * height // 2, height // 2)
        words.append(Word(token, Box(left, top, width, height), confidence, (1, 1, 1)))
        left += width + height // 3
    return words


def only(reading: PageReading) -> Item:
    assert len(reading.items) == 1, reading.items
    return reading.items[0]


def cell(name: str, offer: str, *extra: str) -> PageReading:
    """A grid cell: the name, the offer under it in a big font, then smaller lines."""
    words = line(name, 100, 100) + line(offer, 100, 140, height=48)
    for i, text in enumerate(extra):
        words += line(text, 100, 200 + i * 30, height=20)
    return read_page(words)


@pytest.mark.parametrize(
    "read, meant",
    [
        ("S1.99", "$1.99"),
        ("$l.99", "$1.99"),
        ("$I.49", "$1.49"),
        ("$O.59", "$0.59"),
        ("$1,99", "$1.99"),
        ("$0.59/Ib", "$0.59/lb"),
        ("Ib", "lb"),
        ("1b", "lb"),
        ("lbs.", "lb"),
        ("0z", "oz"),
        ("OZ", "oz"),
        ("KG", "kg"),
        ("4I$9.00", "4/$9.00"),
        ("5/1$5.00", "5/$5.00"),
        ("$2.491kg", "$2.49/kg"),
        ("$17.19!kg", "$17.19/kg"),
        ("1O%", "10%"),
        ("A9¢", "49¢"),
        ("9S¢", "95¢"),
        ("Oil", "Oil"),  # words stay words
        ("Sale", "Sale"),
        ("Salmon", "Salmon"),
        ("Ibis", "Ibis"),
    ],
)
def test_normalize_word_fixes_ocr_confusions_in_prices_and_units(read, meant):
    assert normalize_word(read) == meant


@pytest.mark.parametrize(
    "offer, price, quantity, unit, unit_price",
    [
        ("$3.99", "3.99", 1, "each", "3.99"),
        ("3.99", "3.99", 1, "each", "3.99"),
        ("$3.99 ea", "3.99", 1, "each", "3.99"),
        ("$1.29 each", "1.29", 1, "each", "1.29"),
        ("99¢ ea", "0.99", 1, "each", "0.99"),
        ("49c", "0.49", 1, "each", "0.49"),
        ("A9¢ ea", "0.49", 1, "each", "0.49"),
        ("2 for $5", "5.00", 2, "each", "2.50"),
        ("2/$5", "5.00", 2, "each", "2.50"),
        ("3 for $10.00", "10.00", 3, "each", "3.33"),
        ("10/$10", "10.00", 10, "each", "1.00"),
        ("$0.59/lb", "0.59", 1, "lb", "0.59"),
        ("$0.59 lb", "0.59", 1, "lb", "0.59"),
        ("$1.69 per lb", "1.69", 1, "lb", "1.69"),
        ("$4.39/kg", "4.39", 1, "kg", "4.39"),
        ("$1.29/100 g", "1.29", 1, "100 g", "1.29"),
        ("$1.29/100g", "1.29", 1, "100 g", "1.29"),
        ("S1.99", "1.99", 1, "each", "1.99"),
        ("$l.99/Ib", "1.99", 1, "lb", "1.99"),
        ("4I$9.00", "9.00", 4, "each", "2.25"),
    ],
)
def test_offers(offer, price, quantity, unit, unit_price):
    item = only(cell("Honey Nut Cereal", offer))
    assert item.name == "Honey Nut Cereal"
    assert (item.price, item.quantity, item.unit, item.unit_price) == (
        Decimal(price),
        quantity,
        unit,
        Decimal(unit_price),
    )


@pytest.mark.parametrize(
    "bogo", ["BOGO", "Buy 1 Get 1 Free", "buy one get one free", "B1G1", "Buy | Get | Free", "Buy l Get 1"]
)
def test_bogo_means_the_price_buys_two(bogo):
    item = only(cell("Ground Coffee", "$6.69", bogo))
    assert (item.bogo, item.quantity, item.price, item.unit_price) == (
        True,
        2,
        Decimal("6.69"),
        Decimal("3.35"),
    )


def test_save_is_a_saving_not_the_price():
    item = only(cell("Salted Butter", "$3.49", "Save $1.00"))
    assert (item.price, item.save, item.quantity) == (Decimal("3.49"), Decimal("1.00"), 1)


def test_percent_off():
    item = only(cell("Tortilla Chips", "$3.19", "25% OFF"))
    assert (item.price, item.percent_off) == (Decimal("3.19"), 25)


def test_a_percent_in_a_name_is_not_a_discount():
    item = only(cell("2% Reduced Fat Milk", "$3.39"))
    assert (item.name, item.percent_off) == ("2% Reduced Fat Milk", None)


def test_pack_size_under_the_name_is_kept_apart():
    words = line("Honey Nut Cereal", 100, 100) + line("12 oz", 100, 130, height=18)
    words += line("$2.99", 100, 165, height=48)
    item = only(read_page(words))
    assert (item.name, item.size, item.price) == ("Honey Nut Cereal", "12 oz", Decimal("2.99"))


def test_pack_size_after_the_name_on_one_line():
    words = line("Orange Juice 52 fl oz", 60, 100) + line("$3.59", 1100, 98, height=30)
    item = only(read_page(words))
    assert (item.name, item.size) == ("Orange Juice", "52 fl oz")


def test_a_name_wrapped_over_two_lines_is_joined():
    words = line("Atlantic Salmon", 100, 100) + line("Fillets", 100, 134)
    words += line("$9.69/lb", 100, 175, height=48)
    assert only(read_page(words)).name == "Atlantic Salmon Fillets"


def test_a_name_under_its_price_is_found():
    words = line("$2.99", 100, 100, height=48) + line("Strawberry Jam", 100, 160)
    item = only(read_page(words))
    assert (item.name, item.price) == ("Strawberry Jam", Decimal("2.99"))


def test_list_layout_pairs_each_name_with_the_price_on_its_row():
    rows = [
        ("Salted Butter 16 oz", "$3.59"),
        ("Roma Tomatoes", "$1.59/lb"),
        ("Flour Tortillas", "3 for $8.00"),
    ]
    words = line("PANTRY", 60, 60, height=32)
    for i, (name, offer) in enumerate(rows):
        top = 110 + i * 58
        words += line(name, 60, top) + line("." * 40, 420, top + 18, height=4)
        words += line(offer, 1000, top - 2, height=30)
    reading = read_page(words)
    found = [(item.name, item.price, item.quantity) for item in reading.items]
    assert found == [
        ("Salted Butter", Decimal("3.59"), 1),
        ("Roma Tomatoes", Decimal("1.59"), 1),
        ("Flour Tortillas", Decimal("8.00"), 3),
    ]  # and the section heading joined no name


def test_grid_pairs_by_boxes_not_by_the_order_words_come_in():
    """Cells side by side: tesseract's line order runs across cells; the boxes say which is which."""
    cells = [
        ("Atlantic Salmon Fillets", "$9.69/lb", 60),
        ("Bananas", "$0.59/lb", 460),
        ("Cream Cheese", "2 for $3.00", 860),
    ]
    words = []
    for name, offer, left in cells:
        words += line(name.removesuffix(" Fillets"), left, 100)
        if name.endswith("Fillets"):
            words += line("Fillets", left, 134)  # wraps: aligned with the next cell's price row
            words += line(offer, left, 175, height=48)
        else:
            words += line(offer, left, 134, height=48)
    shuffled = words[:]
    random.Random(5).shuffle(shuffled)
    for order in (words, shuffled, sorted(words, key=lambda w: (w.box.top, w.box.left))):
        found = {(item.name, item.price) for item in read_page(order).items}
        assert found == {
            ("Atlantic Salmon Fillets", Decimal("9.69")),
            ("Bananas", Decimal("0.59")),
            ("Cream Cheese", Decimal("3.00")),
        }


def test_rows_of_cells_keep_their_own_names():
    """The name of the cell below is below the price above; the name above the price wins."""
    words = []
    for row, (name, offer) in enumerate([("Gala Apples", "$1.49/lb"), ("Navel Oranges", "$0.99/lb")]):
        top = 100 + row * 260
        words += line(name, 100, top) + line(offer, 100, top + 40, height=48)
    found = [(item.name, item.price) for item in read_page(words).items]
    assert found == [("Gala Apples", Decimal("1.49")), ("Navel Oranges", Decimal("0.99"))]


def test_a_small_price_among_big_ones_is_a_misread_pack_size():
    cells = [("Orange Juice", "$3.29"), ("Bananas", "$0.59/lb"), ("Swiss Cheese", "$1.39/100 g")]
    words = []
    for i, (name, offer) in enumerate(cells):
        words += line(name, 60 + i * 400, 100) + line(offer, 60 + i * 400, 175, height=48)
    words += line("$2 floz", 60, 134, height=18)  # `52 fl oz` as OCR read it
    found = {(item.name, item.price) for item in read_page(words).items}
    assert found == {(name, Decimal(offer.split("/")[0][1:])) for name, offer in cells}


def test_doubtful_words_from_leaders_and_smudges_are_not_names():
    words = line("Yellow Onions", 60, 100) + line("ceceececetes", 700, 100, confidence=3)
    words += line("reer", 900, 100, confidence=0) + line("$0.89/lb", 1100, 98, height=30)
    assert only(read_page(words)).name == "Yellow Onions"


def test_each_deal_keeps_its_page_box_and_confidence():
    words = line("Bananas", 100, 100, confidence=90) + line("$0.59/lb", 100, 140, height=48, confidence=70)
    item = only(read_page(words, page=3, scale=2.0))
    assert item.page == 3
    name_and_price = Box(100, 100, 192, 88)  # the union of both lines, in prepared pixels
    assert item.box == name_and_price.scaled(0.5)  # back in the loaded page's pixels
    assert item.confidence == pytest.approx(0.8)
    assert item.as_dict()["price"] == "0.59"
    assert item.as_dict()["box"] == {"left": 50, "top": 50, "width": 96, "height": 44}


def test_store_is_the_big_name_at_the_top():
    words = line("Harbor Fresh", 400, 40, height=60) + line("Weekly Specials", 450, 120, height=30)
    words += line("Prices valid Mar 8 - Mar 14, 2026", 380, 170, height=20)
    words += line("Bath Tissue", 60, 260) + line("$9.49", 60, 300, height=48)
    words += line("Swiss Cheese", 460, 260) + line("$1.39/100 g", 460, 300, height=48)
    reading = read_page(words)
    assert reading.store == "Harbor Fresh"
    assert (reading.valid_from, reading.valid_to) == (date(2026, 3, 8), date(2026, 3, 14))
    assert [item.name for item in reading.items] == ["Bath Tissue", "Swiss Cheese"]


def test_no_header_means_no_store():
    reading = read_page(line("Bath Tissue", 60, 60) + line("$9.49", 60, 100, height=48))
    assert reading.store is None
    assert only(reading).name == "Bath Tissue"


@pytest.mark.parametrize(
    "text, start, end",
    [
        ("Prices valid Jan 5 - Jan 11, 2026", date(2026, 1, 5), date(2026, 1, 11)),
        ("Sale dates: 01/05/2026 - 01/11/2026", date(2026, 1, 5), date(2026, 1, 11)),
        ("Valid January 5 through January 11, 2026", date(2026, 1, 5), date(2026, 1, 11)),
        ("Sep 29 - Oct 5, 2026", date(2026, 9, 29), date(2026, 10, 5)),
        ("Valid March 3rd to 9th", date(2025, 3, 3), date(2025, 3, 9)),
        ("Dec 29 - Jan 4", date(2025, 12, 29), date(2026, 1, 4)),
        ("12/29/25 - 1/4/26", date(2025, 12, 29), date(2026, 1, 4)),
        ("1/5 thru 1/11", date(2025, 1, 5), date(2025, 1, 11)),
    ],
)
def test_validity_dates(text, start, end):
    assert find_dates([text], today=date(2025, 6, 1)) == (start, end)


@pytest.mark.parametrize("text", ["Weekly Specials", "2% Reduced Fat Milk 1 gal", "Feb 30 - Mar 2, 2026"])
def test_no_dates(text):
    assert find_dates([text], today=date(2025, 6, 1)) == (None, None)


def test_combine_keeps_every_page_and_takes_the_header_from_the_first_that_has_it():
    first = PageReading(1, (Item("Bananas", Decimal("0.59"), page=1),), None, None, None)
    second = PageReading(
        2, (Item("Gala Apples", Decimal("1.49"), page=2),), "FreshMart", date(2026, 1, 5), date(2026, 1, 11)
    )
    flyer = combine([first, second])
    assert (flyer.store, flyer.valid_from, flyer.pages) == ("FreshMart", date(2026, 1, 5), 2)
    assert [(item.name, item.page) for item in flyer.items] == [("Bananas", 1), ("Gala Apples", 2)]
    assert flyer.as_dict()["valid_to"] == "2026-01-11"


def test_an_empty_page_has_no_deals():
    assert read_page([]) == PageReading(1, ())


# -- the layouts of issue 11 -----------------------------------------------------------------
def raised(dollars: str, cents: str, left: int, top: int, height: int = 56) -> list[Word]:
    """`$2⁹⁹` as a text layer gives it: a small raised `$`, the dollars, small raised cents."""
    small = height * 9 // 20
    sign = Word("$", Box(left, top, small // 2, small), 100.0, (1, 1, 1))
    big_left = left + small // 2 + 2
    big = Word(dollars, Box(big_left, top, len(dollars) * height // 2, height), 100.0, (1, 1, 1))
    cent = Word(cents, Box(big.box.right + 3, top, small, small), 100.0, (1, 1, 1))
    return [sign, big, cent]


def test_big_dollars_and_small_raised_cents_are_one_price():
    item = only(read_page(line("Gala Apples", 100, 100) + raised("2", "99", 100, 140)))
    assert (item.name, item.price) == ("Gala Apples", Decimal("2.99"))


def test_cents_on_the_baseline_are_not_raised_cents():
    words = line("Gala Apples", 100, 100) + line("Pack 12", 100, 140, height=56) + line("99", 260, 180, 24)
    assert read_page(words).items == ()


def test_a_unit_in_small_type_under_the_price_is_the_deals_unit():
    words = line("Pork Tenderloin", 100, 100) + raised("3", "79", 100, 140) + line("/lb", 160, 170, 20)
    item = only(read_page(words))
    assert (item.price, item.unit, item.unit_price) == (Decimal("3.79"), "lb", Decimal("3.79"))


@pytest.mark.parametrize("regular", ["Reg. $5.49", "Regular $5.49", "was $5.49", "$5.49"])
def test_the_regular_price_beside_a_deal_is_kept_apart_from_it(regular):
    words = (
        line("Old Fashioned Oats", 60, 100)
        + line(regular, 600, 104, height=26)
        + line("NOW", 800, 100, height=30)
        + line("$3.99", 900, 96, height=42)
    )
    words += line("Bananas", 60, 200) + line("$0.59/lb", 900, 196, height=42)
    words += line("Sweet Corn", 60, 300) + line("$0.50", 900, 296, height=42)
    oats = read_page(words).items[0]
    assert (oats.name, oats.price, oats.regular_price) == (
        "Old Fashioned Oats",
        Decimal("3.99"),
        Decimal("5.49"),
    )


def test_a_regular_price_below_the_deal_is_not_one():
    words = (
        line("Salted Butter", 100, 100)
        + line("$4.99", 100, 140, height=48)
        + line("Reg. $3.99", 100, 200, 20)
    )
    assert only(read_page(words)).regular_price is None


def test_a_description_line_under_the_name_is_kept_out_of_it():
    words = (
        line("Large Eggs", 300, 100, height=30)
        + line("Selected Varieties", 300, 140, height=20)
        + line("750 g jar", 300, 170, height=20)
        + line("$3.19", 290, 260, height=56)
    )
    item = only(read_page(words))
    assert (item.name, item.description) == ("Large Eggs", "Selected Varieties")
    assert item.size == "750 g jar"


def test_a_name_wrapped_over_two_lines_is_not_a_description():
    words = line("Creamy Peanut", 300, 100, 30) + line("Butter", 300, 136, 30) + line("$2.79", 290, 200, 56)
    item = only(read_page(words))
    assert (item.name, item.description) == ("Creamy Peanut Butter", None)


def test_limit_save_and_multi_buy_beside_a_price_tag():
    words = (
        line("Cola Soft Drink", 300, 100, 30)
        + line("3 for $10", 290, 200, 56)
        + line("Save $2.00", 600, 204, 22)
        + line("Limit 4", 600, 234, 22)
    )
    item = only(read_page(words))
    assert (item.price, item.quantity, item.unit_price) == (Decimal("10.00"), 3, Decimal("3.33"))
    assert (item.save, item.limit) == (Decimal("2.00"), 4)
