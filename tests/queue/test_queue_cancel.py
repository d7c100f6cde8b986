"""Cancelling running jobs: async tasks get CancelledError, sync tasks see `ctx.cancelled`; the
job ends cancelled and is not retried. In both modes (and a worker process killed mid-cancel)."""

from __future__ import annotations

import asyncio
import time

import pytest

from jobhost.queue import JobStateError
from jobhost.worker import running_worker
from tests.queue.queue_support import runs


async def until_state(host, job_id: str, state: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while (await host.job(job_id)).state != state:
        assert time.monotonic() < deadline, f"job {job_id} not {state} within {timeout}s"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("task", ["sleep_noting_cancel", "until_cancelled"])
async def test_cancelling_a_running_job_stops_it_and_it_ends_cancelled(host, task):
    job = await host.enqueue(f"t-slow.{task}", {"seconds": 30})  # t-slow: 3 attempts
    async with running_worker(host, ["t-slow"]):
        await until_state(host, job.id, "active")
        await asyncio.sleep(0.1)  # well inside the task
        asked = time.monotonic()
        cancelling = await host.engine.cancel(job.id)
        assert (cancelling.state, cancelling.cancelling) == ("active", True)
        done = await host.engine.wait(job.id, timeout=10)
        took = time.monotonic() - asked
        after = await host.enqueue("t-slow.sleep", {"seconds": 0})  # the slot is free again
        assert (await host.engine.wait(after.id, timeout=10)).state == "completed"
    assert (done.state, done.attempt, done.errors, done.cancelling) == ("cancelled", 1, (), False)
    assert took < 3  # the worker hears of it with its next heartbeat, every second
    if task == "sleep_noting_cancel":
        assert len(await runs(host, job.id)) == 1
        noted = await host.engine.redis.lrange(f"{host.settings.redis_prefix}:cancelled", 0, -1)
        assert noted == [job.id]  # the task itself got CancelledError
    assert (await host.job(job.id)).state == "cancelled"  # and nothing retried it
    with pytest.raises(JobStateError, match="only jobs that have not ended"):
        await host.engine.cancel(job.id)


async def test_a_cancelled_job_whose_worker_is_gone_ends_cancelled(host):
    engine = host.engine
    job = await host.enqueue("t-slow.sleep", {"seconds": 30})
    (taken,) = (await engine.claim("t-slow", "gone-worker", 1, 30, None)).jobs
    await engine.cancel(job.id)
    await engine.redis.zadd(engine.keys.alive("t-slow"), {"gone-worker": 0})  # it stopped beating
    await engine.tick(["t-slow"])
    done = await host.job(job.id)
    assert (done.state, done.errors) == ("cancelled", ())
    assert not await engine.complete(taken, "late")  # its late outcome counts for nothing
