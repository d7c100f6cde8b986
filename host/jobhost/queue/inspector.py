"""Reading queues and jobs: a job, pages, counts, rates, search, event streams, live workers.

Nothing here writes a job; the dashboard, the API and the CLI read through it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import date, timedelta
from typing import Any, cast

import attrs

from jobhost.queue import codec, search
from jobhost.queue.connection import BLOCK_MS
from jobhost.queue.errors import JobInputError, JobNotFound
from jobhost.queue.history import QueueDay, day_number
from jobhost.queue.job import TERMINAL, Job
from jobhost.queue.keys import DURATION_BUCKETS, STATES, UnknownJobId, queue_of
from jobhost.queue.store import Store

# `Redis.xread`'s shape: ({stream: last_id}, count=, block=) -> [[stream, [(id, fields), ...]]].
XRead = Callable[..., Awaitable[Any]]


def _stream_id(entry_id: str) -> tuple[int, ...]:
    """A stream entry id (`<ms>-<seq>`) as numbers, to compare two ids."""
    return tuple(int(part) for part in entry_id.split("-"))


@attrs.frozen
class JobPage:
    jobs: tuple[Job, ...]
    total: int
    offset: int
    limit: int
    exact: bool = True  # False: a search stopped early, `total` counts only what it looked at

    def as_dict(self) -> dict[str, Any]:
        return {
            "jobs": [j.as_dict() for j in self.jobs],
            "total": self.total,
            "offset": self.offset,
            "limit": self.limit,
        }


def _check_page(offset: int, limit: int) -> None:
    if offset < 0 or not 1 <= limit <= 1000:
        raise JobInputError(f"offset must be >= 0 and limit 1-1000, got offset={offset} limit={limit}")


class Inspector:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.redis = store.redis
        self.keys = store.keys

    async def job(self, job_id: str) -> Job | None:
        """The job with this id, with its log lines; None when there is none."""
        try:
            queue_of(job_id)
        except UnknownJobId:
            return None
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(self.keys.job(job_id))
        pipe.lrange(self.keys.log(job_id), 0, -1)
        data, logs = await pipe.execute()
        return Job.from_hash(data, tuple(logs)) if data else None

    async def _jobs(self, ids: Sequence[str]) -> tuple[Job, ...]:
        """These jobs' records in one round trip (logs left out), skipping any gone meanwhile."""
        if not ids:
            return ()
        pipe = self.redis.pipeline(transaction=False)
        for job_id in ids:
            pipe.hgetall(self.keys.job(job_id))
        return tuple(Job.from_hash(r) for r in await pipe.execute() if r)

    async def job_state(self, job_id: str) -> str | None:
        try:
            return cast(str | None, await self.redis.hget(self.keys.job(job_id), "state"))
        except UnknownJobId:
            return None

    async def dependency_results(self, job_id: str) -> dict[str, Any]:
        """The results of the job's completed dependencies, by job id (kept with the job, so
        retention of the dependencies loses none)."""
        record = cast(dict[str, str], await self.redis.hgetall(self.keys.job(job_id)))  # decoded replies
        return {key[4:]: codec.loads(value) for key, value in record.items() if key.startswith("dep:")}

    async def list_jobs(
        self, queue: str, state: str, *, offset: int = 0, limit: int = 50, newest_first: bool = True
    ) -> JobPage:
        """One page of a queue's jobs in one state, by the time they entered it (logs left out)."""
        self.store.policy(queue)
        if state not in STATES:
            raise JobInputError(f"state must be one of {', '.join(STATES)}, got {state!r}")
        _check_page(offset, limit)
        key = self.keys.state(queue, state)
        pipe = self.redis.pipeline(transaction=False)
        pipe.zcard(key)
        if newest_first:
            pipe.zrevrange(key, offset, offset + limit - 1)
        else:
            pipe.zrange(key, offset, offset + limit - 1)
        total, ids = await pipe.execute()
        return JobPage(await self._jobs(ids), total, offset, limit)

    async def counts(self, queue: str) -> dict[str, int]:
        """How many jobs of the queue are in each state."""
        self.store.policy(queue)
        pipe = self.redis.pipeline(transaction=False)
        for state in STATES:
            pipe.zcard(self.keys.state(queue, state))
        return dict(zip(STATES, await pipe.execute(), strict=True))

    async def is_paused(self, queue: str) -> bool:
        return bool(await self.redis.exists(self.keys.paused(queue)))

    async def overview(self) -> list[dict[str, Any]]:
        """Every registered queue: plugin, paused flag, counts by state, policy."""
        rows = []
        for name, policy in sorted(self.store.registry.queues.items()):
            rows.append(
                {
                    "name": name,
                    "plugin": self.store.registry.owners.get(("queue", name)),
                    "paused": await self.is_paused(name),
                    "counts": await self.counts(name),
                    "concurrency": self.store.settings.concurrency(policy),
                    "policy": policy.as_dict(),
                }
            )
        return rows

    async def _minutes(self, queue: str, minutes: int) -> list[dict[str, str]]:
        """The queue's per-minute counters of the last `minutes` minutes, oldest first."""
        self.store.policy(queue)
        now_minute = int(time.time() // 60)
        pipe = self.redis.pipeline(transaction=False)
        for minute in range(now_minute - minutes + 1, now_minute + 1):
            pipe.hgetall(self.keys.minute(queue, minute))
        return cast(list[dict[str, str]], await pipe.execute())

    async def rates(self, queue: str, minutes: int = 5) -> dict[str, float]:
        """Completed and failed tries per minute, averaged over the last `minutes` minutes."""
        buckets = await self._minutes(queue, minutes)
        kinds = ("completed", "failed", "dead")
        return {kind: sum(int(b.get(kind, 0)) for b in buckets) / minutes for kind in kinds}

    async def throughput(self, queue: str, minutes: int = 60) -> list[dict[str, int]]:
        """Completed, failed and dead counts of each of the last `minutes` minutes, oldest first."""
        return [
            {kind: int(b.get(kind, 0)) for kind in ("completed", "failed", "dead")}
            for b in await self._minutes(queue, minutes)
        ]

    async def totals(self, queue: str) -> dict[str, int]:
        """Completed jobs, failed tries and dead jobs since the queue was first used."""
        self.store.policy(queue)
        raw = await self.redis.hgetall(self.keys.totals(queue))
        return {kind: int(raw.get(kind, 0)) for kind in ("completed", "failed", "dead")}

    async def durations(self, queue: str) -> tuple[list[tuple[float, int]], float]:
        """How long tries ran: cumulative `(upper bound in s, tries)` pairs ending with +inf, and
        the sum of all durations in seconds."""
        self.store.policy(queue)
        raw = await self.redis.hgetall(self.keys.durations(queue))
        buckets, seen = [], 0
        for bound in (*DURATION_BUCKETS, "inf"):
            seen += int(raw.get(str(bound), 0))
            buckets.append((float(bound) / 1000 if bound != "inf" else float("inf"), seen))
        return buckets, int(raw.get("sum_ms", 0)) / 1000

    async def days(self, queue: str, first: date, days: int) -> list[QueueDay]:
        """The queue's figures of each UTC day from `first`, `days` of them (zeros for a day
        before its history, which is kept `DAY_TTL`)."""
        self.store.policy(queue)
        dates = [first + timedelta(days=n) for n in range(days)]
        pipe = self.redis.pipeline(transaction=False)
        for day in dates:
            pipe.hgetall(self.keys.day(queue, day_number(day)))
        found = await pipe.execute()
        return [QueueDay.from_hash(queue, day, raw) for day, raw in zip(dates, found, strict=True)]

    async def workers(self) -> list[dict[str, Any]]:
        """Live workers' heartbeats; the ids of workers whose heartbeat expired are dropped."""
        ids = cast(list[str], await self.redis.zrange(self.keys.workers, 0, -1))
        if not ids:
            return []
        found = await self.redis.mget([self.keys.worker(w) for w in ids])
        gone = [w for w, info in zip(ids, found, strict=True) if info is None]
        if gone:
            await self.redis.zrem(self.keys.workers, *gone)
        return [codec.loads(info) for info in found if info is not None]

    async def last_fires(self) -> dict[str, float]:
        """Schedule name → when any scheduler last fired it (epoch seconds)."""
        raw = cast(dict[str, str], await self.redis.hgetall(self.keys.schedule_last()))
        return {name: float(at) for name, at in raw.items()}

    # -- search ----------------------------------------------------------------------------------

    async def search(self, queue: str, text: str, *, offset: int = 0, limit: int = 50) -> JobPage:
        """A queue's jobs matching a search (queue/search.py), in any state, newest first.

        One term pages straight off the index. With several, the narrowest term's matches are
        checked against the rest, newest first, a CHUNK at a time, until the page is full (and one
        more, to know there is a next page) or MAX_CANDIDATES were checked; the page's total is
        then only what was found so far (`exact` False)."""
        policy = self.store.policy(queue)
        _check_page(offset, limit)
        query = search.parse(queue, policy, text)
        if query.job_id is not None:
            job = await self.job(query.job_id)
            found = (job,) if job is not None and offset == 0 else ()
            return JobPage(found, int(job is not None), offset, limit)
        key = self.keys.search(queue)
        pipe = self.redis.pipeline(transaction=False)
        for term in query.terms:
            pipe.zlexcount(key, *term.lex_range)
        term, total = search.narrowest(query.terms, await pipe.execute())
        low, high = term.lex_range
        if len(query.terms) == 1:
            shown = await self.redis.zrevrangebylex(key, high, low, start=offset, num=limit)
            ids = [search.job_id_of(m) for m in cast(list[str], shown)]
            exact = True
        else:
            rest = [t for t in query.terms if t is not term]
            matching: list[str] = []
            scanned, candidates = 0, min(total, search.MAX_CANDIDATES)
            while scanned < candidates and len(matching) <= offset + limit:
                num = min(search.CHUNK, candidates - scanned)
                chunk = await self.redis.zrevrangebylex(key, high, low, start=scanned, num=num)
                members = cast(list[str], chunk)
                if not members:
                    break
                scanned += len(members)
                pipe = self.redis.pipeline(transaction=False)
                for member in members:
                    pipe.hget(self.keys.job(search.job_id_of(member)), "ix")
                matching += [
                    search.job_id_of(member)
                    for member, ix in zip(members, await pipe.execute(), strict=True)
                    if ix and all(any(t.matches(m) for m in ix.split("\n")) for t in rest)
                ]
            exact = scanned >= total
            total, ids = len(matching), matching[offset : offset + limit]
        return JobPage(await self._jobs(ids), total, offset, limit, exact)

    # -- events ----------------------------------------------------------------------------------

    async def follow(
        self, queues: Sequence[str], last_ids: dict[str, str], block_ms: int = BLOCK_MS
    ) -> list[tuple[str, str, str, dict[str, Any]]]:
        """The next events of these queues' jobs after `last_ids` (queue → feed id; `$` for only
        new ones), blocking up to `block_ms`: `(queue, feed id, job id, event)` in order."""
        streams: dict[Any, Any] = {self.keys.feed(q): last_ids.get(q, "$") for q in queues}
        reply = cast(list[Any], await self.redis.xread(streams, count=500, block=block_ms))
        queue_of_key = {self.keys.feed(q): q for q in queues}
        return [
            (queue_of_key[key], entry_id, fields["id"], codec.loads(fields["e"]))
            for key, entries in reply or []
            for entry_id, fields in entries
        ]

    async def feed_head(self, queue: str) -> str:
        """The id of the queue's newest feed entry ("0-0" when none), to follow from."""
        last = cast(list[tuple[str, Any]], await self.redis.xrevrange(self.keys.feed(queue), count=1))
        return last[0][0] if last else "0-0"

    async def history(self, job_id: str) -> list[dict[str, Any]]:
        """The job's recorded events (state changes, progress, log lines; the last 200), oldest
        first, without waiting for more."""
        try:
            entries = cast(
                list[tuple[str, dict[str, str]]], await self.redis.xrange(self.keys.events(job_id))
            )
        except UnknownJobId:
            return []
        return [codec.loads(fields["e"]) for _, fields in entries]

    async def events(
        self, job_id: str, last_id: str = "0-0", *, xread: XRead | None = None
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """The job's events after `last_id` (state, progress, log), until its current run ends or
        it disappears.

        A retried or replayed job starts a new run: its earlier runs' events are skipped, and
        their terminal events end nothing. Yields `(event_id, event)`; a reader that reconnects
        passes the last id it saw. `xread` replaces the client's XREAD for the blocking reads (the
        API's one-reader event hub).
        """
        read = xread or self.redis.xread
        try:
            record, key = self.keys.job(job_id), self.keys.events(job_id)
        except UnknownJobId:
            return
        state, after = cast(list[str | None], await self.redis.hmget(record, ["state", "events_after"]))
        if state is None:
            return
        if after and _stream_id(after) > _stream_id(last_id):
            last_id = after
        block: int | None = None  # the first read only catches up
        while True:
            raw = await (read if block else self.redis.xread)({key: last_id}, count=100, block=block)
            reply = cast(list[tuple[str, list[tuple[str, dict[str, str]]]]], raw)  # decoded replies
            block = BLOCK_MS
            if not reply:
                state = await self.job_state(job_id)
                if state is None or state in TERMINAL:
                    return
                continue
            for event_id, fields in reply[0][1]:
                last_id = event_id
                event = codec.loads(fields["e"])
                yield event_id, event
                ends = event["type"] == "state" and event["state"] in TERMINAL
                if ends and await self._ended(record, event):
                    return

    async def _ended(self, record: str, event: dict[str, Any]) -> bool:
        """Whether a terminal state event is the job's current end (not an earlier run's)."""
        state, finished = await self.redis.hmget(record, ["state", "finished"])
        return state is None or (state == event["state"] and finished == str(event["at"]))

    async def wait(self, job_id: str, timeout: float = 30.0) -> Job:
        """Wait until the job ends (completed, dead or cancelled) and return it."""
        async with asyncio.timeout(timeout):
            async for _ in self.events(job_id):
                pass
        job = await self.job(job_id)
        if job is None:
            raise JobNotFound(f"job {job_id!r} does not exist (removed or trimmed)")
        return job
