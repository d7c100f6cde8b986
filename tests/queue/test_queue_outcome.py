"""An enqueue that Redis does not answer: it is settled by its job id before the caller hears of
it. Lost on the way there: fenced, so it never runs, and the caller is told nothing was stored.
Its answer lost: the job is found and returned. Redis hung (SIGSTOP) throughout: the caller is
told the outcome is unknown, with the job id, which (and a retry with the same idempotency key)
tells the truth once Redis is back. Each test runs a redis-server of its own."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Iterator

import pytest
from redis.exceptions import TimeoutError as RedisTimeoutError

from jobhost.queue import producer
from jobhost.queue.errors import EnqueueIncomplete, EnqueueUnanswered
from jobhost.queue.flow import Flow
from jobhost.settings import Settings
from jobhost.testing import discard
from jobhost.worker import running_worker
from tests.queue.queue_support import load_host
from tests.redis_topologies import RedisProcess
from tests.relay import Relay

pytestmark = pytest.mark.slow

TASK = "t-basic.add"


@pytest.fixture
def redis_process(tmp_path):
    server = RedisProcess(tmp_path, "--save", "", "--appendonly", "no").start()
    yield server
    if server.proc is not None:
        os.kill(server.proc.pid, signal.SIGCONT)  # a stopped server cannot stop
    server.stop()


@pytest.fixture
def host_on(prefix, tmp_path):
    """A host on the Redis at a port (its fixture discards it)."""

    def make(port: int):
        url = f"redis://127.0.0.1:{port}/0"
        return load_host(
            Settings(redis_url=url, redis_prefix=prefix, load_plugins=("testjobs",), data_dir=tmp_path)
        )

    return make


@pytest.fixture
async def host(redis_process, host_on):
    """A host on the test's own Redis, straight (no relay)."""
    host = host_on(redis_process.port)
    yield host
    await discard(host)


@contextlib.contextmanager
def frozen(server: RedisProcess) -> Iterator[None]:
    """Redis hangs (SIGSTOP) inside the block."""
    assert server.proc is not None
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)


@pytest.fixture
async def relayed(redis_process, host_on):
    """`await relayed(marker)`: a Relay in front of the test's Redis, and a host on it."""
    made = []

    async def make(marker: str = TASK):
        relay = await Relay(redis_process.port, marker).start()
        made.append((relay, host_on(relay.port)))
        return made[-1]

    yield make
    for relay, host in made:
        await discard(host)
        await relay.stop()


@pytest.fixture
def quick(monkeypatch):
    """Redis answers an enqueue within a second here (10 s in production), so the tests are quick."""
    monkeypatch.setattr(producer, "ANSWER_TIMEOUT", 1.0)
    monkeypatch.setattr(producer, "SETTLE_TIMEOUT", 1.0)


async def test_an_enqueue_lost_on_the_way_is_fenced_and_never_runs(relayed, quick):
    relay, host = await relayed()
    await host.enqueue(TASK, {"a": 0, "b": 0})  # the queue is set up, the script loaded
    relay.mode = "hold"
    with pytest.raises(RedisTimeoutError, match="it was not stored") as refused:
        await host.enqueue(TASK, {"a": 1, "b": 2})
    assert not isinstance(refused.value, EnqueueUnanswered)  # a sure answer: nothing was done
    await relay.release()  # the enqueue reaches Redis after all
    async with running_worker(host, ["t-basic"]):
        done = await host.enqueue(TASK, {"a": 5, "b": 5})
        await host.wait(done.id, timeout=20)
    counts = await host.engine.counts("t-basic")
    assert counts["completed"] == 2 and sum(counts.values()) == 2  # the late one stored nothing


async def test_an_enqueue_whose_answer_is_lost_returns_its_job_once(relayed, quick):
    relay, host = await relayed()
    await host.enqueue(TASK, {"a": 0, "b": 0})
    relay.mode = "drop answers"
    job = await host.enqueue(TASK, {"a": 1, "b": 2})  # the client's retries lose theirs too
    assert job.kwargs == {"a": 1, "b": 2} and job.state == "waiting"
    assert (await host.engine.counts("t-basic"))["waiting"] == 2


async def test_an_enqueue_into_a_hung_redis_is_unknown_and_its_id_and_key_tell_the_truth(redis_process, host):
    """The finding: Redis frozen longer than the socket timeout. With the production timeouts."""
    await host.enqueue(TASK, {"a": 0, "b": 0}, owner="ann")
    await asyncio.gather(*(host.engine.redis.ping() for _ in range(4)))  # a warm pool
    with frozen(redis_process), pytest.raises(EnqueueUnanswered) as unknown:
        await host.enqueue(TASK, {"a": 1, "b": 2}, owner="ann", idempotency_key="k-1")
    (job_id,) = unknown.value.job_ids
    stored = await host.job(job_id)  # Redis ran what its socket held: the id tells
    assert stored is not None and stored.kwargs == {"a": 1, "b": 2}
    again = await host.enqueue(TASK, {"a": 1, "b": 2}, owner="ann", idempotency_key="k-1")
    assert again.id == job_id
    assert (await host.engine.counts("t-basic"))["waiting"] == 2  # no duplicate


async def test_an_enqueue_whose_connection_breaks_returns_its_job_once(relayed):
    relay, host = await relayed()
    await host.enqueue(TASK, {"a": 0, "b": 0})
    relay.mode = "cut"  # every try of the client's: stored, then the connection breaks
    job = await host.enqueue(TASK, {"a": 1, "b": 2})
    assert job.kwargs == {"a": 1, "b": 2}
    assert (await host.engine.counts("t-basic"))["waiting"] == 2


async def test_bulk_and_flow_enqueues_whose_connection_breaks_return_their_jobs_once(relayed):
    relay, host = await relayed()
    await host.enqueue(TASK, {"a": 0, "b": 0})
    relay.mode = "cut"  # stored, then the connection breaks: settled by their ids, found
    ids = await host.enqueue_many(TASK, [{"a": i, "b": 0} for i in range(3)])
    root = await host.enqueue_flow(Flow(TASK, {"a": 1, "b": 1}, children=[Flow(TASK, {"a": 2, "b": 2})]))
    relay.mode = "pass"
    assert [(await host.job(job_id)).kwargs for job_id in ids] == [{"a": i, "b": 0} for i in range(3)]
    assert root.kwargs == {"a": 1, "b": 1} and len(root.depends_on) == 1
    counts = await host.engine.counts("t-basic")
    assert (counts["waiting"], counts["waiting-deps"]) == (5, 1)  # each stored once


@pytest.fixture
def small_chunks(monkeypatch):
    """enqueue_many sends two jobs per round trip, one per script call."""
    monkeypatch.setattr(producer, "PIPELINE_CHUNK", 2)
    monkeypatch.setattr(producer, "JOBS_PER_CALL", 1)


async def test_a_bulk_enqueue_lost_part_way_says_which_jobs_were_stored(relayed, quick, small_chunks):
    relay, host = await relayed("hold-me")
    labels = ["a", "b", "hold-me", "d", "e"]  # round trips: a b | hold-me d | e
    await host.engine.setup(["t-prio"])
    relay.mode = "hold"  # only the second round trip names the marker
    with pytest.raises(EnqueueIncomplete, match="after storing 2 of its 5 jobs") as partial:
        await host.enqueue_many("t-prio.mark", [{"label": label} for label in labels])
    assert partial.value.stored == [True, True, False, False, False]
    await relay.release()  # the held round trip reaches Redis after all: its ids are fenced
    found = [await host.job(job_id) for job_id in partial.value.job_ids]
    assert [job.kwargs["label"] if job else None for job in found] == ["a", "b", None, None, None]
    assert sum((await host.engine.counts("t-prio")).values()) == 2


async def test_a_flow_lost_on_the_way_is_fenced_whole_and_never_runs(relayed, quick):
    relay, host = await relayed()
    await host.enqueue(TASK, {"a": 0, "b": 0})
    relay.mode = "hold"
    flow = Flow(TASK, {"a": 1, "b": 1}, children=[Flow("t-prio.mark", {"label": "child"})])
    with pytest.raises(RedisTimeoutError, match="none of it was stored") as refused:
        await host.enqueue_flow(flow)
    assert not isinstance(refused.value, EnqueueUnanswered)
    await relay.release()  # the transaction runs late: every one of its jobs is refused
    assert sum((await host.engine.counts("t-basic")).values()) == 1
    assert sum((await host.engine.counts("t-prio")).values()) == 0


async def test_a_bulk_enqueue_into_a_hung_redis_names_its_jobs(redis_process, host, quick):
    await host.enqueue(TASK, {"a": 0, "b": 0})
    await asyncio.gather(*(host.engine.redis.ping() for _ in range(4)))  # a warm pool
    with frozen(redis_process), pytest.raises(EnqueueUnanswered) as unknown:
        await host.enqueue_many(TASK, [{"a": i, "b": 0} for i in range(3)])
    assert len(unknown.value.job_ids) == 3
    assert all([await host.job(job_id) for job_id in unknown.value.job_ids])  # Redis ran them
