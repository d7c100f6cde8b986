"""Cron schedules: `jobhost scheduler` enqueues each registered schedule's task when it fires.

Several schedulers may run: each fire is enqueued under a once-key (`<schedule>:<fire time>`)
set in the same Lua call as the job, so exactly one of them enqueues it, and a crash between
the two is impossible. A scheduler that was down does not replay the fires it missed: it runs
the latest one once and logs how many were skipped. Every scheduler also runs the queue
housekeeping tick, so delayed jobs and expired leases move even with no worker idle on a queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from typing import Any

from croniter import croniter

from jobhost.plugins import ScheduleDef
from jobhost.queue.ticker import keep_ticking, sleep_unless

log = logging.getLogger("jobhost.scheduler")

# How long a fire's once-key lives: far longer than any clock skew between schedulers.
ONCE_TTL = 2 * 24 * 3600
# Counting missed fires stops here (a per-second cron down for a week is a lot of fires).
MISSED_COUNT_LIMIT = 10_000


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat()


class Scheduler:
    def __init__(self, host: Any) -> None:
        self.host = host
        self.engine = host.engine
        self.schedules: dict[str, ScheduleDef] = dict(host.registry.schedules)

    async def fire(self, schedule: ScheduleDef, at: float) -> bool:
        """Enqueue the schedule's job for the fire at `at` unless another scheduler already did."""
        key = f"{schedule.name}:{int(at)}"
        try:
            job = await self.engine.enqueue_once(key, ONCE_TTL, schedule.task, dict(schedule.kwargs))
        except Exception:
            log.exception(
                "schedule %r (plugin %r): enqueueing %s failed", schedule.name, schedule.plugin, schedule.task
            )
            return False
        await self.engine.redis.hset(self.engine.keys.schedule_last(), schedule.name, int(at))
        if job is not None:
            log.info("schedule %r fired for %s: job %s", schedule.name, _when(at), job.id)
        return job is not None

    async def catch_up(self, now: float) -> None:
        """Run each schedule's latest missed fire once (if any was missed while no scheduler ran)."""
        lasts = await self.engine.redis.hgetall(self.engine.keys.schedule_last())
        for name, schedule in self.schedules.items():
            latest = croniter(schedule.cron, now).get_prev(float)
            last = lasts.get(name)
            if last is None:  # first run ever: nothing was missed
                await self.engine.redis.hsetnx(self.engine.keys.schedule_last(), name, int(latest))
                continue
            if int(last) >= int(latest):
                continue
            missed, cursor = 0, croniter(schedule.cron, float(last))
            while missed < MISSED_COUNT_LIMIT and cursor.get_next(float) <= latest:
                missed += 1
            log.warning(
                "schedule %r: %s%d fire(s) missed since %s while no scheduler ran; "
                "running only the latest (%s) once",
                name,
                "at least " if missed >= MISSED_COUNT_LIMIT else "",
                missed,
                _when(float(last)),
                _when(latest),
            )
            await self.fire(schedule, latest)

    async def run(self, stop: asyncio.Event) -> None:
        ticker = asyncio.create_task(keep_ticking(self.engine, stop))
        try:
            now = time.time()
            await self.catch_up(now)
            upcoming = {name: croniter(s.cron, now).get_next(float) for name, s in self.schedules.items()}
            log.info("scheduler running %d schedule(s)", len(upcoming))
            while not stop.is_set():
                soonest = min(upcoming.values(), default=time.time() + 60)
                await sleep_unless(stop, max(0.0, soonest - time.time()))
                if stop.is_set():
                    break
                now = time.time()
                for name, at in list(upcoming.items()):
                    if at <= now:
                        await self.fire(self.schedules[name], at)
                        # From now, not from `at`: a stalled process skips fires instead of bursting.
                        upcoming[name] = croniter(self.schedules[name].cron, max(at, now)).get_next(float)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker


async def run_scheduler(host: Any, stop: asyncio.Event) -> None:
    """Run the cron scheduler (and queue housekeeping) until `stop` is set."""
    await Scheduler(host).run(stop)
