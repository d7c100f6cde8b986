"""Many callers' small writes as one call: what arrives while a call is in flight goes in the next.

Under load the batch grows to what finishes during one round trip; alone, a caller waits for
just its own call. Each caller still learns its own answer (or the call's error).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")

# A batch is one script call: keep its arguments to a size Redis handles at once.
MAX_BATCH = 500


class Batcher(Generic[Item, Answer]):
    def __init__(self, send: Callable[[Sequence[Item]], Awaitable[Sequence[Answer]]]) -> None:
        self._send = send
        self._waiting: list[tuple[Item, asyncio.Future[Answer]]] = []
        self._sending: asyncio.Task[None] | None = None

    async def __call__(self, item: Item) -> Answer:
        answer: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, answer))
        if self._sending is None:
            self._sending = asyncio.create_task(self._send_all())
        return await answer

    async def settled(self, timeout: float) -> None:
        """Wait up to `timeout` s for the call in flight, if any, to be answered."""
        if self._sending is not None:
            await asyncio.wait([self._sending], timeout=timeout)

    async def _send_all(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                try:
                    answers = await self._send([item for item, _ in batch])
                except Exception as exc:  # every caller of this batch hears why
                    for _, answer in batch:
                        if not answer.done():
                            answer.set_exception(exc)
                    continue
                for (_, answer), value in zip(batch, answers, strict=True):
                    if not answer.done():
                        answer.set_result(value)
        finally:
            self._sending = None
