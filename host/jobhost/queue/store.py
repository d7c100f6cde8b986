"""What every part of the engine shares: one host's Redis client, key names, scripts and registry.

The producer, consumer, inspector and admin (queue/engine.py composes them) each hold the one
store, so a host opens one connection pool and registers each script once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from redis.exceptions import ResponseError

from jobhost.policy import QueuePolicy
from jobhost.queue import search
from jobhost.queue.catalog import Catalog, TaskSpec
from jobhost.queue.connection import connect
from jobhost.queue.errors import JobInputError
from jobhost.queue.keys import GROUP, Keys
from jobhost.queue.schedules import ScheduleStore
from jobhost.queue.scripts import Scripts
from jobhost.settings import Settings

# Most jobs one tick or clean call moves or removes (a script blocks Redis while it runs).
TICK_BATCH = 500


class Store:
    """The Redis side of one host (or the embedded in-process store)."""

    def __init__(self, settings: Settings, registry: Catalog) -> None:
        self.settings = settings
        self.registry = registry
        self.keys = Keys(settings.redis_prefix)
        self.redis = connect(settings)
        self.scripts = Scripts(self.redis)
        self.schedules = ScheduleStore(self.redis, self.keys)
        self._grouped: set[str] = set()

    async def close(self) -> None:
        await self.redis.aclose()

    def policy(self, queue: str) -> QueuePolicy:
        try:
            return self.registry.queues[queue]
        except KeyError:
            known = ", ".join(sorted(self.registry.queues)) or "(none)"
            raise JobInputError(f"unknown queue {queue!r}; registered queues: {known}") from None

    def task(self, name: str) -> TaskSpec:
        try:
            return self.registry.tasks[name]
        except KeyError:
            known = ", ".join(sorted(self.registry.tasks)) or "(none)"
            raise JobInputError(
                f"unknown task {name!r}; registered tasks: {known} (is its plugin installed and enabled?)"
            ) from None

    def base(self, queue: str) -> list[str]:
        """A script's KEYS for one queue: its key prefix (the scripts build the rest from it)."""
        return [self.keys.base(queue)]

    async def setup(self, queues: Iterable[str] | None = None) -> None:
        """Create each queue's stream and consumer group (from id 0), before anything is enqueued."""
        for queue in self.registry.queues if queues is None else queues:
            if queue in self._grouped:
                continue
            try:
                await self.redis.xgroup_create(self.keys.stream(queue), GROUP, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
            self._grouped.add(queue)

    async def regroup(self, queue: str) -> None:
        """Make the queue's group again after Redis lost it (restarted without persistence, or
        flushed): from id 0, so whatever is in the stream is read."""
        self._grouped.discard(queue)
        await self.setup([queue])

    async def index(self, client: Any, task: TaskSpec, job_id: str, kwargs: dict[str, Any]) -> None:
        """(Re)index a job's task name and searchable kwargs (on `client`: a pipeline, or the
        connection)."""
        terms = search.terms(self.policy(task.queue), task.name, kwargs)
        await self.scripts.index(keys=self.base(task.queue), args=[job_id, *terms], client=client)
