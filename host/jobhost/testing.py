"""pytest fixtures and helpers for plugin authors (registered through the `pytest11` entry point).

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
            task = await greet.kiq("Ada")
            assert (await task.wait_result(timeout=10)).return_value == "Hello, Ada!"
        await discard(host)

A plugin's `handle_event` runs as a job of its events queue: `deliver` emits an event and runs
its deliveries with a worker in the test, returning each delivery's job:

    async def test_my_handler(make_host):
        host = make_host(my_plugin)
        [job] = await deliver(host, "flyer.processed", {"flyer_id": 1})
        assert job.state == "completed"

Events emitted by a job are handled after it completes: `await settled(host)`, inside
`host.worker()`, waits until every event emitted so far has been handled.

Routes are tested through the real app with `client(host)`, signed in as a user or an admin:

    async def test_my_route(make_host, database_url):
        host = make_host(my_plugin, migrate=True, DATABASE_URL=database_url)
        async with client(host) as http:
            await http.login()
            assert (await http.get("/api/hello/Ada")).status_code == 200
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import os
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobhost.events import Event, delivery_id
from jobhost.host import Host
from jobhost.queue.job import Job
from jobhost.settings import Settings
from jobhost.store.scratch import scratch_postgres
from jobhost.store.user import User

__all__ = [
    "HostClient",
    "build_host",
    "client",
    "database_url",
    "deliver",
    "delivered",
    "discard",
    "forget_keys",
    "make_host",
    "migrate",
    "open_database",
    "settled",
]

HostFactory = Callable[..., Host]
PASSWORD = "test-password-1"  # what `HostClient.login` signs users in with


def _plugin_name(plugin: Any) -> str:
    """The name a plugin object goes by: its entry point's name when it is installed (`hello` for
    `jobhost_hello.plugin`), else its package's."""
    module = getattr(plugin, "__name__", None)
    if module is None:
        return type(plugin).__name__
    for ep in importlib.metadata.entry_points(group="jobhost"):
        if ep.value == module:
            return ep.name
    return str(module).split(".")[0]


def _named(plugin: Any) -> tuple[str, Any]:
    return plugin if isinstance(plugin, tuple) else (_plugin_name(plugin), plugin)


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
    host = Host.load(Settings.from_env(environ), extra_plugins=[_named(p) for p in plugins])
    host.kick_here()  # `.kiq()` in the test goes to the host it just made
    return host


async def migrate(host: Host) -> dict[str, tuple[str, ...]]:
    """Create (or upgrade) the host's and its plugins' tables, as `jobhost db upgrade` does."""
    return await host.migrate()


def _migrate_now(host: Host) -> None:
    # make_host is a plain function: migrate on a loop of our own, then drop that loop's
    # connections so the test's loop opens its own.
    async def go() -> None:
        await host.migrate()
        await host.database.dispose()

    errors: list[BaseException] = []
    thread = threading.Thread(target=lambda: _catch(errors, lambda: asyncio.run(go())))
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def _catch(errors: list[BaseException], work: Callable[[], Any]) -> None:
    try:
        work()
    except BaseException as exc:
        errors.append(exc)


@pytest.fixture
def make_host(tmp_path: Path) -> Iterator[HostFactory]:
    """Build hosts from chosen plugins: `make_host(plugin, installed=("email",), REDIS_URL=...)`;
    `migrate=True` creates their tables first. After the test, every Redis key under each host's
    prefix is deleted."""
    made: list[Host] = []

    def make(*plugins: Any, installed: tuple[str, ...] = (), migrate: bool = False, **env: str) -> Host:
        made.append(build_host(*plugins, tmp_path=tmp_path, installed=installed, **env))
        if migrate:
            _migrate_now(made[-1])
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


# A delivery in one of these states has ended its try: done, dead, or failed and due again later.
_TRIED = ("completed", "dead", "cancelled", "delayed")


async def delivered(host: Host, event: Event, timeout: float = 10.0) -> list[Job]:
    """The jobs delivering `event` to each subscribing plugin, once each has ended a try (whichever
    worker runs them): `completed`, or `delayed` when its handler failed and is to be retried."""
    ids = [delivery_id(task.queue, event.id) for task in host.events.subscribers()]
    async with asyncio.timeout(timeout):
        while True:
            jobs = [await host.job(job_id) for job_id in ids]
            if all(job is not None and job.state in _TRIED for job in jobs):
                return [job for job in jobs if job is not None]
            await asyncio.sleep(0.02)


async def settled(host: Host, timeout: float = 30.0) -> None:
    """Once every event emitted so far (by a route, or by a try that completed) has reached each
    subscribing plugin's handler for good: nothing left to relay, and no delivery waiting,
    running or due for another try. A worker of the events queues must be running (`host.worker()`
    runs every queue). Call it before reading what handlers record, such as a report's figures."""
    queues = [task.queue for task in host.events.subscribers()]

    async def busy(queue: str) -> bool:
        counts = await host.engine.counts(queue)
        return any(counts[state] for state in ("waiting", "active", "delayed"))

    async with asyncio.timeout(timeout):
        # The outbox first: a relay enqueues the deliveries before it clears their outbox entry,
        # so once the outbox is empty every delivery is in an events queue to be counted.
        while await host.engine.outbox(host.registry.queues, 1) or any([await busy(q) for q in queues]):
            await asyncio.sleep(0.02)


async def deliver(
    host: Host, name: str, data: dict[str, Any], source: str | None = None, timeout: float = 10.0
) -> list[Job]:
    """Emit an event and run its deliveries on a worker here; the delivery jobs (see `delivered`)."""
    queues = [task.queue for task in host.events.subscribers()]
    event = await host.emit(name, data, source)
    if not queues:
        return []
    async with host.worker(queues):
        return await delivered(host, event, timeout)


class HostClient(httpx.AsyncClient):
    """A client of a host's real app (lifespan, guards, plugins' routes) over ASGI, on the test's
    own event loop (so the host's Redis and database connections serve both sides)."""

    def __init__(self, host: Host, app: Any) -> None:
        super().__init__(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        self.host = host

    async def login(self, *, admin: bool = False, email: str | None = None) -> User:
        """Create a user (an admin with `admin=True`) and send its API token with every request."""
        from jobhost.store.accounts import API, Accounts

        accounts = Accounts(self.host.db)
        who = email or f"{'admin' if admin else 'user'}-{uuid.uuid4().hex[:8]}@example.test"
        user = await accounts.create_user(who, PASSWORD, is_admin=admin)
        issued = await accounts.issue_token(user, API, 3600)
        self.headers["Authorization"] = f"Bearer {issued.token}"
        return user

    def logout(self) -> None:
        self.headers.pop("Authorization", None)


@contextlib.asynccontextmanager
async def client(host: Host) -> AsyncIterator[HostClient]:
    """`async with client(host) as http:` the host's app, started, its database migrated."""
    from jobhost.http import create_app

    await host.migrate()
    app = create_app(host)
    async with app.lifespan(), HostClient(host, app) as http:
        yield http


@contextlib.contextmanager
def open_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """An empty database for a host: `sqlite` (a file under `tmp_path`) or `postgresql` (a database
    of its own on `JOBHOST_TEST_POSTGRES`, default postgresql://postgres@127.0.0.1:5432, dropped
    afterwards). Yields its URL, with the async driver named (SQLAlchemy's async engines take it)."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'jobhost-test.db'}"
    elif kind == "postgresql":
        server = os.environ.get("JOBHOST_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
        with scratch_postgres(server) as url:
            yield url.replace("postgresql://", "postgresql+asyncpg://", 1)
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


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A real S3-compatible server on loopback for the whole session (moto's, in a thread); its URL."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_blobs(s3_server: str) -> dict[str, str]:
    """A new bucket on `s3_server`: the environment that makes a host keep its blobs there."""
    bucket = f"jobhost-test-{uuid.uuid4().hex[:12]}"
    httpx.put(f"{s3_server}/{bucket}").raise_for_status()  # CreateBucket; moto takes it unsigned
    return {
        "JOBHOST_BLOB_STORE": f"s3://{bucket}/uploads",
        "JOBHOST_S3_ENDPOINT": s3_server,
        "JOBHOST_S3_ACCESS_KEY_ID": "test",
        "JOBHOST_S3_SECRET_ACCESS_KEY": "test-secret",
    }


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
