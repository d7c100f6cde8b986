"""The cleanup plugin's settings: how old a temporary file or an upload must be before it goes."""

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


UPLOAD_RETENTION = Setting(
    "UPLOAD_RETENTION",
    7 * 86400.0,
    parse_max_age,
    help="uploads of flyers processed longer ago than this are deleted by cleanup.files (e.g. 7d)",
    allowed=ALLOWED,
)

UPLOAD_ORPHAN_GRACE = Setting(
    "UPLOAD_ORPHAN_GRACE",
    86400.0,
    parse_max_age,
    help="uploads no record knows of are deleted once older than this (e.g. 24h)",
    allowed=ALLOWED,
)

SETTINGS = (CLEANUP_FILE_MAX_AGE, UPLOAD_RETENTION, UPLOAD_ORPHAN_GRACE)
