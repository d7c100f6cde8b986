"""`jobhost analytics report --daily 2026-11-27` / `--weekly 2026-W47`: make a report on demand."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from jobhost import Host, pass_host
from jobhost_analytics.jobs import request
from jobhost_analytics.periods import DAILY, WEEKLY, PeriodError


@click.group("analytics")
def analytics() -> None:
    """The analytics plugin's reports."""


@analytics.command("report")
@click.option("--daily", "day", metavar="YYYY-MM-DD", help="Report on this UTC day.")
@click.option("--weekly", "week", metavar="YYYY-Www", help="Report on this ISO week.")
@click.option(
    "--wait",
    "timeout",
    type=float,
    default=None,
    metavar="SECONDS",
    help="Wait up to this long for a worker to make it, then print it as JSON.",
)
@pass_host(shared=True)  # the workers must see the job: a private embedded queue won't do
async def report(host: Host, day: str | None, week: str | None, timeout: float | None) -> None:
    """Queue a daily or weekly report now (again: it replaces the stored one) and print its job."""
    if (day is None) == (week is None):
        raise click.UsageError("give exactly one of --daily YYYY-MM-DD or --weekly YYYY-Www")
    kind, key = (DAILY, day) if day is not None else (WEEKLY, week)
    try:
        period, job = await request(host, kind, key, datetime.now(UTC))
    except PeriodError as exc:
        raise click.BadParameter(str(exc), param_hint=f"--{kind}") from None
    click.echo(f"{kind} report {period.key}: job {job['id']} queued (see `jobhost jobs show {job['id']}`)")
    if timeout is None:
        return
    try:
        done = await host.wait(job["id"], timeout)
    except TimeoutError as exc:
        raise click.ClickException(f"{exc}; is a worker running for {job['queue']}?") from None
    if done.state != "completed":
        raise click.ClickException(
            f"job {done.id} {done.state}: {done.errors[-1].error if done.errors else ''}"
        )
    click.echo(json.dumps(done.result, indent=2))
