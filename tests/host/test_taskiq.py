"""Tasks are taskiq tasks on jobhost's engine: kiq, wait_result, TaskiqDepends, middlewares."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from taskiq.middlewares.opentelemetry_middleware import OpenTelemetryMiddleware

import jobhost
from jobhost import JobFailed, hookimpl
from jobhost.queue import JobInputError
from jobhost.testing import discard
from tests.host import taskiq_plugin as tq

REDIS = "redis://127.0.0.1:6379/0"
MODES = pytest.mark.parametrize("mode", ["embedded", "redis"])


def _host(make_host, mode, *extra):
    env = {"REDIS_URL": REDIS} if mode == "redis" else {}
    return make_host(("tq", tq), *extra, **env)


@MODES
async def test_kiq_and_wait_result_return_the_value(make_host, mode):
    host = _host(make_host, mode)
    async with host.worker():
        task = await tq.add.kiq(2, b=3)
        result = await task.wait_result(timeout=10)
        job = await host.job(task.task_id)
    await discard(host)
    assert (result.is_err, result.return_value) == (False, 5)
    assert task.task_id.startswith("tq:")
    assert job is not None and job.kwargs == {"a": 2, "b": 3} and job.state == "completed"


@MODES
async def test_taskiq_depends_injects_context_state_generators_and_the_job(make_host, mode):
    host = _host(make_host, mode)
    host.broker.state.greeting = "hi"
    tq.opened.clear()
    async with host.worker():
        task = await tq.inject.kicker().with_labels(colour="blue").kiq(n=7)
        result = await task.wait_result(timeout=10)
        job = await host.job(task.task_id)
        # The label was for that kick only: the task's own labels are unchanged.
        assert "colour" not in tq.inject.labels
    await discard(host)
    assert result.return_value == {
        "n": 7,
        "task_id": task.task_id,
        "label": "blue",
        "state": "hi",
        "conn": "conn-1",
        "job_id": task.task_id,
        "queue": "tq",
        "attempt": 1,
        "has_deadline": True,
        "host_ok": True,
    }
    assert tq.opened == ["open", "closed"]
    assert job.progress["percent"] == 40 and job.logs == ("hello from the task",)


async def test_a_sync_task_runs_in_a_worker_thread(make_host):
    host = _host(make_host, "embedded")
    async with host.worker():
        task = await tq.sync_task.kiq("quiet")
        result = await task.wait_result(timeout=10)
        job = await host.job(task.task_id)
    await discard(host)
    assert result.return_value["word"] == "QUIET"
    assert result.return_value["thread"].startswith("jobhost-task-")
    assert job.progress["percent"] == 50


@MODES
async def test_wait_result_waits_for_the_final_try_of_a_retried_job(make_host, mode):
    host = _host(make_host, mode)
    async with host.worker():
        task = await tq.flaky.kiq()
        # Tries 1 and 2 fail and are retried: no result is ready until try 3 completes.
        result = await task.wait_result(timeout=15, check_interval=0.05)
        job = await host.job(task.task_id)
    await discard(host)
    assert (result.is_err, result.return_value) == (False, "done on try 3")
    assert [e.attempt for e in job.errors] == [1, 2]


@MODES
async def test_wait_result_of_a_dead_job_is_an_error(make_host, mode):
    host = _host(make_host, mode)
    async with host.worker():
        task = await tq.broken.kiq()
        result = await task.wait_result(timeout=15, check_interval=0.05)
    await discard(host)
    assert result.is_err
    assert isinstance(result.error, JobFailed)
    assert "dead" in str(result.error) and "ValueError: always broken" in str(result.error)
    with pytest.raises(JobFailed):
        result.raise_for_error()


async def test_taskiq_shared_tasks_and_plain_functions_run_too(make_host):
    host = _host(make_host, "embedded")
    async with host.worker():
        native = await tq.native.kiq(4)
        legacy = await host.enqueue("tq.legacy", {"x": 1})
        assert (await native.wait_result(timeout=10)).return_value == 40
        done = await host.wait(legacy.id, timeout=10)
    await discard(host)
    assert native.task_id.startswith("tq:")
    assert (done.result, done.logs) == (2, ("legacy 1",))


async def test_a_plugins_middleware_runs_where_jobs_are_kicked_and_executed(make_host):
    host = _host(make_host, "embedded")
    tq.seen.clear()
    async with host.worker():
        ok = await tq.add.kiq(1, 1)
        await ok.wait_result(timeout=10)
        bad = await tq.broken.kicker().with_labels().kiq()
        await bad.wait_result(timeout=15, check_interval=0.05)
        await asyncio.sleep(0.1)  # post_save runs right after the outcome is written
    await discard(host)
    add_hooks = [hook for hook, name in tq.seen if name.startswith("tq.add")]
    assert add_hooks == ["pre_send", "post_send", "pre_execute", "post_execute", "post_save"]
    assert ("pre_execute", "tq.add:yes") in tq.seen  # a label added in pre_send reached the worker
    broken = [hook for hook, name in tq.seen if name.startswith("tq.broken")]
    assert broken.count("on_error") == 3  # every try of the dead job
    assert broken.count("post_save") == 3


async def test_opentelemetry_middleware_traces_the_kick_and_the_run(make_host):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    class Tracing:
        @hookimpl
        def register_middlewares(self, register):
            register(OpenTelemetryMiddleware(tracer_provider=provider))

    host = _host(make_host, "embedded", ("tracing", Tracing()))
    async with host.worker():
        task = await tq.add.kiq(20, 22)
        assert (await task.wait_result(timeout=10)).return_value == 42
        await asyncio.sleep(0.1)
    await discard(host)
    spans = exporter.get_finished_spans()
    kinds = {span.kind.name: span for span in spans}
    assert {"PRODUCER", "CONSUMER"} <= set(kinds), [s.name for s in spans]
    # The worker's span continues the trace the kick started (its context travelled in the labels).
    assert kinds["CONSUMER"].context.trace_id == kinds["PRODUCER"].context.trace_id


async def test_kiq_with_no_host_started_says_how_to_start_one():
    from taskiq import async_shared_broker

    previous = getattr(async_shared_broker, "_default_broker", None)
    async_shared_broker._default_broker = None
    try:
        with pytest.raises(jobhost.NoHostRunning, match=r"jobhost\.connect"):
            await tq.add.kiq(1, 2)
    finally:
        async_shared_broker._default_broker = previous


async def test_bad_labels_and_arguments_are_refused_naming_the_task(make_host):
    host = _host(make_host, "embedded")
    host.kick_here()
    with pytest.raises(JobInputError, match=r"tq\.add.*unexpected keyword argument 'c'"):
        await tq.add.kiq(1, b=2, c=3)
    with pytest.raises(JobInputError, match="label 'delay'"):
        await tq.add.kicker().with_labels(delay="soon").kiq(1, 2)
    with pytest.raises(JobInputError, match="runs on queue 'tq', not 'other'"):
        await tq.add.kicker().with_labels(queue="other").kiq(1, 2)
    await discard(host)


async def test_delay_label_delays_the_job(make_host):
    host = _host(make_host, "embedded")
    host.kick_here()
    task = await tq.add.kicker().with_labels(delay=30, owner="7").kiq(1, 2)
    job = await host.job(task.task_id)
    await discard(host)
    assert (job.state, job.owner) == ("delayed", "7")
    assert 29 < (job.run_at - job.created_at).total_seconds() <= 30


async def test_engine_options_are_taskiq_labels(make_host):
    host = make_host(("tq", tq))
    host.kick_here()
    first = await tq.add.kicker().with_labels(delay=60).kiq(1, 1)
    later = await tq.add.kicker().with_labels(depends_on=[first.task_id], priority=3).kiq(2, 2)
    unique = await tq.add.kicker().with_labels(unique_key="once").kiq(3, 3)
    again = await tq.add.kicker().with_labels(unique_key="once").kiq(3, 3)
    job = await host.job(later.task_id)
    assert (job.state, job.depends_on, job.priority) == ("waiting-deps", (first.task_id,), 3)
    assert again.task_id == unique.task_id  # deduplicated: the kick answers the job that exists
    assert (await host.job(unique.task_id)).state == "waiting"
    with pytest.raises(JobInputError, match="label 'depends_on'"):
        await tq.add.kicker().with_labels(depends_on=[1, 2]).kiq(1, 2)
    await discard(host)
