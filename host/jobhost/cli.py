"""The `jobhost` command. Plugins add sub-commands through `register_commands`."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from jobhost.host import Host
from jobhost.plugins import PluginError
from jobhost.settings import SettingsError, effective


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
    if as_json:
        _dump({"degraded": host.degraded, "plugins": [p.as_dict() for p in infos]})
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


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def config(ctx: click.Context, as_json: bool) -> None:
    """Print the effective settings (secrets masked)."""
    host = host_of(ctx)
    values = effective(host.settings, host.registry.settings)
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


def main(argv: list[str] | None = None) -> None:
    try:
        host = Host.load()
    except (PluginError, SettingsError) as exc:
        click.echo(f"jobhost: {exc}", err=True)
        click.echo("Fix the environment variable named above and run the command again.", err=True)
        sys.exit(2)
    host.plugins.add_commands(cli)
    cli.main(args=argv, obj={"host": host}, prog_name="jobhost")
