"""Durable events: each plugin's `handle_event` runs as a job of its `events.<plugin>` queue, on the
real Redis and the embedded store alike."""

from __future__ import annotations

import asyncio
import threading
import time
import types

import pytest
from taskiq import TaskiqDepends

import jobhost
from jobhost import JobContext, QueuePolicy, hookimpl
from jobhost.events import ATTEMPTS, delivery_id, queue_name
from jobhost.testing import settled
from tests.polling import until

REDIS_URL = "redis://127.0.0.1:6379/0"


def plugin(**hooks) -> types.SimpleNamespace:
    return types.SimpleNamespace(**{name: hookimpl(fn) for name, fn in hooks.items()})


@pytest.fixture(params=["redis", "embedded"])
def redis_env(request) -> dict[str, str]:
    return {"REDIS_URL": REDIS_URL} if request.param == "redis" else {}


class Recorder:
    """A subscribing plugin that keeps what it saw; `failures` tries raise first, and each try
    takes `delay` seconds."""

    def __init__(self, failures: int = 0, delay: float = 0.0) -> None:
        self.tries: list[tuple[str, str, dict]] = []
        self.done: dict[str, dict] = {}  # event id → data: the effect, once per event id
        self.failures = failures
        self.delay = delay

    def plugin(self) -> types.SimpleNamespace:
        async def handle_event(event, host):
            self.tries.append((event.id, event.name, event.data))
            await asyncio.sleep(self.delay)
            if len(self.tries) <= self.failures:
                raise ConnectionError("the mail relay is down")
            self.done.setdefault(event.id, event.data)

        return plugin(handle_event=handle_event)


@jobhost.task("producer.make", queue="producer")
async def make(n: int, fail: bool = False, ctx: JobContext = TaskiqDepends()) -> int:
    await ctx.host.emit("thing.made", {"n": n}, source="producer")
    if fail:
        raise jobhost.PermanentError("the try fails after emitting")
    return n


@jobhost.task("producer.make_in_thread", queue="producer")
def make_in_thread(n: int, fail: bool = False, data: object = None, ctx: JobContext = TaskiqDepends()) -> int:
    """A sync task (it runs in a thread, with no event loop to await on) emits through its JobContext."""
    assert threading.current_thread() is not threading.main_thread()
    ctx.emit("thing.made", {"n": n, "thread": True} if data is None else data, source="producer")
    if fail:
        raise jobhost.PermanentError("the try fails after emitting")
    return n


def producer() -> types.SimpleNamespace:
    def register_tasks(register):
        register(make)
        register(make_in_thread)

    return plugin(
        register_queues=lambda register: register(QueuePolicy("producer")),
        register_tasks=register_tasks,
    )


def test_every_plugin_that_handles_events_gets_an_events_queue_it_owns(make_host):
    host = make_host(("watcher", Recorder().plugin()), ("producer", producer()))
    policy = host.registry.queues["events.watcher"]
    assert policy.attempts == ATTEMPTS and policy.backoff.delay_for(1) == 5
    assert host.registry.tasks["watcher.handle_event"].queue == "events.watcher"
    listed = host.registry.plugins["watcher"].contribution.summary()
    assert listed["queues"][0]["name"] == "events.watcher"
    assert "events.producer" not in host.registry.queues  # it handles no events
    assert queue_name("Flyer OCR") == "events.flyer-ocr"


async def test_an_event_emitted_outside_a_job_is_delivered_by_a_worker(make_host, redis_env):
    recorder = Recorder()
    host = make_host(("watcher", recorder.plugin()), **redis_env)
    async with host.worker():
        event = await host.emit("thing.made", {"n": 1}, source="route")
        await until(lambda: recorder.done)
    assert recorder.done == {event.id: {"n": 1}}
    job = await host.job(delivery_id("events.watcher", event.id))
    assert job is not None and job.state == "completed"
    assert job.kwargs == {"event_id": event.id, "name": "thing.made", "data": {"n": 1}, "source": "route"}


async def delayed(host, job_id: str):
    """The job, once its failed try has put it back to wait for its backoff."""
    job = await host.job(job_id)
    return job if job is not None and job.state == "delayed" else None


async def test_a_failing_handler_is_retried_with_backoff_and_its_effect_happens_once(make_host, redis_env):
    recorder = Recorder(failures=1)
    host = make_host(("watcher", recorder.plugin()), **redis_env)
    async with host.worker():
        event = await host.emit("thing.made", {"n": 2})
        job_id = delivery_id("events.watcher", event.id)
        job = await until(lambda: delayed(host, job_id))
        assert "ConnectionError: the mail relay is down" in job.errors[0].error
        assert 4 <= job.run_at.timestamp() - time.time() <= 5.5  # the events queue's backoff: 5 s first
        # The same event emitted again by a relay that crashed half-way: the delivery is found.
        await host.events.deliver([event.as_kwargs()])
        await host.engine.retry(job_id)  # drive the clock: the delayed try runs now
        done = await host.wait(job_id, timeout=10)
    assert done.state == "completed" and done.attempt == 2
    assert [t[0] for t in recorder.tries] == [event.id, event.id]  # the same id on every try
    assert recorder.done == {event.id: {"n": 2}}


async def test_a_handler_that_keeps_failing_ends_in_the_dead_set(make_host, redis_env):
    recorder = Recorder(failures=ATTEMPTS)
    host = make_host(("watcher", recorder.plugin()), **redis_env)
    async with host.worker():
        event = await host.emit("thing.made", {"n": 3})
        job_id = delivery_id("events.watcher", event.id)
        for attempt in range(1, ATTEMPTS):
            await until(lambda attempt=attempt: len(recorder.tries) >= attempt)
            await until(lambda: delayed(host, job_id))
            await host.engine.retry(job_id)
        dead = await host.wait(job_id, timeout=10)
    assert dead.state == "dead" and len(dead.errors) == ATTEMPTS
    page = await host.engine.list_jobs("events.watcher", "dead")
    assert [j.id for j in page.jobs] == [job_id]


async def test_events_of_a_job_go_out_when_it_completes_and_never_when_it_fails(make_host, redis_env):
    recorder = Recorder()
    host = make_host(("watcher", recorder.plugin()), ("producer", producer()), **redis_env)
    async with host.worker():
        failed = await host.enqueue("producer.make", {"n": 4, "fail": True})
        assert (await host.wait(failed.id)).state == "dead"
        done = await host.enqueue("producer.make", {"n": 5})
        assert (await host.wait(done.id)).state == "completed"
        await until(lambda: recorder.done)
        await asyncio.sleep(0.2)
    assert list(recorder.done.values()) == [{"n": 5}]
    assert await host.engine.outbox(["producer"], 10) == []  # relayed and gone


async def test_a_sync_task_emits_through_its_job_context_held_with_its_try(make_host, redis_env):
    recorder = Recorder()
    host = make_host(("watcher", recorder.plugin()), ("producer", producer()), **redis_env)
    async with host.worker():
        failed = await host.enqueue("producer.make_in_thread", {"n": 7, "fail": True})
        assert (await host.wait(failed.id)).state == "dead"
        done = await host.enqueue("producer.make_in_thread", {"n": 8})
        assert (await host.wait(done.id)).state == "completed"
        await settled(host)
    assert list(recorder.done.values()) == [{"n": 8, "thread": True}]
    (event_id,) = recorder.done
    delivery = await host.job(delivery_id("events.watcher", event_id))
    assert delivery is not None and delivery.kwargs["source"] == "producer"


async def test_a_crash_between_completing_and_relaying_loses_no_event(make_host, redis_env):
    """The completion script keeps the try's events in the queue's outbox: a worker killed before
    it relayed them leaves them to the next worker's relay."""
    recorder = Recorder()
    host = make_host(("watcher", recorder.plugin()), ("producer", producer()), **redis_env)
    await host.engine.setup()
    job = await host.enqueue("producer.make", {"n": 6})
    claim = await host.engine.claim("producer", "doomed", 1, 30, None)
    (claimed,) = claim.jobs
    event = {"event_id": "e" * 32, "name": "thing.made", "data": {"n": 6}, "source": "producer"}
    assert await host.engine.complete(claimed, 6, [event])  # …and the worker dies here
    assert (await host.job(job.id)).state == "completed"  # type: ignore[union-attr]
    assert recorder.tries == []
    async with host.worker():
        await until(lambda: recorder.done)
    assert recorder.done == {"e" * 32: {"n": 6}}


async def test_settled_waits_for_every_event_so_far_to_reach_its_handlers(make_host, redis_env):
    """`jobhost.testing.settled`: the events of jobs that completed are relayed and handled (each
    handler takes 0.3 s) before it returns; an event left in an outbox with no worker to relay it
    holds it until it times out."""
    recorder = Recorder(delay=0.3)
    host = make_host(("watcher", recorder.plugin()), ("producer", producer()), **redis_env)
    async with host.worker():
        jobs = [await host.enqueue("producer.make", {"n": n}) for n in range(3)]
        assert [(await host.wait(job.id)).state for job in jobs] == ["completed"] * 3
        await settled(host)
        assert sorted(data["n"] for data in recorder.done.values()) == [0, 1, 2]
    # A try completed by a worker that died before relaying its event: the event waits in the
    # outbox, not yet in any events queue, and no worker runs to relay it.
    await host.enqueue("producer.make", {"n": 3})
    (claimed,) = (await host.engine.claim("producer", "gone", 1, 30, None)).jobs
    event = {"event_id": "e" * 32, "name": "thing.made", "data": {"n": 3}, "source": "producer"}
    assert await host.engine.complete(claimed, 3, [event])
    with pytest.raises(TimeoutError):
        await settled(host, timeout=0.5)


async def test_event_data_must_be_json(make_host):
    host = make_host(("watcher", Recorder().plugin()))
    with pytest.raises(TypeError, match=r"event 'thing.made' data\['at'\] is a set"):
        await host.emit("thing.made", {"at": {1}})


async def test_a_sync_task_that_emits_data_that_is_not_json_fails_its_try_naming_it(make_host):
    host = make_host(("watcher", Recorder().plugin()), ("producer", producer()))
    async with host.worker():
        job = await host.enqueue("producer.make_in_thread", {"n": 9, "data": [1, 2]})
        failed = await until(lambda: delayed(host, job.id))
    assert "TypeError: event 'thing.made': data must be a dict, got list" in failed.errors[0].error
