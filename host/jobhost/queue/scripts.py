"""The Lua scripts, one per state change: each runs atomically inside Redis in one round trip."""

from __future__ import annotations

from importlib import resources

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from jobhost.queue.keys import (
    DAY_TTL,
    DURATION_BUCKETS,
    DURATION_STEPS,
    EVENTS_KEPT,
    FEED_KEPT,
    GROUP,
    LOG_LINES_KEPT,
    MINUTE_TTL_S,
    TOKEN,
)

NAMES = (
    "enqueue",
    "claim",
    "complete",
    "fail",
    "putback",
    "stopped",
    "renew",
    "tick",
    "progress",
    "admin",
    "index",
)


def _source(name: str) -> str:
    return (resources.files("jobhost.queue") / "lua" / f"{name}.lua").read_text()


# What Python and Lua share, stated once (here) and given to every script ahead of the prelude.
CONSTANTS = (
    f"local GROUP = '{GROUP}'\n"
    f"local TOKEN = '{TOKEN}'\n"
    f"local DURATION_BOUNDS_MS = {{{', '.join(map(str, DURATION_BUCKETS))}}}\n"
    f"local EVENTS_KEPT, FEED_KEPT = {EVENTS_KEPT}, {FEED_KEPT}\n"
    f"local LOG_LINES_KEPT, MINUTE_TTL_S = {LOG_LINES_KEPT}, {MINUTE_TTL_S}\n"
    f"local DURATION_STEPS = {DURATION_STEPS}\n"
    f"local DAY_TTL_S = {DAY_TTL}\n"
)


def script_source(name: str) -> str:
    """The full text of one script: the shared constants, the prelude, the script."""
    return CONSTANTS + _source("prelude") + _source(name)


class Scripts:
    """Every script registered on one client; call as `await scripts.claim(keys=[base], args=[...])`."""

    def __init__(self, client: aioredis.Redis) -> None:
        for name in NAMES:
            setattr(self, name, client.register_script(script_source(name)))

    enqueue: AsyncScript
    claim: AsyncScript
    complete: AsyncScript
    fail: AsyncScript
    putback: AsyncScript
    renew: AsyncScript
    tick: AsyncScript
    progress: AsyncScript
    admin: AsyncScript
    stopped: AsyncScript
    index: AsyncScript
