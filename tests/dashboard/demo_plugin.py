"""A small plugin for the dashboard tests: one searchable queue, a task that takes its time and
reports progress (so a page can watch it move), one that fails, and a schedule."""

from __future__ import annotations

import asyncio
from typing import Any

from jobhost import Backoff, JobContext, PermanentError, QueuePolicy, hookimpl

QUEUE = "demo"
# Flyers whose processing fails until a test takes them out again (a fault that gets fixed).
BROKEN: set[int] = set()


async def process(ctx: JobContext, flyer_id: int, email: str = "", seconds: float = 0.0) -> dict[str, Any]:
    """Work for `seconds`, reporting progress in steps; fails for good when flyer_id is BROKEN."""
    if flyer_id in BROKEN:
        raise PermanentError(f"flyer {flyer_id} cannot be read")
    steps = 4
    for step in range(steps):
        ctx.progress(100 * step / steps, f"step {step + 1} of {steps}")
        ctx.log(f"flyer {flyer_id}: step {step + 1}")
        await asyncio.sleep(seconds / steps)
    return {"flyer_id": flyer_id, "deals": flyer_id % 7}


@hookimpl
def register_queues(register):
    register(
        QueuePolicy(
            QUEUE,
            attempts=2,
            backoff=Backoff.exponential(0.2),
            concurrency=4,
            search_fields=("flyer_id", "email"),
            description="dashboard test queue",
        )
    )


@hookimpl
def register_tasks(register):
    register(process, queue=QUEUE, name="demo.process")


@hookimpl
def register_schedules(register):
    register("demo-hourly", cron="0 * * * *", task="demo.process", kwargs={"flyer_id": 1})
