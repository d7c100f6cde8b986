"""Every hook a jobhost plugin can implement; the only place hooks are defined.

Registration hooks take a `register` callable: the plugin calls it once per thing it adds, and
the host credits each registration to that plugin, so every error can name it. Each `register`
has a Protocol below (exported by `jobhost` for type checkers). Lifecycle hooks may return an
awaitable; the host awaits it. `docs/hooks.md` documents each hook, and a test fails when one is
missing there or has no test.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from os import PathLike
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    import click
    from taskiq import TaskiqMiddleware

    from jobhost.events import Event
    from jobhost.host import Host
    from jobhost.policy import QueuePolicy
    from jobhost.settings import Setting
    from jobhost.sweeps import CleanupTarget

hookspec = pluggy.HookspecMarker("jobhost")
hookimpl = pluggy.HookimplMarker("jobhost")


class RegisterQueue(Protocol):
    def __call__(self, policy: QueuePolicy, /) -> None: ...


class RegisterTask(Protocol):
    def __call__(
        self, task: Callable[..., Any], /, *, queue: str | None = None, name: str | None = None
    ) -> None:
        """A `jobhost.task` / taskiq shared task, or a plain function with `queue=` (and `name=`)."""


class RegisterMiddleware(Protocol):
    def __call__(self, middleware: TaskiqMiddleware, /) -> None: ...


class RegisterRoute(Protocol):
    def __call__(self, handler: object, /) -> None:
        """A Litestar route handler, `Controller` subclass or `Router`."""


class RegisterSchedule(Protocol):
    def __call__(
        self, name: str, /, *, cron: str, task: str, kwargs: Mapping[str, Any] | None = None
    ) -> None: ...


class RegisterSetting(Protocol):
    def __call__(self, setting: Setting, /) -> None: ...


class RegisterService(Protocol):
    def __call__(self, name: str, service: object, /) -> None: ...


class RegisterMigrations(Protocol):
    def __call__(self, folder: str | PathLike[str], /) -> None:
        """The folder of the plugin's Alembic revision scripts."""


class RegisterCleanup(Protocol):
    def __call__(self, target: CleanupTarget, /) -> None: ...


# What a lifecycle hook may return: nothing, or an awaitable the host awaits.
MaybeAwaitable = Awaitable[None] | None


@hookspec
def register_queues(register: RegisterQueue) -> None:
    """Add queues: call `register(QueuePolicy(...))` once per queue."""


@hookspec
def register_tasks(register: RegisterTask) -> None:
    """Add tasks: call `register(task)` with each `@jobhost.task` (or taskiq shared) task."""


@hookspec
def register_middlewares(register: RegisterMiddleware) -> None:
    """Add taskiq middlewares: call `register(SomeTaskiqMiddleware())`; they run where jobs are kicked
    (`pre_send`, `post_send`) and in workers (`pre_execute`, `post_execute`, `on_error`, `post_save`)."""


@hookspec
def register_routes(register: RegisterRoute) -> None:
    """Add public HTTP routes: call `register(handler)` with Litestar handlers, controllers or routers."""


@hookspec
def register_admin_routes(register: RegisterRoute) -> None:
    """Add admin-only HTTP routes, mounted under `/api/admin/`: call `register(handler)`."""


@hookspec
def register_schedules(register: RegisterSchedule) -> None:
    """Add cron schedules: call `register(name, cron="0 3 * * *", task="...", kwargs={...})`."""


@hookspec
def register_settings(register: RegisterSetting) -> None:
    """Declare the plugin's environment variables: call `register(Setting(...))` for each."""


@hookspec
def register_services(register: RegisterService) -> None:
    """Offer a service to the host and other plugins: call `register("name", service)`."""


@hookspec
def register_migrations(register: RegisterMigrations) -> None:
    """Add the plugin's database migrations: call `register(path)` with an Alembic versions folder."""


@hookspec
def register_cleanup(register: RegisterCleanup) -> None:
    """Hand the cleanup plugin something to sweep: call `register(CleanupTarget(...))` with a folder
    under UPLOAD_DIR, uploads in the blob store, or a pruning function."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add `jobhost` sub-commands: decorate functions with `@cli.command()` (a click group)."""


@hookspec
def startup(host: Host) -> MaybeAwaitable:
    """Run once when a host process (API, worker, scheduler) starts; may return an awaitable."""


@hookspec
def shutdown(host: Host) -> MaybeAwaitable:
    """Run once when a host process stops; may return an awaitable."""


@hookspec
def handle_event(event: Event, host: Host) -> MaybeAwaitable:
    """React to an event a plugin emitted with `host.emit(name, data)`; may return an awaitable.

    Each event reaches each plugin as a job of its plugin's `events.<plugin>` queue: raising
    retries it with backoff (then the dead set), so it runs at least once; `event.id` is the same
    on every try, for the handler to do its work once."""
