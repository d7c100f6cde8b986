"""A plugin for the HTTP tests: a queue, tasks, and a route that enqueues for the caller."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, HeaderParameter, JSONBody
from sqlalchemy import func, select

from jobhost import Backoff, Host, PermanentError, QueuePolicy, User, hookimpl
from jobhost.store.models import UserRow

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
    host: NamedDependency[Host],
    user: NamedDependency[User],
    data: JSONBody[dict[str, Any]],
    key: Annotated[
        str | None, HeaderParameter(name="Idempotency-Key", pattern=r"^[\x21-\x7e]{1,255}$")
    ] = None,
) -> dict[str, str]:
    job = await host.enqueue("demo.work", data, owner=user.owner, idempotency_key=key)
    return {"job_id": job.id}


@post("/api/demo/jobs/bulk", status_code=202)
async def enqueue_bulk(
    host: NamedDependency[Host], user: NamedDependency[User], data: JSONBody[list[dict[str, Any]]]
) -> dict[str, list[str]]:
    return {"job_ids": await host.enqueue_many("demo.work", data, owner=user.owner)}


@get("/api/demo/users/{user_id:int}")
async def find_user(
    host: NamedDependency[Host], user_id: FromPath[int], page: FromQuery[int] = 1
) -> dict[str, Any]:
    """Numbers from the path and the query straight into SQL, as plugin routes do."""
    async with host.db() as session:
        row = await session.get(UserRow, user_id)
        before = await session.scalar(select(func.count()).where(UserRow.id < page))
    return {"found": row is not None, "before": before}


@post("/api/demo/upload", status_code=202)
async def upload(
    user: NamedDependency[User], data: Annotated[UploadFile, Body(media_type=RequestEncodingType.MULTI_PART)]
) -> dict[str, int]:
    return {"size": len(await data.read())}


@hookimpl
def register_queues(register):
    register(QueuePolicy(QUEUE, attempts=2, backoff=Backoff.fixed(0.1), concurrency=2))


@hookimpl
def register_tasks(register):
    register(work, queue=QUEUE, name="demo.work")


@hookimpl
def register_routes(register):
    for handler in (enqueue, enqueue_bulk, find_user, upload):
        register(handler)
