"""JobContext: what a running task knows about its job, and how it reports back."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jobhost.queue import codec

if TYPE_CHECKING:
    from jobhost.events import Event


class JobContext:
    """What a running task knows about its job: `job: JobContext = TaskiqDepends()` (or a parameter
    named `ctx`) gets it.

    `progress()`, `log()` and `emit()` are plain methods, safe to call from the thread a sync task
    runs in. The worker writes what they record in call order, and all of it before the job's
    outcome; the events `emit()` holds go out only if the try completes.
    `deadline` is the `time.monotonic()` value at which the try times out (None: no timeout).
    """

    def __init__(
        self,
        *,
        job_id: str,
        queue: str,
        task: str,
        attempt: int,
        attempts: int,
        owner: str | None,
        host: Any,
        notify: Callable[[], None],
        # Any, not Event: taskiq resolves these hints at run time, where this layer has no Event.
        emit: Callable[[str, dict[str, Any], str | None], Any],
        deadline: float | None = None,
    ) -> None:
        self.job_id = job_id
        self.queue = queue
        self.task = task
        self.attempt = attempt
        self.attempts = attempts
        self.owner = owner
        self.host = host
        self.deadline = deadline
        self._notify = notify
        self._emit = emit
        self._lock = threading.Lock()
        self._progress: dict[str, Any] | None = None
        self._percent: float = 0
        self._lines: list[str] = []
        self._dirty = False
        self._cancelled = threading.Event()

    @property
    def cancelled(self) -> bool:
        """Whether an operator cancelled the job: a sync task should check it and stop early (an
        async task gets CancelledError instead). Whatever the task returns, the job ends cancelled."""
        return self._cancelled.is_set()

    async def dependency_results(self) -> dict[str, Any]:
        """The results of the jobs this one depends on (`depends_on`), by job id."""
        results: dict[str, Any] = await self.host.engine.dependency_results(self.job_id)
        return results

    def cancel(self) -> None:
        """Called by the worker when the job is cancelled."""
        self._cancelled.set()

    def progress(self, percent: float, message: str = "", **data: Any) -> None:
        """Report how far the job is (0-100), with a short message and any JSON extras."""
        if not isinstance(percent, int | float) or not 0 <= percent <= 100:
            raise ValueError(
                f"job {self.job_id}: progress percent must be a number from 0 to 100, got {percent!r}"
            )
        value = {"percent": percent, "message": str(message), **data}
        codec.check(value, "progress")
        with self._lock:
            self._progress = value
            self._percent = percent
            self._mark()

    def set_taskiq_progress(self, state: str, meta: Any) -> None:
        """Progress set through taskiq's `ProgressTracker`: the same record, `state` as its message."""
        percent = meta.get("percent") if isinstance(meta, dict) else None
        if not isinstance(percent, int | float) or not 0 <= percent <= 100:
            percent = self._percent
        self.progress(percent, state, state=state, meta=meta)

    def log(self, line: str) -> None:
        """Add a line to the job's log (kept with the job, shown in its detail view)."""
        with self._lock:
            self._lines.append(str(line))
            self._mark()

    def emit(self, name: str, data: dict[str, Any], source: str | None = None) -> Event:
        """Announce an event as `await host.emit(...)` does inside a try, without awaiting (a sync
        task can call it): held with this try, it goes out only if the try completes."""
        event: Event = self._emit(name, data, source)
        return event

    def _mark(self) -> None:
        if not self._dirty:
            self._dirty = True
            self._notify()

    def take(self) -> tuple[dict[str, Any] | None, list[str]]:
        """What was recorded since the last call (latest progress, every line), for the worker to write."""
        with self._lock:
            progress, lines = self._progress, self._lines
            self._progress, self._lines, self._dirty = None, [], False
            return progress, lines
