"""Every hook a jobhost plugin can implement; the only place hooks are defined.

Registration hooks take a `register` callable: the plugin calls it once per thing it adds, and
the host credits each registration to that plugin, so every error can name it. Lifecycle hooks
may return an awaitable; the host awaits it. `docs/hooks.md` documents each hook, and a test
fails when one is missing there or has no test.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("jobhost")
hookimpl = pluggy.HookimplMarker("jobhost")


@hookspec
def register_queues(register: Any) -> None:
    """Add queues: call `register(QueuePolicy(...))` once per queue."""


@hookspec
def register_tasks(register: Any) -> None:
    """Add tasks: call `register(fn, queue="...", name="...")` for each job function."""


@hookspec
def register_middlewares(register: Any) -> None:
    """Add taskiq middlewares: call `register(SomeTaskiqMiddleware())`; they run where jobs are kicked
    (`pre_send`, `post_send`) and in workers (`pre_execute`, `post_execute`, `on_error`, `post_save`)."""


@hookspec
def register_routes(register: Any) -> None:
    """Add public HTTP routes: call `register(handler)` with Litestar handlers, controllers or routers."""


@hookspec
def register_admin_routes(register: Any) -> None:
    """Add admin-only HTTP routes, mounted under `/api/admin/`: call `register(handler)`."""


@hookspec
def register_schedules(register: Any) -> None:
    """Add cron schedules: call `register(name, cron="0 3 * * *", task="...", kwargs={...})`."""


@hookspec
def register_settings(register: Any) -> None:
    """Declare the plugin's environment variables: call `register(Setting(...))` for each."""


@hookspec
def register_services(register: Any) -> None:
    """Offer a service to the host and other plugins: call `register("name", service)`."""


@hookspec
def register_migrations(register: Any) -> None:
    """Add the plugin's database migrations: call `register(path)` with an Alembic versions folder."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add `jobhost` sub-commands: decorate functions with `@cli.command()` (a click group)."""


@hookspec
def startup(host: Any) -> Any:
    """Run once when a host process (API, worker, scheduler) starts; may return an awaitable."""


@hookspec
def shutdown(host: Any) -> Any:
    """Run once when a host process stops; may return an awaitable."""


@hookspec
def handle_event(event: Any, host: Any) -> Any:
    """React to an event another plugin emitted with `host.emit(name, data)`; may return an awaitable."""
