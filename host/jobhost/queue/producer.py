"""Putting jobs in queues: one job, many of one task, a cron fire once, a flow of dependent jobs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from jobhost.queue import codec, search
from jobhost.queue.catalog import TaskSpec
from jobhost.queue.connection import SOCKET_TIMEOUT
from jobhost.queue.errors import (
    EnqueueIncomplete,
    EnqueueUnanswered,
    IdempotencyKeyReused,
    JobInputError,
    JobNotFound,
    JobStateError,
    NotReplicated,
)
from jobhost.queue.flow import MAX_FLOW_JOBS, Flow
from jobhost.queue.inspector import Inspector
from jobhost.queue.job import Job
from jobhost.queue.keys import new_job_id
from jobhost.queue.options import EnqueueOptions, ms
from jobhost.queue.store import Store
from jobhost.queue.tasks import check_kwargs

# `enqueue_many` stores this many jobs per script call (a call blocks Redis while it runs), and
# sends the calls of PIPELINE_CHUNK jobs in one round trip.
JOBS_PER_CALL = 250
PIPELINE_CHUNK = 1000
# An enqueue answers within one socket timeout (the client's retries after a restart or a
# failover fit in it), else it is settled by its job id within SETTLE_TIMEOUT: stored, or fenced
# so that it never will be (settle.lua), or, with Redis still silent, unknown (EnqueueUnanswered).
ANSWER_TIMEOUT = SOCKET_TIMEOUT
SETTLE_TIMEOUT = 3.0
FENCE_TTL = 24 * 3600  # far longer than any write can wait in a socket or on the wire
# Errors after which an enqueue may or may not have run (ReadOnlyError: the last try reached a
# replica, an earlier one may have reached the primary).
UNANSWERED = (RedisConnectionError, RedisTimeoutError, ReadOnlyError, TimeoutError)
# An idempotency key holds its first job this long (Stripe keeps keys for 24 h).
IDEMPOTENCY_TTL = 24 * 3600
MAX_IDEMPOTENCY_KEY = 255


class Producer:
    def __init__(self, store: Store, inspector: Inspector) -> None:
        self.store = store
        self.inspector = inspector  # to return the job a deduplicated enqueue found

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
        idempotency_key: str | None = None,
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
        `idempotency_key`: a client's key for this request (an HTTP `Idempotency-Key`): for
        IDEMPOTENCY_TTL s the same key of the same `owner` returns the job it first made, and
        with another task or other kwargs raises IdempotencyKeyReused.
        When Redis does not answer, the job is settled by its id: returned if it was stored,
        else the Redis error says nothing was stored; EnqueueUnanswered (with the id) when Redis
        cannot even be asked.
        """
        if idempotency_key is not None:
            unique_key, unique_ttl = _idempotent(task_name, owner, idempotency_key, unique_key, debounce)
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
        if idempotency_key is not None and not _same_request(job, task_name, kwargs):
            raise IdempotencyKeyReused(
                f"idempotency key {idempotency_key!r} was used for another request (job {job.id}, task "
                f"{job.task!r}, other arguments) in the last {IDEMPOTENCY_TTL // 3600} h; use a new key "
                "for a new request"
            )
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
        pipe = self.store.redis.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.exists(self.store.keys.job(job_id))
        found = await pipe.execute()
        missing = [job_id for job_id, there in zip(job_ids, found, strict=True) if not there]
        if missing:
            raise JobInputError(f"task {task_name!r}: depends_on names no job {missing[0]!r}")

    def _prepare(
        self, task_name: str, kwargs: Any, options: EnqueueOptions
    ) -> tuple[TaskSpec, dict[str, Any], str]:
        task = self.store.task(task_name)
        kwargs = {} if kwargs is None else kwargs
        check_kwargs(task, kwargs)
        options.check(task.name, task.queue)
        return task, kwargs, codec.dumps(kwargs)

    def _options(self, task: TaskSpec, options: EnqueueOptions) -> list[Any]:
        """enqueue.lua's first ARGV: what every job of one call shares."""
        policy = self.store.policy(task.queue)
        return [task.name, policy.attempts, options.owner or "", *options.lua_args(policy)]

    def _job(self, task: TaskSpec, job_id: str, kwargs: dict[str, Any], payload: str) -> list[Any]:
        """enqueue.lua's ARGV for one job: its id, kwargs, and the terms search finds it by."""
        terms = search.terms(self.store.policy(task.queue), task.name, kwargs)
        return [job_id, payload, len(terms), *terms]

    async def _enqueue(self, task_name: str, kwargs: Any, options: EnqueueOptions) -> Job | None:
        task, kwargs, payload = self._prepare(task_name, kwargs, options)
        policy = self.store.policy(task.queue)
        job_id = options.job_id or new_job_id(task.queue)
        await self.store.setup([task.queue])
        args = self._options(task, options) + self._job(task, job_id, kwargs, payload)
        reply = await self._store_one(task.queue, job_id, args)
        if reply[0] == "fenced":
            raise JobStateError(
                f"job id {job_id!r} belongs to an enqueue given up when Redis did not answer; "
                "enqueue under a new id"
            )
        await self._replicated(task.queue, [] if reply[0] == "taken" else [reply[1]])
        if reply[0] == "taken":
            return None
        if reply[0] != "created":  # deduplicated: the job that holds the key (or the id)
            job = await self.inspector.job(reply[1])
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

    async def _store_one(self, queue: str, job_id: str, args: list[Any]) -> list[Any]:
        """enqueue.lua's reply for one job; when it does not come, the job's fate by its id."""
        keys = self.store.base(queue)
        try:
            async with asyncio.timeout(ANSWER_TIMEOUT):
                reply: list[Any] = (await self.store.scripts.enqueue(keys=keys, args=args))[0]
                return reply
        except UNANSWERED as exc:
            lost: BaseException = exc
        if not (await self._settle([(queue, job_id)], lost))[0]:
            raise RedisTimeoutError(
                f"Redis did not answer the enqueue of job {job_id!r}; it was not stored"
            ) from lost
        return ["duplicate", job_id]

    async def _settle(
        self, jobs: Sequence[tuple[str, str]], lost: BaseException, unknown: list[str] | None = None
    ) -> list[bool]:
        """Whether each of these jobs (queue, id) of an enqueue whose answer was `lost` was stored;
        those not stored are fenced, so they never will be. EnqueueUnanswered, naming `unknown`
        (default: these jobs), if Redis cannot be asked either."""
        # The answer is lost, not necessarily the enqueue: a frozen Redis runs it when it resumes.
        # Ask on another connection, briefly: found, or fenced so that it never runs.
        keys = [self.store.keys.base(queue) for queue, _ in jobs]
        try:
            async with asyncio.timeout(SETTLE_TIMEOUT):
                stored = await self.store.scripts.settle(keys=keys, args=[FENCE_TTL, *(i for _, i in jobs)])
        except UNANSWERED:
            raise EnqueueUnanswered(unknown or [job_id for _, job_id in jobs], lost) from lost
        return [bool(one) for one in stored]

    async def _replicated(self, queue: str, job_ids: list[str]) -> None:
        """With JOBHOST_REDIS_MIN_REPLICAS, return once that many replicas have these jobs
        (Redis WAIT), else raise NotReplicated naming them."""
        wanted = self.store.settings.redis_min_replicas
        if not wanted or not job_ids:
            return
        # WAIT counts the replicas that have its own connection's last write, and the enqueue
        # ran on another pooled connection: one more write on this one, after the enqueue's,
        # covers both (replication is one ordered stream). The jobs are looked up in the same
        # round trip, in case it went to a newly promoted primary (a retry after a failover).
        keys = self.store.keys
        pipe = self.store.redis.pipeline(transaction=False)
        pipe.exists(*(keys.job(job_id) for job_id in job_ids))
        pipe.set(keys.replicated(queue), ms(time.time()), px=60_000)
        pipe.execute_command("WAIT", wanted, max(1, ms(self.store.settings.redis_replica_timeout)))
        try:
            found, _, acked = await pipe.execute()
        except RedisError:  # stored, but no replica confirmed it: not "nothing was done"
            raise NotReplicated(job_ids, 0, wanted) from None
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

        Every kwargs is checked before the first job is stored. When Redis does not answer, the
        jobs of that round trip are settled by their ids: all stored, and the enqueue goes on; else
        EnqueueIncomplete says which were (the rest never will be); EnqueueUnanswered (the ids
        up to that round trip's) when Redis cannot even be asked."""
        options = EnqueueOptions(owner=owner, priority=priority)
        prepared = [self._prepare(task_name, kwargs, options) for kwargs in kwargs_list]
        if not prepared:
            return []
        task = prepared[0][0]
        await self.store.setup([task.queue])
        base, shared = self.store.base(task.queue), self._options(task, options)
        ids = [new_job_id(task.queue) for _ in prepared]
        jobs = [
            self._job(task, job_id, kwargs, payload)
            for job_id, (_, kwargs, payload) in zip(ids, prepared, strict=True)
        ]
        for start in range(0, len(jobs), PIPELINE_CHUNK):
            pipe = self.store.redis.pipeline(transaction=False)
            for call in range(start, min(start + PIPELINE_CHUNK, len(jobs)), JOBS_PER_CALL):
                args = shared + [arg for job in jobs[call : call + JOBS_PER_CALL] for arg in job]
                await self.store.scripts.enqueue(keys=base, args=args, client=pipe)
            chunk = ids[start : start + PIPELINE_CHUNK]
            try:
                async with asyncio.timeout(ANSWER_TIMEOUT):
                    await pipe.execute()
            except UNANSWERED as exc:  # the chunks before were stored, this one may have been
                asked = [(task.queue, job_id) for job_id in chunk]
                stored = await self._settle(asked, exc, unknown=ids[: start + len(chunk)])
                if not all(stored):
                    stored = [True] * start + stored + [False] * (len(ids) - start - len(chunk))
                    raise EnqueueIncomplete(ids, stored, exc) from exc
            await self._replicated(task.queue, chunk)
        return ids

    async def enqueue_flow(self, flow: Flow) -> Job:
        """Enqueue a tree of jobs, across queues, in one atomic step (a Redis transaction): each
        job depends on its children, so children run first and their parent once all of them
        completed. Nothing is stored if any job is refused. Returns the root job. When Redis does
        not answer, the flow is settled as one enqueue's job is: the whole flow, or nothing."""
        if flow.size() > MAX_FLOW_JOBS:
            raise JobInputError(f"a flow holds at most {MAX_FLOW_JOBS} jobs, this one {flow.size()}")
        # children before their parent: task, id, kwargs, payload, options
        plan: list[tuple[TaskSpec, str, dict[str, Any], str, EnqueueOptions]] = []

        def add(node: Flow) -> str:
            deps = tuple(add(child) for child in node.children)
            task = self.store.task(node.task)
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
        await self.store.setup({task.queue for task, *_ in plan})
        pipe = self.store.redis.pipeline(transaction=True)
        for task, job_id, kwargs, payload, options in plan:
            args = self._options(task, options) + self._job(task, job_id, kwargs, payload)
            await self.store.scripts.enqueue(keys=self.store.base(task.queue), args=args, client=pipe)
        try:
            async with asyncio.timeout(ANSWER_TIMEOUT):
                await pipe.execute()
        except UNANSWERED as exc:  # one transaction: all of its jobs were stored, or none (fenced)
            stored = await self._settle([(task.queue, job_id) for task, job_id, *_ in plan], exc, [root])
            if not stored[-1]:
                raise RedisTimeoutError(
                    f"Redis did not answer the enqueue of the flow of job {root!r}; none of it was stored"
                ) from exc
        await self._replicated(plan[-1][0].queue, [root])
        job = await self.inspector.job(root)
        if job is None:
            raise JobNotFound(f"flow root {root!r} was removed as soon as it was enqueued")
        return job


def _same_request(job: Job, task_name: str, kwargs: dict[str, Any] | None) -> bool:
    """Whether `job` is what an enqueue of `task_name` with `kwargs` (as the job stores them) makes."""
    return job.task == task_name and job.kwargs == codec.loads(codec.dumps(kwargs or {}))


def _idempotent(
    task_name: str, owner: str | None, key: str, unique_key: str | None, debounce: bool
) -> tuple[str, float]:
    """The unique key and its TTL an idempotency key maps onto (per owner)."""
    where = f"task {task_name!r}"
    if not isinstance(key, str) or not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        raise JobInputError(
            f"{where}: idempotency_key must be 1-{MAX_IDEMPOTENCY_KEY} characters, got {key!r}"
        )
    if unique_key is not None or debounce:
        raise JobInputError(f"{where}: give idempotency_key or unique_key (and debounce), not both")
    owner = owner or ""
    return f"idem:{len(owner)}:{owner}:{key}", IDEMPOTENCY_TTL  # the length: owners may hold ':'
