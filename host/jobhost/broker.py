"""taskiq's face on the engine: a broker that kicks through the enqueue script, and a result backend
that reads the job record.

The engine keeps every guarantee (leases, backoff, dead set, put-back); taskiq contributes its task
objects, its kicker, middlewares, dependency injection and `wait_result()`. `listen()` is not how
jobhost workers take jobs (the engine's claim script is), so it refuses.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
from taskiq import AsyncBroker, AsyncResultBackend, ScheduledTask, TaskiqResult
from taskiq.abc.formatter import TaskiqFormatter
from taskiq.depends.progress_tracker import TaskProgress
from taskiq.labels import parse_label
from taskiq.message import BrokerMessage, TaskiqMessage

from jobhost.errors import JobFailed
from jobhost.plugins import TaskDef
from jobhost.queue.context import JobContext
from jobhost.queue.engine import Engine
from jobhost.queue.errors import JobInputError, JobNotFound, JobStateError
from jobhost.queue.job import TERMINAL
from jobhost.queue.tasks import check_kwargs
from jobhost.settings import parse_bool


def _run_at(value: Any) -> datetime:
    moment = datetime.fromtimestamp(value, UTC) if isinstance(value, int | float) else None
    moment = moment or datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError("must be a timezone-aware ISO time or epoch seconds")
    return moment


# Labels that are options of the enqueue itself, with their parsers; every other label travels
# with the job to the worker (middlewares read them there, e.g. a trace context).
def _ids(value: Any) -> list[str]:
    # `.with_labels(depends_on=[...])` travels as JSON (see jobhost.task); a lone id is one too.
    ids = json.loads(value) if isinstance(value, str) and value.startswith("[") else value
    ids = [ids] if isinstance(ids, str) else ids
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ValueError("must be a job id or a list of job ids")
    return ids


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return parse_bool(str(value))


OPTIONS: dict[str, Callable[[Any], Any]] = {
    "delay": float,
    "run_at": _run_at,
    "owner": str,
    "priority": int,
    "unique_key": str,
    "unique_ttl": float,
    "debounce": _flag,
    "depends_on": _ids,
    "on_dependency_failure": str,
}


class _Carried(BrokerMessage):
    """A kicked message that carries its TaskiqMessage to `kick` in the same process, so nothing is
    serialised twice: the engine stores the kwargs as JSON itself."""

    taskiq_message: TaskiqMessage


class _CarryFormatter(TaskiqFormatter):
    def dumps(self, message: TaskiqMessage) -> BrokerMessage:
        return _Carried(
            task_id=message.task_id,
            task_name=message.task_name,
            message=b"",
            labels=message.labels,
            taskiq_message=message,
        )

    def loads(self, message: bytes) -> TaskiqMessage:
        return TaskiqMessage.model_validate_json(message)


class JobhostResultBackend(AsyncResultBackend[Any]):
    """Results and progress are the job record's: ready only once the job is final (completed,
    dead or cancelled), never after a failed try that will be retried."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Jobs running in this process, so taskiq's progress API writes through their JobContext.
        self.running: dict[str, JobContext] = {}

    async def set_result(self, task_id: str, result: TaskiqResult[Any]) -> None:
        """Nothing to do: the worker records outcomes through the engine's scripts."""

    async def is_result_ready(self, task_id: str) -> bool:
        return await self.engine.job_state(task_id) in TERMINAL

    async def get_result(self, task_id: str, with_logs: bool = False) -> TaskiqResult[Any]:
        job = await self.engine.job(task_id)
        if job is None:
            raise JobNotFound(f"no job {task_id!r} (never existed, removed or trimmed)")
        took = 0.0
        if job.started_at and job.finished_at:
            took = round((job.finished_at - job.started_at).total_seconds(), 3)
        error = None
        if job.state != "completed":
            last = job.errors[-1].error if job.errors else "no error recorded"
            error = JobFailed(f"job {task_id} is {job.state}: {last}")
        return TaskiqResult(
            is_err=error is not None,
            return_value=job.result,
            execution_time=took,
            labels=job.labels,
            error=error,
            log="\n".join(job.logs) if with_logs else None,
        )

    async def set_progress(self, task_id: str, progress: TaskProgress[Any]) -> None:
        ctx = self.running.get(task_id)
        if ctx is None:
            raise JobStateError(f"job {task_id} does not run in this process; only its task sets progress")
        ctx.set_taskiq_progress(str(progress.state), progress.meta)

    async def get_progress(self, task_id: str) -> TaskProgress[Any] | None:
        job = await self.engine.job(task_id)
        if job is None or job.progress is None:
            return None
        return TaskProgress(state=job.progress.get("state") or job.progress["message"], meta=job.progress)


class JobhostBroker(AsyncBroker):
    """Kicks a task's job into the engine under the id taskiq's kicker made for it."""

    def __init__(self, engine: Engine, tasks: Mapping[str, TaskDef]) -> None:
        super().__init__()
        self.engine = engine
        self.tasks = tasks
        self.formatter = _CarryFormatter()
        self.result_backend: JobhostResultBackend = JobhostResultBackend(engine)
        # Kicked id → the existing job's id, for kicks a `unique_key` folded into another job.
        self.answered: dict[str, str] = {}

    def get_all_tasks(self) -> dict[str, Any]:
        # The host's registry, not taskiq's process-wide one: only loaded plugins' tasks run here.
        return {name: task.task for name, task in self.tasks.items()}

    def find_task(self, task_name: str) -> Any:
        task = self.tasks.get(task_name)
        return task.task if task else None

    async def kick(self, message: BrokerMessage) -> None:
        if isinstance(message, _Carried):
            await self.enqueue(message.taskiq_message)
        else:
            await self.enqueue(self.formatter.loads(message.message))

    async def enqueue(self, sent: TaskiqMessage) -> None:
        """Store the kicked message as a job: options from its labels, positional args by name."""
        job = self._job(sent.task_name, sent.args, sent.kwargs, sent.labels, sent.labels_types or {})
        stored = await self.engine.enqueue(
            job.task.name, job.kwargs, job_id=sent.task_id, labels=job.labels, **job.options
        )
        if stored.id != sent.task_id:  # deduplicated: the kicker hands back the job that exists
            self.answered[sent.task_id] = stored.id

    async def enqueue_once(self, key: str, ttl: int, sent: ScheduledTask) -> bool:
        """Enqueue a schedule's fire unless a scheduler already did under `key` (see Engine.enqueue_once)."""
        job = self._job(sent.task_name, sent.args, sent.kwargs, sent.labels, {})
        owner = job.options.get("owner")  # delay and run_at do not apply: a fire runs when it fires
        done = await self.engine.enqueue_once(
            key, ttl, job.task.name, job.kwargs, owner=owner, labels=job.labels
        )
        return done is not None

    def check(self, task_name: str, args: list[Any], kwargs: dict[str, Any]) -> None:
        """Raise JobInputError unless `task_name` is registered and takes these arguments."""
        job = self._job(task_name, args, kwargs, {}, {})
        check_kwargs(job.task, job.kwargs)

    def _job(
        self,
        task_name: str,
        args: list[Any],
        kwargs: dict[str, Any],
        labels: dict[str, Any],
        types: dict[str, int],
    ) -> _Job:
        if task_name not in self.tasks:
            self.engine.task(task_name)  # raises JobInputError naming the registered tasks
        task = self.tasks[task_name]
        parsed = {name: parse_label(value, types.get(name)) for name, value in labels.items()}
        queue = parsed.pop("queue", task.queue)
        if queue != task.queue:
            raise JobInputError(f"task {task.name!r} runs on queue {task.queue!r}, not {queue!r}")
        options = {}
        for name, parse in OPTIONS.items():
            if name in parsed:
                try:
                    options[name] = parse(parsed.pop(name))
                except (TypeError, ValueError) as exc:
                    raise JobInputError(f"task {task.name!r}: label {name!r}: {exc}") from None
        # Labels the task was declared with reach the worker from the registry, not from each job.
        extra = {k: v for k, v in parsed.items() if task.task.labels.get(k, object()) != v}
        return _Job(task, _by_name(task, args, kwargs), options, extra)

    async def listen(self) -> AsyncGenerator[bytes, None]:
        raise RuntimeError("jobhost workers take jobs through the engine: run `jobhost worker`")
        yield b""  # pragma: no cover (makes this an async generator)


@attrs.define
class _Job:
    """A kick as the engine takes it: the task, kwargs by name, enqueue options, labels to keep."""

    task: TaskDef
    kwargs: dict[str, Any]
    options: dict[str, Any]
    labels: dict[str, Any]


def _by_name(task: TaskDef, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Jobs store keyword arguments: positional ones are named after the task's parameters."""
    if not args:
        return kwargs
    try:
        return dict(task.signature.bind(*args, **kwargs).arguments)
    except TypeError as exc:
        raise JobInputError(f"task {task.name!r} (plugin {task.plugin!r}): {exc}") from None
