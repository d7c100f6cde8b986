"""pytest fixtures for plugin authors (registered through the `pytest11` entry point).

Nothing here is autouse. `make_host` builds a host from the plugins you name, installed or not:

    def test_my_queue(make_host):
        host = make_host(my_plugin)            # a module or object with @hookimpl functions
        assert "my-queue" in host.registry.queues

Each host gets its own data directory and Redis key prefix, so tests never see each other's jobs.
Without `REDIS_URL` the host runs on the embedded in-process store, so a plugin's tests can run
real jobs with no Redis at all:

    async def test_greet(make_host):
        host = make_host(my_plugin)
        async with host.worker():
            job = await host.enqueue("hello.greet", {"name": "Ada"})
            assert (await host.wait(job.id)).result == "Hello, Ada!"
        await discard(host)
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jobhost.host import Host
from jobhost.settings import Settings
from jobhost.store.scratch import scratch_postgres

__all__ = [
    "build_host",
    "database_url",
    "discard",
    "forget_keys",
    "make_host",
    "open_database",
]

HostFactory = Callable[..., Host]


def _named(plugin: Any) -> tuple[str, Any]:
    if isinstance(plugin, tuple):
        return plugin
    name = getattr(plugin, "__name__", None) or type(plugin).__name__
    return name.rsplit(".", 1)[-1], plugin


def build_host(*plugins: Any, tmp_path: Path, installed: tuple[str, ...] = (), **env: str) -> Host:
    """A host loading `plugins` (objects, or `(name, object)` pairs) and the `installed` ones.

    `env` holds extra environment variables, e.g. `REDIS_URL="redis://127.0.0.1:6379/0"`.
    """
    environ = {
        "JOBHOST_DATA_DIR": str(tmp_path / "jobhost"),
        "JOBHOST_REDIS_PREFIX": f"jobhost-test-{uuid.uuid4().hex[:12]}",
        "JOBHOST_LOAD_PLUGINS": ",".join(installed),
        **env,
    }
    return Host.load(Settings.from_env(environ), extra_plugins=[_named(p) for p in plugins])


@pytest.fixture
def make_host(tmp_path: Path) -> Iterator[HostFactory]:
    """Build hosts from chosen plugins: `make_host(plugin, installed=("email",), REDIS_URL=...)`.
    After the test, every Redis key under each host's prefix is deleted."""
    made: list[Host] = []

    def make(*plugins: Any, installed: tuple[str, ...] = (), **env: str) -> Host:
        made.append(build_host(*plugins, tmp_path=tmp_path, installed=installed, **env))
        return made[-1]

    yield make
    for host in made:
        if host.settings.redis_url:
            forget_keys(host.settings.redis_url, host.settings.redis_prefix)


async def discard(host: Host) -> None:
    """Delete every Redis key under the host's prefix and close its connections."""
    redis = host.engine.redis
    keys = [key async for key in redis.scan_iter(match=f"{host.settings.redis_prefix}:*", count=1000)]
    for start in range(0, len(keys), 500):
        await redis.delete(*keys[start : start + 500])
    await host.engine.close()
    if "database" in host.__dict__:  # only if this host ever opened it
        await host.database.dispose()


@contextlib.contextmanager
def open_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """An empty database for a host: `sqlite` (a file under `tmp_path`) or `postgresql` (a database
    of its own on `JOBHOST_TEST_POSTGRES`, default postgresql://postgres@127.0.0.1:5432, dropped
    afterwards). Yields its URL."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'jobhost-test.db'}"
    elif kind == "postgresql":
        server = os.environ.get("JOBHOST_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
        with scratch_postgres(server) as url:
            yield url
    else:
        raise ValueError(f"database kind must be 'sqlite' or 'postgresql', got {kind!r}")


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty SQLite database; `@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"],
    indirect=True)` runs a test on both."""
    with open_database(getattr(request, "param", "sqlite"), tmp_path) as url:
        yield url


def forget_keys(redis_url: str, prefix: str) -> int:
    """Delete every key under `prefix` in the Redis at `redis_url` (for tests whose hosts run in
    other processes); returns how many there were, 0 when that Redis is gone."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
        return len(keys)
    except redis.ConnectionError:  # a server the test started and stopped itself: nothing left
        return 0
    finally:
        client.close()
