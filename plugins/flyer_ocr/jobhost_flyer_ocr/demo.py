"""`jobhost demo`: a first run that shows the job, on a sample flyer shipped with the plugin.

It goes the way an upload goes: the checks, the stored file, a job on the flyer-processing
queue, its live progress, then the deals as a table. It works in embedded mode (no Redis) and
against a real REDIS_URL alike. A worker in this process runs the job, except beside a running
embedded `jobhost run` on the same data directory: then the job goes to that process's queue
and its workers run it, so it shows in its dashboard.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path
from typing import cast

import click

from jobhost import Host
from jobhost_flyer_ocr.errors import FlyerRejected
from jobhost_flyer_ocr.intake import accept

# A generated 12-deal grid flyer (tests/plugins/flyer_ocr/flyergen.py, seed 48).
SAMPLE_FLYER = Path(__file__).parent / "samples" / "sample-flyer.png"
QUEUE = "flyer-processing"
OWNER = "demo"
BAR = 30


def progress_line(percent: float, stage: str | None) -> str:
    filled = round(BAR * percent / 100)
    return f"[{'#' * filled}{'.' * (BAR - filled)}] {percent:5.1f}%  {stage or ''}"


def deals_table(items: list[dict]) -> str:
    headers = ["deal", "price", "qty", "unit", "unit price", "offer", "page", "conf"]
    rows = []
    for item in items:
        offer = "BOGO" if item["bogo"] else ""
        if item["save"]:
            offer = f"save ${item['save']}"
        if item["percent_off"]:
            offer = f"{item['percent_off']}% off"
        rows.append(
            [
                item["name"],
                f"${item['price']}",
                str(item["quantity"]),
                item["unit"],
                f"${item['unit_price']}",
                offer,
                str(item["page"]),
                f"{item['confidence']:.2f}",
            ]
        )
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in [headers]
    ]
    lines.append("  ".join("-" * width for width in widths))
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


async def run_demo(host: Host, data: bytes, filename: str, timeout: float, own_worker: bool = True) -> dict:
    """Queue the flyer, show its progress until its job ends, and return the finished job's view;
    with `own_worker`, a worker in this process runs it."""
    await host.start()
    try:
        async with host.worker([QUEUE]) if own_worker else contextlib.nullcontext():
            accepted = await accept(host, OWNER, data, filename=filename)
            click.echo(f"flyer {accepted.flyer_id}: job {accepted.job_id} on queue {QUEUE}")
            shown = None
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while True:
                job = await host.job(accepted.job_id)
                assert job is not None
                progress = job.progress or {"percent": 0, "stage": job.state}
                line = progress_line(progress.get("percent", 0), progress.get("stage"))
                if line != shown:
                    click.echo(f"\r{line}", nl=not sys.stdout.isatty())
                    shown = line
                if job.finished or loop.time() > deadline:
                    break
                await asyncio.sleep(0.2)
            click.echo("")
            return job.as_dict()
    finally:
        await host.stop()


@click.command("demo")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait for the job.")
@click.option("--sample", is_flag=True, help="Print the sample flyer's path (to upload yourself) and stop.")
@click.pass_context
def demo(ctx: click.Context, file: Path | None, timeout: float, sample: bool) -> None:
    """Read a flyer's deals through the queue, with live progress (default: a sample flyer).

    Migrates the database first (as `jobhost db upgrade` does) and runs a worker for the
    flyer-processing queue inside this command; beside a running embedded `jobhost run`, that
    process's queue and workers instead.
    """
    if sample:
        click.echo(SAMPLE_FLYER)
        return
    # jobhost's own `db upgrade`, always there
    db = cast(click.Group, cast(click.Group, ctx.find_root().command).get_command(ctx, "db"))
    ctx.invoke(cast(click.Command, db.get_command(ctx, "upgrade")))
    path = file or SAMPLE_FLYER
    host = Host.load()
    beside = host.attach_running()
    if beside:
        click.echo("using the queue of the `jobhost run` running on this data directory")
    try:
        job = asyncio.run(run_demo(host, path.read_bytes(), path.name, timeout, own_worker=not beside))
    except FlyerRejected as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    if job["state"] != "completed":
        error = job["errors"][-1]["error"] if job["errors"] else f"still {job['state']} after {timeout:g} s"
        raise click.ClickException(f"job {job['id']} {job['state']}: {error}")
    result = job["result"]
    dates = f", valid {result['valid_from']} to {result['valid_to']}" if result["valid_from"] else ""
    store = result["store"] or "unknown store"
    click.echo(f"{store}{dates}: {len(result['items'])} deals on {result['pages']} page(s)")
    click.echo(deals_table(result["items"]))
