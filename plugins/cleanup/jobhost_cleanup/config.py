"""The cleanup plugin's setting: how old a temporary file must be before it goes."""

from __future__ import annotations

import math
import re

from jobhost import Setting

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
ALLOWED = "must be a duration > 0 such as 24h, 90m, 2d or 3600 (seconds)"


def parse_max_age(text: str) -> float:
    """`24h`, `90m`, `2d`, `30s` or a bare number of seconds, as seconds; never 0, which would
    delete a file the moment it is written."""
    found = _DURATION.match(text)
    seconds = float(found[1]) * _UNITS[found[2]] if found else 0.0
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(ALLOWED)
    return seconds


CLEANUP_FILE_MAX_AGE = Setting(
    "CLEANUP_FILE_MAX_AGE",
    24 * 3600.0,
    parse_max_age,
    help="temporary files older than this are deleted by cleanup.files (e.g. 24h, 90m, 2d)",
    allowed=ALLOWED,
)
