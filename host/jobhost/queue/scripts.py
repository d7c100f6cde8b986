"""The Lua scripts, one per state change: each runs atomically inside Redis in one round trip."""

from __future__ import annotations

from importlib import resources
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterPipeline
from redis.client import Pipeline as SyncPipeline
from redis.cluster import ClusterPipeline as SyncClusterPipeline
from redis.commands.core import AsyncScript, Script

from jobhost.queue.keys import (
    DAY_TTL,
    DURATION_BUCKETS,
    DURATION_STEPS,
    EVENTS_KEPT,
    FEED_KEPT,
    GROUP,
    LOG_LINES_KEPT,
    MINUTE_TTL_S,
    RATE_AHEAD_MS,
    TOKEN,
)

# Scripts made of two, run in one call (one round trip, one atomic step): the worker's
# "take the next jobs, then record the last ones" of each batch (worker/__init__.py). The call's
# ARGV[1] says how many of the rest are the first part's; the answer is {first's, second's}.
PAIRS = {"claim_complete": ("claim", "complete")}


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
    "settle",
    *PAIRS,
)


def _source(name: str) -> str:
    return (resources.files("jobhost.queue") / "lua" / f"{name}.lua").read_text()


# What Python and Lua share, stated once (here) and given to every script ahead of the prelude.
# Those only ever handed to redis.call come as text: a number argument costs Redis a sprintf.
CONSTANTS = (
    f"local GROUP = '{GROUP}'\n"
    f"local TOKEN = '{TOKEN}'\n"
    f"local DURATION_BOUNDS_MS = {{{', '.join(map(str, DURATION_BUCKETS))}}}\n"
    f"local EVENTS_KEPT, FEED_KEPT = '{EVENTS_KEPT}', '{FEED_KEPT}'\n"
    f"local LOG_LINES_KEPT, MINUTE_TTL_S = {LOG_LINES_KEPT}, '{MINUTE_TTL_S}'\n"
    f"local DURATION_STEPS = {DURATION_STEPS}\n"
    f"local DAY_TTL_S = '{DAY_TTL}'\n"
    f"local AHEAD = {RATE_AHEAD_MS}\n"
)


def _part(name: str) -> str:
    """A script's text as a local function of its ARGV (the call's, or its part of a pair's)."""
    return f"local function script_{name}(ARGV)\n{_source(name)}\nend\n"


def script_source(name: str) -> str:
    """The full text of one script: the shared constants, the prelude, then the script (or the
    two of a pair) and the prelude's `at_end`, which writes what the script tallied and trims
    the sets it asked for, once, after the script."""
    if name in PAIRS:
        first, second = PAIRS[name]
        parts = _part(first) + _part(second)
        call = (
            "local n = tonumber(ARGV[1])\n"
            f"local answer = {{script_{first}({{unpack(ARGV, 2, n + 1)}}),\n"
            f"  script_{second}({{unpack(ARGV, n + 2)}})}}\n"
        )
    else:
        parts, call = _part(name), f"local answer = script_{name}(ARGV)\n"
    return CONSTANTS + _source("prelude") + parts + call + "at_end()\nreturn answer\n"


class Resilient:
    """A registered script that still runs after Redis lost its script cache (a restart, a
    failover to a replica, a cluster node that never saw it). Called alone, redis-py loads it
    again on NOSCRIPT. In a pipeline it would not: redis-py checks the cache once before a plain
    pipeline (not again when a broken connection makes it send the pipeline anew, maybe to a new
    primary), and never before a cluster one; so a pipeline gets the source (EVAL, which Redis
    caches by its hash) instead."""

    def __init__(self, script: AsyncScript | Script) -> None:
        self.script = script

    def __call__(self, keys: list[str], args: list[Any], client: Any = None) -> Any:
        if client is None:  # the usual call, and an isinstance check of the cluster pipeline is dear
            return self.script(keys=keys, args=args)
        if isinstance(client, Pipeline | ClusterPipeline):
            # queued; not the pipeline to await (awaiting a cluster pipeline starts it afresh)
            client.execute_command("EVAL", self.script.script, len(keys), *keys, *args)
            return _queued()
        if isinstance(client, SyncPipeline | SyncClusterPipeline):
            return client.execute_command("EVAL", self.script.script, len(keys), *keys, *args)
        return self.script(keys=keys, args=args, client=client)


async def _queued() -> None:
    return None


class Scripts:
    """Every script registered on one client; call as `await scripts.claim(keys=[base], args=[...])`."""

    def __init__(self, client: aioredis.Redis) -> None:
        for name in NAMES:
            setattr(self, name, Resilient(client.register_script(script_source(name))))

    enqueue: Resilient
    claim: Resilient
    complete: Resilient
    fail: Resilient
    putback: Resilient
    renew: Resilient
    tick: Resilient
    progress: Resilient
    admin: Resilient
    stopped: Resilient
    index: Resilient
    settle: Resilient
    claim_complete: Resilient
