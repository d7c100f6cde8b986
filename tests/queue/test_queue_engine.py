"""Retries and backoff, dead set and replay, pause, retention, delays, progress, timeouts: in both modes."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from jobhost.policy import RateLimit
from jobhost.queue import JobInputError, JobNotFound, JobStateError
from jobhost.queue.consumer import Asking
from jobhost.queue.history import day_number
from jobhost.scheduler import Scheduler
from jobhost.worker import running_worker
from tests.queue.queue_support import runs


async def test_retries_wait_base_times_two_to_the_n_minus_one(host):
    job = await host.enqueue("t-basic.fail", {"times": 3})  # backoff exponential 0.5 s, 4 attempts
    async with running_worker(host, ["t-basic"]):
        done = await host.engine.wait(job.id, timeout=20)
    assert (done.state, done.attempt) == ("completed", 4)
    starts = await runs(host, job.id)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # When a gap is late, the states say where the time went: the tick moving the job back
    # (delayed → waiting) or the claim taking it (waiting → active).
    events = await host.engine.history(job.id)
    states = " ".join(f"{e['state']}@{e['at'] % 100_000}" for e in events if e["type"] == "state")
    for gap, wanted in zip(gaps, [0.5, 1.0, 2.0], strict=True):
        assert wanted <= gap <= wanted + 1.2, f"gaps {gaps}, wanted {wanted}; states (ms) {states}"


async def test_retry_later_sets_its_own_delay(host):
    job = await host.enqueue("t-basic.retry_later", {"delay": 0.3})
    async with running_worker(host, ["t-basic"]):
        done = await host.engine.wait(job.id, timeout=10)
    assert done.state == "completed"
    first, second = await runs(host, job.id)
    assert 0.3 <= second - first <= 1.5
    assert done.errors[0].error == "RetryLater: busy"


async def test_replay_from_dead_set_checks_edited_kwargs(host):
    job = await host.enqueue("t-basic.fail", {"times": 99})
    async with running_worker(host, ["t-basic"]):
        dead = await host.engine.wait(job.id, timeout=15)
    assert dead.state == "dead"
    with pytest.raises(JobInputError, match="unexpected keyword argument 'extra'"):
        await host.engine.replay(job.id, {"times": 0, "extra": 1})
    with pytest.raises(JobInputError, match=r"kwargs\['times'\] is a datetime"):
        await host.engine.replay(job.id, {"times": datetime.now(UTC)})
    assert (await host.job(job.id)).state == "dead"  # a refused edit loses nothing
    # No worker runs now: a running one could take the job before the replay reads it back.
    replayed = await host.engine.replay(job.id, {"times": 0})
    assert (replayed.state, replayed.attempt, replayed.kwargs) == ("waiting", 0, {"times": 0})
    async with running_worker(host, ["t-basic"]):
        done = await host.engine.wait(job.id, timeout=10)
    assert (done.state, done.result, done.attempt) == ("completed", "ok", 1)
    assert len(done.errors) == 4  # the history of the dead run stays
    assert (await host.engine.counts("t-basic"))["dead"] == 0


async def test_retry_refuses_a_waiting_job_and_unknown_ids(host):
    job = await host.enqueue("t-basic.noop")
    with pytest.raises(JobStateError, match="is waiting"):
        await host.engine.retry(job.id)
    with pytest.raises(JobNotFound):
        await host.engine.retry("t-basic:0000")
    with pytest.raises(JobNotFound):
        await host.engine.retry("no-queue-part")
    assert await host.job("no-queue-part") is None


async def test_paused_queue_takes_nothing_until_resumed(host):
    async with running_worker(host, ["t-basic"]):
        await host.engine.pause("t-basic")
        assert await host.engine.is_paused("t-basic")
        job = await host.enqueue("t-basic.add", {"a": 1, "b": 2})
        await asyncio.sleep(1.5)
        assert (await host.job(job.id)).state == "waiting"
        overview = {q["name"]: q for q in await host.engine.overview()}
        assert overview["t-basic"]["paused"] is True
        assert overview["t-basic"]["counts"]["waiting"] == 1
        await host.engine.resume("t-basic")
        done = await host.engine.wait(job.id, timeout=10)
    assert done.state == "completed"


async def test_retention_trims_finished_jobs_by_count_then_age(host):
    # t-keep keeps 3 completed and 2 dead jobs, each for 1.5 s
    done_ids = [(await host.enqueue("t-keep.noop")).id for _ in range(6)]
    dead_ids = [(await host.enqueue("t-keep.permanent")).id for _ in range(4)]
    async with running_worker(host, ["t-keep"]):
        deadline = time.monotonic() + 10
        while await host.engine.totals("t-keep") != {"completed": 6, "failed": 4, "dead": 4}:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        counts = await host.engine.counts("t-keep")
        assert (counts["completed"], counts["dead"]) == (3, 2)
        kept = {j.id for j in (await host.engine.list_jobs("t-keep", "completed")).jobs}
        assert len(kept) == 3
        for job_id in set(done_ids) - kept:
            assert await host.job(job_id) is None
        deadline = time.monotonic() + 6
        while sum((await host.engine.counts("t-keep")).values()) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
    assert sum((await host.engine.counts("t-keep")).values()) == 0
    assert all([await host.job(job_id) is None for job_id in done_ids + dead_ids])


async def test_delayed_and_run_at_jobs_never_run_early(host):
    delayed = await host.enqueue("t-basic.add", {"a": 1, "b": 1}, delay=1.0)
    soon = datetime.now(UTC) + timedelta(seconds=1.5)
    at = await host.enqueue("t-basic.add", {"a": 2, "b": 2}, run_at=soon)
    assert (delayed.state, at.state) == ("delayed", "delayed")
    async with running_worker(host, ["t-basic"]):
        first = await host.engine.wait(delayed.id, timeout=10)
        second = await host.engine.wait(at.id, timeout=10)
    late = (first.started_at - first.created_at).total_seconds()
    assert 1.0 <= late <= 2.2
    assert at.run_at <= second.started_at <= at.run_at + timedelta(seconds=1.2)
    with pytest.raises(JobInputError, match="timezone-aware"):
        await host.enqueue("t-basic.noop", run_at=datetime.now())


async def test_cancel_clean_and_remove(host):
    later = await host.enqueue("t-basic.noop", delay=60)
    cancelled = await host.engine.cancel(later.id)
    assert cancelled.state == "cancelled"
    with pytest.raises(JobStateError, match="is cancelled"):
        await host.engine.cancel(later.id)
    waiting = [await host.enqueue("t-basic.noop") for _ in range(3)]
    assert await host.engine.clean("t-basic", "waiting") == 3
    assert await host.engine.remove(later.id) is True
    assert await host.engine.remove(later.id) is False
    assert sum((await host.engine.counts("t-basic")).values()) == 0
    assert all([await host.job(j.id) is None for j in waiting])
    assert await host.engine.redis.xlen(host.engine.keys.stream("t-basic")) == 0


async def test_listing_is_paginated_newest_first(host):
    ids = [j.id for j in [await host.enqueue("t-basic.noop") for _ in range(25)]]
    first = await host.engine.list_jobs("t-basic", "waiting", offset=0, limit=10)
    last = await host.engine.list_jobs("t-basic", "waiting", offset=20, limit=10)
    assert first.total == 25
    assert len(first.jobs) == 10 and len(last.jobs) == 5
    assert {j.id for j in first.jobs + last.jobs} <= set(ids)
    assert first.jobs[0].created_at >= last.jobs[-1].created_at
    with pytest.raises(JobInputError, match="state must be one of"):
        await host.engine.list_jobs("t-basic", "failed")
    with pytest.raises(JobInputError, match="unknown queue 'nope'"):
        await host.engine.list_jobs("nope", "waiting")


async def test_progress_and_log_lines_arrive_in_order_before_the_outcome(host):
    job = await host.enqueue("t-basic.progress", {"steps": 3})
    seen = []
    async with running_worker(host, ["t-basic"]):
        async for _, event in host.engine.events(job.id):
            seen.append(event)
    done = await host.job(job.id)
    assert done.logs == ("line 1", "line 2", "line 3")
    assert done.progress == {"percent": 100.0, "message": "step 3", "step": 3}
    assert [e["line"] for e in seen if e["type"] == "log"] == ["line 1", "line 2", "line 3"]
    states = [e["state"] for e in seen if e["type"] == "state"]
    assert states[0] == "waiting" and states[-1] == "completed" and "active" in states
    assert seen[-1] == {**seen[-1], "type": "state", "state": "completed"}
    assert seen[-2]["type"] in ("log", "progress")  # everything written before the outcome


async def test_events_resume_after_the_last_id_seen(host):
    job = await host.enqueue("t-basic.add", {"a": 1, "b": 1})
    first = []
    async for event_id, event in host.engine.events(job.id):
        first.append((event_id, event))
        break
    async with running_worker(host, ["t-basic"]):
        rest = [event async for _, event in host.engine.events(job.id, first[0][0])]
    assert first[0][1]["state"] == "waiting"
    assert [e["state"] for e in rest] == ["active", "completed"]


async def test_timeouts_fail_the_try_for_async_and_sync_tasks(host):
    sync_job = await host.enqueue("t-timeout.sleep_sync", {"seconds": 1.5})
    async_job = await host.enqueue("t-timeout.sleep", {"seconds": 30})
    async with running_worker(host, ["t-timeout"]):
        sync_done = await host.engine.wait(sync_job.id, timeout=15)
        async_done = await host.engine.wait(async_job.id, timeout=15)
    for done in (sync_done, async_done):
        assert (done.state, done.attempt) == ("dead", 2)
        assert all(e.error.startswith("JobTimeout: timed out after 0.5s") for e in done.errors)


async def test_non_json_result_is_a_permanent_failure(host):
    job = await host.enqueue("t-basic.not_json")
    async with running_worker(host, ["t-basic"]):
        done = await host.engine.wait(job.id, timeout=10)
    assert (done.state, done.attempt) == ("dead", 1)
    assert "result is a set, not JSON" in done.errors[0].error


async def test_heartbeat_lists_the_worker_and_stats_count_outcomes(host):
    async with running_worker(host, ["t-basic"]) as worker:
        ok = await host.enqueue("t-basic.noop")
        bad = await host.enqueue("t-basic.permanent")
        await host.engine.wait(ok.id, timeout=10)
        await host.engine.wait(bad.id, timeout=10)
        beats = {w["id"]: w for w in await host.engine.workers()}
        assert beats[worker.id]["queues"] == {"t-basic": 4}
        assert beats[worker.id]["pid"] > 0
    assert worker.id not in {w["id"] for w in await host.engine.workers()}
    assert await host.engine.totals("t-basic") == {"completed": 1, "failed": 1, "dead": 1}
    # Over two minutes: the minute may have turned between the completion and this read.
    assert (await host.engine.rates("t-basic", minutes=2))["completed"] == 0.5
    assert sum(m["completed"] for m in await host.engine.throughput("t-basic", minutes=2)) == 1


async def test_each_utc_day_keeps_its_counts_and_a_duration_histogram(host):
    """The per-day history reports read: completed, failed tries, retried, dead, durations."""
    async with running_worker(host, ["t-basic", "t-lease"]):
        jobs = [
            await host.enqueue("t-basic.noop"),
            await host.enqueue("t-basic.fail", {"times": 1}),  # a failed try, retried, then completed
            await host.enqueue("t-basic.permanent"),  # a failed try, dead
            await host.enqueue("t-lease.sleep", {"seconds": 0.3}),
        ]
        done = [await host.engine.wait(job.id, timeout=20) for job in jobs]
    today = datetime.now(UTC).date()
    [day] = await host.engine.days("t-basic", today, 1)
    assert (day.first, day.completed, day.failed, day.retried, day.dead) == (today, 2, 2, 1, 1)
    assert day.tries == 4  # every try is timed, failed ones too
    [slow] = await host.engine.days("t-lease", today, 1)
    took = (done[3].finished_at - done[3].started_at).total_seconds() * 1000
    assert slow.max_ms == round(took) and 300 <= slow.max_ms < 5000
    assert slow.percentile_ms(0.5) == slow.percentile_ms(0.95) == slow.max_ms  # one try: its own bucket
    # the days around it are empty, and a week adds up to the same
    before, same, after = await host.engine.days("t-basic", today - timedelta(days=1), 3)
    assert (before.completed, before.tries, before.max_ms, after.completed) == (0, 0, None, 0)
    assert same == day
    ttl = await host.engine.redis.ttl(host.engine.keys.day("t-basic", day_number(today)))
    assert 8 * 86400 < ttl <= 9 * 86400  # kept long enough for last week's report


async def test_long_job_outliving_its_lease_runs_once(host):
    # t-lease: 2 s lease; the job runs 5 s while another worker watches the queue
    job = await host.enqueue("t-lease.sleep", {"seconds": 5})
    async with running_worker(host, ["t-lease"]), running_worker(host, ["t-lease"]):
        done = await host.engine.wait(job.id, timeout=20)
    assert (done.state, done.attempt, done.errors) == ("completed", 1, ())
    assert len(await runs(host, job.id)) == 1


async def test_scheduler_after_downtime_runs_the_latest_missed_fire_once(host, caplog):
    await host.engine.redis.hset(host.engine.keys.schedule_last(), "t-minutely", int(time.time()) - 3600)
    caplog.set_level(logging.WARNING, "jobhost.scheduler")
    scheduler = Scheduler(host)
    await scheduler.catch_up(time.time())
    await scheduler.catch_up(time.time())  # a second scheduler starting too: still one job
    page = await host.engine.list_jobs("t-keep", "waiting")
    assert [j.task for j in page.jobs] == ["t-keep.noop"]
    assert "fire(s) missed" in caplog.text and "running only the latest" in caplog.text


async def test_bulk_enqueue_keeps_the_stream_bounded(host, mode):
    n = 10_000 if mode == "redis" else 2_000
    ids = await host.engine.enqueue_many("t-bulk.noop", [{}] * n)
    assert len(set(ids)) == n
    async with running_worker(host, ["t-bulk"]):
        deadline = time.monotonic() + 90
        while (await host.engine.totals("t-bulk"))["completed"] < n and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
    assert (await host.engine.totals("t-bulk"))["completed"] == n
    stream = host.engine.keys.stream("t-bulk")
    assert await host.engine.redis.xlen(stream) == 0
    assert (await host.engine.redis.xpending(stream, "workers"))["pending"] == 0
    assert (await host.engine.counts("t-bulk"))["completed"] == 100  # retention count


async def test_group_exists_before_the_first_job_and_workers_take_only_free_slots(host):
    jobs = [await host.enqueue("t-lease.sleep", {"seconds": 1.0}) for _ in range(5)]
    stream = host.engine.keys.stream("t-lease")
    groups = await host.engine.redis.xinfo_groups(stream)
    assert [(g["name"], g["last-delivered-id"]) for g in groups] == [("workers", "0-0")]
    async with running_worker(host, ["t-lease"]):  # concurrency 2
        await asyncio.sleep(0.5)
        counts = await host.engine.counts("t-lease")
        assert (counts["active"], counts["waiting"]) == (2, 3)
        assert (await host.engine.redis.xpending(stream, "workers"))["pending"] == 2
        for job in jobs:
            await host.engine.wait(job.id, timeout=15)


async def test_events_and_wait_follow_a_retried_job_to_its_new_end(host):
    job = await host.enqueue("t-basic.add", {"a": 1, "b": 1})
    async with running_worker(host, ["t-basic"]):
        assert (await host.engine.wait(job.id, timeout=10)).result == 2
    await host.engine.retry(job.id, {"a": 2, "b": 2})
    waiting = asyncio.create_task(host.engine.wait(job.id, timeout=20))
    await asyncio.sleep(0.5)
    assert not waiting.done()  # the old run's `completed` ends nothing
    async with running_worker(host, ["t-basic"]):
        states = [e["state"] async for _, e in host.engine.events(job.id) if e["type"] == "state"]
        done = await waiting
    assert (done.state, done.result, done.attempt) == ("completed", 4, 1)
    assert states == ["waiting", "active", "completed"]  # this run only
    ttl = await host.engine.redis.ttl(host.engine.keys.events(job.id))
    assert ttl > 0  # expires after the new end, not the old one


async def test_the_group_forgets_consumers_of_gone_workers(host):
    """Each worker process joins the group as a consumer; one that stopped reading, with nothing
    pending, is dropped, so restarts and crash loops do not grow the group for ever."""
    await host.engine.setup(["t-basic"])
    stream = host.engine.keys.stream("t-basic")
    for worker in ("gone-1", "gone-2"):
        assert (await host.engine.claim("t-basic", worker, 1, 30, None)).kind == "idle"
    job = await host.enqueue("t-basic.add", {"a": 1, "b": 1})
    busy = (await host.engine.claim("t-basic", "busy", 1, 30, None)).jobs[0]  # one pending entry
    assert busy.id == job.id
    await asyncio.sleep(0.1)
    await host.engine.redis.delete(f"{host.engine.keys.base('t-basic')}reaper")  # reap now
    await host.engine.tick(["t-basic"], dead_consumer_ms=50)
    consumers = await host.engine.redis.xinfo_consumers(stream, "workers")
    assert [c["name"] for c in consumers] == ["busy"]
    assert await host.engine.complete(busy, 2)


async def test_a_rate_limited_claim_books_the_next_free_place_ahead(host):
    """At 2 starts a second, a third job is first refused (`limited`, until 250 ms before a place
    frees), then booked for exactly one second after the first start, before that moment."""
    await host.engine.setup(["t-rate"])
    rate = RateLimit(2, 1.0)
    jobs = [await host.enqueue("t-rate.sleep", {"seconds": 0}) for _ in range(3)]
    first = await host.engine.claim("t-rate", "w", 3, 30, rate)
    assert [(j.id, j.start_in) for j in first.jobs] == [(jobs[0].id, 0), (jobs[1].id, 0)]
    refused = await host.engine.claim("t-rate", "w", 1, 30, rate)
    assert refused.kind == "limited" and 0.6 < refused.wait <= 0.75
    await asyncio.sleep(refused.wait)
    (booked,) = (await host.engine.claim("t-rate", "w", 1, 30, rate)).jobs
    assert booked.id == jobs[2].id and 0 < booked.start_in <= 0.25
    starts = {j.id: (await host.engine.job(j.id)).started_at for j in jobs}
    assert starts[jobs[2].id] - starts[jobs[0].id] == timedelta(seconds=1)


async def test_a_batch_of_successes_claims_the_next_jobs_in_the_same_call(host):
    """How a worker reports successes: the jobs are recorded (a stale try's report counts for
    nothing) and the slots they free are refilled in one call, which counts and times each job as
    if it had been recorded alone. A queue whose group Redis lost is regrouped, with the
    successes recorded once."""
    await host.engine.setup(["t-basic"])
    jobs = [await host.enqueue("t-basic.noop") for _ in range(7)]
    first = await host.engine.claim("t-basic", "w", 3, 30, None, "busy")
    stale = attrs.evolve(first.jobs[2], sid="0-1")
    done = [(first.jobs[0], "a", ""), (first.jobs[1], "b", ""), (stale, "late", "")]
    asking = Asking("w", 3, 30, None, "busy")
    recorded, refill = await host.engine.complete_and_claim("t-basic", done, asking)
    assert recorded == [True, True, False]
    assert [j.id for j in refill.jobs] == [j.id for j in jobs[3:6]]
    assert [(await host.job(j.id)).result for j in jobs[:2]] == ["a", "b"]
    assert {(await host.job(j.id)).state for j in jobs[2:6]} == {"active"}
    await host.engine.redis.xgroup_destroy(host.engine.keys.stream("t-basic"), "workers")
    done = [(job, "c", "") for job in (first.jobs[2], *refill.jobs)]
    recorded, last = await host.engine.complete_and_claim("t-basic", done, asking)
    assert recorded == [True] * 4 and [j.id for j in last.jobs] == [jobs[6].id]
    assert await host.engine.totals("t-basic") == {"completed": 6, "failed": 0, "dead": 0}
    [day] = await host.engine.days("t-basic", datetime.now(UTC).date(), 1)
    assert (day.completed, day.tries) == (6, 6)


async def test_a_burst_of_commands_beyond_a_hundred_waits_for_none(host):
    """redis-py 8 caps a pool at 100 connections and fails the next command at once; a process
    with more in flight (a thousand event streams opening) must not fail them."""
    key = f"{host.engine.keys.base('t-basic')}burst"  # one hash slot on a Cluster
    # A cold Cluster client's concurrent first commands trip over each other's discovery of the
    # nodes (redis-py); a host's start has made its first commands before any burst.
    await host.engine.redis.get(key)
    replies = await asyncio.gather(*(host.engine.redis.blpop([key], timeout=0.5) for _ in range(150)))
    assert replies == [None] * 150
