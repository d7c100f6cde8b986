"""A job's story for its page: every state change, and every try with its worker, times and error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from jobhost.queue.job import Job, JobFailure


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@attrs.frozen
class Change:
    state: str
    attempt: int
    at: datetime
    worker: str | None = None  # the worker that took the job, on an `active` change


@attrs.frozen
class Try:
    attempt: int
    started: datetime
    ended: datetime | None
    outcome: str  # the state the try ended in: completed, waiting/delayed (retry), dead, … or running
    worker: str | None
    failure: JobFailure | None

    @property
    def duration(self) -> float | None:
        return (self.ended - self.started).total_seconds() if self.ended else None


def changes(events: list[dict[str, Any]]) -> list[Change]:
    return [
        Change(e["state"], int(e["attempt"]), _at(e["at"]), e.get("worker"))
        for e in events
        if e["type"] == "state"
    ]


def tries(job: Job, events: list[dict[str, Any]]) -> list[Try]:
    """The tries the job's recorded events show, oldest first, each with the worker its `active`
    event names (events recorded before they named it: the job record's worker, for the latest
    try only). A failed try's error is the one with its number recorded while it ran (a retried
    job numbers its tries from 1 again)."""

    def failure(attempt: int, started: datetime, ended: datetime) -> JobFailure | None:
        slack = timedelta(seconds=1)
        return next(
            (f for f in job.errors if f.attempt == attempt and started - slack <= f.at <= ended + slack),
            None,
        )

    found: list[Try] = []
    steps = changes(events)
    last = max((i for i, c in enumerate(steps) if c.state == "active"), default=-1)
    for i, change in enumerate(steps):
        if change.state != "active":
            continue
        after = steps[i + 1] if i + 1 < len(steps) else None
        found.append(
            Try(
                attempt=change.attempt,
                started=change.at,
                ended=after.at if after else None,
                outcome=after.state if after else "running",
                worker=change.worker or (job.worker if i == last else None),
                failure=failure(change.attempt, change.at, after.at) if after else None,
            )
        )
    return found
