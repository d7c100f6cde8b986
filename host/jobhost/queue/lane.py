"""The suspect lane: a worker's side of the quarantine of jobs back from a dead worker.

Jobs that were running in a worker process that died (a job killed it, or it was SIGKILLed)
come back as suspects (prelude.lua's `quarantine`). Each runs alone in its worker: nothing else
is claimed while it runs, and it is claimed only when nothing else runs. So if it kills its
worker again, it is the one blamed (its try counts) and no healthy job dies beside it; one that
completes or fails as usual is cleared. A worker that hears of suspects while busy takes nothing
new until its running jobs are done (`drain`).

One `Lane` per worker process, shared by the consumers of all its queues (a crash takes the whole
process, whatever the queue).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from jobhost.queue.consumer import ClaimMode


class Lane:
    """Which claims a worker may make now, so that a suspect runs alone."""

    def __init__(self, concurrency: int) -> None:
        self.solo = concurrency == 1  # one job at a time: every job runs alone
        self._claiming = 0  # claims in flight
        self._exclusive = False  # an idle claim is in flight: it may bring a suspect
        self._suspect = False  # a suspect runs
        self._draining = False  # suspects wait: claim nothing until the running jobs are done
        self._waiters: list[asyncio.Future[None]] = []

    def mode(self, busy: int) -> ClaimMode | None:
        """How the next claim may take jobs, with `busy` jobs running in the process; None: not
        now (wait for `changed`)."""
        if self.solo:
            return "solo"
        if self._suspect or self._exclusive:
            return None
        if busy == 0 and self._claiming == 0:
            return "idle"
        return None if self._draining else "busy"

    @contextlib.contextmanager
    def claiming(self, mode: ClaimMode) -> Iterator[None]:
        """Around one claim made in `mode`."""
        self._claiming += 1
        self._exclusive = mode == "idle"
        try:
            yield
        finally:
            self._claiming -= 1
            self._exclusive = False
            self.changed()

    def claimed(self, mode: ClaimMode, drain: bool, suspect: bool) -> None:
        """What a claim in `mode` answered: drain (suspects wait), or jobs (one suspect or not)."""
        if drain:
            self._draining = True
        elif mode != "busy":
            self._draining = False  # an idle claim found no suspect left, or took one
        if suspect and not self.solo:
            self._suspect = True

    def suspect_done(self) -> None:
        self._suspect = False
        self.changed()

    def changed(self) -> None:
        """Something a waiting claim depends on changed (a job ended, a claim returned)."""
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        await waiter
