"""Queue policies: how many tries a job gets, how long to wait between them, how much runs at once.

Plugins build these value objects and hand them to the host in `register_queues`. Every rule is
checked when the policy is built, so a bad value fails while the plugin loads, with a message that
names the queue, the field, the value and the rule.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Literal

import attrs

QUEUE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(s|sec|second|m|min|minute|h|hour)\s*$")
_UNIT_SECONDS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
}


class PolicyError(ValueError):
    """A queue policy breaks one of its rules; the message names queue, field, value and rule."""


@attrs.frozen
class Backoff:
    """The wait before a job's next try.

    `exponential` follows BullMQ: the wait before try n+1 is `delay × 2^(n−1)` (so 5 s, 10 s,
    20 s … for `delay=5`). `fixed` waits `delay` every time. `max_delay` caps the wait; `jitter`
    (0 to 1) takes up to that share off it at random, so retries of a burst spread out.
    """

    kind: Literal["fixed", "exponential"] = "exponential"
    delay: float = 1.0
    max_delay: float | None = None
    jitter: float = 0.0

    @classmethod
    def exponential(cls, delay: float, *, max_delay: float | None = None, jitter: float = 0.0) -> Backoff:
        return cls("exponential", delay, max_delay, jitter)

    @classmethod
    def fixed(cls, delay: float, *, jitter: float = 0.0) -> Backoff:
        return cls("fixed", delay, None, jitter)

    def delay_for(self, tries: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after `tries` failed tries (1 after the first) before the next one."""
        wait = self.delay if self.kind == "fixed" else self.delay * 2 ** (max(tries, 1) - 1)
        if self.max_delay is not None:
            wait = min(wait, self.max_delay)
        return wait - wait * self.jitter * rand()


@attrs.frozen
class Retention:
    """How long finished jobs stay in the registry: at most `age` seconds and `count` jobs."""

    age: float
    count: int


@attrs.frozen
class RateLimit:
    """At most `count` jobs start per `per` seconds, across every worker of the queue."""

    count: int
    per: float

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """Read `10/s`, `600/min`, `100/10s` or `5000/h`."""
        match = _RATE.match(text)
        if not match or int(match[1]) < 1:
            raise ValueError(
                f"rate limit must look like '10/s', '600/min' or '5000/h' (a count >= 1), got {text!r}"
            )
        return cls(int(match[1]), float(match[2] or 1) * _UNIT_SECONDS[match[3]])

    def __str__(self) -> str:
        return f"{self.count}/{self.per:g}s"


def _positive(value: object) -> bool:
    return value is None or (isinstance(value, int | float) and value > 0)


# (field, getter, test, rule): the one place every policy rule lives.
_RULES: list[tuple[str, Callable[[QueuePolicy], object], Callable[[object], bool], str]] = [
    (
        "name",
        lambda p: p.name,
        lambda v: isinstance(v, str) and bool(QUEUE_NAME.match(v)),
        "must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit",
    ),
    ("attempts", lambda p: p.attempts, lambda v: isinstance(v, int) and v >= 1, "must be >= 1"),
    (
        "backoff.kind",
        lambda p: p.backoff.kind,
        lambda v: v in ("fixed", "exponential"),
        "must be 'fixed' or 'exponential'",
    ),
    (
        "backoff.delay",
        lambda p: p.backoff.delay,
        lambda v: isinstance(v, int | float) and v >= 0,
        "must be >= 0 seconds",
    ),
    (
        "backoff.max_delay",
        lambda p: p.backoff.max_delay,
        lambda v: v is None or (isinstance(v, int | float) and v > 0),
        "must be > 0 seconds or None",
    ),
    (
        "backoff.jitter",
        lambda p: p.backoff.jitter,
        lambda v: isinstance(v, int | float) and 0 <= v <= 1,
        "must be between 0 and 1",
    ),
    (
        "concurrency",
        lambda p: p.concurrency,
        lambda v: isinstance(v, int) and v >= 1,
        "must be >= 1",
    ),
    (
        "concurrency_env",
        lambda p: p.concurrency_env,
        lambda v: v is None or (isinstance(v, str) and bool(ENV_NAME.match(v))),
        "must be an upper-case environment variable name or None",
    ),
    (
        "timeout",
        lambda p: p.timeout,
        lambda v: v is None or (isinstance(v, int | float) and v > 0),
        "must be > 0 seconds or None",
    ),
    (
        "lease",
        lambda p: p.lease,
        lambda v: isinstance(v, int | float) and v >= 1,
        "must be >= 1 second",
    ),
    ("keep_completed.age", lambda p: p.keep_completed.age, _positive, "must be > 0 seconds"),
    (
        "keep_completed.count",
        lambda p: p.keep_completed.count,
        lambda v: isinstance(v, int) and v >= 0,
        "must be >= 0",
    ),
    ("keep_dead.age", lambda p: p.keep_dead.age, _positive, "must be > 0 seconds"),
    (
        "keep_dead.count",
        lambda p: p.keep_dead.count,
        lambda v: isinstance(v, int) and v >= 0,
        "must be >= 0",
    ),
    (
        "rate_limit_env",
        lambda p: p.rate_limit_env,
        lambda v: v is None or (isinstance(v, str) and bool(ENV_NAME.match(v))),
        "must be an upper-case environment variable name or None",
    ),
]


@attrs.frozen
class QueuePolicy:
    """Everything the host needs to know about one queue.

    `attempts` counts every try, the first included. `concurrency` is the default number of
    jobs one worker runs at once; `concurrency_env` names the variable that overrides it.
    `timeout` stops a try that runs longer (a failed try). `lease` is how long a worker may go
    silent before its job is given to another worker; a live worker renews it while it runs.
    `rate_limit` (or the variable named by `rate_limit_env`, e.g. `600/min`) paces job starts
    across all workers together.
    """

    name: str
    attempts: int = 3
    backoff: Backoff = Backoff.exponential(1.0)
    concurrency: int = 1
    concurrency_env: str | None = None
    timeout: float | None = None
    lease: float = 30.0
    keep_completed: Retention = Retention(age=24 * 3600, count=1000)
    keep_dead: Retention = Retention(age=7 * 24 * 3600, count=10_000)
    rate_limit: RateLimit | None = None
    rate_limit_env: str | None = None
    description: str = ""

    def __attrs_post_init__(self) -> None:
        for field, get, test, rule in _RULES:
            value = get(self)
            if not test(value):
                where = f"queue {self.name!r}" if field != "name" else "queue"
                raise PolicyError(f"{where}: {field} {rule}, got {value!r}")
        if not isinstance(self.rate_limit, RateLimit | None):
            raise PolicyError(
                f"queue {self.name!r}: rate_limit must be a RateLimit or None, got {self.rate_limit!r}"
            )

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view, as listings and admin routes show it."""
        data = attrs.asdict(self)
        data["rate_limit"] = str(self.rate_limit) if self.rate_limit else None
        return data
