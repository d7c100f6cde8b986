"""Many callers' small writes as one call: what arrives while a call is in flight goes in the next.

Under load the batch grows to what arrives during one round trip (up to its cap); alone, a
caller waits for just its own call. Each caller still learns its own answer (or the call's error).
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
    """Sends what callers hand it in batches of up to `max_batch`, with up to `lanes` calls in
    flight at once."""

    def __init__(
        self,
        send: Callable[[Sequence[Item]], Awaitable[Sequence[Answer]]],
        *,
        lanes: int = 1,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._send = send
        self._lanes = lanes
        self._max_batch = max_batch
        self._waiting: list[tuple[Item, asyncio.Future[Answer]]] = []
        self._senders: set[asyncio.Task[None]] = set()

    async def __call__(self, item: Item) -> Answer:
        answer: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, answer))
        if len(self._senders) < self._lanes:
            sender = asyncio.create_task(self._send_all())
            self._senders.add(sender)
            sender.add_done_callback(self._senders.discard)
        return await answer

    async def settled(self, timeout: float) -> None:
        """Wait up to `timeout` s for the calls in flight, if any, to be answered."""
        if self._senders:
            await asyncio.wait(self._senders, timeout=timeout)

    async def _send_all(self) -> None:
        while self._waiting:
            batch = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
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
