"""Commands that work on the host: `@pass_host` for plugins' and the host's own sub-commands.

A command decorated with `@pass_host` gets the host as its first argument. An `async def` command
runs on a fresh event loop with the host started (tasks kick to it, services are configured), and
the host is stopped after. Errors a user can fix (bad input, a job that isn't there, Redis or the
database unreachable) end as one line saying what to do, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar, overload

import click

if TYPE_CHECKING:
    from jobhost.host import Host

F = TypeVar("F", bound=Callable[..., Any])

EMBEDDED_REFUSAL = (
    "no REDIS_URL, and no `jobhost run` is running on this data directory (JOBHOST_DATA_DIR): in "
    "embedded mode the queues live inside that process; start it, or set REDIS_URL to the Redis "
    "the workers use"
)


def reach_running(host: Host) -> bool:
    """Whether `host` reaches shared queues: REDIS_URL, or in embedded mode the loopback door of
    the `jobhost run` on the same data directory (then the host's settings point there)."""
    return not host.settings.embedded or host.attach_running()


def host_of(ctx: click.Context) -> Host:
    """The host `jobhost` loaded for this invocation."""
    return ctx.find_root().obj["host"]  # type: ignore[no-any-return]


def run_started(host: Host, work: Callable[[], Any], *, start: bool = True) -> Any:
    """Run the coroutine function `work` on a fresh event loop with `host` started (or, with
    `start=False`, only connected), translating the errors a user can act on into click errors."""

    async def go() -> Any:
        if start:
            await host.start()
        try:
            return await work()
        finally:
            await host.stop()
            await host.engine.close()
            if "database" in host.__dict__:
                await host.database.dispose()

    with user_errors(host):
        return asyncio.run(go())


@contextlib.contextmanager
def user_errors(host: Host) -> Iterator[None]:
    """Errors a user can act on (bad input, a job that isn't there, Redis or the database
    unreachable) leave the block as one-line click errors that say what to do."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from sqlalchemy.exc import DBAPIError

    from jobhost.plugins import PluginError
    from jobhost.queue.errors import JobInputError, JobNotFound, JobStateError
    from jobhost.store.accounts import AccountError
    from jobhost.store.database import DatabaseURLError
    from jobhost.store.migrate import MigrationError

    try:
        yield
    except (
        JobInputError,
        JobNotFound,
        JobStateError,
        AccountError,
        MigrationError,
        DatabaseURLError,
        PluginError,
    ) as exc:
        raise click.ClickException(str(exc)) from None
    except (RedisConnectionError, RedisTimeoutError) as exc:
        raise click.ClickException(
            f"cannot reach Redis ({exc}); check REDIS_URL and that Redis is up"
        ) from None
    except DBAPIError as exc:
        raise click.ClickException(
            f"database {host.database}: {getattr(exc, 'orig', None) or exc}. Check DATABASE_URL, that "
            "the database is up, and that it is migrated (`jobhost db upgrade`)."
        ) from None
    except OSError as exc:
        raise click.ClickException(
            f"cannot reach a service ({exc}); check REDIS_URL and DATABASE_URL, and that they are up"
        ) from None


@overload
def pass_host(fn: F, /) -> F: ...


@overload
def pass_host(*, shared: bool = False) -> Callable[[F], F]: ...


def pass_host(fn: F | None = None, /, *, shared: bool = False) -> F | Callable[[F], F]:
    """Decorate a click command's function (below `@cli.command()`) to receive the host first.

    `shared=True` is for commands whose jobs the deployment's workers must run: in embedded mode
    (no REDIS_URL) it uses the queues of the `jobhost run` on the same data directory, and
    refuses with the host's usual message when none runs.
    """

    def decorate(fn: F) -> F:
        @click.pass_context
        @functools.wraps(fn)
        def command(ctx: click.Context, /, *args: Any, **kwargs: Any) -> Any:
            host = host_of(ctx)
            if shared and not reach_running(host):
                raise click.ClickException(EMBEDDED_REFUSAL)
            if inspect.iscoroutinefunction(fn):
                return run_started(host, lambda: fn(host, *args, **kwargs))
            return fn(host, *args, **kwargs)

        return command  # type: ignore[return-value]

    return decorate(fn) if fn is not None else decorate
