"""Enqueue → a worker runs the task → completed / retried / dead; in both modes."""

from __future__ import annotations

import pytest

from jobhost.queue import JobInputError
from jobhost.testing import discard
from jobhost.worker import running_worker
from tests.queue.queue_support import load_host, make_settings


async def test_enqueued_job_runs_and_completes(host):
    job = await host.enqueue("t-basic.add", {"a": 2, "b": 3}, owner="7")
    assert job.state == "waiting"
    assert job.id.startswith("t-basic:")
    async with running_worker(host, ["t-basic"]):
        done = await host.engine.wait(job.id, timeout=10)
    assert done.state == "completed"
    assert done.result == 5
    assert done.attempt == 1
    assert done.owner == "7"
    assert done.started_at is not None and done.finished_at >= done.started_at


async def test_sync_task_runs_in_a_thread(host):
    job = await host.enqueue("t-basic.add_sync", {"a": 1, "b": 1})
    async with running_worker(host, ["t-basic"]):
        done = await host.engine.wait(job.id, timeout=10)
    assert (done.state, done.result) == ("completed", 2)


async def test_failing_job_retries_then_completes(host):
    job = await host.enqueue("t-basic.fail", {"times": 1})
    async with running_worker(host, ["t-basic"]):
        done = await host.engine.wait(job.id, timeout=10)
    assert done.state == "completed"
    assert done.attempt == 2
    assert [e.attempt for e in done.errors] == [1]
    assert "try 1 fails on purpose" in done.errors[0].error
    assert "RuntimeError" in done.errors[0].traceback


async def test_job_out_of_tries_is_dead_with_every_error(host):
    job = await host.enqueue("t-basic.fail", {"times": 99})
    async with running_worker(host, ["t-basic"]):
        done = await host.engine.wait(job.id, timeout=15)
    assert done.state == "dead"
    assert done.attempt == 4
    assert [e.attempt for e in done.errors] == [1, 2, 3, 4]
    assert all("Traceback" in e.traceback for e in done.errors)
    page = await host.engine.list_jobs("t-basic", "dead")
    assert [j.id for j in page.jobs] == [job.id]


async def test_permanent_error_goes_dead_at_once(host):
    job = await host.enqueue("t-basic.permanent")
    async with running_worker(host, ["t-basic"]):
        done = await host.engine.wait(job.id, timeout=10)
    assert (done.state, done.attempt) == ("dead", 1)
    assert done.errors[0].error == "PermanentError: corrupt input"


async def test_bad_kwargs_are_refused_naming_task_and_field(host):
    with pytest.raises(JobInputError, match=r"t-basic.add.*missing a required argument: 'b'"):
        await host.enqueue("t-basic.add", {"a": 1})
    with pytest.raises(JobInputError, match=r"kwargs\['a'\] is a set, not JSON"):
        await host.enqueue("t-basic.add", {"a": {1}, "b": 2})
    with pytest.raises(JobInputError, match=r"unknown task 't-basic\.nope'"):
        await host.enqueue("t-basic.nope")
    counts = await host.engine.counts("t-basic")
    assert sum(counts.values()) == 0


async def test_concurrency_comes_from_the_queue_variable(mode, prefix, tmp_path):
    host = load_host(make_settings(mode, prefix, tmp_path, env={"T_BASIC_CONCURRENCY": "7"}))
    try:
        async with running_worker(host, ["t-basic", "t-lease"]) as worker:
            beat = {w["id"]: w for w in await host.engine.workers()}[worker.id]
        assert beat["queues"] == {"t-basic": 7, "t-lease": 2}
    finally:
        await discard(host)


def test_a_worker_consumes_every_installed_queue_with_its_variable(tmp_path):
    from jobhost.host import Host
    from jobhost.settings import Settings
    from jobhost.worker import Worker

    host = Host.load(Settings(data_dir=tmp_path, env={"WORKER_CONCURRENCY": "3"}))
    worker = Worker(host)
    wanted = {
        "flyer-processing": 3,
        "email-sending": 10,
        "analytics-reporting": 1,
        "weekly-analytics-reporting": 1,
        "file-cleanup": 10,
        "token-cleanup": 10,
        "events.email": 5,  # the deliveries of events to the plugins that handle them
        "events.analytics": 5,
    }
    assert {name: q.concurrency for name, q in worker.queues.items()} == wanted


async def test_bulk_enqueue_through_the_host_checks_every_job_first(host):
    with pytest.raises(JobInputError, match="missing a required argument: 'b'"):
        await host.enqueue_many("t-basic.add", [{"a": 1, "b": 2}, {"a": 1}])
    assert sum((await host.engine.counts("t-basic")).values()) == 0  # nothing stored
    ids = await host.enqueue_many("t-basic.add", [{"a": i, "b": 1} for i in range(5)], priority=2)
    async with running_worker(host, ["t-basic"]):
        done = [await host.engine.wait(job_id, timeout=10) for job_id in ids]
    assert [(j.result, j.priority) for j in done] == [(i + 1, 2) for i in range(5)]
