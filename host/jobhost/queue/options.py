"""How a job is put in line: when, by which priority, deduplicated by which key; checked before
anything is stored, with errors naming the task and the option."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from jobhost.queue import codec
from jobhost.queue.errors import JobInputError
from jobhost.queue.keys import UnknownJobId, queue_of, valid_job_id

if TYPE_CHECKING:
    from jobhost.policy import QueuePolicy

# Priorities run from 0 (none: first) to this (last), as in BullMQ.
PRIORITY_MAX = 2**21
# Without an aging policy a priority level is worth more enqueues than a queue ever sees.
STRICT_STEP = 2**32
# What a job does when a dependency dies or is cancelled: die too, run at once, or not wait for it.
ON_DEPENDENCY_FAILURE = ("fail", "run", "ignore")
MAX_DEPENDENCIES = 1000


def ms(seconds: float) -> int:
    return int(seconds * 1000)


@attrs.frozen
class EnqueueOptions:
    """The keyword options of `Engine.enqueue` (see there)."""

    delay: float | None = None
    run_at: datetime | None = None
    owner: str | None = None
    priority: int = 0
    unique_key: str | None = None
    unique_ttl: float | None = None
    debounce: bool = False
    job_id: str | None = None
    depends_on: Sequence[str] | None = None
    on_dependency_failure: str = "fail"
    labels: dict[str, Any] | None = None
    origin: str | None = None  # the job this one copies (a duplicate, or an edited replay)
    # A cron fire's key (`Engine.enqueue_once`): enqueue only if no call took it in `once_ttl` s.
    once_key: str | None = None
    once_ttl: int = 0

    def check(self, task: str, queue: str) -> None:
        where = f"task {task!r}"
        if self.delay is not None and self.run_at is not None:
            raise JobInputError(f"{where}: give delay or run_at, not both")
        if self.delay is not None and (not isinstance(self.delay, int | float) or self.delay < 0):
            raise JobInputError(f"{where}: delay must be seconds >= 0, got {self.delay!r}")
        if self.run_at is not None and (not isinstance(self.run_at, datetime) or self.run_at.tzinfo is None):
            raise JobInputError(f"{where}: run_at must be a timezone-aware datetime")
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            raise JobInputError(f"{where}: priority must be an integer, got {self.priority!r}")
        if not 0 <= self.priority <= PRIORITY_MAX:
            raise JobInputError(f"{where}: priority must be 0-{PRIORITY_MAX}, got {self.priority}")
        if self.unique_key is not None and (not isinstance(self.unique_key, str) or not self.unique_key):
            raise JobInputError(f"{where}: unique_key must be a non-empty string, got {self.unique_key!r}")
        if self.unique_ttl is not None and (
            not isinstance(self.unique_ttl, int | float) or self.unique_ttl < 1
        ):
            raise JobInputError(f"{where}: unique_ttl must be seconds >= 1, got {self.unique_ttl!r}")
        if (self.unique_ttl is not None or self.debounce) and self.unique_key is None:
            raise JobInputError(f"{where}: unique_ttl and debounce need a unique_key")
        if self.depends_on is not None:
            self._check_dependencies(where)
        if self.on_dependency_failure not in ON_DEPENDENCY_FAILURE:
            raise JobInputError(
                f"{where}: on_dependency_failure must be one of {', '.join(ON_DEPENDENCY_FAILURE)}, "
                f"got {self.on_dependency_failure!r}"
            )
        if self.job_id is not None and (
            not isinstance(self.job_id, str) or not valid_job_id(self.job_id, queue)
        ):
            raise JobInputError(f"{where}: job id must be '{queue}:<hex digits>', got {self.job_id!r}")
        if self.labels:
            try:
                codec.check(self.labels, "labels")
            except codec.NotJSON as exc:
                raise JobInputError(f"{where}: {exc}") from None

    def _check_dependencies(self, where: str) -> None:
        deps = self.depends_on
        if isinstance(deps, str) or not isinstance(deps, Sequence) or not deps:
            raise JobInputError(f"{where}: depends_on must be a non-empty list of job ids, got {deps!r}")
        if len(deps) > MAX_DEPENDENCIES or len(set(deps)) != len(deps):
            raise JobInputError(f"{where}: depends_on must hold at most {MAX_DEPENDENCIES} distinct ids")
        for dep in deps:
            try:
                queue_of(dep if isinstance(dep, str) else "")
            except UnknownJobId:
                raise JobInputError(f"{where}: depends_on holds {dep!r}, not a job id") from None

    def lua_args(self, policy: QueuePolicy) -> list[Any]:
        """enqueue.lua's ARGV from `delay_ms` on, for a job of `policy`'s queue."""
        return [
            "" if self.delay is None else ms(self.delay),
            "" if self.run_at is None else ms(self.run_at.timestamp()),
            self.once_key or "",
            self.once_ttl,
            self.priority,
            policy.priority_aging or STRICT_STEP,
            self.unique_key or "",
            "" if self.unique_ttl is None else int(self.unique_ttl),
            "1" if self.debounce else "",
            codec.dumps(list(self.depends_on)) if self.depends_on else "",
            self.on_dependency_failure,
            policy.keep_dead.count,
            int(policy.keep_dead.age),
            codec.dumps(self.labels) if self.labels else "",
            self.origin or "",
        ]
