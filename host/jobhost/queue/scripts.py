"""The Lua scripts, one per state change: each runs atomically inside Redis in one round trip."""

from __future__ import annotations

from importlib import resources

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

NAMES = ("enqueue", "claim", "complete", "fail", "putback", "renew", "tick", "progress", "admin", "index")


def _source(name: str) -> str:
    return (resources.files("jobhost.queue") / "lua" / f"{name}.lua").read_text()


class Scripts:
    """Every script registered on one client; call as `await scripts.claim(keys=[base], args=[...])`."""

    def __init__(self, client: aioredis.Redis) -> None:
        prelude = _source("prelude")
        for name in NAMES:
            setattr(self, name, client.register_script(prelude + _source(name)))

    enqueue: AsyncScript
    claim: AsyncScript
    complete: AsyncScript
    fail: AsyncScript
    putback: AsyncScript
    renew: AsyncScript
    tick: AsyncScript
    progress: AsyncScript
    admin: AsyncScript
    index: AsyncScript
