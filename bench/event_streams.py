"""Job status, login and enqueue latency with 1,000 job event streams open, against none.

    python bench/event_streams.py [--streams 1000] [--requests 200]

One app (real Redis at 127.0.0.1:6379 under a fresh prefix, SQLite in a temp dir) served by
uvicorn on this event loop; the streams are raw HTTP/1.1 connections held open on a waiting job.
Prints median and p95 of each request kind, idle and loaded, and their ratios. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jobhost.http import create_app
from jobhost.store.migrate import upgrade
from jobhost.store.passwords import hash_password
from jobhost.testing import build_host, discard
from tests.http import jobs_demo
from tests.http.conftest import PASSWORD, Api, serve
from tests.security.test_event_streams import close, open_streams


async def timed(call) -> float:
    start = time.perf_counter()
    response = await call()
    assert response.status_code < 300, response.text
    return time.perf_counter() - start


async def measure(api: Api, headers: dict[str, str], job_id: str, requests: int) -> dict[str, list[float]]:
    email = "ann@example.org"
    kinds = {
        "status": lambda: api.client.get(f"/api/jobs/{job_id}", headers=headers),
        "enqueue": lambda: api.client.post("/api/demo/jobs", json={}, headers=headers),
        "login": lambda: api.client.post("/api/auth/login", json={"email": email, "password": PASSWORD}),
    }
    found: dict[str, list[float]] = {kind: [] for kind in kinds}
    for i in range(requests):
        for kind, call in kinds.items():
            if kind != "login" or i % 20 == 0:  # scrypt costs ~0.4 s a login
                found[kind].append(await timed(call))
    return found


def p95(values: list[float]) -> float:
    return sorted(values)[int(0.95 * (len(values) - 1))]


async def main(streams: int, requests: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "JOBHOST_SSE_STREAMS_PER_USER": str(streams),
            "JOBHOST_LOGIN_ACCOUNT_LIMIT": "10000/min",
            "JOBHOST_LOGIN_ADDRESS_LIMIT": "10000/min",
        }
        host = build_host(jobs_demo, tmp_path=Path(tmp), **env)
        await upgrade(host)
        app = create_app(host)
        try:
            async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as client:
                api = Api(host, client, url, hash_password(PASSWORD), app)
                _, headers = await api.user("ann@example.org")
                job_id = (await client.post("/api/demo/jobs", json={}, headers=headers)).json()["job_id"]
                idle = await measure(api, headers, job_id, requests)
                opened = await open_streams(url, f"/api/jobs/{job_id}/events", headers, streams)
                assert all(status == 200 for status, _ in opened)
                try:
                    loaded = await measure(api, headers, job_id, requests)
                finally:
                    await close([writer for _, writer in opened])
        finally:
            await discard(host)
    print(f"{streams} open event streams; medians and p95 in ms, loaded/idle ratio of medians")
    for kind in idle:
        a, b = statistics.median(idle[kind]) * 1000, statistics.median(loaded[kind]) * 1000
        print(
            f"  {kind:8} idle {a:7.2f} (p95 {p95(idle[kind]) * 1000:7.2f})  "
            f"loaded {b:7.2f} (p95 {p95(loaded[kind]) * 1000:7.2f})  ratio {b / a:5.2f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(main(args.streams, args.requests))
