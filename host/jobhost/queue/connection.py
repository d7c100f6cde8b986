"""The Redis client: a real server for REDIS_URL, else one in-process fakeredis per process."""

from __future__ import annotations

import fakeredis
import redis
import redis.asyncio as aioredis
from fakeredis import aioredis as fake_aioredis

from jobhost.queue.loopback import Loopback
from jobhost.queue.snapshot import Snapshots
from jobhost.settings import Settings

# Longest BLOCK any engine read uses; the socket timeout must exceed it (redis-py 8 defaults to 5 s,
# which kills a blocked read).
BLOCK_MS = 2000
SOCKET_TIMEOUT = 10.0

_embedded: fakeredis.FakeServer | None = None


def embedded_server() -> fakeredis.FakeServer:
    """The process's in-process store: every Host of the process (API, worker, scheduler) shares it."""
    global _embedded
    if _embedded is None:
        _embedded = fakeredis.FakeServer()
    return _embedded


def embedded_snapshots(settings: Settings) -> Snapshots:
    """The snapshot file that keeps the embedded store across restarts, in the data directory."""
    return Snapshots(
        fake_aioredis.FakeRedis(server=embedded_server(), decode_responses=True),
        settings.data_dir / "queues.json",
    )


def embedded_loopback(settings: Settings) -> Loopback:
    """The loopback door through which operator commands reach this process's store."""
    return Loopback(settings.data_dir, embedded_server())


def connect(settings: Settings) -> aioredis.Redis:
    if settings.embedded:
        return fake_aioredis.FakeRedis(server=embedded_server(), decode_responses=True)
    assert settings.redis_url is not None  # not embedded
    return aioredis.Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=5.0,
    )


def connect_sync(settings: Settings) -> redis.Redis:
    """A blocking client on the same store, for a thread (the worker's heartbeat)."""
    url = settings.redis_url
    if settings.embedded or url is None:
        return fakeredis.FakeRedis(server=embedded_server(), decode_responses=True)
    return redis.Redis.from_url(
        url, decode_responses=True, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=5.0
    )
