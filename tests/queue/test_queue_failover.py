"""Redis going away under a running deployment: a restart (the pooled connections all break), and
a Sentinel failover with the primary SIGKILLed mid-drain, with and without
JOBHOST_REDIS_MIN_REPLICAS. Each test runs redis-servers of its own (tests/redis_topologies.py)
and real worker processes, and stops them by pid."""

from __future__ import annotations

import asyncio

import pytest

from jobhost.queue.errors import NotReplicated
from jobhost.settings import Settings
from jobhost.testing import discard
from tests.queue.queue_support import load_host, runs
from tests.queue.test_queue_processes import Procs, until
from tests.redis_topologies import RedisProcess, SentinelGroup

pytestmark = pytest.mark.slow


async def test_outcomes_recorded_right_after_a_redis_restart(tmp_path, prefix):
    """Every pooled connection is broken by the restart; each write goes out again on a fresh
    one instead of failing (which made the worker lose the outcome and run the job again)."""
    server = RedisProcess(tmp_path, "--appendonly", "yes", "--appendfsync", "always", "--save", "").start()
    host = load_host(
        Settings(redis_url=f"redis://{server.address}/0", redis_prefix=prefix, load_plugins=("testjobs",))
    )
    try:
        for _ in range(40):
            await host.enqueue("t-basic.add", {"a": 1, "b": 1})
        claimed = (await host.engine.claim("t-basic", "w-1", 40, 60, None)).jobs
        await asyncio.gather(*(host.engine.redis.ping() for _ in range(20)))  # a pool of many
        server.stop()
        server.start()
        outcomes = await asyncio.gather(
            *(host.engine.fail(job, "boom", None, 60) for job in claimed[:20]),
            *(host.engine.complete(job, 2) for job in claimed[20:]),
        )
        assert outcomes == [True] * 40
        counts = await host.engine.counts("t-basic")
        assert (counts["delayed"], counts["completed"], counts["active"]) == (20, 20, 0)
    finally:
        await discard(host)
        server.stop()


class Producer:
    """Enqueues jobs one after another, as API requests would, through whatever happens to Redis;
    keeps the ids Redis acknowledged, and counts the calls that failed (the caller was told)."""

    def __init__(self, host) -> None:
        self.host = host
        self.acked: list[str] = []
        self.refused = 0
        self.not_replicated: list[str] = []

    async def run(self, total: int, concurrency: int = 8) -> None:
        """Until `total` were acknowledged, at a pace workers keep up with (~300 a second)."""
        await asyncio.gather(*(self._one_by_one(total) for _ in range(concurrency)))

    async def _one_by_one(self, total: int) -> None:
        while len(self.acked) < total:
            await asyncio.sleep(0.025)
            try:
                self.acked.append((await self.host.enqueue("t-failover.add", {"a": 1, "b": 2})).id)
            except NotReplicated as exc:  # stored, maybe lost: the API answers 503 with the ids
                self.not_replicated += exc.job_ids
            except Exception:
                self.refused += 1
                await asyncio.sleep(0.05)


@pytest.mark.parametrize("min_replicas", [0, 1])
async def test_sentinel_failover_mid_drain(tmp_path, prefix, min_replicas):
    """SIGKILL the primary while workers drain and jobs keep coming: the Sentinels promote the
    replica, and the workers and the enqueueing side carry on, without a restart, on the new
    primary. With an asynchronous replica, jobs acknowledged in the last moment before the crash
    may be lost (counted, and printed); with JOBHOST_REDIS_MIN_REPLICAS=1 none is."""
    group = SentinelGroup(tmp_path).start()
    procs = Procs(prefix, tmp_path)
    env = {"JOBHOST_REDIS_MIN_REPLICAS": str(min_replicas)}
    settings = Settings.from_env(
        {"REDIS_URL": group.url, "JOBHOST_REDIS_PREFIX": prefix, "JOBHOST_LOAD_PLUGINS": "testjobs", **env}
    )
    host = load_host(settings)
    try:
        for _ in range(2):
            procs.worker("t-failover", REDIS_URL=group.url, **env)
        await until(lambda: _workers(host, 2), 60)
        producer = Producer(host)
        producing = asyncio.create_task(producer.run(2000))
        await until(lambda: _mid_drain(host, producer), 60)
        old = group.primary.port
        # Cut the replica off first (it cannot log in again), so the primary acknowledges
        # writes its replica never gets for a moment, then crash it: the window an
        # asynchronous replica loses.
        primary = group.primary.client()
        primary.config_set("requirepass", "cut-off")
        primary.client_kill_filter(_type="replica")
        cut_at = len(producer.acked)
        await asyncio.sleep(0.3)
        group.primary.kill()
        killed_at = len(producer.acked)
        group.wait_promoted(old)
        group.primary.start()  # the machine comes back: the Sentinels make it the new replica
        await asyncio.wait_for(producing, 120)

        async def settled():
            jobs = [await host.engine.job(job_id) for job_id in producer.acked]
            return all(job is None or job.state == "completed" for job in jobs) and jobs

        jobs = await until(settled, 90, every=0.5)
        lost = [job_id for job_id, job in zip(producer.acked, jobs, strict=True) if job is None]
        twice = [job_id for job_id in producer.acked if len(await runs(host, job_id)) > 1]
        print(
            f"\nfailover (min_replicas={min_replicas}): {len(producer.acked)} acknowledged, "
            f"{killed_at - cut_at} of them while the replica was cut off, {len(lost)} lost, "
            f"{len(twice)} ran more than once, {producer.refused} enqueue calls refused, "
            f"{len(producer.not_replicated)} answered not-replicated"
        )
        # Without WAIT, jobs acknowledged after the failover were lost too (once the old primary
        # came back; seen in most runs under load, cause not yet found): counted above, not asserted.
        if min_replicas:
            assert lost == [] and producer.not_replicated  # the window's enqueues were answered 503
        else:
            assert lost  # acknowledged, and gone: what JOBHOST_REDIS_MIN_REPLICAS is for
    finally:
        procs.stop_all()
        await host.engine.close()
        group.stop()


async def _workers(host, n: int) -> bool:
    return len(await host.engine.workers()) >= n


async def _mid_drain(host, producer: Producer) -> bool:
    return len(producer.acked) >= 600 and (await host.engine.counts("t-failover"))["completed"] >= 300
