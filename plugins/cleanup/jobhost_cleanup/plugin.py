"""Hook implementations of the cleanup plugin."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import click
from litestar import post
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from jobhost import Backoff, CleanupTarget, Host, QueuePolicy, hookimpl, pass_host
from jobhost_cleanup.config import CLEANUP_FILE_MAX_AGE, SETTINGS
from jobhost_cleanup.files import CleanupFailed, clean_files
from jobhost_cleanup.jobs import FILES_QUEUE, FILES_TASK, TOKENS_QUEUE, TOKENS_TASK, files, tokens

# The host's scratch folder: temporary files, and the parts of blob writes cut short.
SCRATCH = CleanupTarget("temporary files", folder="tmp")


@hookimpl
def register_settings(register):
    for setting in SETTINGS:
        register(setting)


@hookimpl
def register_queues(register):
    register(
        QueuePolicy(
            FILES_QUEUE,
            attempts=3,
            backoff=Backoff.exponential(30),
            concurrency=10,
            concurrency_env="CLEANUP_WORKER_CONCURRENCY",
            description="temporary file and upload cleanup",
        )
    )
    register(
        QueuePolicy(
            TOKENS_QUEUE,
            attempts=2,
            backoff=Backoff.exponential(3600),
            concurrency=10,
            concurrency_env="CLEANUP_WORKER_CONCURRENCY",
            description="expired token removal",
        )
    )


@hookimpl
def register_tasks(register):
    register(files)
    register(tokens)


@hookimpl
def register_schedules(register):
    # Cron times are UTC; off the full hour, when other jobs pile up.
    register("cleanup.files-hourly", cron="17 * * * *", task=FILES_TASK)
    register("cleanup.tokens-daily", cron="40 3 * * *", task=TOKENS_TASK)


@hookimpl
def register_cleanup(register):
    register(SCRATCH)


@post("/cleanup/files", status_code=202, tags=["admin"], summary="Queue a file cleanup run now")
async def cleanup_now(
    host: NamedDependency[Host],
    dry_run: Annotated[bool, QueryParameter(description="report only, delete nothing")] = False,
) -> dict[str, str]:
    job = await host.enqueue(FILES_TASK, {"dry_run": dry_run})
    return {"jobId": job.id}


@hookimpl
def register_admin_routes(register):
    register(cleanup_now)


@hookimpl
def register_commands(cli):
    @cli.group()
    def cleanup():
        """Clean up now, in this process: old files and uploads, expired tokens."""

    @cleanup.command("files")
    @click.option("--dry-run", is_flag=True, help="list what would go, delete nothing")
    @pass_host
    async def files_now(host: Host, dry_run: bool) -> None:
        """Sweep every cleanup target (what the hourly cleanup.files job does)."""
        try:
            report = await clean_files(
                host, max_age=host.settings.read(CLEANUP_FILE_MAX_AGE), now=datetime.now(UTC), dry_run=dry_run
            )
        except CleanupFailed as exc:
            _print(exc.report)
            raise click.ClickException(f"{exc}; fix it and run `jobhost cleanup files` again") from None
        _print(report)

    @cleanup.command("tokens")
    @pass_host
    async def tokens_now(host: Host) -> None:
        """Delete expired tokens now (what the daily cleanup.tokens job does)."""
        removed = await host.service("accounts").delete_expired_tokens()
        click.echo(f"removed {removed} expired tokens")


def _print(report: dict) -> None:
    verb = "would delete" if report["dry_run"] else "deleted"
    for target in report["targets"]:
        if "error" in target:
            click.echo(f"{target['target']}: {target['error']}")
        elif target["kind"] == "prune":
            click.echo(f"{target['target']}: {verb} {target['rows']} rows")
        else:
            click.echo(f"{target['target']}: {verb} {target['files']} files, {target['bytes']} bytes")
            for path in target["removed"]:
                click.echo(f"  {path}")
            if target["unlisted"]:
                click.echo(f"  ... and {target['unlisted']} more")
    click.echo(f"{verb} {report['files']} files, {report['bytes']} bytes in all")
