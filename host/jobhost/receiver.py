"""Running one try through taskiq's own execution path, inside the engine's lease.

taskiq's `Receiver.callback` acks whatever happens (success, error, timeout, unknown task), which
would throw away the engine's retries and dead set; so jobhost keeps `run_task` (dependency
injection with `TaskiqDepends`, sync functions in the executor, `on_error` middlewares) and does
the rest itself: `pre_execute`, `run_task` within the queue's timeout, `post_execute`; the worker then
records the outcome through the engine and calls `saved` for `post_save`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import logging
from collections.abc import Callable
from typing import Any

import attrs
from taskiq import TaskiqMiddleware, TaskiqResult
from taskiq.message import TaskiqMessage
from taskiq.receiver import Receiver
from taskiq.utils import maybe_awaitable

from jobhost.broker import JobhostBroker
from jobhost.plugins import TaskDef
from jobhost.queue import codec
from jobhost.queue.consumer import Claimed
from jobhost.queue.context import JobContext
from jobhost.task import CTX
from jobhost.timeouts import Timeouts

# The futures a try submitted to the thread pool, so a sync task that outlives its timeout can
# keep its slot until its thread returns (a thread cannot be stopped).
SUBMITTED: contextvars.ContextVar[list[concurrent.futures.Future[Any]]] = contextvars.ContextVar(
    "jobhost_submitted"
)


class _NotTwice(logging.Filter):
    """taskiq logs every failed try with its traceback; the worker already records and logs it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "Exception found while executing function."


logging.getLogger("taskiq.receiver.receiver").addFilter(_NotTwice())


class TryTimedOut(Exception):
    """The try ran past its queue's timeout."""


@attrs.frozen
class Outcome:
    """How one try ended: what the task returned or raised, and for `post_save` middlewares the
    message they saw and taskiq's result (None when the try ran without taskiq's path)."""

    value: Any
    error: BaseException | None
    taskiq: tuple[TaskiqMessage, TaskiqResult[Any]] | None = None


class JobhostReceiver(Receiver):
    """taskiq's Receiver, driven by the worker instead of `listen()`."""

    def __init__(
        self, broker: JobhostBroker, executor: concurrent.futures.Executor, concurrency: int
    ) -> None:
        # Kwargs were checked against the signature at enqueue and arrive as JSON types: taskiq's
        # per-argument pydantic parsing would cost every job and coerce nothing we need.
        super().__init__(broker, executor, validate_params=False, max_async_tasks=max(1, concurrency))
        self.broker: JobhostBroker = broker
        # The middlewares that implement each hook, in calling order (they are fixed once loaded).
        self._hooks = {
            hook: [
                m for m in broker.middlewares if getattr(type(m), hook) is not getattr(TaskiqMiddleware, hook)
            ]
            for hook in ("pre_execute", "post_execute", "post_save")
        }
        self._hooks["post_execute"].reverse()
        self._hooks["post_save"].reverse()
        self.saves = bool(self._hooks["post_save"])  # whether `saved` has anything to do
        # Without a middleware, an async task that injects nothing needs none of taskiq's
        # machinery (message, dependency graph, result): it is called directly.
        self._direct = not broker.middlewares
        self._timeouts = Timeouts()

    def _prepare_task(self, name: str, handler: Callable[..., Any]) -> None:
        super()._prepare_task(name, handler)
        # run_task resolves dependencies whenever a graph is there, empty or not; most tasks have
        # none, and skipping the resolution saves them that cost on every try.
        if self.dependency_graphs[name].is_empty():
            del self.dependency_graphs[name]

    async def execute(
        self, task: TaskDef, job: Claimed, ctx: JobContext | None, timeout: float | None
    ) -> Outcome:
        """Run one try; raises TryTimedOut past `timeout`, CancelledError when the worker cancels it.
        `ctx` is None for a task that takes no JobContext and no dependencies."""
        labels = {**task.task.labels, **codec.loads(job.labels)} if job.labels else task.task.labels
        if self._direct and ctx is None and task.is_async and "timeout" not in labels:
            return await self._call(task, job, timeout)
        message = TaskiqMessage(
            task_id=job.id, task_name=job.task, labels=labels, args=[], kwargs=codec.loads(job.kwargs)
        )
        for middleware in self._hooks["pre_execute"]:
            message = await maybe_awaitable(middleware.pre_execute(message))
        run = message
        if ctx is not None:
            if task.wants_ctx:
                run = message.model_copy(update={"kwargs": {**message.kwargs, CTX: ctx}})
            # run_task copies the dependency context before its first await, as it does for
            # taskiq's own Context, so concurrent tries each get their own JobContext.
            self.broker.custom_dependency_context[JobContext] = ctx
            self.broker.result_backend.running[job.id] = ctx
        try:
            async with self._timeouts.after(timeout) as deadline:
                result = await self.run_task(task.fn, run)
        finally:
            if ctx is not None:
                self.broker.result_backend.running.pop(job.id, None)
        # run_task catches every BaseException, cancellation included, and returns it as the error.
        if deadline.expired():
            raise TryTimedOut(f"timed out after {timeout:g}s")
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise asyncio.CancelledError()
        for middleware in self._hooks["post_execute"]:
            await maybe_awaitable(middleware.post_execute(message, result))
        return Outcome(result.return_value, result.error, (message, result))

    async def _call(self, task: TaskDef, job: Claimed, timeout: float | None) -> Outcome:
        """A try as `run_task` would run it for a task without dependencies or middlewares: any
        exception is the try's error, a cancellation goes through."""
        kwargs = codec.loads(job.kwargs)
        deadline = self._timeouts.after(timeout)
        try:
            async with deadline:
                value = await task.fn(**kwargs)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # as run_task does: SystemExit from a task fails its try
            if deadline.expired():
                raise TryTimedOut(f"timed out after {timeout:g}s") from None
            return Outcome(None, exc)
        return Outcome(value, None)

    async def saved(self, outcome: Outcome) -> None:
        """After the engine recorded the try's outcome: taskiq's `post_save` middlewares."""
        if outcome.taskiq is None:
            return
        message, result = outcome.taskiq
        for middleware in self._hooks["post_save"]:
            await maybe_awaitable(middleware.post_save(message, result))
