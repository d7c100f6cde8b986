"""Fixed-window attempt counters in Redis, so every API process of a deployment counts together
(in embedded mode the in-process store does the same for the one process)."""

from __future__ import annotations

from typing import Any

from jobhost.policy import RateLimit


async def hit(redis: Any, key: str, limit: RateLimit) -> float | None:
    """Count one attempt under `key`; the seconds to wait when over the limit, else None."""
    window_ms = max(1, int(limit.per * 1000))
    pipe = redis.pipeline(transaction=True)
    pipe.set(key, 0, px=window_ms, nx=True)  # a new window starts at 0 and expires with it
    pipe.incr(key)
    pipe.pttl(key)
    _, count, ttl_ms = await pipe.execute()
    if count > limit.count:
        return max(ttl_ms, 1) / 1000
    return None
