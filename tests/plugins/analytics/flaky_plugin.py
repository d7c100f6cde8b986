"""A small plugin for the report tests: a queue whose task fails its first try when asked to (so
it is retried), or every try (so it dies)."""

from __future__ import annotations

from jobhost import Backoff, JobContext, PermanentError, QueuePolicy, hookimpl

QUEUE = "flaky"
TASK = "flaky.work"


async def work(ctx: JobContext, fail_first: bool = False, fail_always: bool = False) -> str:
    if fail_always:
        raise PermanentError("this input never works")
    if fail_first and ctx.attempt == 1:
        raise RuntimeError("the first try fails on purpose")
    return "ok"


@hookimpl
def register_queues(register):
    register(QueuePolicy(QUEUE, attempts=3, backoff=Backoff.fixed(0.05), concurrency=2))


@hookimpl
def register_tasks(register):
    register(work, queue=QUEUE, name=TASK)
