"""Embedded mode's durability: the in-process store written to a JSON file in the data directory
every few seconds and on shutdown, and read back when `jobhost run` starts.

One Lua call reads the whole store, so a snapshot is one point in time (never a job half moved
between states). The file is replaced atomically and readable by its owner only. What a crash
(not a clean stop) loses is what changed since the last write, at most `EVERY` seconds: jobs
enqueued or finished in that window. A job that was running when the process died comes back
through its lease, as with Redis; consumer groups come back without their pending entries, which
nothing reads (the lease reaper works from the job records).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

log = logging.getLogger("jobhost.queue")

EVERY = 5.0
VERSION = 1

# Every key with its type, remaining time to live (ms, -1 = none) and contents.
_DUMP = """
local out = {}
for _, key in ipairs(redis.call('KEYS', '*')) do
  local kind = redis.call('TYPE', key)['ok']
  local value
  if kind == 'string' then value = redis.call('GET', key)
  elseif kind == 'hash' then value = redis.call('HGETALL', key)
  elseif kind == 'list' then value = redis.call('LRANGE', key, 0, -1)
  elseif kind == 'set' then value = redis.call('SMEMBERS', key)
  elseif kind == 'zset' then value = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  elseif kind == 'stream' then
    value = {redis.call('XRANGE', key, '-', '+'), redis.call('XINFO', 'GROUPS', key)}
  end
  if value ~= nil then table.insert(out, {key, kind, redis.call('PTTL', key), value}) end
end
return out
"""


def _pairs(flat: list[Any]) -> dict[Any, Any]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _record(key: str, kind: str, ttl: int, value: Any) -> list[Any]:
    if kind == "stream":
        entries, groups = value
        value = {
            "entries": [[sid, fields] for sid, fields in entries],
            "groups": [[g["name"], g["last-delivered-id"]] for g in map(_pairs, groups)],
        }
    return [key, kind, ttl, value]


async def dump(redis: Redis) -> dict[str, Any]:
    """The whole store as JSON-ready data (the client must decode responses)."""
    rows = await redis.eval(_DUMP, 0)
    return {"version": VERSION, "saved_at": time.time(), "keys": [_record(*row) for row in rows]}


async def restore(redis: Redis, snapshot: dict[str, Any]) -> int:
    """Write a snapshot's keys into the store; how many."""
    pipe = redis.pipeline(transaction=False)
    for key, kind, ttl, value in snapshot["keys"]:
        if kind == "string":
            pipe.set(key, value)
        elif kind == "hash":
            pipe.hset(key, mapping=_pairs(value))
        elif kind == "list":
            pipe.rpush(key, *value)
        elif kind == "set":
            pipe.sadd(key, *value)
        elif kind == "zset":
            pipe.zadd(key, {member: float(score) for member, score in _pairs(value).items()})
        elif kind == "stream":
            for sid, fields in value["entries"]:
                pipe.xadd(key, _pairs(fields), id=sid)
            for name, last_id in value["groups"]:
                pipe.xgroup_create(key, name, last_id, mkstream=True)
        if ttl > 0:
            pipe.pexpire(key, ttl)
    await pipe.execute()
    return len(snapshot["keys"])


class Snapshots:
    """The snapshot file of one data directory, for the store `redis` reaches."""

    def __init__(self, redis: Redis, path: Path) -> None:
        self.redis = redis
        self.path = path
        self._written: bytes | None = None

    async def load(self) -> int:
        """Fill an empty store from the file, if there is one; how many keys it brought back."""
        if not self.path.exists() or await self.redis.dbsize():
            return 0
        try:
            snapshot = json.loads(self.path.read_bytes())
            if snapshot.get("version") != VERSION:
                raise ValueError(f"version {snapshot.get('version')!r}, expected {VERSION}")
            count = await restore(self.redis, snapshot)
        except (ValueError, KeyError, TypeError) as exc:
            # Kept aside, not deleted: nothing is lost that someone could still read.
            aside = self.path.with_suffix(f".unreadable-{int(time.time())}.json")
            self.path.rename(aside)
            log.error("embedded store snapshot %s is unreadable (%s); moved to %s", self.path, exc, aside)
            return 0
        log.info("embedded store: %d keys restored from %s", count, self.path)
        return count

    async def save(self) -> None:
        data = json.dumps(await dump(self.redis)).encode()
        if data == self._written:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, self.path)
        self._written = data

    async def keep_saving(self, stop: asyncio.Event, every: float = EVERY) -> None:
        """Save every `every` seconds until `stop` (the last save is the caller's, after the stop)."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            if not stop.is_set():
                try:
                    await self.save()
                except OSError as exc:
                    log.error("embedded store: writing %s failed: %s; trying again", self.path, exc)
