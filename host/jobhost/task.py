"""Tasks are taskiq tasks: `jobhost.task(...)`, and how plain functions and taskiq's own shared tasks
become ones the host can run.

A task is a taskiq shared task (`.kiq()`, `.kicker().with_labels(...)`, `wait_result()`), kicked to
whichever host this process started (`JobhostBroker`, made the shared tasks' default broker when
the host starts). Its queue is its `queue` label.
"""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from taskiq import async_shared_broker
from taskiq.brokers.shared_broker import SharedDecoratedTask
from taskiq.decor import AsyncTaskiqDecoratedTask
from taskiq.exceptions import SendTaskError
from taskiq.kicker import AsyncKicker
from taskiq.message import TaskiqMessage
from taskiq_dependencies import DependencyGraph
from taskiq_dependencies.dependency import Dependency

from jobhost.queue.keys import new_job_id

P = ParamSpec("P")
R = TypeVar("R")

# The name a task's JobContext parameter has when it is not injected with TaskiqDepends (the first
# landing's convention, kept for plain functions).
CTX = "ctx"


class NoHostRunning(SendTaskError):
    """`.kiq()` in a process where no jobhost host has started."""

    def __str__(self) -> str:
        return (
            "no jobhost host runs in this process, so there is nowhere to send the task: use "
            "`async with jobhost.connect() as host:` in a program of your own (inside `jobhost api`, "
            "`worker`, `run` and plugin commands the host is already started)"
        )


class TaskDefinitionError(TypeError):
    """A function cannot be a task (its annotations do not resolve, or it has no queue)."""


def _json_label(value: Any) -> Any:
    # taskiq sends labels as strings with a type tag; lists and dicts (e.g. `depends_on`) would
    # arrive as Python reprs, so they travel as JSON and the broker decodes them.
    return json.dumps(value) if isinstance(value, list | tuple | dict) else value


class JobhostKicker(AsyncKicker[P, R]):
    """A kicker with labels of its own (taskiq's shared kicker shares the task's dict, so one
    `.with_labels(...)` would change the task for good) and job ids that name the queue."""

    def __init__(self, task: AsyncTaskiqDecoratedTask[P, R]) -> None:
        # Without a started host, kicking fails (below) but scheduling into a given source works.
        broker = getattr(async_shared_broker, "_default_broker", None) or async_shared_broker
        super().__init__(task.task_name, broker, dict(task.labels), task.return_type)

    def with_labels(self, **labels: Any) -> JobhostKicker[P, R]:
        self.labels.update({name: _json_label(value) for name, value in labels.items()})
        return self

    def with_task_id(self, task_id: str | None) -> JobhostKicker[P, R]:
        super().with_task_id(task_id)
        return self

    async def kiq(self, *args: Any, **kwargs: Any) -> Any:
        """Send the job; a refusal raises its reason (JobInputError naming the task and field, or
        the Redis error) rather than taskiq's bare "Cannot send task to the queue"."""
        if self.broker is async_shared_broker:
            raise NoHostRunning()
        try:
            kicked = await super().kiq(*args, **kwargs)
        except SendTaskError as exc:
            if exc.__cause__ is None:
                raise
            raise exc.__cause__ from None
        answered = getattr(self.broker, "answered", {})
        kicked.task_id = answered.pop(kicked.task_id, kicked.task_id)
        return kicked

    def _prepare_message(self, *args: Any, **kwargs: Any) -> TaskiqMessage:
        if self.custom_task_id is None:
            self.custom_task_id = new_job_id(str(self.labels.get("queue", "")))
        return super()._prepare_message(*args, **kwargs)


class JobhostTask(SharedDecoratedTask[P, R]):
    """A task as `jobhost.task` makes it: a taskiq shared task with jobhost's kicker."""

    def __init__(self, task_name: str, original_func: Callable[P, R], labels: dict[str, Any]) -> None:
        # Not super().__init__: taskiq renames the function and plants it in its module for process
        # pools, which jobhost never uses; a plugin's function keeps its name.
        self.broker = async_shared_broker
        self.task_name = task_name
        self.original_func = original_func
        self.labels = labels
        self.return_type = None

    def kicker(self) -> JobhostKicker[P, R]:
        return JobhostKicker(self)

    def __repr__(self) -> str:
        return f"<jobhost task {self.task_name!r} on queue {self.labels.get('queue')!r}>"


def task(name: str, *, queue: str, **labels: Any) -> Callable[[Callable[P, R]], JobhostTask[P, R]]:
    """Make a function (sync or async) a taskiq task named `name` that runs on `queue`.

    Register it with `register_tasks(register)`; kick it with `await fn.kiq(...)`. Extra labels are
    defaults for every kick (e.g. `priority=5`), overridable with `.kicker().with_labels(...)`.
    """

    def decorate(fn: Callable[P, R]) -> JobhostTask[P, R]:
        return JobhostTask(name, fn, {"queue": queue, **labels})

    return decorate


def adopt(obj: Any, *, name: str | None, queue: str | None) -> JobhostTask[Any, Any]:
    """The task a `register(...)` call means: a jobhost task, taskiq's own shared task (given
    jobhost's kicker), or a plain function (wrapped). Raises TaskDefinitionError saying why not."""
    if isinstance(obj, AsyncTaskiqDecoratedTask):
        if not isinstance(obj, SharedDecoratedTask):
            raise TaskDefinitionError(
                f"task {obj.task_name!r} belongs to its own taskiq broker ({type(obj.broker).__name__}); "
                "declare it with @jobhost.task(...) or taskiq's @async_shared_broker.task(...) so that "
                "its jobs go to jobhost"
            )
        if type(obj) is SharedDecoratedTask:
            obj.__class__ = JobhostTask  # same attributes; our kicker, ids and label copies
        if queue is not None:
            obj.labels = {**obj.labels, "queue": queue}
        if name is not None and name != obj.task_name:
            raise TaskDefinitionError(
                f"task {obj.task_name!r}: a taskiq task keeps the name it was declared with, "
                f"got name={name!r}"
            )
    elif callable(obj):
        if queue is None:
            raise TaskDefinitionError(f"function {obj!r}: give its queue, register(fn, queue='...')")
        obj = JobhostTask(name or obj.__name__, obj, {"queue": queue})
    else:
        raise TaskDefinitionError(f"a task must be a jobhost/taskiq task or a function, got {obj!r}")
    if not obj.labels.get("queue"):
        raise TaskDefinitionError(
            f"task {obj.task_name!r} has no queue: declare it with queue='...' "
            "(@jobhost.task(name, queue=...) or async_shared_broker.task(task_name=..., queue=...))"
        )
    return obj  # type: ignore[no-any-return]


def caller_signature(fn: Callable[..., Any]) -> tuple[inspect.Signature, bool, bool]:
    """The parameters a job's kwargs fill (without injected dependencies and `ctx`), whether the
    task takes a `ctx` JobContext by name, and whether it has injected dependencies. Raises
    TaskDefinitionError when taskiq could not resolve its annotations or dependencies at run time."""
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
        DependencyGraph(fn)
    except Exception as exc:
        raise TaskDefinitionError(f"{fn.__qualname__}: {type(exc).__name__}: {exc}") from None

    def injected(param: inspect.Parameter) -> bool:
        # `x: T = TaskiqDepends(...)` or `x: Annotated[T, TaskiqDepends(...)]`
        metadata = getattr(hints.get(param.name), "__metadata__", ())
        return isinstance(param.default, Dependency) or any(isinstance(m, Dependency) for m in metadata)

    sig = inspect.signature(fn)
    wants_ctx = CTX in sig.parameters and not injected(sig.parameters[CTX])
    supplied = [p for p in sig.parameters.values() if p.name != CTX and not injected(p)]
    injects = any(injected(p) for p in sig.parameters.values())
    return sig.replace(parameters=supplied), wants_ctx, injects
