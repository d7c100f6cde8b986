"""Operator actions on jobs and queues: retry or replay, cancel, remove, clean, pause, resume."""

from __future__ import annotations

from typing import Any

from jobhost.queue import codec
from jobhost.queue.errors import JobInputError, JobNotFound, JobStateError
from jobhost.queue.inspector import Inspector
from jobhost.queue.job import Job
from jobhost.queue.keys import STATES, UnknownJobId, queue_of
from jobhost.queue.options import ms
from jobhost.queue.store import TICK_BATCH, Store
from jobhost.queue.tasks import check_kwargs


class Admin:
    def __init__(self, store: Store, inspector: Inspector) -> None:
        self.store = store
        self.inspector = inspector  # to answer with the job as the action left it

    async def _admin(self, action: str, job_id: str, *args: Any) -> Any:
        try:
            queue = queue_of(job_id)
        except UnknownJobId:
            raise JobNotFound(f"no job {job_id!r}") from None
        return await self.store.scripts.admin(keys=self.store.base(queue), args=[action, job_id, *args])

    async def _after(self, job_id: str) -> Job:
        job = await self.inspector.job(job_id)
        assert job is not None  # the script just acted on it
        return job

    async def retry(self, job_id: str, kwargs: dict[str, Any] | None = None) -> Job:
        """Queue a dead, cancelled or completed job again with fresh tries (a delayed one: now).

        With `kwargs`, the job runs with them instead (checked against the task's parameters first).
        """
        payload = ""
        if kwargs is not None:
            job = await self.inspector.job(job_id)
            if job is None:
                raise JobNotFound(f"no job {job_id!r}")
            check_kwargs(self.store.task(job.task), kwargs)
            payload = codec.dumps(kwargs)
        reply = await self._admin("retry", job_id, payload)
        if reply == 0:
            raise JobNotFound(f"no job {job_id!r}")
        if reply.startswith("refused:"):
            raise JobStateError(
                f"job {job_id!r} is {reply[8:]}; "
                "only dead, cancelled, completed or delayed jobs can be retried"
            )
        job = await self._after(job_id)
        if kwargs is not None:
            await self.store.index(self.store.redis, self.store.task(job.task), job_id, kwargs)
        return job

    async def replay(self, job_id: str, kwargs: dict[str, Any] | None = None) -> Job:
        """Retry a job, optionally with edited kwargs; an alias that reads better for the dead set."""
        return await self.retry(job_id, kwargs)

    async def cancel(self, job_id: str) -> Job:
        """Cancel a job that has not ended. A waiting or delayed one is cancelled at once; a running
        one is marked `cancelling`, and its worker stops it within about a second: an async task
        gets CancelledError at its next await, a sync one sees `ctx.cancelled` become true. It
        then ends cancelled, and its try is not retried."""
        try:
            keep = self.store.policy(queue_of(job_id)).keep_completed
        except (UnknownJobId, JobInputError):
            raise JobNotFound(f"no job {job_id!r}") from None
        reply = await self._admin("cancel", job_id, keep.count, int(keep.age))
        if reply == 0:
            raise JobNotFound(f"no job {job_id!r}")
        if reply.startswith("refused:"):
            raise JobStateError(
                f"job {job_id!r} is {reply[8:]}; only jobs that have not ended can be cancelled"
            )
        return await self._after(job_id)

    async def remove(self, job_id: str) -> bool:
        """Delete a job in any state; False when there was none."""
        try:
            return bool(await self._admin("remove", job_id))
        except JobNotFound:
            return False

    async def clean(self, queue: str, state: str, older_than: float = 0.0) -> int:
        """Remove the queue's jobs that entered `state` more than `older_than` seconds ago."""
        self.store.policy(queue)
        if state not in STATES or state == "active":
            cleanable = ", ".join(s for s in STATES if s != "active")
            raise JobInputError(f"state must be one of {cleanable}, got {state!r}")
        removed = 0
        while True:
            n = await self.store.scripts.admin(
                keys=self.store.base(queue), args=["clean", state, ms(older_than), TICK_BATCH]
            )
            removed += n
            if n < TICK_BATCH:
                return removed

    async def pause(self, queue: str) -> None:
        """Workers take nothing new from the queue; enqueue still works."""
        self.store.policy(queue)
        await self.store.redis.set(self.store.keys.paused(queue), "1")

    async def resume(self, queue: str) -> None:
        self.store.policy(queue)
        await self.store.redis.delete(self.store.keys.paused(queue))
