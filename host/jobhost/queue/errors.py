"""What the engine says when a request about a job cannot be done."""

from __future__ import annotations

from typing import Any

from redis.exceptions import TimeoutError as RedisTimeoutError


class JobInputError(ValueError):
    """A task name, its arguments or a time is wrong; the message names the task and the field."""


class JobNotFound(LookupError):
    """No job has this id (never existed, removed, or trimmed by retention)."""


class JobStateError(ValueError):
    """The job is in a state that does not allow the action (e.g. retrying an active job)."""


class IdempotencyKeyReused(JobInputError):
    """An idempotency key came again with another task or other arguments than its first enqueue."""


class OutcomeUnknown(Exception):
    """An enqueue that may or may not have stored its jobs (`job_ids`, made before the call).
    Whoever enqueued looks them up by id, or retries with the same idempotency key; enqueueing
    them again without one may run them twice. `about`: what the code it passed through adds
    for the caller (a route's 503 shows it beside `job_ids`), such as the record the job is for."""

    def __init__(self, job_ids: list[str], message: str) -> None:
        self.job_ids = job_ids
        self.about: dict[str, Any] = {}
        super().__init__(message)


class EnqueueUnanswered(OutcomeUnknown, RedisTimeoutError):
    """Redis took the enqueue but did not answer (nor, for one job, whether it was stored): the
    jobs may run once Redis works again (a frozen server runs what its sockets hold)."""

    def __init__(self, job_ids: list[str], reason: BaseException) -> None:
        super().__init__(
            job_ids,
            f"Redis did not answer the enqueue of {_named(job_ids)} ({str(reason) or 'no answer in time'}), "
            "so whether it was stored is unknown: it may exist and run; look it up by id, or retry "
            "with the same idempotency key",
        )


class EnqueueIncomplete(RedisTimeoutError):
    """Redis stopped answering a bulk enqueue part way, then said which of its jobs it had stored:
    `stored[i]` tells whether job `job_ids[i]` (made for the i-th kwargs) exists and will run.
    The others never will (their ids are fenced): enqueueing those kwargs again runs each once."""

    def __init__(self, job_ids: list[str], stored: list[bool], reason: BaseException) -> None:
        self.job_ids, self.stored = job_ids, stored
        super().__init__(
            f"Redis stopped answering a bulk enqueue ({str(reason) or 'no answer in time'}) after "
            f"storing {sum(stored)} of its {len(job_ids)} jobs; the others were not stored and never "
            "will be: enqueue those again (the error's `stored` tells which)"
        )


class NotReplicated(OutcomeUnknown, RuntimeError):
    """Jobs were stored on the Redis primary, but fewer replicas than JOBHOST_REDIS_MIN_REPLICAS
    confirmed them in time: they exist and will run, unless the primary fails before a replica
    has them. Whoever enqueued should look them up (by id) before enqueueing them again."""

    def __init__(self, job_ids: list[str], acked: int, wanted: int) -> None:
        super().__init__(
            job_ids,
            f"{_named(job_ids)} stored, but only {acked} of the {wanted} Redis replica(s) "
            "JOBHOST_REDIS_MIN_REPLICAS asks for confirmed it in time: it may be lost if the Redis "
            "primary fails now; look it up by id before enqueueing it again",
        )


def _named(job_ids: list[str]) -> str:
    return f"job {job_ids[0]!r}{f' and {len(job_ids) - 1} more' if len(job_ids) > 1 else ''}"
