"""Where schedules keep their state in Redis: ad-hoc schedules (added at run time with taskiq's
`schedule_by_time` / `schedule_by_cron`) and the last fire of each registered cron schedule.

Ad-hoc schedules live in one hash (id → the ScheduledTask as JSON) with a sorted set of the time
schedules by due moment, both written in one MULTI so a schedule is never half there. Firing is
the scheduler's: each fire goes through the engine's once-key enqueue, so any number of schedulers
enqueue it exactly once.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from jobhost.queue import codec
from jobhost.queue.keys import Keys


class ScheduleStore:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    # -- ad-hoc schedules ------------------------------------------------------------------------

    async def add(self, schedule_id: str, data: dict[str, Any], due: float | None) -> None:
        """Store a schedule; `due` (epoch seconds) for a one-off time schedule, None for cron."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self.keys.adhoc(), schedule_id, codec.dumps(data))
        if due is not None:
            pipe.zadd(self.keys.adhoc_due(), {schedule_id: due})
        await pipe.execute()

    async def all(self) -> dict[str, dict[str, Any]]:
        raw = await self.redis.hgetall(self.keys.adhoc())
        return {str(schedule_id): codec.loads(data) for schedule_id, data in raw.items()}

    async def remove(self, schedule_id: str) -> bool:
        pipe = self.redis.pipeline(transaction=True)
        pipe.hdel(self.keys.adhoc(), schedule_id)
        pipe.zrem(self.keys.adhoc_due(), schedule_id)
        removed, _ = await pipe.execute()
        return bool(removed)

    # -- registered cron schedules ---------------------------------------------------------------

    async def last_fires(self) -> dict[str, int]:
        """Schedule name → the last fire time (epoch seconds) any scheduler enqueued."""
        raw = await self.redis.hgetall(self.keys.schedule_last())
        return {str(name): int(at) for name, at in raw.items()}

    async def fired(self, name: str, at: float) -> None:
        await self.redis.hset(self.keys.schedule_last(), name, int(at))

    async def first_seen(self, name: str, at: float) -> None:
        """Record a schedule's latest fire time unless one is recorded (its first run ever)."""
        await self.redis.hsetnx(self.keys.schedule_last(), name, int(at))
