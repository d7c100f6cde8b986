"""The dates a flyer's prices are valid, as printed: `Jan 5 - Jan 11, 2026`, `01/05/2026 - 01/11/2026`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sept?|oct|nov|dec)[a-z]*\.?"
_TO = r"\s?(?:-|–|—|to|thru|through|until)\s?"
NAMED_DATES = re.compile(
    rf"(?i)\b(?P<m1>{_MONTH})\s?(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s?(?P<y1>\d{{4}}))?{_TO}"
    rf"(?:(?P<m2>{_MONTH})\s?)?(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s?(?P<y2>\d{{4}}))?"
)
NUMERIC_DATES = re.compile(
    rf"\b(?P<m1>\d{{1,2}})/(?P<d1>\d{{1,2}})(?:/(?P<y1>\d{{2}}|\d{{4}}))?{_TO}"
    rf"(?P<m2>\d{{1,2}})/(?P<d2>\d{{1,2}})(?:/(?P<y2>\d{{2}}|\d{{4}}))?\b"
)


def _year(text: str | None, default: int) -> int:
    if not text:
        return default
    return int(text) + 2000 if len(text) == 2 else int(text)


def find_dates(texts: Iterable[str], today: date | None = None) -> tuple[date | None, date | None]:
    """The first printed date range (`Jan 5 - Jan 11, 2026`, `01/05/2026 - 01/11/2026`).

    A missing year is the year printed with the other date, else this year; a range that would
    end before it starts runs into the next year.
    """
    year = (today or date.today()).year
    for text in texts:
        for pattern in (NAMED_DATES, NUMERIC_DATES):
            match = pattern.search(text)
            if not match:
                continue
            try:
                if pattern is NAMED_DATES:
                    m1 = MONTH_NAMES.index(match["m1"][:3].lower()) + 1
                    m2 = MONTH_NAMES.index(match["m2"][:3].lower()) + 1 if match["m2"] else m1
                else:
                    m1, m2 = int(match["m1"]), int(match["m2"])
                y2 = _year(match["y2"], _year(match["y1"], year))
                y1 = _year(match["y1"], y2)
                start = date(y1, m1, int(match["d1"]))
                end = date(y2, m2, int(match["d2"]))
            except ValueError:
                continue
            if end < start and not match["y2"]:
                end = end.replace(year=end.year + 1)
            if start <= end:
                return start, end
    return None, None
