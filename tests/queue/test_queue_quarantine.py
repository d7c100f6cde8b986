"""Jobs back from a dead worker (suspects) run alone, so a job that kills its worker takes no
healthy batch-mate with it: the quarantine in the engine and the worker's lane, in both modes.
The same with real worker processes is in test_queue_processes.py."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from jobhost.worker import running_worker
from tests.polling import until


async def worker_died(engine, queue: str, worker: str) -> None:
    """`worker` stopped beating; the next tick reaps its jobs (its guard cleared for this test)."""
    await engine.redis.zadd(engine.keys.alive(queue), {worker: 0})
    await engine.redis.delete(f"{engine.keys.base(queue)}reaper")
    await engine.tick([queue])


async def suspects(engine, queue: str) -> list[str]:
    return await engine.redis.zrange(engine.keys.state(queue, "suspects"), 0, -1)


async def test_jobs_of_a_dead_worker_come_back_suspects_with_their_tries(host):
    engine = host.engine
    jobs = [await host.enqueue("t-slow.sleep", {"seconds": 0}) for _ in range(3)]
    taken = await engine.claim("t-slow", "gone-worker", 3, 30, None, "idle")
    assert [j.suspect for j in taken.jobs] == [False] * 3
    await worker_died(engine, "t-slow", "gone-worker")
    back = [await host.job(j.id) for j in jobs]
    assert [(j.state, j.attempt) for j in back] == [("waiting", 0)] * 3  # the try is not counted
    assert all("beside others: not counted" in j.errors[0].error for j in back)
    assert sorted(await suspects(engine, "t-slow")) == sorted(j.id for j in jobs)
    # a busy worker is told to drain; an idle one gets one suspect, and only that one
    assert (await engine.claim("t-slow", "busy-worker", 5, 30, None, "busy")).kind == "drain"
    claim = await engine.claim("t-slow", "idle-worker", 5, 30, None, "idle")
    (suspect,) = claim.jobs
    assert (suspect.suspect, suspect.attempt) == (True, 1)
    assert len(await suspects(engine, "t-slow")) == 2


async def test_a_suspect_whose_worker_dies_again_is_convicted_and_goes_dead(host):
    engine = host.engine  # t-slow: 3 tries
    job = await host.enqueue("t-slow.sleep", {"seconds": 0})
    mate = await host.enqueue("t-slow.sleep", {"seconds": 0})
    await engine.claim("t-slow", "w0", 2, 30, None, "busy")
    await worker_died(engine, "t-slow", "w0")  # beside `mate`: not counted
    for n in range(1, 4):
        claim = await engine.claim("t-slow", f"w{n}", 1, 30, None, "idle")
        if claim.jobs[0].id == mate.id:  # the batch-mate's turn: it completes, cleared
            assert await engine.complete(claim.jobs[0], "slept")
            claim = await engine.claim("t-slow", f"w{n}", 1, 30, None, "idle")
        (taken,) = claim.jobs
        assert (taken.id, taken.suspect, taken.attempt) == (job.id, True, n)
        await worker_died(engine, "t-slow", f"w{n}")
    done = await host.job(job.id)
    assert (done.state, done.attempt) == ("dead", 3)
    assert [e.attempt for e in done.errors] == [1, 1, 2, 3]
    assert "ran this job alone (3 times); no tries left: the job kills its worker" in done.errors[-1].error
    assert (await host.job(mate.id)).state == "completed"
    assert await suspects(engine, "t-slow") == []


async def test_a_solo_worker_job_counts_its_crash_at_once(host):
    engine = host.engine  # a worker that runs one job at a time: the crash is that job's
    job = await host.enqueue("t-slow.sleep", {"seconds": 0})
    await engine.claim("t-slow", "solo", 1, 30, None, "solo")
    await worker_died(engine, "t-slow", "solo")
    back = await host.job(job.id)
    assert (back.state, back.attempt) == ("waiting", 1)
    assert "ran this job alone (1 time)" in back.errors[0].error


async def test_a_suspect_put_back_at_shutdown_stays_one_and_cancel_clears_it(host):
    engine = host.engine
    job = await host.enqueue("t-slow.sleep", {"seconds": 0})
    await engine.claim("t-slow", "w0", 1, 30, None, "idle")
    await worker_died(engine, "t-slow", "w0")
    (taken,) = (await engine.claim("t-slow", "w1", 1, 30, None, "idle")).jobs
    assert await engine.put_back(taken)
    assert await suspects(engine, "t-slow") == [job.id]
    await engine.cancel(job.id)
    assert await suspects(engine, "t-slow") == []
    assert (await engine.claim("t-slow", "w2", 1, 30, None, "busy")).kind == "idle"


async def test_a_busy_worker_drains_then_runs_each_suspect_alone(host):
    engine = host.engine  # t-basic: concurrency 4
    back = [await host.enqueue("t-basic.sleep", {"seconds": 0.2}) for _ in range(2)]
    await engine.claim("t-basic", "gone-worker", 2, 30, None, "idle")
    fresh = [await host.enqueue("t-basic.sleep", {"seconds": 0.3}) for _ in range(8)]
    async with running_worker(host, ["t-basic"]) as worker:
        await until(lambda: running(host, "t-basic", 4 + 2))  # busy with fresh jobs, when ...
        await worker_died(engine, "t-basic", "gone-worker")  # ... two suspects come back
        try:
            done = [await engine.wait(j.id, timeout=20) for j in back + fresh]
        except TimeoutError:
            pytest.fail(await _stalled(host, worker, back, fresh))
    assert [(j.state, j.attempt) for j in done] == [("completed", 1)] * 10
    spans = {j.id: (j.started_at, j.finished_at) for j in done}
    for suspect in back:
        start, end = spans[suspect.id]
        beside = [other for other, (s, e) in spans.items() if other != suspect.id and s < end and e > start]
        assert beside == [], f"suspect {suspect.id} ran beside {beside}"
    side_by_side = [
        (a.id, b.id)
        for a, b in itertools.combinations(fresh, 2)
        if spans[a.id][0] < spans[b.id][1] and spans[b.id][0] < spans[a.id][1]
    ]
    assert side_by_side  # the others still run beside each other


async def test_a_thread_left_behind_by_a_timed_out_task_does_not_hold_a_suspect_back(host):
    engine = host.engine  # t-stuck: 2 slots, 0.3 s timeout, 1 try
    suspect = await host.enqueue("t-stuck.sleep_sync", {"seconds": 0})
    await engine.claim("t-stuck", "gone-worker", 1, 30, None, "idle")
    stuck = await host.enqueue("t-stuck.sleep_sync", {"seconds": 4})
    async with running_worker(host, ["t-stuck"]):
        timed_out = await engine.wait(stuck.id, timeout=10)  # its thread sleeps on
        await worker_died(engine, "t-stuck", "gone-worker")
        done = await engine.wait(suspect.id, timeout=10)
        assert done.state == "completed"
        assert done.finished_at < timed_out.started_at + timedelta(seconds=4)  # the thread still ran
    assert timed_out.state == "dead" and "JobTimeout" in timed_out.errors[0].error


async def _stalled(host, worker, back, fresh) -> str:
    """What a worker that stopped getting through the jobs holds, and where each job is."""
    lane, q = worker.lane, worker.queues["t-basic"]
    lines = [
        f"lane: claiming={lane._claiming} exclusive={lane._exclusive} suspect={lane._suspect} "
        f"draining={lane._draining}; busy={q.busy}, running={list(q.running)}, "
        f"suspects={await suspects(host.engine, 't-basic')}"
    ]
    for kind, jobs in (("suspect", back), ("fresh", fresh)):
        for j in jobs:
            job = await host.job(j.id)
            lines.append(f"{kind} {j.id}: {job.state} try {job.attempt} {job.started_at}-{job.finished_at}")
    return "jobs not done in 20 s:\n" + "\n".join(lines)


async def running(host, queue: str, n: int) -> bool:
    return (await host.engine.counts(queue))["active"] >= n
