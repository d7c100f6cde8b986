"""What JOBHOST_REDIS_MIN_REPLICAS=1 costs an enqueue: the same enqueues, in the same run, on a
primary with one replica, without and with waiting for the replica (Redis WAIT).

    python bench/replicas.py [--jobs 3000] [--concurrency 16]

Starts its own primary and replica (no persistence, in a temp dir; tests/redis_topologies.py)
and stops them by pid. Not a test: prints figures and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jobhost import QueuePolicy, hookimpl  # noqa: E402
from jobhost.host import Host  # noqa: E402
from jobhost.settings import Settings  # noqa: E402
from tests.redis_topologies import RedisProcess  # noqa: E402


def noop() -> None:
    pass


class Bench:
    @hookimpl
    def register_queues(self, register):
        register(QueuePolicy("bench"))

    @hookimpl
    def register_tasks(self, register):
        register(noop, queue="bench", name="bench.noop")


async def run(url: str, replicas: int, jobs: int, concurrency: int) -> tuple[float, list[float]]:
    settings = Settings(
        redis_url=url, redis_prefix=f"bench-{replicas}", load_plugins=(), redis_min_replicas=replicas
    )
    host = Host.load(settings, extra_plugins=[("bench", Bench())])
    latencies: list[float] = []
    left = jobs

    async def user() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            started = time.perf_counter()
            await host.enqueue("bench.noop")
            latencies.append((time.perf_counter() - started) * 1000)

    for _ in range(200):  # warm-up: connections, scripts
        await host.enqueue("bench.noop")
    started = time.perf_counter()
    await asyncio.gather(*(user() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await host.engine.close()
    return jobs / elapsed, latencies


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        keep = ("--save", "", "--appendonly", "no")
        primary = RedisProcess(Path(tmp), *keep).start()
        replica = RedisProcess(Path(tmp), *keep, "--replicaof", "127.0.0.1", str(primary.port)).start()
        try:
            while replica.client().info("replication")["master_link_status"] != "up":
                time.sleep(0.05)
            url = f"redis://{primary.address}/0"
            results = {n: asyncio.run(run(url, n, args.jobs, args.concurrency)) for n in (0, 1)}
        finally:
            replica.stop()
            primary.stop()
    print(f"{args.jobs} enqueues, {args.concurrency} in flight, a primary with one replica")
    for n, (rate, lat) in results.items():
        print(
            f"  JOBHOST_REDIS_MIN_REPLICAS={n}: {rate:7.0f} enqueues/s   "
            f"p50 {pct(lat, 50):5.2f} ms   p99 {pct(lat, 99):5.2f} ms"
        )
    print(
        f"with WAIT / without: throughput {results[1][0] / results[0][0]:.2f}x, "
        f"p50 latency {pct(results[1][1], 50) / pct(results[0][1], 50):.2f}x"
    )


if __name__ == "__main__":
    main()
