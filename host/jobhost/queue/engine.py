"""The queue engine: every read and write of queues and jobs in Redis.

One Lua script per state change (enqueue, claim, complete, fail, put back, renew, tick, admin),
so a transition is atomic and costs one round trip. Workers, the scheduler, the HTTP face and the
CLI all go through this class; none of them touches Redis keys directly.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Literal, cast

import attrs
from redis.exceptions import ResponseError

from jobhost.policy import QueuePolicy, RateLimit
from jobhost.queue import codec, search
from jobhost.queue.batch import Batcher
from jobhost.queue.catalog import Catalog, TaskSpec
from jobhost.queue.connection import BLOCK_MS, connect
from jobhost.queue.errors import JobInputError, JobNotFound, JobStateError, NotReplicated
from jobhost.queue.flow import MAX_FLOW_JOBS, Flow
from jobhost.queue.job import TERMINAL, Job
from jobhost.queue.keys import (
    DURATION_BUCKETS,
    GROUP,
    STATES,
    Keys,
    UnknownJobId,
    new_job_id,
    queue_of,
)
from jobhost.queue.options import EnqueueOptions, ms
from jobhost.queue.schedules import ScheduleStore
from jobhost.queue.scripts import Scripts
from jobhost.queue.tasks import check_kwargs
from jobhost.settings import Settings

# The reaper part of a tick runs at most once per this many ms per queue, across all processes.
REAP_EVERY_MS = 1000
TICK_BATCH = 500
PIPELINE_CHUNK = 1000
# `Redis.xread`'s shape: ({stream: last_id}, count=, block=) -> [[stream, [(id, fields), ...]]].
XRead = Callable[..., Awaitable[Any]]


def _stream_id(entry_id: str) -> tuple[int, ...]:
    """A stream entry id (`<ms>-<seq>`) as numbers, to compare two ids."""
    return tuple(int(part) for part in entry_id.split("-"))


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


@attrs.frozen
class Claim:
    """What a claim found: jobs, nothing (`last_id` to block on), a paused queue or a rate limit."""

    kind: Literal["jobs", "idle", "paused", "limited"]
    jobs: tuple[Claimed, ...] = ()
    last_id: str = "0-0"
    wait: float = 0.0


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


class Engine:
    """Queues and jobs of one host, on Redis (or the embedded in-process store)."""

    def __init__(self, settings: Settings, registry: Catalog) -> None:
        self.settings = settings
        self.registry = registry
        self.keys = Keys(settings.redis_prefix)
        self.redis = connect(settings)
        self.scripts = Scripts(self.redis)
        self.schedules = ScheduleStore(self.redis, self.keys)
        self._grouped: set[str] = set()
        self._completers: dict[str, Batcher[tuple[Claimed, Any], bool]] = {}

    async def close(self) -> None:
        await self.redis.aclose()

    # -- lookups ---------------------------------------------------------------------------------

    def policy(self, queue: str) -> QueuePolicy:
        try:
            return self.registry.queues[queue]
        except KeyError:
            known = ", ".join(sorted(self.registry.queues)) or "(none)"
            raise JobInputError(f"unknown queue {queue!r}; registered queues: {known}") from None

    def task(self, name: str) -> TaskSpec:
        try:
            return self.registry.tasks[name]
        except KeyError:
            known = ", ".join(sorted(self.registry.tasks)) or "(none)"
            raise JobInputError(
                f"unknown task {name!r}; registered tasks: {known} (is its plugin installed and enabled?)"
            ) from None

    def _base(self, queue: str) -> list[str]:
        return [self.keys.base(queue)]

    async def setup(self, queues: Iterable[str] | None = None) -> None:
        """Create each queue's stream and consumer group (from id 0), before anything is enqueued."""
        for queue in self.registry.queues if queues is None else queues:
            if queue in self._grouped:
                continue
            try:
                await self.redis.xgroup_create(self.keys.stream(queue), GROUP, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
            self._grouped.add(queue)

    # -- producing -------------------------------------------------------------------------------

    async def enqueue(
        self,
        task_name: str,
        kwargs: dict[str, Any] | None = None,
        *,
        delay: float | None = None,
        run_at: datetime | None = None,
        owner: str | None = None,
        priority: int = 0,
        unique_key: str | None = None,
        unique_ttl: float | None = None,
        debounce: bool = False,
        job_id: str | None = None,
        depends_on: Sequence[str] | None = None,
        on_dependency_failure: str = "fail",
        labels: dict[str, Any] | None = None,
        origin: str | None = None,
    ) -> Job:
        """Store a job for `task_name` and queue it (now, after `delay` s, or at `run_at`).

        `priority`: 0 (none) runs first, then 1, 2, ... (lowest first, FIFO within one; see the
        queue's `priority_aging`). `unique_key`: while a job enqueued with the same key is alive
        (until it ends, or for `unique_ttl` s), this returns that job instead of a new one; with
        `debounce`, a still waiting or delayed one takes these kwargs (and delay) instead.
        `job_id`: the caller's own id for it (`<queue>:<hex>`, as taskiq's kicker makes before the
        call); an existing job with it is returned instead. `labels`: the taskiq labels a worker
        hands back to the task's middlewares; `origin` names the job this one copies (a
        duplicate, or an edited replay).
        `depends_on`: job ids (any queue) it waits for in `waiting-deps` until all completed;
        the task reads their results with `ctx.dependency_results()`. If one dies, is cancelled
        or removed, the job dies too, unless `on_dependency_failure` is "run" (start at once) or
        "ignore" (wait for the others only).
        """
        options = EnqueueOptions(
            delay,
            run_at,
            owner,
            priority,
            unique_key,
            unique_ttl,
            debounce,
            job_id,
            None if depends_on is None else tuple(depends_on),
            on_dependency_failure,
            labels,
            origin,
        )
        if options.depends_on:
            await self._check_exist(task_name, options.depends_on)
        job = await self._enqueue(task_name, kwargs, options)
        assert job is not None  # only a `once` enqueue can be refused
        return job

    async def enqueue_once(
        self,
        key: str,
        ttl: int,
        task_name: str,
        kwargs: dict[str, Any] | None = None,
        *,
        owner: str | None = None,
        labels: dict[str, Any] | None = None,
    ) -> Job | None:
        """Enqueue unless another caller already did with the same `key` in the last `ttl` s (cron)."""
        options = EnqueueOptions(owner=owner, labels=labels, once_key=f"once:{key}", once_ttl=ttl)
        return await self._enqueue(task_name, kwargs, options)

    async def _check_exist(self, task_name: str, job_ids: Sequence[str]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.exists(self.keys.job(job_id))
        found = await pipe.execute()
        missing = [job_id for job_id, there in zip(job_ids, found, strict=True) if not there]
        if missing:
            raise JobInputError(f"task {task_name!r}: depends_on names no job {missing[0]!r}")

    def _prepare(
        self, task_name: str, kwargs: Any, options: EnqueueOptions
    ) -> tuple[TaskSpec, dict[str, Any], str]:
        task = self.task(task_name)
        kwargs = {} if kwargs is None else kwargs
        check_kwargs(task, kwargs)
        options.check(task.name, task.queue)
        return task, kwargs, codec.dumps(kwargs)

    def _enqueue_args(self, task: TaskSpec, job_id: str, payload: str, options: EnqueueOptions) -> list[Any]:
        policy = self.policy(task.queue)
        return [job_id, task.name, payload, policy.attempts, options.owner or "", *options.lua_args(policy)]

    async def _enqueue(self, task_name: str, kwargs: Any, options: EnqueueOptions) -> Job | None:
        task, kwargs, payload = self._prepare(task_name, kwargs, options)
        policy = self.policy(task.queue)
        job_id = options.job_id or new_job_id(task.queue)
        await self.setup([task.queue])
        pipe = self.redis.pipeline(transaction=True)  # the job and its index entries, or neither
        args = self._enqueue_args(task, job_id, payload, options)
        await self.scripts.enqueue(keys=self._base(task.queue), args=args, client=pipe)
        await self._index(pipe, task, job_id, kwargs)  # indexes nothing for a job not created
        reply = (await pipe.execute())[0]
        await self._replicated(task.queue, [] if reply[0] == "taken" else [reply[1]])
        if reply[0] == "taken":
            return None
        if reply[0] != "created":  # deduplicated: the job that holds the key (or the id)
            job = await self.job(reply[1])
            if job is None:
                raise JobNotFound(f"job {reply[1]!r} was removed as soon as it was found")
            return job
        _, _, created, state, due = reply
        record = {"id": job_id, "task": task.name, "kwargs": payload, "state": state, "attempt": "0"}
        record |= {"attempts": str(policy.attempts), "owner": options.owner or "", "created": str(created)}
        record |= {"run_at": str(due), "priority": str(options.priority)}
        if options.depends_on:
            record["deps"] = codec.dumps(list(options.depends_on))
        if options.labels:
            record["labels"] = codec.dumps(options.labels)
        record["origin"] = options.origin or ""
        return Job.from_hash(record)

    async def _replicated(self, queue: str, job_ids: list[str]) -> None:
        """With JOBHOST_REDIS_MIN_REPLICAS, return once that many replicas have these jobs
        (Redis WAIT), else raise NotReplicated naming them."""
        wanted = self.settings.redis_min_replicas
        if not wanted or not job_ids:
            return
        # WAIT counts the replicas that have its own connection's last write, and the enqueue
        # ran on another pooled connection: one more write on this one, after the enqueue's,
        # covers both (replication is one ordered stream). The jobs are looked up in the same
        # round trip, in case it went to a newly promoted primary (a retry after a failover).
        pipe = self.redis.pipeline(transaction=False)
        pipe.exists(*(self.keys.job(job_id) for job_id in job_ids))
        pipe.set(self.keys.replicated(queue), ms(time.time()), px=60_000)
        pipe.execute_command("WAIT", wanted, max(1, ms(self.settings.redis_replica_timeout)))
        found, _, acked = await pipe.execute()
        if found < len(job_ids) or acked < wanted:
            raise NotReplicated(job_ids, acked, wanted)

    async def enqueue_many(
        self,
        task_name: str,
        kwargs_list: Sequence[dict[str, Any]],
        *,
        owner: str | None = None,
        priority: int = 0,
    ) -> list[str]:
        """Enqueue many jobs of one task in pipelined round trips; returns their ids in order.

        Every kwargs is checked before the first job is stored."""
        options = EnqueueOptions(owner=owner, priority=priority)
        prepared = [self._prepare(task_name, kwargs, options) for kwargs in kwargs_list]
        if not prepared:
            return []
        task = prepared[0][0]
        await self.setup([task.queue])
        base = self._base(task.queue)
        ids = []
        for start in range(0, len(prepared), PIPELINE_CHUNK):
            pipe = self.redis.pipeline(transaction=False)
            for _, kwargs, payload in prepared[start : start + PIPELINE_CHUNK]:
                job_id = new_job_id(task.queue)
                ids.append(job_id)
                args = self._enqueue_args(task, job_id, payload, options)
                await self.scripts.enqueue(keys=base, args=args, client=pipe)
                await self._index(pipe, task, job_id, kwargs)
            await pipe.execute()
            await self._replicated(task.queue, ids[start:])
        return ids

    async def enqueue_flow(self, flow: Flow) -> Job:
        """Enqueue a tree of jobs, across queues, in one atomic step (a Redis transaction): each
        job depends on its children, so children run first and their parent once all of them
        completed. Nothing is stored if any job is refused. Returns the root job."""
        if flow.size() > MAX_FLOW_JOBS:
            raise JobInputError(f"a flow holds at most {MAX_FLOW_JOBS} jobs, this one {flow.size()}")
        # children before their parent: task, id, kwargs, payload, options
        plan: list[tuple[TaskSpec, str, dict[str, Any], str, EnqueueOptions]] = []

        def add(node: Flow) -> str:
            deps = tuple(add(child) for child in node.children)
            task = self.task(node.task)
            job_id = new_job_id(task.queue)
            options = EnqueueOptions(
                owner=node.owner,
                priority=node.priority,
                depends_on=deps or None,
                on_dependency_failure=node.on_dependency_failure,
            )
            _, kwargs, payload = self._prepare(node.task, node.kwargs, options)
            plan.append((task, job_id, kwargs, payload, options))
            return job_id

        root = add(flow)
        await self.setup({task.queue for task, *_ in plan})
        pipe = self.redis.pipeline(transaction=True)
        for task, job_id, kwargs, payload, options in plan:
            args = self._enqueue_args(task, job_id, payload, options)
            await self.scripts.enqueue(keys=self._base(task.queue), args=args, client=pipe)
            await self._index(pipe, task, job_id, kwargs)
        await pipe.execute()
        await self._replicated(plan[-1][0].queue, [root])
        job = await self.job(root)
        if job is None:
            raise JobNotFound(f"flow root {root!r} was removed as soon as it was enqueued")
        return job

    # -- reading ---------------------------------------------------------------------------------

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

    async def dependency_results(self, job_id: str) -> dict[str, Any]:
        """The results of the job's completed dependencies, by job id (kept with the job, so
        retention of the dependencies loses none)."""
        record = cast(dict[str, str], await self.redis.hgetall(self.keys.job(job_id)))  # decoded replies
        return {key[4:]: codec.loads(value) for key, value in record.items() if key.startswith("dep:")}

    async def list_jobs(
        self, queue: str, state: str, *, offset: int = 0, limit: int = 50, newest_first: bool = True
    ) -> JobPage:
        """One page of a queue's jobs in one state, by the time they entered it (logs left out)."""
        self.policy(queue)
        if state not in STATES:
            raise JobInputError(f"state must be one of {', '.join(STATES)}, got {state!r}")
        if offset < 0 or not 1 <= limit <= 1000:
            raise JobInputError(f"offset must be >= 0 and limit 1-1000, got offset={offset} limit={limit}")
        key = self.keys.state(queue, state)
        pipe = self.redis.pipeline(transaction=False)
        pipe.zcard(key)
        if newest_first:
            pipe.zrevrange(key, offset, offset + limit - 1)
        else:
            pipe.zrange(key, offset, offset + limit - 1)
        total, ids = await pipe.execute()
        pipe = self.redis.pipeline(transaction=False)
        for job_id in ids:
            pipe.hgetall(self.keys.job(job_id))
        records = await pipe.execute() if ids else []
        return JobPage(tuple(Job.from_hash(r) for r in records if r), total, offset, limit)

    async def counts(self, queue: str) -> dict[str, int]:
        """How many jobs of the queue are in each state."""
        self.policy(queue)
        pipe = self.redis.pipeline(transaction=False)
        for state in STATES:
            pipe.zcard(self.keys.state(queue, state))
        return dict(zip(STATES, await pipe.execute(), strict=True))

    async def overview(self) -> list[dict[str, Any]]:
        """Every registered queue: plugin, paused flag, counts by state, policy."""
        rows = []
        for name, policy in sorted(self.registry.queues.items()):
            rows.append(
                {
                    "name": name,
                    "plugin": self.registry.owners.get(("queue", name)),
                    "paused": await self.is_paused(name),
                    "counts": await self.counts(name),
                    "concurrency": self.settings.concurrency(policy),
                    "policy": policy.as_dict(),
                }
            )
        return rows

    async def rates(self, queue: str, minutes: int = 5) -> dict[str, float]:
        """Completed and failed tries per minute, averaged over the last `minutes` minutes."""
        self.policy(queue)
        now_minute = int(time.time() // 60)
        pipe = self.redis.pipeline(transaction=False)
        for minute in range(now_minute - minutes + 1, now_minute + 1):
            pipe.hgetall(self.keys.minute(queue, minute))
        buckets = await pipe.execute()
        kinds = ("completed", "failed", "dead")
        return {kind: sum(int(b.get(kind, 0)) for b in buckets) / minutes for kind in kinds}

    async def totals(self, queue: str) -> dict[str, int]:
        """Completed jobs, failed tries and dead jobs since the queue was first used."""
        self.policy(queue)
        raw = await self.redis.hgetall(self.keys.totals(queue))
        return {kind: int(raw.get(kind, 0)) for kind in ("completed", "failed", "dead")}

    async def durations(self, queue: str) -> tuple[list[tuple[float, int]], float]:
        """How long tries ran: cumulative `(upper bound in s, tries)` pairs ending with +inf, and
        the sum of all durations in seconds."""
        self.policy(queue)
        raw = await self.redis.hgetall(self.keys.durations(queue))
        buckets, seen = [], 0
        for bound in (*DURATION_BUCKETS, "inf"):
            seen += int(raw.get(str(bound), 0))
            buckets.append((float(bound) / 1000 if bound != "inf" else float("inf"), seen))
        return buckets, int(raw.get("sum_ms", 0)) / 1000

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

    async def job_state(self, job_id: str) -> str | None:
        try:
            return cast(str | None, await self.redis.hget(self.keys.job(job_id), "state"))
        except UnknownJobId:
            return None

    async def wait(self, job_id: str, timeout: float = 30.0) -> Job:
        """Wait until the job ends (completed, dead or cancelled) and return it."""
        async with asyncio.timeout(timeout):
            async for _ in self.events(job_id):
                pass
        job = await self.job(job_id)
        if job is None:
            raise JobNotFound(f"job {job_id!r} does not exist (removed or trimmed)")
        return job

    # -- operator actions ------------------------------------------------------------------------

    async def _admin(self, action: str, job_id: str, *args: Any) -> Any:
        try:
            queue = queue_of(job_id)
        except UnknownJobId:
            raise JobNotFound(f"no job {job_id!r}") from None
        return await self.scripts.admin(keys=self._base(queue), args=[action, job_id, *args])

    async def retry(self, job_id: str, kwargs: dict[str, Any] | None = None) -> Job:
        """Queue a dead, cancelled or completed job again with fresh tries (a delayed one: now).

        With `kwargs`, the job runs with them instead (checked against the task's parameters first).
        """
        payload = ""
        if kwargs is not None:
            job = await self.job(job_id)
            if job is None:
                raise JobNotFound(f"no job {job_id!r}")
            check_kwargs(self.task(job.task), kwargs)
            payload = codec.dumps(kwargs)
        reply = await self._admin("retry", job_id, payload)
        if reply == 0:
            raise JobNotFound(f"no job {job_id!r}")
        if reply.startswith("refused:"):
            raise JobStateError(
                f"job {job_id!r} is {reply[8:]}; "
                "only dead, cancelled, completed or delayed jobs can be retried"
            )
        job = await self.job(job_id)
        assert job is not None
        if kwargs is not None:
            await self._index(self.redis, self.task(job.task), job_id, kwargs)
        return job

    async def replay(self, job_id: str, kwargs: dict[str, Any] | None = None) -> Job:
        """Retry a job, optionally with edited kwargs; an alias that reads better for the dead set."""
        return await self.retry(job_id, kwargs)

    async def cancel(self, job_id: str) -> Job:
        """Cancel a job that has not ended. A waiting or delayed one is cancelled at once; a running
        one is marked `cancelling`, and its worker stops it within about a second: an async task
        gets CancelledError at its next await, a sync one sees `ctx.cancelled` become true. It
        then ends cancelled, and its try is not retried."""
        try:
            keep = self.policy(queue_of(job_id)).keep_completed
        except (UnknownJobId, JobInputError):
            raise JobNotFound(f"no job {job_id!r}") from None
        reply = await self._admin("cancel", job_id, keep.count, int(keep.age))
        if reply == 0:
            raise JobNotFound(f"no job {job_id!r}")
        if reply.startswith("refused:"):
            raise JobStateError(
                f"job {job_id!r} is {reply[8:]}; only jobs that have not ended can be cancelled"
            )
        job = await self.job(job_id)
        assert job is not None
        return job

    async def remove(self, job_id: str) -> bool:
        """Delete a job in any state; False when there was none."""
        try:
            return bool(await self._admin("remove", job_id))
        except JobNotFound:
            return False

    async def clean(self, queue: str, state: str, older_than: float = 0.0) -> int:
        """Remove the queue's jobs that entered `state` more than `older_than` seconds ago."""
        self.policy(queue)
        if state not in STATES or state == "active":
            cleanable = ", ".join(s for s in STATES if s != "active")
            raise JobInputError(f"state must be one of {cleanable}, got {state!r}")
        removed = 0
        while True:
            n = await self.scripts.admin(
                keys=self._base(queue), args=["clean", state, ms(older_than), TICK_BATCH]
            )
            removed += n
            if n < TICK_BATCH:
                return removed

    async def pause(self, queue: str) -> None:
        """Workers take nothing new from the queue; enqueue still works."""
        self.policy(queue)
        await self.redis.set(self.keys.paused(queue), "1")

    async def resume(self, queue: str) -> None:
        self.policy(queue)
        await self.redis.delete(self.keys.paused(queue))

    async def is_paused(self, queue: str) -> bool:
        return bool(await self.redis.exists(self.keys.paused(queue)))

    # -- workers ---------------------------------------------------------------------------------

    async def forget_worker(self, worker_id: str, queues: Iterable[str]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.delete(self.keys.worker(worker_id))
        pipe.zrem(self.keys.workers, worker_id)
        for queue in queues:
            pipe.zrem(self.keys.alive(queue), worker_id)
        await pipe.execute()

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

    async def claim(
        self, queue: str, consumer: str, count: int, lease: float, rate: RateLimit | None
    ) -> Claim:
        """Take up to `count` jobs and lease them to `consumer` (one round trip)."""
        aging = "1" if self.policy(queue).priority_aging else ""
        args: list[str | int] = [consumer, count, ms(lease)]
        args += [rate.count, ms(rate.per)] if rate else ["", ""]
        args.append(aging)
        try:
            reply = await self.scripts.claim(keys=self._base(queue), args=args)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # Redis lost the group (restarted without persistence, or flushed): make it again
            # from id 0, so whatever is in the stream is read, and try once more.
            self._grouped.discard(queue)
            await self.setup([queue])
            reply = await self.scripts.claim(keys=self._base(queue), args=args)
        kind = reply[0]
        if kind == "jobs":
            fields = [reply[i : i + 8] for i in range(1, len(reply), 8)]
            jobs = tuple(
                Claimed(job_id, sid, queue, task, kwargs, int(attempt), int(attempts), owner or None, labels)
                for job_id, sid, task, kwargs, attempt, attempts, owner, labels in fields
            )
            return Claim("jobs", jobs)
        if kind == "idle":
            return Claim("idle", last_id=reply[1])
        if kind == "limited":
            return Claim("limited", wait=max(int(reply[1]), 1) / 1000)
        return Claim("paused")

    async def wait_for_jobs(self, queue: str, last_id: str, block_ms: int = BLOCK_MS) -> None:
        """Block until the queue's stream has an entry after `last_id`, or `block_ms` passed."""
        await self.redis.xread({self.keys.stream(queue): last_id}, count=1, block=block_ms)

    async def complete(self, job: Claimed, result: Any) -> bool:
        """Record success (result already JSON-checked); False when the job was no longer ours.

        Successes of one queue that arrive while one is being recorded are recorded together.
        """
        batcher = self._completers.get(job.queue)
        if batcher is None:
            batcher = self._completers[job.queue] = Batcher(functools.partial(self._complete, job.queue))
        return await batcher((job, result))

    async def _complete(self, queue: str, done: Sequence[tuple[Claimed, Any]]) -> list[bool]:
        keep = self.policy(queue).keep_completed
        args: list[Any] = [keep.count, int(keep.age)]
        for job, result in done:
            args += [job.id, job.sid, codec.dumps(result)]
        return [bool(ok) for ok in await self.scripts.complete(keys=self._base(queue), args=args)]

    async def fail(self, job: Claimed, error: str, traceback: str | None, retry_in: float | None) -> bool:
        """Record a failed try: delayed for `retry_in` s, or dead when None."""
        keep = self.policy(job.queue).keep_dead
        failure = {"attempt": job.attempt, "error": error, "traceback": traceback, "at": ms(time.time())}
        args = [job.id, job.sid, codec.dumps(failure), "" if retry_in is None else ms(retry_in)]
        return bool(
            await self.scripts.fail(keys=self._base(job.queue), args=[*args, keep.count, int(keep.age)])
        )

    async def put_back(self, job: Claimed) -> bool:
        """Hand a running job back to the queue now, without spending its try (a job asked to
        cancel ends cancelled instead)."""
        keep = self.policy(job.queue).keep_completed
        args: list[str | int] = [job.id, job.sid, keep.count, int(keep.age)]
        return bool(await self.scripts.putback(keys=self._base(job.queue), args=args))

    async def stopped(self, job: Claimed) -> bool:
        """Record that a worker stopped a try an operator cancelled: the job ends cancelled."""
        keep = self.policy(job.queue).keep_completed
        args: list[str | int] = [job.id, job.sid, keep.count, int(keep.age)]
        return bool(await self.scripts.stopped(keys=self._base(job.queue), args=args))

    async def renew(self, queue: str, jobs: Iterable[Claimed], lease: float) -> list[str]:
        """Extend the leases of all these jobs (one call); returns the ids no longer ours."""
        args: list[Any] = [ms(lease)]
        for job in jobs:
            args += [job.id, job.sid]
        return await self.scripts.renew(keys=self._base(queue), args=args)

    async def write_progress(self, job: Claimed, progress: dict[str, Any] | None, lines: list[str]) -> bool:
        args = [job.id, job.sid, codec.dumps(progress) if progress is not None else "", *lines]
        return bool(await self.scripts.progress(keys=self._base(job.queue), args=args))

    async def tick(self, queues: Iterable[str] | None = None) -> float | None:
        """Move due delayed jobs, reap expired leases, trim by age: one pipelined call for all queues.

        Returns seconds until the next delayed job is due (None when none is).
        """
        names = list(self.registry.queues if queues is None else queues)
        pipe = self.redis.pipeline(transaction=False)
        for queue in names:
            policy = self.policy(queue)
            done, dead = policy.keep_completed, policy.keep_dead
            args = [ms(done.age), ms(dead.age), REAP_EVERY_MS, TICK_BATCH, dead.count, int(dead.age)]
            args += [done.count, int(done.age)]
            await self.scripts.tick(keys=self._base(queue), args=args, client=pipe)
        due = [ms for ms in await pipe.execute() if ms >= 0]
        return min(due) / 1000 if due else None

    # -- search and the dashboard's reads --------------------------------------------------------

    async def _index(self, client: Any, task: TaskSpec, job_id: str, kwargs: dict[str, Any]) -> None:
        """(Re)index a job's task name and searchable kwargs (on `client`: a pipeline, or the
        connection)."""
        terms = search.terms(self.policy(task.queue), task.name, kwargs)
        await self.scripts.index(keys=self._base(task.queue), args=[job_id, *terms], client=client)

    async def search(self, queue: str, text: str, *, offset: int = 0, limit: int = 50) -> JobPage:
        """A queue's jobs matching a search (queue/search.py), in any state, newest first.

        One term pages straight off the index. With several, the narrowest term's matches are
        checked against the rest, newest first, a CHUNK at a time, until the page is full (and one
        more, to know there is a next page) or MAX_CANDIDATES were checked; the page's total is
        then only what was found so far (`exact` False)."""
        policy = self.policy(queue)
        if offset < 0 or not 1 <= limit <= 1000:
            raise JobInputError(f"offset must be >= 0 and limit 1-1000, got offset={offset} limit={limit}")
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
        pipe = self.redis.pipeline(transaction=False)
        for job_id in ids:
            pipe.hgetall(self.keys.job(job_id))
        records = await pipe.execute() if ids else []
        jobs = tuple(Job.from_hash(r) for r in records if r)
        return JobPage(jobs, total, offset, limit, exact)

    async def throughput(self, queue: str, minutes: int = 60) -> list[dict[str, int]]:
        """Completed, failed and dead counts of each of the last `minutes` minutes, oldest first."""
        self.policy(queue)
        now_minute = int(time.time() // 60)
        pipe = self.redis.pipeline(transaction=False)
        for minute in range(now_minute - minutes + 1, now_minute + 1):
            pipe.hgetall(self.keys.minute(queue, minute))
        return [
            {kind: int(b.get(kind, 0)) for kind in ("completed", "failed", "dead")}
            for b in await pipe.execute()
        ]

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

    async def last_fires(self) -> dict[str, float]:
        """Schedule name → when any scheduler last fired it (epoch seconds)."""
        raw = cast(dict[str, str], await self.redis.hgetall(self.keys.schedule_last()))
        return {name: float(at) for name, at in raw.items()}
