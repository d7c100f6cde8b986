"""The host: settings, loaded plugins, their services and events, and the process lifecycle."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from jobhost.errors import ServiceUnavailable
from jobhost.plugins import PluginError, Plugins, Registry
from jobhost.queue.engine import Engine
from jobhost.queue.flow import Flow
from jobhost.queue.job import Job
from jobhost.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from jobhost.store.database import Database

log = logging.getLogger("jobhost")


@attrs.frozen
class Event:
    """Something a plugin announces to the others, e.g. `flyer.processed`; `data` is JSON-ready."""

    name: str
    data: dict[str, Any]
    source: str | None = None


class Host:
    """One jobhost process's view of the world. Build it with `Host.load()`."""

    def __init__(self, settings: Settings, plugins: Plugins) -> None:
        self.settings = settings
        self.plugins = plugins
        self._engine: Any = None
        self._started = False

    @classmethod
    def load(cls, settings: Settings | None = None, extra_plugins: Iterable[tuple[str, Any]] = ()) -> Host:
        """Read settings, load the installed plugins (and `extra_plugins`, for tests)."""
        settings = settings or Settings.from_env()
        plugins = Plugins(settings, extra_plugins)
        plugins.load()
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

    @property
    def engine(self) -> Engine:
        """The queue engine (host-internal API for the HTTP face, the CLI and the worker)."""
        if self._engine is None:
            self._engine = Engine(self.settings, self.registry)
        return self._engine

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
    ) -> Job:
        """Queue a job of a registered task now, after `delay` seconds or at `run_at`.

        `priority` (lower first, 0 = none), `unique_key`/`unique_ttl`/`debounce` (deduplication),
        `depends_on`/`on_dependency_failure` (wait for other jobs): see `Engine.enqueue`.
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
        )

    async def enqueue_many(
        self,
        task: str,
        kwargs_list: Sequence[dict[str, Any]],
        *,
        owner: str | None = None,
        priority: int = 0,
    ) -> list[str]:
        """Queue many jobs of one task at once (bulk loads, fastest); returns their ids in order."""
        return await self.engine.enqueue_many(task, kwargs_list, owner=owner, priority=priority)

    async def enqueue_flow(self, flow: Flow) -> Job:
        """Queue a tree of jobs across queues in one atomic step (children first); see `Flow`."""
        return await self.engine.enqueue_flow(flow)

    async def job(self, job_id: str) -> Job | None:
        """A job by id, or None."""
        return await self.engine.job(job_id)

    async def wait(self, job_id: str, timeout: float = 30.0) -> Job:
        """The job once it has ended (completed, dead or cancelled); TimeoutError after `timeout` s."""
        return await self.engine.wait(job_id, timeout)

    def worker(self, queues: Iterable[str] | None = None) -> AbstractAsyncContextManager[Any]:
        """A worker for `queues` (default: all) on this event loop while the `async with` block runs.

        For one-process tools such as `jobhost demo`, which must work in embedded mode too;
        `jobhost worker` is how production runs workers.
        """
        from jobhost.worker import running_worker

        return running_worker(self, queues)

    @functools.cached_property
    def database(self) -> Database:
        """The SQL database (SQLite under the data dir, or DATABASE_URL); connects on first use."""
        from jobhost.store.database import Database

        return Database(self.settings.sql_url)

    @property
    def db(self) -> async_sessionmaker[AsyncSession]:
        """Database sessions: `async with host.db() as session:`."""
        return self.database.sessions

    async def purge_expired_tokens(self) -> int:
        """Delete every expired token (of any purpose) from the database; how many went."""
        from jobhost.store.accounts import Accounts

        return await Accounts(self.db).delete_expired_tokens()

    def service(self, name: str) -> Any:
        """A service a plugin offers (e.g. `mail`), or ServiceUnavailable saying why not."""
        try:
            return self.registry.services[name]
        except KeyError:
            raise ServiceUnavailable(
                f"no plugin offers the {name!r} service; is the plugin that provides it "
                "installed and enabled? (see `jobhost plugins`)"
            ) from None

    async def emit(self, name: str, data: dict[str, Any], source: str | None = None) -> None:
        """Tell every plugin's `handle_event` about an event; one failing handler spares the rest."""
        await self._call_each("handle_event", f"handling event {name!r}", event=Event(name, data, source))

    async def _call_each(self, hook: str, doing: str, **kwargs: Any) -> None:
        """Call `hook` on every plugin and await what it returns; a failure is logged with the plugin's
        name and spares the others, except a startup failure in strict mode."""
        for info, result in self.plugins.call_each(hook, host=self, **kwargs):
            if inspect.isawaitable(result):
                try:
                    await result
                except Exception:
                    if hook == "startup" and self.settings.strict_plugins:
                        raise PluginError(f"{info.label}: startup failed") from None
                    log.exception("%s: %s failed", info.label, doing)

    async def start(self) -> None:
        if not self._started:
            self._started = True
            await self._call_each("startup", "startup")

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self._call_each("shutdown", "shutdown")
