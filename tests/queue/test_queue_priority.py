"""Priorities: lower runs first, FIFO within one, kept on put-back, reap and retry; aging stops
starvation. In both modes."""

from __future__ import annotations

import pytest

from jobhost.queue import JobInputError
from jobhost.worker import running_worker


async def ran(host) -> list[str]:
    return await host.engine.redis.lrange(f"{host.settings.redis_prefix}:order", 0, -1)


async def enqueue_all(host, queue: str, jobs: list[tuple[str, int]]) -> list:
    return [await host.enqueue(f"{queue}.mark", {"label": label}, priority=p) for label, p in jobs]


async def drain(host, queue: str, jobs) -> None:
    async with running_worker(host, [queue]):
        for job in jobs:
            assert (await host.engine.wait(job.id, timeout=15)).state == "completed"


async def test_lower_priority_runs_first_fifo_within_one(host):
    order = [("a5", 5), ("b0", 0), ("c1", 1), ("d5", 5), ("e0", 0), ("f1", 1), ("g3", 3)]
    jobs = await enqueue_all(host, "t-prio", order)
    assert [j.state for j in jobs] == ["waiting" if p == 0 else "prioritized" for _, p in order]
    counts = await host.engine.counts("t-prio")
    assert (counts["waiting"], counts["prioritized"]) == (2, 5)
    page = await host.engine.list_jobs("t-prio", "prioritized")
    assert {(j.kwargs["label"], j.priority) for j in page.jobs} == {
        ("a5", 5),
        ("c1", 1),
        ("d5", 5),
        ("f1", 1),
        ("g3", 3),
    }
    await drain(host, "t-prio", jobs)
    assert await ran(host) == ["b0", "e0", "c1", "f1", "g3", "a5", "d5"]


async def test_a_put_back_job_keeps_its_place_and_a_reaped_one_runs_first(host):
    first, second, third = await enqueue_all(host, "t-prio", [("x2", 2), ("y2", 2), ("z1", 1)])
    engine = host.engine
    # a worker takes z1, then x2, hands z1 back (a shutdown) and dies: x2 is reaped
    taken = await engine.claim("t-prio", "gone-worker", 2, 30, None)
    assert [j.id for j in taken.jobs] == [third.id, first.id]
    assert await engine.put_back(taken.jobs[0])
    await engine.redis.zadd(engine.keys.alive("t-prio"), {"gone-worker": 0})  # its heartbeat ran out
    await engine.redis.delete(f"{engine.keys.base('t-prio')}reaper")
    await engine.tick(["t-prio"])
    # x2 is a suspect now: it waits ahead of the line, to run alone (test_queue_quarantine.py)
    states = [(await host.job(j.id)).state for j in (first, second, third)]
    assert states == ["waiting", "prioritized", "prioritized"]
    await drain(host, "t-prio", [first, second, third])
    assert await ran(host) == ["x2", "z1", "y2"]
    assert (await host.job(first.id)).errors[0].error.startswith("WorkerLost")


async def test_a_failed_try_comes_back_to_its_old_place(host):
    engine = host.engine
    first, second = await enqueue_all(host, "t-prio", [("first", 4), ("second", 4)])
    (taken,) = (await engine.claim("t-prio", "w", 1, 30, None)).jobs
    assert taken.id == first.id
    assert await engine.fail(taken, "RuntimeError: once", None, retry_in=0)
    assert (await host.job(first.id)).state == "delayed"
    await engine.tick(["t-prio"])  # due now: back in line, ahead of the job enqueued after it
    (again,) = (await engine.claim("t-prio", "w", 1, 30, None)).jobs
    assert (again.id, again.attempt) == (first.id, 2)
    assert (await host.job(second.id)).state == "prioritized"


async def test_aging_lets_an_old_low_priority_job_pass(host, mode):
    # t-aging: a job gains a level per 2 jobs enqueued after it; t-prio has no aging
    for queue in ("t-prio", "t-aging"):
        low = await host.enqueue(f"{queue}.mark", {"label": f"{queue}-low"}, priority=3)
        rest = await enqueue_all(host, queue, [(f"{queue}-{i}", 0) for i in range(8)])
        await drain(host, queue, [low, *rest])
    order = await ran(host)
    plain, aged = order[:9], order[9:]
    assert plain[-1] == "t-prio-low"  # strict: starved until every job without priority ran
    assert aged[0] == "t-aging-low"  # 8 later enqueues >= 3 levels × 2: its turn came


async def test_priority_is_checked(host):
    for bad in (-1, 2**21 + 1, 1.5, True, "1"):
        with pytest.raises(JobInputError, match="priority must be"):
            await host.enqueue("t-prio.mark", {"label": "x"}, priority=bad)
