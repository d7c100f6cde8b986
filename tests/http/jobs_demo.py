"""A plugin for the HTTP tests: a queue, tasks, and a route that enqueues for the caller."""

from __future__ import annotations

from typing import Any

from litestar import post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from jobhost import Backoff, Host, PermanentError, QueuePolicy, User, hookimpl

QUEUE = "http-demo"


def work(ctx, steps: int = 2, fail: bool = False) -> dict[str, Any]:
    if fail:
        raise PermanentError("asked to fail")
    for step in range(1, steps + 1):
        ctx.progress(100 * step / steps, f"step {step} of {steps}")
        ctx.log(f"did step {step}")
    return {"steps": steps}


@post("/api/demo/jobs", status_code=202)
async def enqueue(
    host: NamedDependency[Host], user: NamedDependency[User], data: JSONBody[dict[str, Any]]
) -> dict[str, str]:
    job = await host.enqueue("demo.work", data, owner=user.owner)
    return {"job_id": job.id}


@hookimpl
def register_queues(register):
    register(QueuePolicy(QUEUE, attempts=2, backoff=Backoff.fixed(0.1), concurrency=2))


@hookimpl
def register_tasks(register):
    register(work, queue=QUEUE, name="demo.work")


@hookimpl
def register_routes(register):
    register(enqueue)
