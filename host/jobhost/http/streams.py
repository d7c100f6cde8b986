"""Live event streams without a pooled Redis connection each: one reader per API process.

Every open `GET /api/jobs/{id}/events` waits on the hub instead of blocking a connection of the
shared pool in its own XREAD. The hub's reader, on a connection of its own, waits on all the
streams at once in one XREAD and hands each waiter what arrived after the id it has seen. So
a thousand open streams cost one connection, and status, login and upload keep the pool.
Caps per user and per process bound what one client can open (429 beyond them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import attrs
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_429_TOO_MANY_REQUESTS
from redis.exceptions import RedisError

log = logging.getLogger("jobhost.http")

# How long one XREAD of the reader blocks: a stream opened meanwhile joins the next read, so
# this is the longest an event of a just-opened stream waits.
READ_BLOCK_MS = 100
# After a failed read the reader waits this long; its waiters time out and see the outage.
RETRY_SECONDS = 0.5
RETRY_AFTER = "5"


def _id(event_id: str) -> tuple[int, int]:
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


class TooManyStreams(HTTPException):
    status_code = HTTP_429_TOO_MANY_REQUESTS


@attrs.define(eq=False)
class _Waiter:
    after: tuple[int, int]
    found: asyncio.Future[list[tuple[str, dict[str, str]]]]


@attrs.define(eq=False)
class Slot:
    """One open stream counted against its user's and the process's cap; release it once."""

    hub: EventHub
    user: str
    released: bool = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.hub._close(self.user)


class EventHub:
    """Fans stream entries out to every waiting event stream from one XREAD loop."""

    def __init__(self, connect: Callable[[], Any], *, per_user: int, total: int) -> None:
        self._connect = connect  # a client of its own: the reader holds its connection in XREAD
        self.per_user = per_user
        self.total = total
        self._open: defaultdict[str, int] = defaultdict(int)
        self._waiters: defaultdict[str, list[_Waiter]] = defaultdict(list)
        self._wake = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._redis: Any = None

    @property
    def open_streams(self) -> int:
        return sum(self._open.values())

    def open(self, user: str) -> Slot:
        """Count a new stream of `user`, or 429 when they or the process have too many."""
        if self._open[user] >= self.per_user:
            raise TooManyStreams(
                detail=f"at most {self.per_user} event streams per user are open at once "
                "(JOBHOST_SSE_STREAMS_PER_USER); close one first",
                headers={"Retry-After": RETRY_AFTER},
            )
        if self.open_streams >= self.total:
            raise TooManyStreams(
                detail=f"this server has its {self.total} event streams open (JOBHOST_SSE_STREAMS); "
                "retry shortly, or poll GET /api/jobs/{job_id}",
                headers={"Retry-After": RETRY_AFTER},
            )
        self._open[user] += 1
        return Slot(self, user)

    def guard(self, slot: Slot, stream: object) -> None:
        """Release `slot` when `stream` is collected, should it never be iterated to its end."""
        weakref.finalize(stream, slot.release)

    def _close(self, user: str) -> None:
        self._open[user] -= 1
        if not self._open[user]:
            del self._open[user]

    async def xread(
        self, streams: dict[str, str], count: int = 100, block: int | None = None
    ) -> list[list[Any]]:
        """`Redis.xread` for one stream, served by the reader: what `streams`' key holds after
        its id, waiting up to `block` ms; [] when nothing came."""
        ((key, last_id),) = streams.items()
        waiter = _Waiter(_id(last_id), asyncio.get_running_loop().create_future())
        self._waiters[key].append(waiter)
        self._start()
        try:
            async with asyncio.timeout((block or 0) / 1000 or None):
                entries = await waiter.found
        except TimeoutError:
            return []
        finally:
            self._forget(key, waiter)
        return [[key, entries[:count]]]

    def _forget(self, key: str, waiter: _Waiter) -> None:
        waiters = self._waiters.get(key)
        if waiters and waiter in waiters:
            waiters.remove(waiter)
            if not waiters:
                del self._waiters[key]

    def _start(self) -> None:
        self._wake.set()
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read_forever(), name="jobhost-event-hub")

    async def _read_forever(self) -> None:
        self._redis = self._connect()
        while True:
            if not self._waiters:
                self._wake.clear()
                await self._wake.wait()
                continue
            # Each stream from the earliest id any of its waiters has seen.
            cursors = {
                key: "{}-{}".format(*min(w.after for w in waiters)) for key, waiters in self._waiters.items()
            }
            try:
                reply = await self._redis.xread(cursors, count=100, block=READ_BLOCK_MS)
            except (RedisError, OSError) as exc:
                log.warning("event hub: reading %d streams failed: %s", len(cursors), exc)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            for key, entries in reply or ():
                self._hand_out(key, entries)

    def _hand_out(self, key: str, entries: list[tuple[str, dict[str, str]]]) -> None:
        waiting = []
        for waiter in self._waiters.get(key, ()):
            new = [entry for entry in entries if _id(entry[0]) > waiter.after]
            if waiter.found.done():
                continue
            if new:
                waiter.found.set_result(new)
            else:
                waiting.append(waiter)
        # Served waiters leave now, so the next read starts after what they were given.
        if waiting:
            self._waiters[key] = waiting
        else:
            self._waiters.pop(key, None)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
        if self._redis is not None:
            await self._redis.aclose()
