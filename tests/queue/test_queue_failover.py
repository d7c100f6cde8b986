"""Redis going away under a running deployment: a restart (the pooled connections all break), and
a Sentinel failover with the primary SIGKILLed mid-drain, with and without
JOBHOST_REDIS_MIN_REPLICAS. Each test runs redis-servers of its own (tests/redis_topologies.py)
and real worker processes, and stops them by pid."""

from __future__ import annotations

import asyncio

import pytest

from jobhost.queue.connection import connect, connect_sync
from jobhost.queue.errors import NotReplicated
from jobhost.settings import Settings
from jobhost.testing import discard
from tests.polling import until
from tests.queue.queue_support import load_host, runs
from tests.queue.test_queue_processes import Procs
from tests.redis_topologies import SERVICE, RedisProcess, SentinelGroup

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

    lanes = 8  # enqueues in flight at once

    async def run(self, total: int) -> None:
        """Until `total` were acknowledged, at a pace workers keep up with (~300 a second)."""
        await asyncio.gather(*(self._one_by_one(total) for _ in range(self.lanes)))

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
        # The event loop stood still through those two calls: the answers of the enqueues in
        # flight meanwhile (one per producer lane) are read first once it runs again, and those
        # enqueues may have run, and reached the replica, before the cut. Every later one was
        # sent after it.
        cut_at = len(producer.acked) + producer.lanes
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
        cut_off = set(producer.acked[cut_at:killed_at])
        twice = [job_id for job_id in producer.acked if len(await runs(host, job_id)) > 1]
        print(
            f"\nfailover (min_replicas={min_replicas}): {len(producer.acked)} acknowledged, "
            f"{len(cut_off)} of them while the replica was cut off, {len(lost)} lost "
            f"({len(cut_off.intersection(lost))} of those), {len(twice)} ran more than once, "
            f"{producer.refused} enqueue calls refused, "
            f"{len(producer.not_replicated)} answered not-replicated"
        )
        if min_replicas:
            assert lost == [] and producer.not_replicated  # the window's enqueues were answered 503
        else:
            # Acknowledged by the primary alone, and gone with it: what JOBHOST_REDIS_MIN_REPLICAS
            # is for. In about one run in four more are lost: jobs acknowledged after the
            # failover by the rebooted old primary before Sentinel demoted it (cause not found
            # yet, docs/operators.md says so): counted above, not asserted.
            assert cut_off and cut_off <= set(lost)
    finally:
        procs.stop_all()
        await host.engine.close()
        group.stop()


async def _workers(host, n: int) -> bool:
    return len(await host.engine.workers()) >= n


async def _mid_drain(host, producer: Producer) -> bool:
    return len(producer.acked) >= 600 and (await host.engine.counts("t-failover"))["completed"] >= 300


async def test_clients_follow_the_promoted_replica_while_a_failover_ends(tmp_path):
    """Until a failover ends (every other replica reconfigured, or failover-timeout), the leading
    Sentinel's SENTINEL MASTERS still names the old primary, back up by then, as a healthy
    primary: a client that asked that (redis-py does) wrote to it for the ~10 s until Sentinel
    made it a replica, and those writes were gone. A second replica that cannot sync with the new
    primary holds the failover open here, so the moment is not a race."""
    group = SentinelGroup(tmp_path, failover_timeout_ms=60_000)
    # logs in with the password the old primary is given below, which the new one refuses
    stuck = RedisProcess(
        tmp_path,
        "--save",
        "",
        "--appendonly",
        "no",
        config=f"replicaof 127.0.0.1 {group.primary.port}\nreplica-priority 0\nmasterauth cut-off\n",
    )
    try:
        old, new = group.start().primary, group.replica
        old.client().config_set("requirepass", "cut-off")
        stuck.start()
        await until(lambda: _sentinels_see_replicas(group, 2), 30)
        old.client(password="cut-off").client_kill_filter(_type="replica")  # only `stuck` is back
        old.kill()
        group.wait_promoted(old.port)
        old.start()  # the machine comes back (no persistence: empty), a primary until Sentinel says
        leader = await until(lambda: _still_naming(group, old.port), 30, every=0.1)
        url = (
            f"redis+sentinel://{leader.address},"
            + ",".join(s.address for s in group.sentinels if s is not leader)
            + f"/{SERVICE}/0"
        )
        settings = Settings(redis_url=url, redis_prefix="unused")
        client, blocking = connect(settings), connect_sync(settings)
        try:
            await client.set("written-by", "async client")
            blocking.set("written-too-by", "sync client")
        finally:
            await client.aclose()
            blocking.close()
        # on the new primary (the old one, demoted ~10 s after it came back, would drop them)
        assert new.client().mget("written-by", "written-too-by") == ["async client", "sync client"]
    finally:
        stuck.stop()
        group.stop()


async def _sentinels_see_replicas(group: SentinelGroup, n: int) -> bool:
    return all(int(s.client().sentinel_master(SERVICE)["num-slaves"]) >= n for s in group.sentinels)


async def _still_naming(group: SentinelGroup, old_port: int) -> RedisProcess | None:
    """The Sentinel whose SENTINEL MASTERS names the restarted old primary as a primary up."""
    for sentinel in group.sentinels:
        state = sentinel.client().sentinel_master(SERVICE)
        if int(state["port"]) == old_port and not (state["is_sdown"] or state["is_odown"]):
            return sentinel
    return None
