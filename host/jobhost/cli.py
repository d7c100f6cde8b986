"""The `jobhost` command. Plugins add sub-commands through `register_commands`."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from jobhost import logs
from jobhost.commands import EMBEDDED_REFUSAL, host_of, reach_running, run_started, user_errors
from jobhost.host import Host
from jobhost.plugins import PluginError
from jobhost.queue.connection import embedded_loopback, embedded_snapshots
from jobhost.settings import SettingsError, configuration_warnings, describe, effective

if TYPE_CHECKING:
    pass

T = TypeVar("T")


def _dump(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def _utc(at: float | None) -> str:
    return f"{datetime.fromtimestamp(at, UTC):%Y-%m-%d %H:%M:%S}" if at else "-"


def _table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
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


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--all", "show_all", is_flag=True, help="Include the host's built-in plugins.")
@click.pass_context
def plugins(ctx: click.Context, as_json: bool, show_all: bool) -> None:
    """List installed plugins: status and what each registered."""
    host = host_of(ctx)
    infos = [p for p in host.registry.plugins.values() if show_all or not p.builtin]
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
                ",".join(c.commands) or "-",
            ]
        )
    headers = ["name", "distribution", "version", "status", "queues", "tasks", "routes", "schedules"]
    click.echo(_table(rows, [*headers, "commands"]))
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
        click.echo(describe(name, value, host.settings.env))


# -- queues, jobs, worker, scheduler ---------------------------------------------------------


def _serve_parts(host: Host, parts: list[Callable[[asyncio.Event], Awaitable[None]]]) -> None:
    """Run long-lived parts (worker, scheduler, API) in one process until SIGTERM/SIGINT.

    In embedded mode the in-process store is loaded from its snapshot first, kept saved while
    the parts run, and saved once more after they stopped (running jobs handed back by then)."""

    from jobhost.processes import run, serve

    async def go() -> None:
        snapshots = embedded_snapshots(host.settings) if host.settings.embedded else None
        loopback = embedded_loopback(host.settings) if host.settings.embedded else None
        if snapshots is not None and loopback is not None:
            await snapshots.load()
            parts.append(snapshots.keep_saving)
            loopback.open()
        await host.start()
        try:
            await serve(*parts)
        finally:
            if loopback is not None:
                loopback.close()
            await host.stop()
            if snapshots is not None:
                await snapshots.save()
            await host.engine.close()

    with user_errors(host):
        run(go())


def _welcome(host: Host, bind: str, port: int, *, migrate: bool) -> None:
    """Migrate (for `jobhost run`), then print the start banner, with a first admin's one-time
    sign-in link on a database that has no admin (and is migrated: `jobhost api` migrates nothing)."""
    from jobhost.welcome import banner, base_url, first_admin_link

    base = base_url(bind, port)

    async def prepare() -> tuple[bool, str | None]:
        if migrate:
            await host.migrate()
        elif not (await host.migrated()).get("jobhost"):
            return False, None  # the accounts tables are not there yet
        return True, await first_admin_link(host, base)

    migrated, link = run_started(host, prepare, start=False)
    click.echo(banner(host, base, link, migrated=migrated))


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
    from jobhost.worker import run_worker

    host = host_of(ctx)
    names = _queue_names(host, queues)
    _welcome(host, bind, port, migrate=True)
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
    _welcome(host, bind, port, migrate=False)
    if workers > 1:
        serve_processes(host, bind, port, workers)
    else:
        _serve_parts(host, [lambda stop: run_api(host, stop, bind=bind, port=port)])


@cli.command()
@_QUEUE_OPTION
@click.option("--processes", default=1, show_default=True, type=click.IntRange(1), help="Worker processes.")
@click.option(
    "--no-supervisor",
    is_flag=True,
    help="Run the worker in this process, unsupervised (when systemd, Kubernetes or the like restarts it).",
)
@click.pass_context
def worker(ctx: click.Context, queues: tuple[str, ...], processes: int, no_supervisor: bool) -> None:
    """Run jobs; SIGTERM drains running jobs for SHUTDOWN_TIMEOUT, then hands the rest back.

    The worker processes run under a supervisor that starts again any that dies."""
    from jobhost.processes import bind_to_supervisor, supervise, worker_command
    from jobhost.worker import run_worker

    host = host_of(ctx)
    names = _queue_names(host, queues)
    if host.settings.embedded:
        raise click.ClickException(
            "no REDIS_URL: in embedded mode the queues live inside `jobhost run`; "
            "set REDIS_URL to run separate workers"
        )
    if not no_supervisor:
        # Say now that Redis is unreachable, rather than in a loop of children restarted.
        run_started(host, host.engine.redis.ping, start=False)
        code = supervise(worker_command(names or []), processes)
        # Nothing is left to clean up once the workers are gone: skip the interpreter's teardown
        # (of every plugin's modules, slow on a busy machine), so the stop stays in its bound.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    if processes > 1:
        raise click.UsageError("--processes needs the supervisor; leave out --no-supervisor")
    bind_to_supervisor()
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
    """Run one engine call for an operator command, with errors that say what to do; in embedded
    mode on the store of the `jobhost run` of the same data directory."""
    if not reach_running(host):
        raise click.ClickException(EMBEDDED_REFUSAL)
    result: T = run_started(host, lambda: work(host.engine), start=False)
    return result


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


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def schedules(ctx: click.Context, as_json: bool) -> None:
    """Show the plugins' cron schedules and the ad-hoc ones, with their next fire; `remove` one."""
    if ctx.invoked_subcommand:
        return
    from jobhost.scheduler import overview

    host = host_of(ctx)
    found = _engine(host, lambda engine: overview(host))
    if as_json:
        _dump(found)
        return
    rows = [
        [s["name"], s["plugin"], s["cron"], s["task"], _utc(s["last_fire"]), _utc(s["next_fire"])]
        for s in found["schedules"]
    ]
    click.echo(_table(rows, ["schedule", "plugin", "cron", "task", "last fire (UTC)", "next fire (UTC)"]))
    if found["adhoc"]:
        rows = [
            [a["id"], a["task"], a["cron"] or a["time"] or f"every {a['interval']:g}s", _utc(a["next_fire"])]
            for a in found["adhoc"]
        ]
        click.echo("\n" + _table(rows, ["ad-hoc schedule", "task", "when", "next fire (UTC)"]))


@schedules.command("remove")
@click.argument("schedule_id")
@click.pass_context
def schedules_remove(ctx: click.Context, schedule_id: str) -> None:
    """Remove the ad-hoc schedule SCHEDULE_ID."""
    if not _engine(host_of(ctx), lambda engine: engine.schedules.remove(schedule_id)):
        raise click.ClickException(f"no ad-hoc schedule {schedule_id!r}; list them with `jobhost schedules`")
    click.echo(f"removed {schedule_id}")


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


# -- writing plugins -------------------------------------------------------------------------


@cli.group("plugin")
def plugin_group() -> None:
    """Write a new plugin."""


@plugin_group.command("new")
@click.argument("name")
@click.option(
    "--dir",
    "folder",
    type=click.Path(path_type=Path),
    help="Folder to write the plugin into (must not exist or be empty); default ./jobhost-NAME.",
)
def plugin_new(name: str, folder: Path | None) -> None:
    """Write a working plugin skeleton: a queue, a task, a route and their tests."""
    from jobhost.scaffold import PluginNames, ScaffoldError, write_plugin

    try:
        names = PluginNames.parse(name)
        written = write_plugin(names, folder)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote plugin {names.name!r} ({names.distribution}) in {written}")
    click.echo(f"next: cd {written} && pip install -e '.[test]' && python -m pytest")


def main(argv: list[str] | None = None) -> None:
    # Before the plugins load, so that a load failure's traceback shows with JOBHOST_LOG_LEVEL=DEBUG
    # (a bad value is reported by the settings check below).
    logs.configure(
        os.environ.get("JOBHOST_LOG_LEVEL", "INFO").strip().upper(),
        os.environ.get("JOBHOST_LOG_FORMAT", "text").strip().lower(),
    )
    try:
        host = Host.load()
    except SettingsError as exc:
        click.echo(f"jobhost: {exc}", err=True)
        click.echo("Fix the environment variable named above and run the command again.", err=True)
        sys.exit(2)
    except PluginError as exc:
        click.echo(f"jobhost: {exc}", err=True)
        click.echo(
            "Fix or update that plugin, disable it (JOBHOST_DISABLE_PLUGINS=name), or unset "
            "JOBHOST_STRICT_PLUGINS to run without it.",
            err=True,
        )
        sys.exit(2)
    host.plugins.add_commands(cli)
    cli.main(args=argv, obj={"host": host}, prog_name="jobhost")


if __name__ == "__main__":
    main()
