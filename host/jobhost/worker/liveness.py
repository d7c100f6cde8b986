"""Leases and heartbeat: how a worker shows it is alive while it runs jobs.

Its leases are renewed a few times per lease, from the event loop. Its heartbeat is beaten from a
thread of its own, so a task that holds the event loop (CPU-bound, or blocking) does not get the
worker taken for dead; each beat also brings back which of its jobs an operator cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from jobhost.logs import OUTAGES
from jobhost.queue.engine import Engine
from jobhost.queue.heartbeat import Heartbeat
from jobhost.settings import Settings
from jobhost.worker.state import QueueSlots

log = logging.getLogger("jobhost.worker")

# A worker beats every second; after this many beats missed it counts as gone (SIGKILLed, its
# machine lost) and its jobs run elsewhere, long before their leases would run out.
HEARTBEAT_EVERY = 1.0
SILENT_BEATS = 4


class Liveness:
    def __init__(
        self,
        worker_id: str,
        engine: Engine,
        settings: Settings,
        queues: Mapping[str, QueueSlots],
        counts: Callable[[], dict[str, int]],
        cancel: Callable[[str], None],
        every: float = HEARTBEAT_EVERY,
    ) -> None:
        self.id, self.engine, self.queues, self.every = worker_id, engine, queues, every
        self._counts = counts  # the worker's completed and failed tries, for the heartbeat
        self._cancel = cancel  # called in the event loop with each job an operator cancelled
        self._settings = settings
        self._heart: Heartbeat | None = None
        self._started_at = time.time()
        self._stop_beating = threading.Event()
        self._thread: threading.Thread | None = None

    async def start(self) -> None:
        """Beat once (listed, and alive, before taking jobs), then keep beating from a thread."""
        loop = asyncio.get_running_loop()
        self._heart = Heartbeat(self._settings)
        await asyncio.to_thread(self._beat, loop)
        self._thread = threading.Thread(
            target=self._beats, args=(loop,), name="jobhost-heartbeat", daemon=True
        )
        self._thread.start()

    async def stop(self) -> None:
        """Stop beating; the last beat lands before the sign-off, which drops the worker at once."""
        self._stop_beating.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 1.0)
        if self._heart is not None:
            self._heart.close()
        with contextlib.suppress(Exception):
            await self.engine.forget_worker(self.id, self.queues)

    async def renew_leases(self) -> None:
        """Renew the leases of every running job, a third of the shortest lease apart (until cancelled)."""
        every = min((q.policy.lease for q in self.queues.values()), default=30.0) / 3
        while True:
            await asyncio.sleep(every)
            for q in self.queues.values():
                if not q.running:
                    continue
                held = dict(q.running)
                try:
                    lost = await self.engine.renew(q.name, [r.job for r in held.values()], q.policy.lease)
                except Exception as exc:
                    OUTAGES.trouble("Redis", exc, log, f"worker {self.id}: renewing leases on {q.name}")
                    continue
                for job_id in lost:
                    # A job whose outcome was recorded while this call was on its way (and that
                    # another worker took since: a retry, a put back) was not lost.
                    if not held[job_id].ending:
                        log.warning("job %s: lease lost (this worker was too slow to renew it)", job_id)

    def info(self, running: dict[str, list[str]]) -> dict[str, Any]:
        """What the heartbeat publishes (`running`: the job ids by queue)."""
        return {
            "id": self.id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "queues": {q.name: q.concurrency for q in self.queues.values()},
            "running": sorted(job_id for ids in running.values() for job_id in ids),
            **self._counts(),
            "started": self._started_at,
            "last_seen": time.time(),
        }

    def _beat(self, loop: asyncio.AbstractEventLoop) -> None:
        """Publish the heartbeat (in the heartbeat thread); pass on which jobs were cancelled."""
        running = {q.name: list(q.running) for q in self.queues.values()}  # list(): one atomic copy
        assert self._heart is not None  # started
        try:
            cancelled = self._heart.send(self.id, self.info(running), self.every * SILENT_BEATS, running)
        except Exception as exc:
            OUTAGES.trouble("Redis", exc, log, f"worker {self.id}: heartbeat")
            return
        OUTAGES.recovered("Redis", log)
        for job_id in cancelled:
            loop.call_soon_threadsafe(self._cancel, job_id)

    def _beats(self, loop: asyncio.AbstractEventLoop) -> None:
        while not self._stop_beating.wait(self.every):
            self._beat(loop)
