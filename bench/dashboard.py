"""Dashboard page render times with 100,000 jobs in a queue next to 1,000, in the same run.

    python bench/dashboard.py [--small 1000] [--large 100000] [--runs 30]

Two hosts on Redis at 127.0.0.1:6379 (fresh key prefixes, removed afterwards), each with one
queue holding `--small` or `--large` jobs (searchable payloads; a hundred of them cancelled, so
two states have jobs), and an admin signed in. Each page is fetched `--runs` times through the
app in-process (Litestar's ASGI app, no socket: the figure is the server's render time, what a
bigger queue could slow down) and the median and p95 are printed, with the large/small ratio.
Not a test: prints figures and ratios. The issue's budget: every page under 200 ms at 100,000.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from jobhost import Host, QueuePolicy, hookimpl
from jobhost.http import create_app
from jobhost.settings import Settings
from jobhost.store.accounts import Accounts
from jobhost.testing import forget_keys

REDIS = "redis://127.0.0.1:6379/0"
BASE = "/api/admin/jobs"
PASSWORD = "bench-password"


def process(flyer_id: int, email: str) -> None:
    pass


class Bench:
    @hookimpl
    def register_queues(self, register: Any) -> None:
        register(QueuePolicy("bench", search_fields=("flyer_id", "email")))

    @hookimpl
    def register_tasks(self, register: Any) -> None:
        register(process, queue="bench", name="bench.process")


async def fill(host: Host, jobs: int) -> list[str]:
    ids: list[str] = []
    for start in range(0, jobs, 10_000):
        batch = [
            {"flyer_id": n, "email": f"user{n}@example.org"} for n in range(start, min(jobs, start + 10_000))
        ]
        ids += await host.engine.enqueue_many("bench.process", batch)
    for job_id in ids[:100]:
        await host.engine.cancel(job_id)
    return ids


def pages(ids: list[str], jobs: int) -> dict[str, str]:
    last_page = (jobs - 100 + 49) // 50
    job = ids[len(ids) // 2]
    return {
        "overview": BASE,
        "queue, first page": f"{BASE}/queue/bench",
        "queue, last page": f"{BASE}/queue/bench?state=waiting&page={last_page}",
        "search flyer_id=N": f"{BASE}/queue/bench?q=flyer_id%3D{jobs // 2}",
        "search email:user1": f"{BASE}/queue/bench?q=email%3Auser1",
        "search two terms": f"{BASE}/queue/bench?q=email%3Auser1+task%3Dbench.process",
        "job": f"{BASE}/queue/bench/{job}",
        "schedules": f"{BASE}/schedules",
        "workers": f"{BASE}/workers",
        "reports": f"{BASE}/reports",
    }


@contextlib.asynccontextmanager
async def signed_in(jobs: int, data: Path) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """A host with `jobs` jobs, its app in-process, and a client signed in as an admin."""
    settings = Settings.from_env(
        {
            "REDIS_URL": REDIS,
            "JOBHOST_REDIS_PREFIX": f"jobhost-bench-{uuid.uuid4().hex[:8]}",
            "JOBHOST_DATA_DIR": str(data / str(jobs)),
            "JOBHOST_LOAD_PLUGINS": "",
        }
    )
    host = Host.load(settings, extra_plugins=[("bench", Bench())])
    try:
        await host.migrate()
        await Accounts(host.db).create_user("root@example.org", PASSWORD, is_admin=True)
        t = time.perf_counter()
        ids = await fill(host, jobs)
        print(f"  {jobs:>7,} jobs enqueued and indexed in {time.perf_counter() - t:.1f} s")
        transport = httpx.ASGITransport(app=create_app(host, own_host=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            form = {"email": "root@example.org", "password": PASSWORD}
            assert (await client.post(f"{BASE}/login", data=form)).status_code == 303
            yield client, pages(ids, jobs)
    finally:
        await host.engine.close()
        await host.database.dispose()
        forget_keys(REDIS, settings.redis_prefix)


async def timed(client: httpx.AsyncClient, url: str) -> float:
    t = time.perf_counter()
    answer = await client.get(url)
    elapsed = time.perf_counter() - t
    assert answer.status_code == 200, (url, answer.status_code)
    return elapsed


def ms(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if q != 50 else statistics.median(values) * 1000


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    small: dict[str, list[float]] = {}
    large: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as data:
        async with (
            signed_in(args.small, Path(data)) as (small_client, small_urls),
            signed_in(args.large, Path(data)) as (large_client, large_urls),
        ):
            for name in small_urls:  # alternating, so a busy moment of the machine hits both alike
                await timed(small_client, small_urls[name])  # warm up
                await timed(large_client, large_urls[name])
                small[name], large[name] = [], []
                for _ in range(args.runs):
                    small[name].append(await timed(small_client, small_urls[name]))
                    large[name].append(await timed(large_client, large_urls[name]))
    print(f"\n{'page':<20} {args.small:>8,} jobs: median  p95   {args.large:>8,} jobs: median  p95   ratio")
    for name in small:
        a, b = ms(small[name], 50), ms(large[name], 50)
        print(
            f"{name:<20} {a:>21.1f} {ms(small[name], 95):>5.1f}   {b:>21.1f} {ms(large[name], 95):>5.1f}"
            f"   {b / a:>5.2f}x"
        )
    worst = max(ms(large[name], 95) for name in large)
    print(f"\nslowest p95 at {args.large:,} jobs: {worst:.1f} ms (budget 200 ms)")


if __name__ == "__main__":
    asyncio.run(main())
