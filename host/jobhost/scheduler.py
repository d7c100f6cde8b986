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

from jobhost.logs import OUTAGES
from jobhost.plugins import ScheduleDef
from jobhost.queue.ticker import keep_ticking, sleep_unless
from jobhost.schedule_source import Adhoc

log = logging.getLogger("jobhost.scheduler")

# How long a fire's once-key lives: far longer than any clock skew between schedulers.
ONCE_TTL = 2 * 24 * 3600
# How often ad-hoc schedules (added at run time, by any process) are read again, in seconds.
ADHOC_POLL = 0.5
# Counting missed fires stops here (a per-second cron down for a week is a lot of fires).
MISSED_COUNT_LIMIT = 10_000


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat()


class Scheduler:
    def __init__(self, host: Any) -> None:
        self.host = host
        self.engine = host.engine
        self.schedules: dict[str, ScheduleDef] = dict(host.registry.schedules)
        self._adhoc_next: dict[str, float] = {}  # ad-hoc schedule id → its next fire

    async def fire(self, schedule: ScheduleDef, at: float) -> bool:
        """Enqueue the schedule's job for the fire at `at` unless another scheduler already did."""
        key = f"{schedule.name}:{int(at)}"
        try:
            job = await self.engine.enqueue_once(key, ONCE_TTL, schedule.task, dict(schedule.kwargs))
        except Exception as exc:
            doing = f"schedule {schedule.name!r} (plugin {schedule.plugin!r}): enqueueing {schedule.task}"
            OUTAGES.trouble("Redis", exc, log, doing)
            return False
        await self.engine.schedules.fired(schedule.name, at)
        if job is not None:
            log.info("schedule %r fired for %s: job %s", schedule.name, _when(at), job.id)
        return job is not None

    async def fire_adhoc(self, now: float) -> float:
        """Fire every ad-hoc schedule that is due; returns when to look again (at most ADHOC_POLL s
        away, so a schedule added meanwhile fires within a second of its time)."""
        soonest = now + ADHOC_POLL
        try:
            found = await self.host.schedules.adhoc()
        except Exception as exc:
            return now + OUTAGES.trouble("Redis", exc, log, "reading ad-hoc schedules")
        OUTAGES.recovered("Redis", log)
        for adhoc in found:
            # A fire missed while no scheduler ran is skipped, as for registered schedules.
            since = self._adhoc_next.get(adhoc.id) or adhoc.next_fire(
                max(adhoc.added, now - ADHOC_POLL) - 0.001
            )
            if since <= now:
                await self._fire_adhoc(adhoc, since)
                if adhoc.kind == "time":
                    await self.host.schedules.delete_schedule(adhoc.id)
                    self._adhoc_next.pop(adhoc.id, None)
                    continue
                since = adhoc.next_fire(max(since, now))
            self._adhoc_next[adhoc.id] = since
            soonest = min(soonest, since)
        live = {adhoc.id for adhoc in found}
        for gone in set(self._adhoc_next) - live:
            del self._adhoc_next[gone]
        return soonest

    async def _fire_adhoc(self, adhoc: Adhoc, at: float) -> None:
        task = adhoc.schedule.task_name
        try:
            fired = await self.host.broker.enqueue_once(
                f"adhoc:{adhoc.id}:{at:.3f}", ONCE_TTL, adhoc.schedule
            )
        except Exception as exc:
            doing = f"ad-hoc schedule {adhoc.id}: enqueueing {task} for {_when(at)}"
            OUTAGES.trouble("Redis", exc, log, doing)
            return
        if fired:
            log.info("ad-hoc schedule %s fired for %s: %s", adhoc.id, _when(at), task)

    async def catch_up(self, now: float) -> None:
        """Run each schedule's latest missed fire once (if any was missed while no scheduler ran)."""
        lasts = await self.engine.schedules.last_fires()
        for name, schedule in self.schedules.items():
            latest = croniter(schedule.cron, now).get_prev(float)
            last = lasts.get(name)
            if last is None:  # first run ever: nothing was missed
                await self.engine.schedules.first_seen(name, latest)
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
                soonest = min([*upcoming.values(), await self.fire_adhoc(time.time())])
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


async def overview(host: Any) -> dict[str, list[dict[str, Any]]]:
    """Every schedule with its next fire: the plugins' cron schedules (with their last fire) and the
    ad-hoc ones, as `jobhost schedules` and `GET /api/admin/schedules` show them."""
    now = time.time()
    lasts = await host.engine.schedules.last_fires()
    registered = [
        {
            "name": s.name,
            "plugin": s.plugin,
            "cron": s.cron,
            "task": s.task,
            "kwargs": dict(s.kwargs),
            "last_fire": lasts.get(s.name),
            "next_fire": croniter(s.cron, now).get_next(float),
        }
        for s in sorted(host.registry.schedules.values(), key=lambda s: s.name)
    ]
    adhoc = [a.as_dict(now) for a in await host.schedules.adhoc()]
    return {"schedules": registered, "adhoc": adhoc}
