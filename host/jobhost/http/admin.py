"""The host's admin routes (mounted under `/api/admin/`, admins only): what the monitoring of the
system being replaced offered (queue and worker status) and the job actions an operator needs."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

import attrs
from litestar import delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody, QueryParameter

from jobhost.host import Host
from jobhost.queue.engine import Engine
from jobhost.queue.errors import JobInputError
from jobhost.queue.keys import STATES

RATE_MINUTES = 60  # the "last hour" the replaced system's status page averaged over


@get("/plugins", summary="Installed plugins: status and what each registered (as `jobhost plugins --json`)")
async def plugins(host: NamedDependency[Host]) -> dict[str, Any]:
    return {"degraded": host.degraded, "plugins": [p.as_dict() for p in host.registry.plugins.values()]}


async def oldest_waiting_age(engine: Engine, queue: str) -> float | None:
    """Seconds the longest-waiting job of the queue has been due; None when none waits."""
    page = await engine.list_jobs(queue, "waiting", limit=1, newest_first=False)
    if not page.jobs:
        return None
    due = page.jobs[0].run_at or page.jobs[0].created_at
    return max(0.0, time.time() - due.timestamp()) if due else None


async def queue_status(engine: Engine, row: dict[str, Any]) -> dict[str, Any]:
    name = row["name"]
    rates, totals, oldest = await asyncio.gather(
        engine.rates(name, minutes=RATE_MINUTES), engine.totals(name), oldest_waiting_age(engine, name)
    )
    return {
        **row,
        "per_minute_last_hour": rates,
        "totals": totals,
        "oldest_waiting_seconds": oldest,
    }


@get("/queues/status", summary="Every queue: policy, paused, counts by state, rates, oldest waiting age")
async def queues_status(host: NamedDependency[Host]) -> dict[str, Any]:
    engine = host.engine
    rows = await engine.overview()
    return {"queues": list(await asyncio.gather(*(queue_status(engine, row) for row in rows)))}


@get("/schedules", summary="Every cron schedule (with its plugin, last and next fire) and ad-hoc schedule")
async def schedules(host: NamedDependency[Host]) -> dict[str, Any]:
    from jobhost.scheduler import overview

    return await overview(host)


@delete("/schedules/{schedule_id:str}", status_code=204, summary="Remove an ad-hoc schedule")
async def remove_schedule(host: NamedDependency[Host], schedule_id: FromPath[str]) -> None:
    if not await host.engine.schedules.remove(schedule_id):
        raise NotFoundException(detail=f"no ad-hoc schedule {schedule_id!r}")


@get("/workers/status", summary="Live workers from their heartbeats")
async def workers_status(host: NamedDependency[Host]) -> dict[str, Any]:
    return {"workers": await host.engine.workers()}


@get("/queues/{queue:str}/jobs", summary="One page of a queue's jobs in one state, newest first")
async def list_jobs(
    host: NamedDependency[Host],
    queue: FromPath[str],
    job_state: Annotated[
        str, QueryParameter(name="state", description=f"one of {', '.join(STATES)}")
    ] = "waiting",
    offset: Annotated[int, QueryParameter(ge=0)] = 0,
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    page = await host.engine.list_jobs(queue, job_state, offset=offset, limit=limit)
    return page.as_dict()


@get("/jobs/{job_id:str}", summary="Any job, with its logs and every try's error and traceback")
async def show_job(host: NamedDependency[Host], job_id: FromPath[str]) -> dict[str, Any]:
    job = await host.job(job_id)
    if job is None:
        raise NotFoundException(detail=f"no job {job_id!r}")
    return job.as_dict()


@post("/jobs/{job_id:str}/retry", status_code=200, summary="Queue a dead, cancelled or completed job again")
async def retry_job(host: NamedDependency[Host], job_id: FromPath[str]) -> dict[str, Any]:
    return (await host.engine.retry(job_id)).as_dict()


@attrs.frozen
class Replay:
    kwargs: dict[str, Any] | None = None


@post(
    "/jobs/{job_id:str}/replay",
    status_code=200,
    summary="Queue a job again, with edited arguments (checked against the task's parameters)",
)
async def replay_job(
    host: NamedDependency[Host], job_id: FromPath[str], data: JSONBody[Replay]
) -> dict[str, Any]:
    return (await host.engine.replay(job_id, data.kwargs)).as_dict()


@post("/jobs/{job_id:str}/cancel", status_code=200, summary="Cancel a waiting or delayed job")
async def cancel_job(host: NamedDependency[Host], job_id: FromPath[str]) -> dict[str, Any]:
    return (await host.engine.cancel(job_id)).as_dict()


@delete("/jobs/{job_id:str}", summary="Delete a job in any state")
async def remove_job(host: NamedDependency[Host], job_id: FromPath[str]) -> None:
    if not await host.engine.remove(job_id):
        raise NotFoundException(detail=f"no job {job_id!r}")


@post("/queues/{queue:str}/pause", status_code=200, summary="Workers take nothing new from the queue")
async def pause_queue(host: NamedDependency[Host], queue: FromPath[str]) -> dict[str, Any]:
    await host.engine.pause(queue)
    return {"queue": queue, "paused": True}


@post("/queues/{queue:str}/resume", status_code=200, summary="Workers take jobs from the queue again")
async def resume_queue(host: NamedDependency[Host], queue: FromPath[str]) -> dict[str, Any]:
    await host.engine.resume(queue)
    return {"queue": queue, "paused": False}


@attrs.frozen
class Clean:
    state: str
    older_than: float = 0.0


@post(
    "/queues/{queue:str}/clean", status_code=200, summary="Remove a queue's jobs in one state, older than N s"
)
async def clean_queue(
    host: NamedDependency[Host], queue: FromPath[str], data: JSONBody[Clean]
) -> dict[str, Any]:
    if data.older_than < 0:
        raise JobInputError(f"older_than must be >= 0 seconds, got {data.older_than}")
    removed = await host.engine.clean(queue, data.state, data.older_than)
    return {"queue": queue, "state": data.state, "removed": removed}


ADMIN_ROUTES = [
    plugins,
    schedules,
    remove_schedule,
    queues_status,
    workers_status,
    list_jobs,
    show_job,
    retry_job,
    replay_job,
    cancel_job,
    remove_job,
    pause_queue,
    resume_queue,
    clean_queue,
]
