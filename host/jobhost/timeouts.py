"""`asyncio.timeout` for the tries of a worker, at a fraction of its cost.

Each `asyncio.timeout` books a timer in the event loop's heap and cancels it on exit: it adds
3.5-4 µs to a try on CPython 3.11's loop, 50 tries at a time, against 1-1.2 µs for this
(bench/timeouts.py), out of the 47-54 µs the engine spends on a job. A worker's tries have few
timeout lengths (one per queue), and tries of one length end in the order they started: so they
wait in one ordered line per length, and one timer, set for the head of the line, serves all.

`Timeouts.after(seconds)` behaves as `asyncio.timeout(seconds)`: past the deadline it cancels the
task, and the block raises TimeoutError (`expired()` tells, for code that catches it inside);
`after(None)` never expires.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from types import TracebackType


class Timeouts:
    """The timeout lines of one event loop's tries."""

    def __init__(self) -> None:
        self._lines: dict[float, _Line] = {}

    def after(self, seconds: float | None) -> Timeout:
        if seconds is None:
            return _NEVER
        line = self._lines.get(seconds)
        if line is None:
            line = self._lines[seconds] = _Line(seconds)
        return Timeout(line)


class _Line:
    """Tries of one timeout length, in the order they started (so of their deadlines)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.waiting: OrderedDict[Timeout, float] = OrderedDict()
        self._timer: asyncio.TimerHandle | None = None

    def add(self, timeout: Timeout, loop: asyncio.AbstractEventLoop) -> None:
        deadline = self.waiting[timeout] = loop.time() + self.seconds
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._due, loop)

    def _due(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        now = loop.time()
        while self.waiting:
            timeout, deadline = next(iter(self.waiting.items()))
            if deadline > now:
                # A try that ended early left the line: the timer moves to the one now first.
                self._timer = loop.call_at(deadline, self._due, loop)
                return
            del self.waiting[timeout]
            timeout.expire()


class Timeout:
    """One try's deadline (see `Timeouts.after`); without a line, none (shared by every try
    without a timeout: it keeps no state)."""

    __slots__ = ("_cancelling", "_expired", "_expiring", "_line", "_task")

    def __init__(self, line: _Line | None) -> None:
        self._line = line
        self._task: asyncio.Task[object] | None = None
        self._cancelling = 0
        self._expiring = False
        self._expired = False

    def expired(self) -> bool:
        """Whether the deadline passed and the block was cancelled for it."""
        return self._expired

    def expire(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._expiring = True

    async def __aenter__(self) -> Timeout:
        if self._line is None:
            return self
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("Timeout should be used inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        self._line.add(self, task.get_loop())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        if self._line is None:
            return
        self._line.waiting.pop(self, None)
        if not self._expiring:
            return
        self._expired = True
        assert self._task is not None
        # As asyncio.timeout: a cancellation of ours becomes TimeoutError; another one, asked for
        # since the block began (a shutdown, an operator's cancel), goes on as a cancellation.
        if self._task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
            raise TimeoutError from exc_val


_NEVER = Timeout(None)
