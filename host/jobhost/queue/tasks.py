"""What a task accepts: its parameters (without injected ones), checked before a job is stored."""

from __future__ import annotations

from typing import Any

from jobhost.queue import codec
from jobhost.queue.catalog import TaskSpec
from jobhost.queue.errors import JobInputError


def check_kwargs(task: TaskSpec, kwargs: Any) -> None:
    """Raise JobInputError, naming the task and the field, unless `kwargs` is JSON the task accepts."""
    where = f"task {task.name!r} (plugin {task.plugin!r})"
    if not isinstance(kwargs, dict):
        raise JobInputError(f"{where}: kwargs must be a JSON object, got {type(kwargs).__name__}")
    try:
        codec.check(kwargs, "kwargs")
    except codec.NotJSON as exc:
        raise JobInputError(f"{where}: {exc}") from None
    try:
        task.signature.bind(**kwargs)
    except TypeError as exc:
        raise JobInputError(f"{where}: {exc}") from None
