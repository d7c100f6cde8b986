"""The threads sync tasks run in: daemon threads, so a stuck task never keeps the process from
exiting, and never more of them than the worker's concurrency."""

from __future__ import annotations

import concurrent.futures
import queue as stdqueue
import threading
from collections.abc import Callable
from typing import Any

from jobhost.receiver import SUBMITTED


class Threads(concurrent.futures.Executor):
    """Daemon threads for sync tasks (a stuck task must not keep the process from exiting)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._started = 0
        self._work: stdqueue.SimpleQueue[Any] = stdqueue.SimpleQueue()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._work.put((future, fn, args, kwargs))
        if (submitted := SUBMITTED.get(None)) is not None:
            submitted.append(future)
        # Busy slots never exceed the concurrency (a stuck thread keeps its slot), so `size`
        # threads always suffice.
        if self._started < self._size:
            self._started += 1
            threading.Thread(target=self._serve, name=f"jobhost-task-{self._started}", daemon=True).start()
        return future

    def _serve(self) -> None:
        while True:
            future, fn, args, kwargs = self._work.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:
                future.set_exception(exc)
