"""The OCR confusions of prices and units, undone: `S1.99`, `$l.99` → `$1.99`, `Ib` → `lb`, `0z` → `oz`.

Fixes apply inside words that already look like amounts or units, so `Oil`, `Sale` and `Ibis`
stay words.
"""

from __future__ import annotations

import re

_DIGITISH = str.maketrans({"O": "0", "o": "0", "D": "0", "l": "1", "I": "1", "|": "1", "i": "1", ",": "."})
_SLASH_BEFORE_PRICE = re.compile(r"^(\d{1,2})(?:[Il|\\1]|/[Il|1])(?=[$S]\d)")  # 4I$9.00, 5/1$5 → 4/$9.00
_SLASH_BEFORE_UNIT = re.compile(r"(\$\d{1,3}\.\d{2})[1Il|!](?=(?:kg|k9|lb|Ib|1b|100)\b)")  # $2.491kg
_S_FOR_DOLLAR = re.compile(r"(?:(?<=^)|(?<=/))S(?=[\dlIO][\dlIO.,]*(?:[/¢c%]|$|\b))")
_DOLLAR_AMOUNT = re.compile(r"\$[\dOolI|]+(?:[.,][\dOolIi|]{1,2})?")
# Before a cent sign only digits make sense: bold `4` reads as `A`, `5` as `S`, `8` as `B`.
_CENTS = re.compile(r"^[\dOolI|ASB]{1,2}(?=[¢]$)")
_CENT_DIGITS = str.maketrans({**{chr(k): v for k, v in _DIGITISH.items()}, "A": "4", "S": "5", "B": "8"})
# A big cent sign read as another currency's: `39€`, `79£`.
_CENT_SIGN = re.compile(r"(?<=^\d)[€£©]$|(?<=^\d\d)[€£©]$")
_BARE_AMOUNT = re.compile(r"^(?=[\dOolI|]*\d)[\dOolI|]+(?:[.,][\dOolI|]{1,2})?(?=[%¢]?$)")
# A slash before a unit read as a letter: `ikg`, `Ilb`, `fib` (`/lb` with its `l` read as `i`).
_SLASH_UNIT = re.compile(r"^[iIl|1!ft](?=(?:kg|k9|lb|Ib|1b|ib)\.?$)")
_UNIT_WORDS = (
    (re.compile(r"(?i)(?:(?<=^)|(?<=[/\d]))(?:ib|1b|\|b|lb|lbs|1bs|ibs)\.?$"), "lb"),
    (re.compile(r"(?i)(?:(?<=^)|(?<=[/\d]))[0o]z\.?$"), "oz"),
    (re.compile(r"(?i)(?:(?<=^)|(?<=[/\d]))k[g9]\.?$"), "kg"),
    (re.compile(r"(?i)(?:(?<=^)|(?<=[/\d]))ea\.?$"), "ea"),
)


def normalize_word(text: str) -> str:
    """One OCR word with the usual confusions in prices and units fixed: `S1.99`, `$l.99`, `Ib`, `0z`."""
    text = _CENT_SIGN.sub("¢", text)
    text = _SLASH_BEFORE_PRICE.sub(r"\1/", text)
    text = _S_FOR_DOLLAR.sub("$", text)
    text = _DOLLAR_AMOUNT.sub(lambda m: m.group().translate(_DIGITISH), text)
    text = _SLASH_BEFORE_UNIT.sub(r"\1/", text)
    text = _BARE_AMOUNT.sub(lambda m: m.group().translate(_DIGITISH), text)
    text = _CENTS.sub(lambda m: m.group().translate(_CENT_DIGITS), text)
    text = _SLASH_UNIT.sub("/", text)
    for pattern, unit in _UNIT_WORDS:
        text = pattern.sub(unit, text)
    return text


_OZ_MISREAD = re.compile(r"^[0oO][zZ2]\.?$")
_ONES_MISREAD = re.compile(r"^[lI|1]{1,2}$")


def in_context(tokens: list[str]) -> tuple[str, ...]:
    """Fixes that need the neighbour: `12 02` → `12 oz` after a number, `ll oz` → `11 oz` before a unit."""
    for i, token in enumerate(tokens):
        after_number = i > 0 and tokens[i - 1][-1:].isdigit()
        if after_number and _OZ_MISREAD.match(token):
            tokens[i] = "oz"
        elif (
            _ONES_MISREAD.match(token) and i + 1 < len(tokens) and tokens[i + 1].lower() in ("oz", "lb", "ct")
        ):
            tokens[i] = token.translate(_DIGITISH)
    return tuple(tokens)
