"""The Redis client: a real server, Sentinel or Cluster for REDIS_URL (jobhost/redis_url.py),
else one in-process fakeredis per process."""

from __future__ import annotations

from typing import Any

import fakeredis
import hiredis
import redis
import redis.asyncio as aioredis
from fakeredis import aioredis as fake_aioredis
from redis.asyncio.cluster import ClusterNode
from redis.asyncio.retry import Retry as AsyncRetry
from redis.asyncio.sentinel import MasterNotFoundError as AsyncMasterNotFoundError
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.backoff import ExponentialWithJitterBackoff
from redis.cluster import ClusterNode as SyncClusterNode
from redis.exceptions import ConnectionError, ReadOnlyError, ResponseError, TimeoutError
from redis.retry import Retry
from redis.sentinel import MasterNotFoundError, Sentinel
from redis.utils import str_if_bytes

from jobhost import redis_url
from jobhost.queue.loopback import Loopback
from jobhost.queue.snapshot import Snapshots
from jobhost.settings import Settings

# Longest BLOCK any engine read uses; the socket timeout must exceed it (redis-py 8 defaults to 5 s,
# which kills a blocked read).
BLOCK_MS = 2000
SOCKET_TIMEOUT = 10.0
# A command that fails on a broken connection (a pooled one Redis closed when it restarted, or
# the old primary after a failover) is sent again on a fresh one: a few quick tries, about 3 s
# in all, long enough for a Sentinel failover or a restart, short enough that a worker's lease
# outlives it.
RETRIES = 6
BACKOFF = (0.05, 1.0)  # first wait, longest wait (s), with jitter
# Connections one client may hold open at once. redis-py 8 caps a pool at 100 and fails the next
# command at once ("Too many connections"): a burst of a thousand event streams opening hit it.
# What bounds a process is its work: an API serves at most JOBHOST_HTTP_CONNECTIONS requests at
# once, a worker runs at most its concurrency; each has one command in flight.
MAX_CONNECTIONS = 10_000

_embedded: fakeredis.FakeServer | None = None


def embedded_server() -> fakeredis.FakeServer:
    """The process's in-process store: every Host of the process (API, worker, scheduler) shares it."""
    global _embedded
    if _embedded is None:
        _embedded = fakeredis.FakeServer()
    return _embedded


def _options(target: redis_url.RedisTarget, retry: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "decode_responses": True,
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": 5.0,
        "max_connections": MAX_CONNECTIONS,
        "retry": retry,
        # ReadOnlyError: still connected to a primary Sentinel has turned into a replica
        "retry_on_error": [ConnectionError, TimeoutError, OSError, ReadOnlyError],
    }
    if target.username:
        options["username"] = target.username
    if target.password:
        options["password"] = target.password
    if target.tls:
        options["ssl"] = True
    return options


def _sentinel_options(target: redis_url.RedisTarget) -> dict[str, Any]:
    options: dict[str, Any] = {"socket_timeout": 2.0, "socket_connect_timeout": 2.0}
    if target.sentinel_password:
        options["password"] = target.sentinel_password
    if target.tls:
        options["ssl"] = True
    return options


class _AsyncSentinel(AsyncSentinel):
    """Asks every Sentinel for the primary (SENTINEL GET-MASTER-ADDR-BY-NAME) and the epoch of its
    configuration (SENTINEL MASTER), and believes the newest. redis-py takes the first answer of
    SENTINEL MASTERS (redis/redis-py#626), but the Sentinel leading a failover names the old
    primary there until the failover ends (redis/redis#2615), and the other Sentinels name it
    until they hear of the failover, a second or two later. A connection opened then on an old
    primary back from a reboot (it still takes writes) stays there, and every write on it is
    dropped when Sentinel makes that node a replica."""

    async def discover_master(self, service_name: str) -> tuple[str, int]:
        answers, errors = [], []
        for sentinel in self.sentinels:
            try:
                async with sentinel.pipeline(transaction=False) as pipe:  # one round trip each
                    answers.append(await _asked(pipe, service_name).execute())
            except (ConnectionError, TimeoutError, ResponseError) as exc:
                errors.append(f"{sentinel}: {exc!r}")
        return _newest(service_name, answers, errors, AsyncMasterNotFoundError)


class _Sentinel(Sentinel):
    """_AsyncSentinel's blocking twin (the worker's heartbeat thread)."""

    def discover_master(self, service_name: str) -> tuple[str, int]:
        answers, errors = [], []
        for sentinel in self.sentinels:
            try:
                with sentinel.pipeline(transaction=False) as pipe:
                    answers.append(_asked(pipe, service_name).execute())
            except (ConnectionError, TimeoutError, ResponseError) as exc:
                errors.append(f"{sentinel}: {exc!r}")
        return _newest(service_name, answers, errors, MasterNotFoundError)


def _asked(pipe: Any, service_name: str) -> Any:
    """`pipe` with what a Sentinel is asked: the state of the primary it knows (its configuration's
    epoch) and where that primary is now."""
    pipe.sentinel_master(service_name)
    pipe.sentinel_get_master_addr_by_name(service_name)
    return pipe


def _newest(
    service_name: str, answers: list[list[Any]], errors: list[str], missing: type[Exception]
) -> tuple[str, int]:
    """The primary the newest configuration names (the highest config-epoch; the first of a tie).
    MasterNotFoundError is a ConnectionError: the command is retried, as during an election."""
    named = [(state["config-epoch"], address) for state, address in answers if address]
    if not named:
        raise missing(f"no Sentinel names a primary for {service_name!r}" + "".join(f"; {e}" for e in errors))
    _, (host, port) = max(named, key=lambda answer: answer[0])
    return str_if_bytes(host), int(port)


def embedded_snapshots(settings: Settings) -> Snapshots:
    """The snapshot file that keeps the embedded store across restarts, in the data directory."""
    return Snapshots(
        fake_aioredis.FakeRedis(server=embedded_server(), decode_responses=True),
        settings.data_dir / "queues.json",
    )


def embedded_loopback(settings: Settings) -> Loopback:
    """The loopback door through which operator commands reach this process's store."""
    return Loopback(settings.data_dir, embedded_server())


class _PackedInC:
    """A connection that packs commands with hiredis' C packer. redis-py's asyncio connection packs
    them in Python, joining the buffer anew for each argument: about 70 µs for a batch of ten
    completions and the claim beside it (54 arguments), 0.15 of that in C (bench/packing.py).
    hiredis writes text, bytes, integers and floats as redis-py does; anything else (a bool, None),
    and a command name of two words, goes to redis-py's packer, which says what is wrong with it.
    A Redis Cluster client makes its nodes' connections itself, and keeps redis-py's packer."""

    def pack_command(self, *args: Any) -> list[bytes]:
        first = args[0]
        if isinstance(first, str) and " " not in first:
            try:
                return [hiredis.pack_command(args)]
            except TypeError:
                pass
        return super().pack_command(*args)  # type: ignore[misc]


_packed: dict[type, type] = {}


def _packed_in_c(connection_class: type) -> type:
    """`connection_class` packing in C (one class for each, made once)."""
    if connection_class not in _packed:
        _packed[connection_class] = type(connection_class.__name__, (_PackedInC, connection_class), {})
    return _packed[connection_class]


def _pack_in_c(client: aioredis.Redis) -> aioredis.Redis:
    """`client`, its pool making connections that pack in C (it makes them when first needed)."""
    pool = client.connection_pool
    pool.connection_class = _packed_in_c(pool.connection_class)
    return client


def connect(settings: Settings) -> aioredis.Redis:
    """The async client every engine call goes through (a RedisCluster on a Cluster: it speaks
    the same commands, and the engine keeps each call inside one hash slot)."""
    if settings.embedded:
        return fake_aioredis.FakeRedis(
            server=embedded_server(), decode_responses=True, max_connections=MAX_CONNECTIONS
        )
    assert settings.redis_url is not None  # not embedded
    target = redis_url.parse(settings.redis_url)
    options = _options(target, AsyncRetry(ExponentialWithJitterBackoff(*reversed(BACKOFF)), RETRIES))
    if target.kind == "cluster":
        options.pop("retry_on_error")  # RedisCluster retries on its own list of errors
        nodes = [ClusterNode(host, port) for host, port in target.nodes]
        return aioredis.RedisCluster(startup_nodes=nodes, **options)  # type: ignore[return-value]
    if target.kind == "sentinel":
        sentinel = _AsyncSentinel(list(target.nodes), sentinel_kwargs=_sentinel_options(target))
        return _pack_in_c(sentinel.master_for(target.service, db=target.db, **options))
    return _pack_in_c(aioredis.Redis.from_url(settings.redis_url, **options))


def connect_sync(settings: Settings) -> redis.Redis:
    """A blocking client on the same store, for a thread (the worker's heartbeat)."""
    url = settings.redis_url
    if settings.embedded or url is None:
        return fakeredis.FakeRedis(server=embedded_server(), decode_responses=True)
    target = redis_url.parse(url)
    options = _options(target, Retry(ExponentialWithJitterBackoff(*reversed(BACKOFF)), RETRIES))
    if target.kind == "cluster":
        options.pop("retry_on_error")
        nodes = [SyncClusterNode(host, port) for host, port in target.nodes]
        return redis.RedisCluster(startup_nodes=nodes, **options)  # type: ignore[return-value]
    if target.kind == "sentinel":
        sentinel = _Sentinel(list(target.nodes), sentinel_kwargs=_sentinel_options(target))
        return sentinel.master_for(target.service, db=target.db, **options)
    return redis.Redis.from_url(url, **options)
