"""A plugin written as a taskiq user would write it: tasks with TaskiqDepends, a middleware of its own."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from typing import Annotated

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath
from taskiq import Context, TaskiqDepends, TaskiqMessage, TaskiqMiddleware, TaskiqResult, TaskiqState
from taskiq import async_shared_broker as shared

import jobhost
from jobhost import Backoff, JobContext, QueuePolicy, RetryLater, User, hookimpl

QUEUE = "tq"
opened: list[str] = []  # what the generator dependency saw, in order
seen: list[tuple[str, str]] = []  # (middleware hook, task name) in the order they ran


async def connection() -> AsyncIterator[str]:
    """A generator dependency with cleanup, as a plugin's database session would be."""
    opened.append("open")
    yield "conn-1"
    opened.append("closed")


@jobhost.task("tq.add", queue=QUEUE)
async def add(a: int, b: int) -> int:
    return a + b


@jobhost.task("tq.inject", queue=QUEUE)
async def inject(
    n: int,
    context: Annotated[Context, TaskiqDepends()],
    state: Annotated[TaskiqState, TaskiqDepends()],
    conn: Annotated[str, TaskiqDepends(connection)],
    job: Annotated[JobContext, TaskiqDepends()],
) -> dict[str, object]:
    job.progress(40, "injected")
    job.log("hello from the task")
    return {
        "n": n,
        "task_id": context.message.task_id,
        "label": context.message.labels.get("colour"),
        "state": getattr(state, "greeting", None),
        "conn": conn,
        "job_id": job.job_id,
        "queue": job.queue,
        "attempt": job.attempt,
        "has_deadline": job.deadline is not None,
        "host_ok": job.host is not None,
    }


@jobhost.task("tq.sync", queue=QUEUE)
def sync_task(word: str, job: JobContext = TaskiqDepends()) -> dict[str, object]:
    job.progress(50, "in a thread")
    return {"word": word.upper(), "thread": threading.current_thread().name}


@jobhost.task("tq.flaky", queue=QUEUE)
async def flaky(job: JobContext = TaskiqDepends()) -> str:
    if job.attempt < 3:
        raise RetryLater(f"try {job.attempt} fails", delay=0.2)
    return f"done on try {job.attempt}"


@jobhost.task("tq.broken", queue=QUEUE)
async def broken() -> None:
    raise ValueError("always broken")


@shared.task(task_name="tq.native", queue=QUEUE)
async def native(x: int) -> int:
    """Declared with taskiq's own shared broker, not jobhost.task."""
    return x * 10


def legacy(x: int, ctx=None) -> int:
    """A plain function with the first landing's `ctx` parameter."""
    ctx.log(f"legacy {x}")
    return x + 1


@get("/api/tq/sum/{a:int}/{b:int}")
async def sum_route(a: FromPath[int], b: FromPath[int], user: NamedDependency[User]) -> dict[str, object]:
    """Kicks a job from a route and waits for its result (as a synchronous endpoint would)."""
    kicked = await add.kicker().with_labels(owner=user.owner).kiq(a, b)
    result = await kicked.wait_result(timeout=20, check_interval=0.05)
    return {"job_id": kicked.task_id, "sum": result.return_value}


class Recorder(TaskiqMiddleware):
    """Records every hook it sees; adds a label before sending."""

    def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
        seen.append(("pre_send", message.task_name))
        message.labels["recorded"] = "yes"
        return message

    def post_send(self, message: TaskiqMessage) -> None:
        seen.append(("post_send", message.task_name))

    def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        seen.append(("pre_execute", f"{message.task_name}:{message.labels.get('recorded')}"))
        return message

    def post_execute(self, message: TaskiqMessage, result: TaskiqResult[object]) -> None:
        seen.append(("post_execute", message.task_name))

    def on_error(
        self, message: TaskiqMessage, result: TaskiqResult[object], exception: BaseException
    ) -> None:
        seen.append(("on_error", message.task_name))

    def post_save(self, message: TaskiqMessage, result: TaskiqResult[object]) -> None:
        seen.append(("post_save", message.task_name))


@hookimpl
def register_queues(register):
    register(QueuePolicy(QUEUE, attempts=3, backoff=Backoff.fixed(0.2), timeout=5))


@hookimpl
def register_tasks(register):
    for task in (add, inject, sync_task, flaky, broken, native):
        register(task)
    register(legacy, queue=QUEUE, name="tq.legacy")


@hookimpl
def register_middlewares(register):
    register(Recorder())


@hookimpl
def register_routes(register):
    register(sum_route)
