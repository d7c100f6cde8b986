"""The cleanup plugin's setting: how old a temporary file must be before it goes."""

from __future__ import annotations

from jobhost import Setting, parse_duration

ALLOWED = "must be a duration > 0 such as 24h, 90m, 2d or 3600 (seconds)"


def parse_max_age(text: str) -> float:
    """A duration as `parse_duration` reads it, but never 0, which would delete a file the moment
    it is written."""
    try:
        seconds = parse_duration(text)
    except ValueError:
        seconds = 0.0
    if seconds <= 0:
        raise ValueError(ALLOWED)
    return seconds


CLEANUP_FILE_MAX_AGE = Setting(
    "CLEANUP_FILE_MAX_AGE",
    24 * 3600.0,
    parse_max_age,
    help="temporary files older than this are deleted by cleanup.files (e.g. 24h, 90m, 2d)",
    allowed=ALLOWED,
)
