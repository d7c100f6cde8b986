"""A throwaway plugin for the queue-engine tests: small queues with short timers, and tasks that
record each run in Redis (under the test's key prefix) so tests can count and time them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time

from jobhost import Backoff, PermanentError, QueuePolicy, RateLimit, Retention, RetryLater, hookimpl

QUEUES = [
    # retries at 0.5 s, 1 s, 2 s
    QueuePolicy(
        "t-basic",
        attempts=4,
        backoff=Backoff.exponential(0.5),
        concurrency=4,
        concurrency_env="T_BASIC_CONCURRENCY",
    ),
    QueuePolicy("t-lease", attempts=3, backoff=Backoff.fixed(0.2), concurrency=2, lease=2),
    QueuePolicy("t-slow", attempts=3, concurrency=2, lease=30),  # the flyer queue's lease
    QueuePolicy("t-timeout", attempts=2, backoff=Backoff.fixed(0.1), concurrency=2, timeout=0.5),
    QueuePolicy(
        "t-keep",
        attempts=1,
        concurrency=4,
        keep_completed=Retention(age=1.5, count=3),
        keep_dead=Retention(age=1.5, count=2),
    ),
    QueuePolicy("t-rate", attempts=1, concurrency=10, rate_limit=RateLimit(10, 1.0)),
    QueuePolicy("t-bulk", attempts=1, concurrency=50, keep_completed=Retention(age=3600, count=100)),
    # one job at a time, so the order jobs run in is the order they are taken in
    QueuePolicy("t-prio", attempts=2, backoff=Backoff.fixed(0.1), concurrency=1),
    QueuePolicy("t-aging", attempts=1, concurrency=1, priority_aging=2),
    # a short lease: a try whose outcome a Redis failover swallowed runs again within seconds
    QueuePolicy(
        "t-failover", attempts=5, concurrency=8, lease=2, keep_completed=Retention(age=3600, count=100_000)
    ),
    # a poison job among healthy ones, all claimed in one batch
    QueuePolicy("t-poison", attempts=2, concurrency=10, lease=30),
    # a sync task that outlives its timeout leaves its thread behind, holding its slot
    QueuePolicy("t-stuck", attempts=1, concurrency=2, timeout=0.3),
]


async def _record(ctx) -> None:
    key = f"{ctx.host.settings.redis_prefix}:runs:{ctx.job_id}"
    await ctx.host.engine.redis.rpush(key, repr(time.time()))


async def noop() -> None:
    return None


async def mark(label: str, ctx) -> str:
    """Append `label` to the test's list of runs, in the order the tries start."""
    await ctx.host.engine.redis.rpush(f"{ctx.host.settings.redis_prefix}:order", label)
    return label


async def add(a: int, b: int, ctx) -> int:
    await _record(ctx)
    return a + b


def add_sync(a: int, b: int) -> int:
    return a + b


async def fail(times: int, ctx) -> str:
    """Fail the first `times` tries, then succeed."""
    await _record(ctx)
    if ctx.attempt <= times:
        raise RuntimeError(f"try {ctx.attempt} fails on purpose")
    return "ok"


async def permanent(ctx) -> None:
    await _record(ctx)
    raise PermanentError("corrupt input")


async def retry_later(delay: float, ctx) -> str:
    await _record(ctx)
    if ctx.attempt == 1:
        raise RetryLater("busy", delay=delay)
    return "ok"


async def sleep(seconds: float, ctx) -> str:
    await _record(ctx)
    await asyncio.sleep(seconds)
    return "slept"


async def sleep_noting_cancel(seconds: float, ctx) -> str:
    """Sleeps; records a CancelledError it gets before passing it on."""
    await _record(ctx)
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        await ctx.host.engine.redis.rpush(f"{ctx.host.settings.redis_prefix}:cancelled", ctx.job_id)
        raise
    return "slept"


def until_cancelled(seconds: float, ctx) -> str:
    """A sync task that checks `ctx.cancelled` as it goes."""
    ctx.log("started")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ctx.cancelled:
            return "stopped early"
        time.sleep(0.02)
    return "ran to the end"


def sleep_sync(seconds: float) -> str:
    time.sleep(seconds)
    return "slept"


async def stubborn(seconds: float) -> str:
    """Ignores cancellation (a badly written task): only the end of its process stops it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.05)
    return "done"


async def gather(ctx, seconds: float = 0) -> dict:
    """Returns what its dependencies returned (after `seconds`)."""
    await _record(ctx)
    await asyncio.sleep(seconds)
    return await ctx.dependency_results()


def progress(steps: int, ctx) -> str:
    """A sync task reporting from its thread."""
    for step in range(1, steps + 1):
        ctx.progress(100 * step / steps, f"step {step}", step=step)
        ctx.log(f"line {step}")
    return "done"


def crash() -> None:
    """A poison job: kills the worker process running it."""
    os._exit(3)


async def hold(key: str, fail_first: bool, ctx) -> str:
    """Each try runs until the test sets Redis key `<key>:<try>` (under its prefix); then the first
    fails if `fail_first`."""
    await _record(ctx)
    redis = ctx.host.engine.redis
    while not await redis.exists(f"{ctx.host.settings.redis_prefix}:{key}:{ctx.attempt}"):
        await asyncio.sleep(0.01)
    if fail_first and ctx.attempt == 1:
        raise RuntimeError("the first try fails on purpose")
    return "held"


def not_json() -> object:
    return {1, 2}


@hookimpl
def register_queues(register):
    for policy in QUEUES:
        register(policy)


@hookimpl
def register_tasks(register):
    for fn, queue in [
        (noop, "t-basic"),
        (add, "t-basic"),
        (add_sync, "t-basic"),
        (fail, "t-basic"),
        (permanent, "t-basic"),
        (retry_later, "t-basic"),
        (progress, "t-basic"),
        (not_json, "t-basic"),
        (sleep, "t-lease"),
        (sleep_sync, "t-lease"),
        (stubborn, "t-lease"),
        (crash, "t-lease"),
        (hold, "t-lease"),
        (sleep, "t-poison"),
        (crash, "t-poison"),
        (sleep_sync, "t-stuck"),
        (sleep, "t-slow"),
        (gather, "t-slow"),
        (gather, "t-basic"),
        (sleep, "t-basic"),
        (sleep_noting_cancel, "t-slow"),
        (until_cancelled, "t-slow"),
        (sleep_sync, "t-timeout"),
        (sleep, "t-timeout"),
        (noop, "t-keep"),
        (permanent, "t-keep"),
        (sleep, "t-rate"),
        (noop, "t-bulk"),
        (mark, "t-prio"),
        (mark, "t-aging"),
        (add, "t-failover"),
    ]:
        register(fn, queue=queue, name=f"{queue}.{fn.__name__}")


@hookimpl
def register_schedules(register):
    register("t-every-second", cron="* * * * * *", task="t-bulk.noop")
    register("t-minutely", cron="* * * * *", task="t-keep.noop")
