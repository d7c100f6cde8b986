"""The worker's side of the engine: claim jobs, report how their tries ended, keep leases, tick.

Every report carries the try's `sid` (its fencing token): a worker whose lease was reaped and
whose job went to another worker learns it (False) and changes nothing.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Literal, TypeVar

import attrs
from redis.exceptions import ResponseError

from jobhost.policy import RateLimit
from jobhost.queue import codec
from jobhost.queue.batch import Batcher
from jobhost.queue.connection import BLOCK_MS
from jobhost.queue.options import ms
from jobhost.queue.store import TICK_BATCH, Store

# The reaper part of a tick runs at most once per this many ms per queue, across all processes.
REAP_EVERY_MS = 1000
# A consumer of a queue's group idle this long with nothing pending belongs to a gone worker (a
# live one reads every few seconds while idle, connection.py BLOCK_MS; one it drops while busy
# is added back by its next read).
DEAD_CONSUMER_MS = 60_000

Answer = TypeVar("Answer")


@attrs.frozen
class Claimed:
    """A job a worker took: what it needs to run it and to report back (`sid` fences stale reports)."""

    id: str
    sid: str
    queue: str
    task: str
    kwargs: str
    attempt: int
    attempts: int
    owner: str | None
    labels: str = ""  # JSON object of the taskiq labels the job was kicked with, or ""
    suspect: bool = False  # back from a dead worker: its worker runs it alone (claim.lua)
    # Seconds until its start: a rate-limited job is booked a little ahead of its place (claim.lua).
    start_in: float = 0.0


# What else runs in a claiming worker's process (claim.lua): other jobs, nothing, or it runs one
# job at a time. Only an idle or solo worker is handed a suspect.
ClaimMode = Literal["busy", "idle", "solo"]


@attrs.frozen
class Claim:
    """What a claim found: jobs, nothing (`last_id` to block on), suspects waiting for a worker
    with nothing else running (`drain`), a paused queue or a rate limit."""

    kind: Literal["jobs", "idle", "drain", "paused", "limited"]
    jobs: tuple[Claimed, ...] = ()
    last_id: str = "0-0"
    wait: float = 0.0


def events_json(events: Sequence[dict[str, Any]]) -> str:
    """The events a try emitted, as the complete script takes them (a JSON list, or "" for none)."""
    return codec.dumps(list(events)) if events else ""


@attrs.frozen
class Asking:
    """What a claim asks for: up to `count` jobs for `consumer`, leased `lease` s, within the
    queue's `rate` limit; `mode` says what else runs in the consumer's process."""

    consumer: str
    count: int
    lease: float
    rate: RateLimit | None
    mode: ClaimMode


def _claimed(queue: str, reply: list[Any]) -> Claim:
    """claim.lua's answer as a Claim."""
    kind = reply[0]
    if kind in ("jobs", "suspect"):
        fields = [reply[i : i + 9] for i in range(1, len(reply), 9)]
        suspect = kind == "suspect"
        jobs = tuple(
            Claimed(
                job_id,
                sid,
                queue,
                task,
                kwargs,
                int(attempt),
                int(attempts),
                owner or None,
                labels,
                suspect,
                int(start_in) / 1000,
            )
            for job_id, sid, task, kwargs, attempt, attempts, owner, labels, start_in in fields
        )
        return Claim("jobs", jobs)
    if kind == "drain":
        return Claim("drain")
    if kind == "idle":
        return Claim("idle", last_id=reply[1])
    if kind == "limited":
        return Claim("limited", wait=max(int(reply[1]), 1) / 1000)
    return Claim("paused")


class Consumer:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._completers: dict[str, Batcher[tuple[Claimed, Any, str], bool]] = {}

    async def claim(
        self,
        queue: str,
        consumer: str,
        count: int,
        lease: float,
        rate: RateLimit | None,
        mode: ClaimMode = "idle",
    ) -> Claim:
        """Take up to `count` jobs and lease them to `consumer` (one round trip); `mode` says what
        else runs beside them. An idle consumer may be handed one suspect instead, to run alone."""
        asking = Asking(consumer, count, lease, rate, mode)
        return await self._regrouped(queue, lambda: self._claim(queue, asking))

    async def _claim(self, queue: str, asking: Asking) -> Claim:
        args = self._claim_args(queue, asking)
        return _claimed(queue, await self.store.scripts.claim(keys=self.store.base(queue), args=args))

    async def complete_and_claim(
        self, queue: str, done: Sequence[tuple[Claimed, Any, str]], asking: Asking
    ) -> tuple[list[bool], Claim]:
        """Record these successes (job, JSON-checked result, events JSON or "") and take the next
        jobs, in one round trip: a worker refills the slots its finished jobs free as it reports
        them. The claim runs first, so a claim that fails (NOGROUP) has recorded nothing yet."""

        async def call() -> tuple[list[bool], Claim]:
            claim_args = self._claim_args(queue, asking)
            args = [len(claim_args), *claim_args, *self._complete_args(queue, done)]
            keys = self.store.base(queue)
            claimed, completed = await self.store.scripts.claim_complete(keys=keys, args=args)
            return [bool(ok) for ok in completed], _claimed(queue, claimed)

        return await self._regrouped(queue, call)

    async def _regrouped(self, queue: str, call: Callable[[], Awaitable[Answer]]) -> Answer:
        """`call()`, again once the queue's consumer group is made anew if Redis had lost it (a
        restart without persistence, a stream deleted by hand)."""
        try:
            return await call()
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
        await self.store.regroup(queue)
        return await call()

    def _claim_args(self, queue: str, asking: Asking) -> list[str | int]:
        rate = asking.rate
        args: list[str | int] = [asking.consumer, asking.count, ms(asking.lease)]
        args += [rate.count, ms(rate.per)] if rate else ["", ""]
        return [*args, "1" if self.store.policy(queue).priority_aging else "", asking.mode]

    async def wait_for_jobs(self, queue: str, last_id: str, block_ms: int = BLOCK_MS) -> None:
        """Block until the queue's stream has an entry after `last_id`, or `block_ms` passed."""
        await self.store.redis.xread({self.store.keys.stream(queue): last_id}, count=1, block=block_ms)

    async def complete(self, job: Claimed, result: Any, events: Sequence[dict[str, Any]] = ()) -> bool:
        """Record success (result already JSON-checked), with the `events` the try emitted put in
        the queue's outbox in the same step; False when the job was no longer ours.

        Successes of one queue that arrive while one is being recorded are recorded together.
        """
        batcher = self._completers.get(job.queue)
        if batcher is None:
            batcher = self._completers[job.queue] = Batcher(functools.partial(self.complete_many, job.queue))
        return await batcher((job, result, events_json(events)))

    async def complete_many(self, queue: str, done: Sequence[tuple[Claimed, Any, str]]) -> list[bool]:
        """Record these successes (job, JSON-checked result, events JSON or "") in one call."""
        args = self._complete_args(queue, done)
        return [bool(ok) for ok in await self.store.scripts.complete(keys=self.store.base(queue), args=args)]

    def _complete_args(self, queue: str, done: Sequence[tuple[Claimed, Any, str]]) -> list[Any]:
        keep = self.store.policy(queue).keep_completed
        args: list[Any] = [keep.count, int(keep.age)]
        for job, result, events in done:
            args += [job.id, job.sid, codec.dumps(result), events]
        return args

    async def outbox(self, queues: Iterable[str], count: int) -> list[tuple[str, str, str]]:
        """Up to `count` outbox entries of each queue, oldest first: (queue, entry id, events JSON)."""
        names = list(queues)
        pipe = self.store.redis.pipeline(transaction=False)
        for queue in names:
            pipe.xrange(self.store.keys.outbox(queue), count=count)
        return [
            (queue, entry_id, fields["events"])
            for queue, entries in zip(names, await pipe.execute(), strict=True)
            for entry_id, fields in entries
        ]

    async def outbox_done(self, queue: str, entry_id: str) -> None:
        """The entry's deliveries are queued: it leaves the outbox."""
        await self.store.redis.xdel(self.store.keys.outbox(queue), entry_id)

    async def fail(self, job: Claimed, error: str, traceback: str | None, retry_in: float | None) -> bool:
        """Record a failed try: delayed for `retry_in` s, or dead when None."""
        keep = self.store.policy(job.queue).keep_dead
        failure = {"attempt": job.attempt, "error": error, "traceback": traceback, "at": ms(time.time())}
        args = [job.id, job.sid, codec.dumps(failure), "" if retry_in is None else ms(retry_in)]
        return bool(
            await self.store.scripts.fail(
                keys=self.store.base(job.queue), args=[*args, keep.count, int(keep.age)]
            )
        )

    async def put_back(self, job: Claimed) -> bool:
        """Hand a running job back to the queue now, without spending its try (a job asked to
        cancel ends cancelled instead)."""
        keep = self.store.policy(job.queue).keep_completed
        args: list[str | int] = [job.id, job.sid, keep.count, int(keep.age)]
        return bool(await self.store.scripts.putback(keys=self.store.base(job.queue), args=args))

    async def stopped(self, job: Claimed) -> bool:
        """Record that a worker stopped a try an operator cancelled: the job ends cancelled."""
        keep = self.store.policy(job.queue).keep_completed
        args: list[str | int] = [job.id, job.sid, keep.count, int(keep.age)]
        return bool(await self.store.scripts.stopped(keys=self.store.base(job.queue), args=args))

    async def renew(self, queue: str, jobs: Iterable[Claimed], lease: float) -> list[str]:
        """Extend the leases of all these jobs (one call); returns the ids no longer ours."""
        args: list[Any] = [ms(lease)]
        for job in jobs:
            args += [job.id, job.sid]
        return await self.store.scripts.renew(keys=self.store.base(queue), args=args)

    async def write_progress(self, job: Claimed, progress: dict[str, Any] | None, lines: list[str]) -> bool:
        args = [job.id, job.sid, codec.dumps(progress) if progress is not None else "", *lines]
        return bool(await self.store.scripts.progress(keys=self.store.base(job.queue), args=args))

    async def tick(
        self, queues: Iterable[str] | None = None, *, dead_consumer_ms: int = DEAD_CONSUMER_MS
    ) -> float | None:
        """Move due delayed jobs, reap expired leases, trim by age, drop the consumers of gone
        workers (idle `dead_consumer_ms`): one pipelined call for all queues.

        Returns seconds until the next delayed job is due (None when none is).
        """
        names = list(self.store.registry.queues if queues is None else queues)
        # `async with`: a pipeline that failed (Redis went away) still gives its connection back.
        async with self.store.redis.pipeline(transaction=False) as pipe:
            for queue in names:
                policy = self.store.policy(queue)
                done, dead = policy.keep_completed, policy.keep_dead
                args = [ms(done.age), ms(dead.age), REAP_EVERY_MS, TICK_BATCH, dead.count, int(dead.age)]
                args += [done.count, int(done.age), dead_consumer_ms]
                await self.store.scripts.tick(keys=self.store.base(queue), args=args, client=pipe)
            due = [ms for ms in await pipe.execute() if ms >= 0]
        return min(due) / 1000 if due else None

    async def forget_worker(self, worker_id: str, queues: Iterable[str]) -> None:
        """Drop a stopping worker's heartbeat, so it leaves the live list at once."""
        keys = self.store.keys
        pipe = self.store.redis.pipeline(transaction=False)
        pipe.delete(keys.worker(worker_id))
        pipe.zrem(keys.workers, worker_id)
        for queue in queues:
            pipe.zrem(keys.alive(queue), worker_id)
        await pipe.execute()
