"""Lease renewal against outcomes: a job whose outcome is recorded while its renewal is on the way
is not reported lost; a lease really lost still is. Both races are driven, in both modes: the
test holds the worker's renewal (a wrapper around the real `Engine.renew`) until it has made the
other side happen."""

from __future__ import annotations

import asyncio
import logging

from jobhost.worker import running_worker
from tests.polling import until


def lease_warnings(caplog) -> list[str]:
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    return [message for message in warnings if "lease" in message]


async def release(host, try_: int) -> None:
    """Let try `try_` of the test's `hold` job end."""
    await host.engine.redis.set(f"{host.settings.redis_prefix}:go:{try_}", "1")


async def job_is(host, job_id: str, state: str, attempt: int | None = None) -> bool:
    job = await host.job(job_id)
    return job.state == state and attempt in (None, job.attempt)


async def test_a_job_that_failed_and_ran_again_while_its_renewal_was_on_the_way_is_not_lost(host, caplog):
    caplog.set_level(logging.INFO, "jobhost.worker")
    engine = host.engine
    job = await host.enqueue("t-lease.hold", {"key": "go", "fail_first": True})
    real_renew = engine.renew
    reported: list[str] = []

    async def renew_after_the_outcome(queue, jobs, lease):
        jobs = list(jobs)
        if reported or not any(j.id == job.id and j.attempt == 1 for j in jobs):
            return await real_renew(queue, jobs, lease)
        # This renewal carries try 1. Before it reaches Redis, the try fails, and its retry
        # (0.2 s later) is taken: the job is active again, under another token.
        await release(host, 1)
        await until(lambda: job_is(host, job.id, "active", 2))
        reported.extend(lost := await real_renew(queue, jobs, lease))
        await release(host, 2)
        return lost

    engine.renew = renew_after_the_outcome
    async with running_worker(host, ["t-lease"]):
        done = await engine.wait(job.id, timeout=20)
    assert (done.state, done.attempt, done.result) == ("completed", 2, "held")
    assert reported == [job.id]  # the race happened: Redis answered that another try holds it
    assert lease_warnings(caplog) == []


async def test_a_lease_lost_to_another_worker_is_still_reported(host, caplog):
    caplog.set_level(logging.INFO, "jobhost.worker")
    engine = host.engine
    job = await host.enqueue("t-lease.hold", {"key": "go", "fail_first": False})
    real_renew = engine.renew
    stalled = asyncio.Event()  # set: renewals wait (the worker stalls) until it is cleared
    resumed = asyncio.Event()

    async def stalling_renew(queue, jobs, lease):
        if stalled.is_set():
            await resumed.wait()
        return await real_renew(queue, jobs, lease)

    engine.renew = stalling_renew

    async def warned(n: int) -> bool:
        return len(lease_warnings(caplog)) >= n

    async with running_worker(host, ["t-lease"]):
        await until(lambda: job_is(host, job.id, "active"))
        stalled.set()  # its lease runs out; the reaper hands the job back; another worker takes it
        await engine.redis.zadd(engine.keys.state("t-lease", "leases"), {job.id: 0})
        await until(lambda: job_is(host, job.id, "waiting"))
        (taken,) = (await engine.claim("t-lease", "other-worker", 1, 30, None, "idle")).jobs
        assert taken.id == job.id
        resumed.set()
        await until(lambda: warned(1))
        await release(host, 1)  # this worker's try ends: its result is refused
        await until(lambda: warned(2))
    assert lease_warnings(caplog) == [
        f"job {job.id}: lease lost (this worker was too slow to renew it)",
        f"job {job.id}: its lease was lost before it finished; result discarded",
    ]
    assert await job_is(host, job.id, "active")  # the other worker's try holds it


async def test_a_renewal_that_reaches_redis_after_the_completion_reports_nothing(host):
    engine = host.engine  # the order of the race the worker cannot see: complete, then renew
    job = await host.enqueue("t-slow.sleep", {"seconds": 0})
    (taken,) = (await engine.claim("t-slow", "w", 1, 30, None, "idle")).jobs
    assert await engine.complete(taken, "slept")
    assert await engine.renew("t-slow", [taken], 30) == []
    assert await engine.redis.zscore(engine.keys.state("t-slow", "leases"), job.id) is None  # not revived
