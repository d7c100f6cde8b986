"""Progress writing: what a task reports through its JobContext (progress, log lines) reaches
Redis from the event loop, in call order, without holding up the task."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from jobhost.events import Event, Events
from jobhost.logs import OUTAGES
from jobhost.queue.context import JobContext
from jobhost.queue.engine import Engine
from jobhost.worker.state import Running

log = logging.getLogger("jobhost.worker")


class ProgressWriter:
    def __init__(self, engine: Engine, host: Any) -> None:
        self.engine = engine
        self.host = host
        self._dirty: set[Running] = set()
        self._dirty_event = asyncio.Event()

    def context(self, running: Running, timeout: float | None) -> JobContext:
        """The try's JobContext; what the task records through it is written soon after."""
        loop = asyncio.get_running_loop()
        job = running.job

        def notify() -> None:
            loop.call_soon_threadsafe(self._mark_dirty, running)

        def emit(name: str, data: dict[str, Any], source: str | None = None) -> Event:
            # Called from a sync task's thread too: a list append needs no lock under the GIL,
            # and the worker reads the list only once the task has returned.
            event = Events.event(name, data, source)
            running.events.append(event)
            return event

        running.flushing = asyncio.Lock()
        return JobContext(
            job_id=job.id,
            queue=job.queue,
            task=job.task,
            attempt=job.attempt,
            attempts=job.attempts,
            owner=job.owner,
            host=self.host,
            notify=notify,
            emit=emit,
            deadline=None if timeout is None else time.monotonic() + timeout,
        )

    def _mark_dirty(self, running: Running) -> None:
        self._dirty.add(running)
        self._dirty_event.set()

    def forget(self, running: Running) -> None:
        """The try is over (its last progress flushed): nothing more to write for it."""
        self._dirty.discard(running)

    async def run(self) -> None:
        """Write what tries recorded, as they record it (until cancelled)."""
        while True:
            await self._dirty_event.wait()
            self._dirty_event.clear()
            while self._dirty:
                await self.flush(self._dirty.pop())

    async def flush(self, running: Running) -> None:
        """Write what the task's ctx recorded; the lock keeps writes in call order."""
        if running.ctx is None or running.flushing is None:
            return
        async with running.flushing:
            progress, lines = running.ctx.take()
            if progress is not None or lines:
                try:
                    await self.engine.write_progress(running.job, progress, lines)
                except Exception as exc:
                    OUTAGES.trouble("Redis", exc, log, f"job {running.job.id}: writing progress")
