"""A queue's history by UTC day: what its jobs did and how long their tries ran.

The Lua prelude's `count` and `timed` keep one hash per queue and day (`Keys.day`, kept
`DAY_TTL`): completed jobs, failed tries, retried tries, dead jobs, and a log-spaced histogram of
try durations with the exact longest one. `QueueDay.sum` adds days up into a week.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

import attrs

from jobhost.queue.keys import DURATION_STEPS

EPOCH = date(1970, 1, 1)
KINDS = ("completed", "failed", "retried", "dead")


def day_number(day: date) -> int:
    """Days since the epoch: how the scripts name a day's hash."""
    return (day - EPOCH).days


def bucket_bound_ms(bucket: int) -> float:
    """The upper bound (ms) of a duration bucket."""
    return 2 ** (bucket / DURATION_STEPS) if bucket > 0 else 1.0


@attrs.frozen
class QueueDay:
    """One queue's figures over `days` UTC days from `first` (one day as the engine keeps it, or
    several added up). `durations` maps a bucket (see `bucket_bound_ms`) to its number of tries."""

    queue: str
    first: date
    days: int
    completed: int = 0
    failed: int = 0
    retried: int = 0
    dead: int = 0
    durations: Mapping[int, int] = attrs.field(factory=dict)
    sum_ms: int = 0
    max_ms: int | None = None

    @classmethod
    def from_hash(cls, queue: str, day: date, raw: Mapping[str, str]) -> QueueDay:
        return cls(
            queue,
            day,
            1,
            **{kind: int(raw.get(kind, 0)) for kind in KINDS},
            durations={int(k[1:]): int(v) for k, v in raw.items() if k[:1] == "d" and k[1:].isdigit()},
            sum_ms=int(raw.get("sum_ms", 0)),
            max_ms=int(raw["max_ms"]) if "max_ms" in raw else None,
        )

    @classmethod
    def sum(cls, queue: str, first: date, days: int, parts: Iterable[QueueDay]) -> QueueDay:
        """The figures of `days` days from `first`, from the days' own (missing days count zero)."""
        parts = list(parts)
        durations: dict[int, int] = {}
        for part in parts:
            for bucket, tries in part.durations.items():
                durations[bucket] = durations.get(bucket, 0) + tries
        longest = [p.max_ms for p in parts if p.max_ms is not None]
        return cls(
            queue,
            first,
            days,
            **{kind: sum(getattr(p, kind) for p in parts) for kind in KINDS},
            durations=durations,
            sum_ms=sum(p.sum_ms for p in parts),
            max_ms=max(longest) if longest else None,
        )

    @property
    def last(self) -> date:
        return self.first + timedelta(days=self.days - 1)

    @property
    def tries(self) -> int:
        """Timed tries: completed, failed and cancelled ones."""
        return sum(self.durations.values())

    def percentile_ms(self, fraction: float) -> float | None:
        """The duration `fraction` of the tries took at most: its bucket's upper bound (at most
        19% high), never more than the longest try; None without tries."""
        total = self.tries
        if not total or self.max_ms is None:
            return None
        rank, seen = max(1, math.ceil(fraction * total)), 0
        for bucket in sorted(self.durations):
            seen += self.durations[bucket]
            if seen >= rank:
                return min(bucket_bound_ms(bucket), float(self.max_ms))
        return float(self.max_ms)
