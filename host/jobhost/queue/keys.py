"""Where a queue's data lives in Redis, and how a job id names its queue.

Every key of one queue carries the hash tag `{queue}`, so a Lua script that touches the stream,
the state sets and a job record stays inside one Redis Cluster slot. A job id is
`<queue>:<16 hex digits>`: queue names never hold a `:`, so the record is found from the id
alone, without an index that would live in another slot.
"""

from __future__ import annotations

import secrets

import attrs

GROUP = "workers"  # the one consumer group of every queue stream
# Starts the fencing token of a try not read from the stream (a prioritized job); stream ids
# are digits, so the two never meet.
TOKEN = "p"
# `prioritized`: waiting, with a priority (taken after every waiting job without one);
# `waiting-deps`: waiting for its dependencies to complete.
STATES = ("waiting", "prioritized", "waiting-deps", "active", "delayed", "completed", "dead", "cancelled")


class UnknownJobId(ValueError):
    """A string that cannot be a job id (no queue part)."""


def new_job_id(queue: str) -> str:
    return f"{queue}:{secrets.token_hex(8)}"


def valid_job_id(job_id: str, queue: str) -> bool:
    """Whether `job_id` is a well-formed id of a job of `queue`."""
    prefix, sep, rest = job_id.partition(":")
    return (
        prefix == queue and bool(sep) and 0 < len(rest) <= 64 and all(c in "0123456789abcdef" for c in rest)
    )


def queue_of(job_id: str) -> str:
    queue, sep, rest = job_id.partition(":")
    if not sep or not queue or not rest:
        raise UnknownJobId(f"job id must look like '<queue>:<hex>', got {job_id!r}")
    return queue


@attrs.frozen
class Keys:
    """Key names under one prefix (`JOBHOST_REDIS_PREFIX`)."""

    prefix: str

    def base(self, queue: str) -> str:
        """The queue's key prefix; Lua scripts get it as KEYS[1] and build the rest from it."""
        return f"{self.prefix}:{{{queue}}}:"

    def stream(self, queue: str) -> str:
        return self.base(queue) + "stream"

    def state(self, queue: str, state: str) -> str:
        return self.base(queue) + state

    def paused(self, queue: str) -> str:
        return self.base(queue) + "paused"

    def alive(self, queue: str) -> str:
        """Sorted set: the queue's worker ids by when their heartbeat runs out (ms)."""
        return self.base(queue) + "alive"

    def totals(self, queue: str) -> str:
        return self.base(queue) + "totals"

    def durations(self, queue: str) -> str:
        return self.base(queue) + "durations"

    def minute(self, queue: str, minute: int) -> str:
        return self.base(queue) + f"minute:{minute}"

    def replicated(self, queue: str) -> str:
        """Written after an enqueue that waits for replicas (producer.py `_replicated`)."""
        return self.base(queue) + "replicated"

    def day(self, queue: str, day: int) -> str:
        """Hash: one UTC day's counters and try-duration histogram (days since the epoch)."""
        return self.base(queue) + f"day:{day}"

    def job(self, job_id: str) -> str:
        return self.base(queue_of(job_id)) + "job:" + job_id

    def log(self, job_id: str) -> str:
        return self.base(queue_of(job_id)) + "log:" + job_id

    def events(self, job_id: str) -> str:
        return self.base(queue_of(job_id)) + "events:" + job_id

    def feed(self, queue: str) -> str:
        """Stream of every event of the queue's jobs (bounded), which the dashboard follows."""
        return self.base(queue) + "feed"

    def outbox(self, queue: str) -> str:
        """Stream of the events completed tries emitted, until the relay queued their deliveries."""
        return self.base(queue) + "outbox"

    def search(self, queue: str) -> str:
        """The queue's search index (queue/search.py)."""
        return self.base(queue) + "search"

    @property
    def workers(self) -> str:
        """Sorted set of worker ids by last heartbeat; each worker's details expire on their own."""
        return f"{self.prefix}:workers"

    def worker(self, worker_id: str) -> str:
        return f"{self.prefix}:worker:{worker_id}"

    def adhoc(self) -> str:
        """Hash: ad-hoc schedule id → the schedule (taskiq's ScheduledTask) as JSON."""
        return f"{self.prefix}:schedules:adhoc"

    def adhoc_due(self) -> str:
        """Sorted set: ad-hoc time schedules by due moment (epoch seconds)."""
        return f"{self.prefix}:schedules:adhoc:due"

    def schedule_last(self) -> str:
        """Hash: schedule name → the last fire time (epoch seconds) any scheduler enqueued."""
        return f"{self.prefix}:schedules:last"


# Upper bounds (ms) of the try-duration histogram's buckets (given to the Lua scripts too).
DURATION_BUCKETS = (10, 50, 100, 500, 1000, 5000, 10000, 30000, 60000, 300000, 900000)
# How much history Redis keeps (given to the Lua scripts too): events per job, entries of a
# queue's feed (about), log lines per job, and how long a per-minute counter lives (seconds).
EVENTS_KEPT = 200
FEED_KEPT = 10_000
LOG_LINES_KEPT = 1000
MINUTE_TTL_S = 7200
# The per-day histogram's buckets are log-spaced, DURATION_STEPS per doubling (bucket k holds the
# tries of at most 2^(k/DURATION_STEPS) ms), so a percentile read from it is at most 19% high.
DURATION_STEPS = 4
# How long a day's counters are kept: a week's report, run a day late, still finds them all.
DAY_TTL = 9 * 86400
# How far ahead (ms) a rate-limited queue books a start (claim.lua): a worker that claims up to
# this late after a place in the window frees still starts its job on time.
RATE_AHEAD_MS = 250
