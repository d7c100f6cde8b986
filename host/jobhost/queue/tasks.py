"""What a task accepts: its parameters (without `ctx`), checked before a job is stored."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from jobhost.plugins import TaskDef
from jobhost.queue import codec
from jobhost.queue.errors import JobInputError


@functools.cache
def signature(fn: Callable[..., Any]) -> tuple[inspect.Signature, bool]:
    """The parameters a caller supplies, and whether the task wants a `ctx` (JobContext)."""
    sig = inspect.signature(fn)
    wants_ctx = "ctx" in sig.parameters
    if wants_ctx:
        sig = sig.replace(parameters=[p for p in sig.parameters.values() if p.name != "ctx"])
    return sig, wants_ctx


def check_kwargs(task: TaskDef, kwargs: Any) -> None:
    """Raise JobInputError, naming the task and the field, unless `kwargs` is JSON the task accepts."""
    where = f"task {task.name!r} (plugin {task.plugin!r})"
    if not isinstance(kwargs, dict):
        raise JobInputError(f"{where}: kwargs must be a JSON object, got {type(kwargs).__name__}")
    try:
        codec.check(kwargs, "kwargs")
    except codec.NotJSON as exc:
        raise JobInputError(f"{where}: {exc}") from None
    try:
        signature(task.fn)[0].bind(**kwargs)
    except TypeError as exc:
        raise JobInputError(f"{where}: {exc}") from None
