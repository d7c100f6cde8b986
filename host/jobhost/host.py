"""The host: settings, loaded plugins, their services and events, and the process lifecycle."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import attrs
from taskiq import async_shared_broker

from jobhost.broker import JobhostBroker
from jobhost.errors import ServiceUnavailable
from jobhost.events import Event, Events, subscribe
from jobhost.plugins import Plugins, Registry
from jobhost.queue.engine import Engine
from jobhost.queue.flow import Flow
from jobhost.queue.history import QueueDay
from jobhost.queue.job import Job
from jobhost.schedule_source import HostScheduleSource
from jobhost.settings import Settings
from jobhost.store.user import User

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from jobhost.store.blobs import Blobs
    from jobhost.store.database import Database
    from jobhost.store.migrate import History
    from jobhost.store.secrets import SecretKeys
    from jobhost.sweeps import CleanupTarget

log = logging.getLogger("jobhost")


class Host:
    """One jobhost process's view of the world. Build it with `Host.load()`."""

    def __init__(self, settings: Settings, plugins: Plugins) -> None:
        self.settings = settings
        self.plugins = plugins
        self._engine: Any = None
        self._started = False
        self._kicked_before: Any = None  # the default broker before this host started

    @classmethod
    def load(cls, settings: Settings | None = None, extra_plugins: Iterable[tuple[str, Any]] = ()) -> Host:
        """Read settings, load the installed plugins (and `extra_plugins`, for tests)."""
        settings = settings or Settings.from_env()
        plugins = Plugins(settings, extra_plugins)
        plugins.load()
        subscribe(plugins)
        host = cls(settings, plugins)
        # A bad plugin setting or queue variable fails at start-up too, naming the variable.
        for setting in host.registry.settings:
            settings.read(setting)
        for policy in host.registry.queues.values():
            settings.concurrency(policy)
            settings.rate_limit(policy)
        return host

    @property
    def registry(self) -> Registry:
        return self.plugins.registry

    @property
    def degraded(self) -> bool:
        return self.registry.degraded

    def attach_running(self) -> bool:
        """In embedded mode (no REDIS_URL), use the queues of the `jobhost run` running on the
        same data directory, through its loopback door; call it before `start()`. True when one
        was found: its workers run what this host enqueues. False with REDIS_URL (the queues are
        shared already) or when no `jobhost run` runs here."""
        from jobhost.queue.loopback import running

        url = running(self.settings.data_dir) if self.settings.embedded else None
        if url is None:
            return False
        self.settings = attrs.evolve(self.settings, redis_url=url)
        return True

    @property
    def engine(self) -> Engine:
        """The queue engine (host-internal API for the HTTP face, the CLI and the worker)."""
        if self._engine is None:
            self._engine = Engine(self.settings, self.registry)
        return self._engine

    @functools.cached_property
    def broker(self) -> JobhostBroker:
        """The taskiq broker of this host: `.kiq()` of any task goes here once the host started."""
        broker = JobhostBroker(self.engine, self.registry.tasks)
        broker.add_middlewares(*self.registry.middlewares)
        return broker

    @functools.cached_property
    def schedules(self) -> HostScheduleSource:
        """Ad-hoc schedules: `await task.schedule_by_time(host.schedules, when, ...)` or
        `schedule_by_cron(host.schedules, "*/5 * * * *", ...)`; `jobhost scheduler` fires them."""
        return HostScheduleSource(self.broker, self.engine.schedules)

    def kick_here(self) -> None:
        """Make this host the one `.kiq()` sends to in this process (the last host started wins)."""
        async_shared_broker.default_broker(self.broker)

    async def enqueue(
        self,
        task: str,
        kwargs: dict[str, Any] | None = None,
        *,
        delay: float | None = None,
        run_at: datetime | None = None,
        owner: str | None = None,
        priority: int = 0,
        unique_key: str | None = None,
        unique_ttl: float | None = None,
        debounce: bool = False,
        depends_on: Sequence[str] | None = None,
        on_dependency_failure: str = "fail",
        idempotency_key: str | None = None,
    ) -> Job:
        """Queue a job of a registered task now, after `delay` seconds or at `run_at`.

        `priority` (lower first, 0 = none), `unique_key`/`unique_ttl`/`debounce` (deduplication),
        `depends_on`/`on_dependency_failure` (wait for other jobs): see `Engine.enqueue`.
        `idempotency_key` (a client's `Idempotency-Key`, per `owner`, kept 24 h): the same key
        returns the job it first made; with other kwargs it raises JobInputError. When Redis does
        not answer and cannot be asked whether the job was stored, `EnqueueUnanswered` names
        the job id: look it up, or retry with the same key.
        """
        return await self.engine.enqueue(
            task,
            kwargs,
            delay=delay,
            run_at=run_at,
            owner=owner,
            priority=priority,
            unique_key=unique_key,
            unique_ttl=unique_ttl,
            debounce=debounce,
            depends_on=depends_on,
            on_dependency_failure=on_dependency_failure,
            idempotency_key=idempotency_key,
        )

    async def enqueue_many(
        self,
        task: str,
        kwargs_list: Sequence[dict[str, Any]],
        *,
        owner: str | None = None,
        priority: int = 0,
    ) -> list[str]:
        """Queue many jobs of one task at once (bulk loads, fastest); returns their ids in order.

        When Redis stops answering part way, EnqueueIncomplete says which jobs were stored (the
        others never will be); EnqueueUnanswered when it cannot even be asked (see Engine's)."""
        return await self.engine.enqueue_many(task, kwargs_list, owner=owner, priority=priority)

    async def enqueue_flow(self, flow: Flow) -> Job:
        """Queue a tree of jobs across queues in one atomic step (children first); see `Flow`."""
        return await self.engine.enqueue_flow(flow)

    async def job(self, job_id: str) -> Job | None:
        """A job by id, or None."""
        return await self.engine.job(job_id)

    async def wait(self, job_id: str, timeout: float = 30.0) -> Job:
        """The job once it has ended (completed, dead or cancelled). After `timeout` s, TimeoutError
        saying where the job stands: its state, tries and last error."""
        try:
            return await self.engine.wait(job_id, timeout)
        except TimeoutError:
            job = await self.engine.job(job_id)
            if job is None:
                raise TimeoutError(f"job {job_id} did not end within {timeout:g}s and is gone") from None
            last = f"; last error: {job.errors[-1].error}" if job.errors else ""
            raise TimeoutError(
                f"job {job_id} did not end within {timeout:g}s: it is {job.state} "
                f"after try {job.attempt} of {job.attempts}{last}"
            ) from None

    async def admins(self) -> list[User]:
        """The host's admin users (for reports and alerts meant for the people running it)."""
        from jobhost.store.accounts import Accounts

        return await Accounts(self.db).admins()

    async def queue_history(self, queue: str, first: date, days: int = 1) -> list[QueueDay]:
        """What queue `queue`'s jobs did on each UTC day from `first` (`days` of them): completed,
        failed tries, retried, dead, and try durations. Days are kept for 9 days."""
        return await self.engine.days(queue, first, days)

    @contextlib.asynccontextmanager
    async def worker(self, queues: Iterable[str] | None = None) -> AsyncIterator[Any]:
        """A worker for `queues` (default: all) on this event loop while the `async with` block runs,
        with the host started for it (and stopped after, if this started it): its tasks find the
        plugins' services configured, as in `jobhost worker`.

        For one-process tools such as `jobhost demo`, which must work in embedded mode too, and
        for tests; `jobhost worker` is how production runs workers.
        """
        from jobhost.worker import running_worker

        starting = not self._started
        if starting:
            await self.start()
        try:
            async with running_worker(self, queues) as worker:
                yield worker
        finally:
            if starting:
                await self.stop()

    @functools.cached_property
    def database(self) -> Database:
        """The SQL database (SQLite under the data dir, or DATABASE_URL); connects on first use."""
        from jobhost.store.database import Database

        return Database(self.settings.sql_url)

    @functools.cached_property
    def blobs(self) -> Blobs:
        """The blob store (JOBHOST_BLOB_STORE): `await host.blobs.put(key, data)`, `get`, `delete`,
        `scan`; every process of a deployment with the same settings reads the same blobs."""
        from jobhost.store.blobs import open_blobs

        return open_blobs(self.settings, self.database)

    @property
    def cleanup_targets(self) -> list[CleanupTarget]:
        """What the loaded plugins handed the cleanup plugin to sweep (`register_cleanup`)."""
        return list(self.registry.cleanup)

    @property
    def db(self) -> async_sessionmaker[AsyncSession]:
        """Database sessions: `async with host.db() as session:`."""
        return self.database.sessions

    def migrations(self) -> list[History]:
        """The host's migration history, then every loaded plugin's whose folders form a valid one;
        a plugin whose don't fails alone (strict mode: the host stops)."""
        from jobhost.store.migrate import History, MigrationError, host_history

        found = [host_history()]
        for info in self.plugins.loaded():
            if not info.contribution.migrations:
                continue
            history = History(info.name, tuple(info.contribution.migrations))
            try:
                history.scripts()
            except MigrationError as exc:
                self.plugins.fail(info, exc, hook="register_migrations")
                continue
            found.append(history)
        return found

    async def migrate(self) -> dict[str, tuple[str, ...]]:
        """Create or upgrade the host's and the loaded plugins' tables; the revisions each is at."""
        from jobhost.store.migrate import upgrade

        return await upgrade(self.database, self.migrations())

    async def migrated(self) -> dict[str, tuple[str, ...]]:
        """The revisions the host's and each loaded plugin's tables are at (empty: never migrated)."""
        from jobhost.store.migrate import current

        return await current(self.database, self.migrations())

    async def secret_keys(self) -> SecretKeys:
        """The keys to sign with (`.signing`) and to check signatures with (`.verifying`):
        JOBHOST_SECRET_KEY when set, else the deployment's generated keys in the database (the
        first one made now if there is none), newest first (`jobhost secret rotate`)."""
        from jobhost.store.secrets import KeyStore

        return await KeyStore(self.db).keys(self.settings.secret_key)

    def service(self, name: str) -> Any:
        """A service a plugin offers (e.g. `mail`), or ServiceUnavailable saying why not."""
        try:
            return self.registry.services[name]
        except KeyError:
            raise ServiceUnavailable(
                f"no plugin offers the {name!r} service; is the plugin that provides it "
                "installed and enabled? (see `jobhost plugins`)"
            ) from None

    @functools.cached_property
    def events(self) -> Events:
        return Events(self.plugins, self.engine)

    async def emit(self, name: str, data: dict[str, Any], source: str | None = None) -> Event:
        """Announce an event to every plugin's `handle_event`, each as a job of its own (retried
        with backoff, dead-lettered, at least once). Emitted inside a job, it is sent when (and
        only if) that try completes; outside, now. Returns the event, with its `id`."""
        return await self.events.emit(name, data, source)

    async def start(self) -> None:
        """Start the host in this process: tasks kick to it, then the plugins' `startup` runs."""
        if not self._started:
            self._started = True
            self._kicked_before = getattr(async_shared_broker, "_default_broker", None)
            self.kick_here()
            await self.broker.startup()
            for info, error in await self.plugins.call("startup", host=self):
                if error is not None:  # the plugin is failed from now on (strict: the host stops)
                    self.plugins.fail(info, error, hook="startup")

    async def stop(self) -> None:
        if self._started:
            self._started = False
            for info, error in await self.plugins.call("shutdown", host=self):
                if error is not None:
                    log.error("%s: shutdown failed: %s", info.label, error, exc_info=error)
            await self.broker.shutdown()
            if getattr(async_shared_broker, "_default_broker", None) is self.broker:
                async_shared_broker._default_broker = self._kicked_before


@contextlib.asynccontextmanager
async def connect(settings: Settings | None = None) -> AsyncIterator[Host]:
    """A started host for a program of your own: `async with jobhost.connect() as host:`.

    It loads the installed plugins with the environment's settings (REDIS_URL, DATABASE_URL, ...),
    so `.kiq()`, `wait_result()` and `host.enqueue()` reach the same queues as the deployment's
    workers. Without REDIS_URL the queues live in this process only (jobs need a worker here too).
    """
    host = Host.load(settings)
    await host.start()
    try:
        yield host
    finally:
        await host.stop()
        await host.engine.close()
        if "database" in host.__dict__:
            await host.database.dispose()
