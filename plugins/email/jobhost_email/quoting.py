"""Text one user supplied that other users read in our mail (a flyer's store and item names).

Mail from the service's own address carries authority, so what an uploader typed must not read
as our words: it keeps letters, digits, spaces and a little punctuation, a bounded length, and
nothing a mail client turns into a link (no `:`, `/`, `@`, and dots only between digits, as in
`1.5 kg`). The templates then quote it and say where it came from.
"""

from __future__ import annotations

import re
import unicodedata

STORE_LENGTH = 40
ITEM_LENGTH = 80
UNIT_LENGTH = 12
_PUNCTUATION = frozenset("&'-,()%+#")
_BETWEEN_DIGITS = re.compile(r"(?<=\d)[./](?=\d)")


def _kept(char: str) -> bool:
    return unicodedata.category(char)[0] in "LN" or char in _PUNCTUATION


def plain(text: str, limit: int) -> str:
    """`text` in the safe character set, on one line, at most `limit` characters."""
    normalized = unicodedata.normalize("NFKC", text)
    # Mark the dots and slashes inside numbers before everything else outside the set goes.
    marked = _BETWEEN_DIGITS.sub(lambda m: "\0" if m[0] == "." else "\1", normalized)
    cleaned = "".join(c if _kept(c) or c in "\0\1" else " " for c in marked)
    words = " ".join(cleaned.split()).replace("\0", ".").replace("\1", "/")
    return words if len(words) <= limit else words[: limit - 1].rstrip() + "…"
