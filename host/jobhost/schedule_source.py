"""Ad-hoc schedules: the taskiq schedule source a host offers as `host.schedules`.

    await greet.schedule_by_time(host.schedules, datetime(2026, 12, 24, 18, tzinfo=UTC), "Ada")
    await greet.schedule_by_cron(host.schedules, "*/5 * * * *", "Ada")

The source only stores schedules (through the engine, in the host's Redis); `jobhost scheduler`
fires them, each fire exactly once however many schedulers run, to the second. A time schedule
is removed once it fired. Schedules are checked when added: an unknown task, arguments it does
not take, or a time without a timezone are refused with the reason.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import attrs
from croniter import croniter
from taskiq import ScheduledTask, ScheduleSource

from jobhost.broker import JobhostBroker
from jobhost.queue.errors import JobInputError
from jobhost.queue.schedules import ScheduleStore


@attrs.frozen
class Adhoc:
    """One stored ad-hoc schedule and when it was added (fires before that never count)."""

    schedule: ScheduledTask
    added: float

    @property
    def id(self) -> str:
        return self.schedule.schedule_id

    @property
    def kind(self) -> str:
        return "cron" if self.schedule.cron else "interval" if self.schedule.interval else "time"

    def next_fire(self, after: float) -> float:
        """The first fire strictly after `after` (epoch seconds)."""
        schedule = self.schedule
        if schedule.time is not None:
            return schedule.time.timestamp()
        if schedule.cron is not None:
            return float(croniter(schedule.cron, after).get_next(float))
        every = _seconds(schedule.interval)
        return self.added + every * (int((after - self.added) // every) + 1)

    def as_dict(self, now: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "task": self.schedule.task_name,
            "kind": self.kind,
            "cron": self.schedule.cron,
            "interval": _seconds(self.schedule.interval) if self.schedule.interval else None,
            "time": self.schedule.time.isoformat() if self.schedule.time else None,
            "args": self.schedule.args,
            "kwargs": self.schedule.kwargs,
            "next_fire": self.next_fire(now),
        }


def _seconds(interval: int | timedelta | None) -> float:
    return interval.total_seconds() if isinstance(interval, timedelta) else float(interval or 0)


class HostScheduleSource(ScheduleSource):
    """taskiq's ScheduleSource over the engine's schedule store."""

    def __init__(self, broker: JobhostBroker, store: ScheduleStore) -> None:
        self.broker = broker
        self.store = store

    async def add_schedule(self, schedule: ScheduledTask) -> None:
        self.broker.check(schedule.task_name, schedule.args, schedule.kwargs)
        if schedule.cron is not None and not croniter.is_valid(schedule.cron):
            raise JobInputError(f"schedule of {schedule.task_name!r}: cron {schedule.cron!r} is not valid")
        if schedule.time is not None and schedule.time.tzinfo is None:
            raise JobInputError(f"schedule of {schedule.task_name!r}: time must be timezone-aware")
        due = schedule.time.timestamp() if schedule.time is not None else None
        data = {"schedule": schedule.model_dump(mode="json"), "added": time.time()}
        await self.store.add(schedule.schedule_id, data, due)

    async def delete_schedule(self, schedule_id: str) -> None:
        await self.store.remove(schedule_id)

    async def get_schedules(self) -> list[ScheduledTask]:
        return [adhoc.schedule for adhoc in await self.adhoc()]

    async def adhoc(self) -> list[Adhoc]:
        """Every stored schedule, oldest first."""
        found = [
            Adhoc(ScheduledTask.model_validate(data["schedule"]), float(data["added"]))
            for data in (await self.store.all()).values()
        ]
        return sorted(found, key=lambda adhoc: adhoc.added)
