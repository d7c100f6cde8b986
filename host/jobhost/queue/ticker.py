"""The housekeeping loop every worker and scheduler runs: due delayed jobs, expired leases, retention."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from jobhost.logs import OUTAGES
from jobhost.queue.engine import Engine

log = logging.getLogger("jobhost.queue")

# Delayed jobs are moved at most this late (plus a round trip); the lease reaper inside the same
# call runs at most once a second per queue across all processes.
TICK_EVERY = 0.5


async def keep_ticking(engine: Engine, stop: asyncio.Event) -> None:
    """Call `engine.tick()` until `stop` is set, sooner when a delayed job falls due sooner."""
    while not stop.is_set():
        try:
            due = await engine.tick()
        except Exception as exc:
            due = OUTAGES.trouble("Redis", exc, log, "queue housekeeping")
        else:
            OUTAGES.recovered("Redis", log)
        await sleep_unless(stop, TICK_EVERY if due is None else min(TICK_EVERY, due + 0.005))


async def sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, waking early when `stop` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
