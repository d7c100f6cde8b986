"""The `jobhost` command. Plugins add sub-commands through `register_commands`."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from jobhost.host import Host
from jobhost.plugins import PluginError
from jobhost.settings import SettingsError, configuration_warnings, effective, parse_duration

if TYPE_CHECKING:
    from jobhost.store.accounts import IssuedToken

T = TypeVar("T")


def _dump(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [line.format(*headers), line.format(*("-" * w for w in widths))]
    out += [line.format(*map(str, row)) for row in rows]
    return "\n".join(s.rstrip() for s in out)


@click.group(
    help="jobhost: a plugin-based background-job host.\n\n"
    "Start with `jobhost run` (API, worker and scheduler in one process), list what is "
    "installed with `jobhost plugins`, and check configuration with `jobhost config`."
)
@click.version_option(package_name="jobhost")
@click.pass_context
def cli(ctx: click.Context) -> None:
    ctx.ensure_object(dict)


def host_of(ctx: click.Context) -> Host:
    return ctx.find_root().obj["host"]


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def plugins(ctx: click.Context, as_json: bool) -> None:
    """List installed plugins: status and what each registered."""
    host = host_of(ctx)
    infos = list(host.registry.plugins.values())
    warnings = configuration_warnings(host.settings)
    if as_json:
        _dump({"degraded": host.degraded, "plugins": [p.as_dict() for p in infos], "warnings": warnings})
        return
    rows = []
    for p in infos:
        c = p.contribution
        rows.append(
            [
                p.name,
                p.distribution or "-",
                p.version or "-",
                p.status,
                ",".join(q.name for q in c.queues) or "-",
                len(c.tasks),
                len(c.routes) + len(c.admin_routes),
                len(c.schedules),
            ]
        )
    click.echo(
        _table(
            rows,
            ["name", "distribution", "version", "status", "queues", "tasks", "routes", "schedules"],
        )
    )
    for p in host.registry.failures:
        click.echo(f"\n{p.label} failed: {p.error}", err=True)
    if host.degraded:
        click.echo(
            "\nThe host runs degraded, without the failed plugins. Fix or disable them "
            "(JOBHOST_DISABLE_PLUGINS=name).",
            err=True,
        )
    for warning in warnings:
        click.echo(f"\nWarning: {warning}", err=True)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def config(ctx: click.Context, as_json: bool) -> None:
    """Print the effective settings (secrets masked)."""
    host = host_of(ctx)
    from jobhost.http.config import HTTP_SETTINGS

    values = effective(host.settings, [*HTTP_SETTINGS, *host.registry.settings])
    for policy in host.registry.queues.values():
        if policy.concurrency_env:
            values[policy.concurrency_env] = host.settings.concurrency(policy)
        if policy.rate_limit_env:
            values[policy.rate_limit_env] = str(host.settings.rate_limit(policy) or "") or None
    if as_json:
        _dump(values)
        return
    for name, value in values.items():
        click.echo(f"{name}={'' if value is None else value}")


# -- database and accounts -------------------------------------------------------------------


def _with_database(host: Host, work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` on a fresh event loop, turning store errors into messages that say what to do."""
    from sqlalchemy.exc import DBAPIError

    from jobhost.store.accounts import AccountError
    from jobhost.store.database import DatabaseURLError
    from jobhost.store.migrate import MigrationError

    async def go() -> T:
        try:
            return await work()
        finally:
            await host.database.dispose()

    try:
        return asyncio.run(go())
    except (AccountError, MigrationError, DatabaseURLError) as exc:
        raise click.ClickException(str(exc)) from None
    except (DBAPIError, OSError) as exc:
        raise click.ClickException(
            f"database {host.database}: {getattr(exc, 'orig', None) or exc}. Check DATABASE_URL, that "
            "the database is up, and that it is migrated (`jobhost db upgrade`)."
        ) from None


@cli.group()
def db() -> None:
    """The SQL database: schema migrations."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply the host's and every enabled plugin's migrations."""
    from jobhost.store.migrate import upgrade

    host = host_of(ctx)
    at = _with_database(host, lambda: upgrade(host))
    for branch, revisions in at.items():
        click.echo(f"{branch}: {', '.join(revisions) or '(no migrations)'}")


@cli.group()
def users() -> None:
    """User accounts."""


@users.command("create")
@click.argument("email")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="The password; asked for (hidden) when not given.",
)
@click.pass_context
def users_create(ctx: click.Context, email: str, admin: bool, password: str) -> None:
    """Create a user who logs in with EMAIL."""
    from jobhost.store.accounts import Accounts

    host = host_of(ctx)
    user = _with_database(host, lambda: Accounts(host.db).create_user(email, password, is_admin=admin))
    click.echo(f"created {'admin' if user.is_admin else 'user'} {user.email} (id {user.id})")


@cli.group()
def tokens() -> None:
    """API tokens."""


@tokens.command("create")
@click.argument("email")
@click.option("--expires", default="30d", show_default=True, help="Lifetime, such as 12h, 30d or 365d.")
@click.pass_context
def tokens_create(ctx: click.Context, email: str, expires: str) -> None:
    """Create an API token for the user EMAIL; the token is the last line printed."""
    from jobhost.store.accounts import AccountError, Accounts

    try:
        ttl = parse_duration(expires)
    except ValueError:
        raise click.BadParameter(
            "must be a duration of at most 100 years, such as 12h, 30d or 365d", param_hint="--expires"
        ) from None
    host = host_of(ctx)
    accounts = Accounts(host.db)

    async def create() -> IssuedToken:
        user = await accounts.find(email)
        if user is None:
            raise AccountError(
                f"no user with email {email!r}; create one with `jobhost users create {email}`"
            )
        return await accounts.issue_token(user, "api", ttl)

    issued = _with_database(host, create)
    click.echo(f"API token for {issued.user.email}, expires {issued.expires_at:%Y-%m-%d %H:%M} UTC:")
    click.echo(issued.token)


# -- queues, jobs, worker, scheduler ---------------------------------------------------------


def _serve_parts(host: Host, parts: list[Callable[[asyncio.Event], Awaitable[None]]]) -> None:
    """Run long-lived parts (worker, scheduler, API) in one process until SIGTERM/SIGINT."""
    import logging

    from jobhost.worker import serve

    logging.basicConfig(
        level=host.settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    async def go() -> None:
        await host.start()
        try:
            await serve(*parts)
        finally:
            await host.stop()
            await host.engine.close()

    asyncio.run(go())


def _queue_names(host: Host, queues: tuple[str, ...]) -> list[str] | None:
    unknown = [q for q in queues if q not in host.registry.queues]
    if unknown:
        raise click.BadParameter(
            f"unknown queue {', '.join(map(repr, unknown))}; registered queues: "
            f"{', '.join(sorted(host.registry.queues)) or '(none)'}",
            param_hint="--queue",
        )
    return list(queues) or None


_QUEUE_OPTION = click.option(
    "--queue",
    "queues",
    multiple=True,
    metavar="NAME",
    help="Consume only this queue (repeatable); default all.",
)


_BIND_OPTION = click.option(
    "--host", "bind", default="127.0.0.1", show_default=True, help="Address to listen on."
)
_PORT_OPTION = click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))


@cli.command()
@_QUEUE_OPTION
@_BIND_OPTION
@_PORT_OPTION
@click.pass_context
def run(ctx: click.Context, queues: tuple[str, ...], bind: str, port: int) -> None:
    """Run everything in one process: API, worker and scheduler (migrating the database first)."""
    from jobhost.http.server import run_api
    from jobhost.scheduler import run_scheduler
    from jobhost.store.migrate import upgrade
    from jobhost.worker import run_worker

    host = host_of(ctx)
    names = _queue_names(host, queues)
    _with_database(host, lambda: upgrade(host))
    parts: list[Callable[[asyncio.Event], Awaitable[None]]] = [
        lambda stop: run_worker(host, names, stop),
        lambda stop: run_scheduler(host, stop),
        lambda stop: run_api(host, stop, bind=bind, port=port),
    ]
    _serve_parts(host, parts)


@cli.command()
@_BIND_OPTION
@_PORT_OPTION
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1), help="API processes.")
@click.pass_context
def api(ctx: click.Context, bind: str, port: int, workers: int) -> None:
    """Serve the HTTP API; SIGTERM lets in-flight requests finish for SHUTDOWN_TIMEOUT."""
    from jobhost.http.server import run_api, serve_processes

    host = host_of(ctx)
    if host.settings.embedded:
        raise click.ClickException(
            "no REDIS_URL: in embedded mode the queues live inside one process; use `jobhost run`, "
            "or set REDIS_URL to serve the API on its own"
        )
    if workers > 1:
        serve_processes(host, bind, port, workers)
    else:
        _serve_parts(host, [lambda stop: run_api(host, stop, bind=bind, port=port)])


@cli.command()
@_QUEUE_OPTION
@click.option("--processes", default=1, show_default=True, type=click.IntRange(1), help="Worker processes.")
@click.pass_context
def worker(ctx: click.Context, queues: tuple[str, ...], processes: int) -> None:
    """Run jobs; SIGTERM drains running jobs for SHUTDOWN_TIMEOUT, then hands the rest back."""
    from jobhost.worker import run_worker, supervise, worker_command

    host = host_of(ctx)
    names = _queue_names(host, queues)
    if host.settings.embedded:
        raise click.ClickException(
            "no REDIS_URL: in embedded mode the queues live inside `jobhost run`; "
            "set REDIS_URL to run separate workers"
        )
    if processes > 1:
        sys.exit(supervise(worker_command(names or []), processes))
    _serve_parts(host, [lambda stop: run_worker(host, names, stop)])


@cli.command()
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """Enqueue the plugins' cron schedules (safe to run more than one)."""
    from jobhost.scheduler import run_scheduler

    host = host_of(ctx)
    if host.settings.embedded:
        raise click.ClickException(
            "no REDIS_URL: in embedded mode the scheduler runs inside `jobhost run`; "
            "set REDIS_URL to run a separate scheduler"
        )
    _serve_parts(host, [lambda stop: run_scheduler(host, stop)])


def _engine(host: Host, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run one engine call for an operator command, with errors that say what to do."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from jobhost.queue import JobInputError, JobNotFound, JobStateError

    if host.settings.embedded:
        raise click.ClickException(
            "no REDIS_URL: in embedded mode the queues live inside the `jobhost run` process; "
            "set REDIS_URL to the Redis the workers use to inspect them from here"
        )

    async def go() -> T:
        try:
            return await work(host.engine)
        finally:
            await host.engine.close()

    try:
        return asyncio.run(go())
    except (JobInputError, JobNotFound, JobStateError) as exc:
        raise click.ClickException(str(exc)) from None
    except (RedisConnectionError, OSError) as exc:
        raise click.ClickException(
            f"cannot reach Redis ({exc}); check REDIS_URL and that Redis is up"
        ) from None


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def queues(ctx: click.Context, as_json: bool) -> None:
    """Show every queue's jobs by state and whether it is paused; `pause`/`resume` a queue."""
    if ctx.invoked_subcommand:
        return
    from jobhost.queue.keys import STATES

    rows = _engine(host_of(ctx), lambda engine: engine.overview())
    if as_json:
        _dump(rows)
        return
    table = [
        [r["name"], r["plugin"], "yes" if r["paused"] else "no", *(r["counts"][s] for s in STATES)]
        for r in rows
    ]
    click.echo(_table(table, ["queue", "plugin", "paused", *STATES]))


@queues.command("pause")
@click.argument("name")
@click.pass_context
def queues_pause(ctx: click.Context, name: str) -> None:
    """Stop workers taking jobs from queue NAME (enqueue still works)."""
    _engine(host_of(ctx), lambda engine: engine.pause(name))
    click.echo(f"paused {name}")


@queues.command("resume")
@click.argument("name")
@click.pass_context
def queues_resume(ctx: click.Context, name: str) -> None:
    """Let workers take jobs from queue NAME again."""
    _engine(host_of(ctx), lambda engine: engine.resume(name))
    click.echo(f"resumed {name}")


@cli.group()
def jobs() -> None:
    """Look at and act on jobs."""


def _job_json(text: str | None, param: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(
            f'must be a JSON object such as \'{{"to": "a@b.c"}}\': {exc}', param_hint=param
        ) from None
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object (keyword arguments by name)", param_hint=param)
    return value


@jobs.command("show")
@click.argument("job_id")
@click.pass_context
def jobs_show(ctx: click.Context, job_id: str) -> None:
    """Print job JOB_ID with its errors and log lines, as JSON."""
    job = _engine(host_of(ctx), lambda engine: engine.job(job_id))
    if job is None:
        raise click.ClickException(f"no job {job_id!r}; list jobs with `jobhost jobs list QUEUE`")
    _dump(job.as_dict())


@jobs.command("list")
@click.argument("queue")
@click.option(
    "--state",
    default="waiting",
    show_default=True,
    help="waiting, active, delayed, completed, dead, cancelled",
)
@click.option("--offset", default=0, show_default=True, type=click.IntRange(0))
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def jobs_list(ctx: click.Context, queue: str, state: str, offset: int, limit: int, as_json: bool) -> None:
    """List QUEUE's jobs in one state, newest first."""
    page = _engine(host_of(ctx), lambda engine: engine.list_jobs(queue, state, offset=offset, limit=limit))
    if as_json:
        _dump(page.as_dict())
        return
    rows = [
        [
            j.id,
            j.task,
            j.state,
            f"{j.attempt}/{j.attempts}",
            j.created_at,
            j.errors[-1].error[:60] if j.errors else "",
        ]
        for j in page.jobs
    ]
    click.echo(_table(rows, ["id", "task", "state", "tries", "created", "last error"]))
    click.echo(f"{offset + 1 if rows else 0}-{offset + len(rows)} of {page.total}")


@jobs.command("retry")
@click.argument("job_id")
@click.pass_context
def jobs_retry(ctx: click.Context, job_id: str) -> None:
    """Queue a dead, cancelled or completed job again with fresh tries (a delayed one: now)."""
    job = _engine(host_of(ctx), lambda engine: engine.retry(job_id))
    click.echo(f"{job.id} is {job.state}")


@jobs.command("replay")
@click.argument("job_id")
@click.option(
    "--kwargs", "kwargs_json", metavar="JSON", help="Run with these arguments instead (checked first)."
)
@click.pass_context
def jobs_replay(ctx: click.Context, job_id: str, kwargs_json: str | None) -> None:
    """Run job JOB_ID again, optionally with edited arguments."""
    kwargs = _job_json(kwargs_json, "--kwargs")
    job = _engine(host_of(ctx), lambda engine: engine.replay(job_id, kwargs))
    click.echo(f"{job.id} is {job.state}")


@jobs.command("remove")
@click.argument("job_id", required=False)
@click.option("--queue", help="With --state: remove all of QUEUE's jobs in that state.")
@click.option("--state", help="waiting, delayed, completed, dead or cancelled")
@click.pass_context
def jobs_remove(ctx: click.Context, job_id: str | None, queue: str | None, state: str | None) -> None:
    """Remove job JOB_ID, or every job of --queue in --state."""
    host = host_of(ctx)
    if job_id:
        if not _engine(host, lambda engine: engine.remove(job_id)):
            raise click.ClickException(f"no job {job_id!r}")
        click.echo(f"removed {job_id}")
    elif queue and state:
        count = _engine(host, lambda engine: engine.clean(queue, state))
        click.echo(f"removed {count} {state} job(s) from {queue}")
    else:
        raise click.UsageError("give a JOB_ID, or --queue and --state to remove many")


@jobs.command("enqueue")
@click.argument("task")
@click.argument("kwargs_json", metavar="[JSON]", required=False)
@click.option("--delay", type=float, help="Run after this many seconds.")
@click.pass_context
def jobs_enqueue(ctx: click.Context, task: str, kwargs_json: str | None, delay: float | None) -> None:
    """Enqueue TASK with keyword arguments given as a JSON object."""
    kwargs = _job_json(kwargs_json, "JSON")
    job = _engine(host_of(ctx), lambda engine: engine.enqueue(task, kwargs, delay=delay))
    click.echo(job.id)


def main(argv: list[str] | None = None) -> None:
    try:
        host = Host.load()
    except (PluginError, SettingsError) as exc:
        click.echo(f"jobhost: {exc}", err=True)
        click.echo("Fix the environment variable named above and run the command again.", err=True)
        sys.exit(2)
    host.plugins.add_commands(cli)
    cli.main(args=argv, obj={"host": host}, prog_name="jobhost")


if __name__ == "__main__":
    main()
