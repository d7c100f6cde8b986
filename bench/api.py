"""POST-to-202 enqueue over HTTP: jobhost's API against a bare Litestar route doing a plain
taskiq-redis `kiq`, in the same run, each served by one uvicorn worker process.

    python bench/api.py [--requests 3000] [--concurrency 16] [--rate 600] [--seconds 15]

Two loads per server: closed loop (N requests, `--concurrency` in flight: throughput and
latency) and open loop at `--rate` req/s for `--seconds` (the latency a steady rate sees).
Jobs go to Redis at 127.0.0.1:6379 under a fresh key prefix (removed afterwards); nothing
consumes them. Not a test: prints figures and ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import httpx
from litestar import post
from litestar.di import NamedDependency

from jobhost import Host

REDIS = "redis://127.0.0.1:6379/0"


# -- the two servers (run in child processes) ----------------------------------------------------


def jobhost_app():
    from jobhost import QueuePolicy, hookimpl
    from jobhost.http import create_app

    def noop() -> None:
        pass

    @post("/bench/jobs", status_code=202)
    async def enqueue(host: NamedDependency[Host]) -> dict[str, str]:
        return {"job_id": (await host.enqueue("bench.noop")).id}

    class Bench:
        @hookimpl
        def register_queues(self, register):
            register(QueuePolicy("bench"))

        @hookimpl
        def register_tasks(self, register):
            register(noop, queue="bench", name="bench.noop")

        @hookimpl
        def register_routes(self, register):
            register(enqueue)

    return create_app(Host.load(extra_plugins=[("bench", Bench())]))


def bare_app():
    from litestar import Litestar
    from taskiq_redis import RedisStreamBroker

    broker = RedisStreamBroker(REDIS, queue_name=f"{os.environ['JOBHOST_REDIS_PREFIX']}:bare")

    @broker.task
    async def noop() -> None:
        pass

    @post("/bench/jobs", status_code=202)
    async def enqueue() -> dict[str, str]:
        return {"job_id": (await noop.kiq()).task_id}

    return Litestar([enqueue], on_startup=[broker.startup], on_shutdown=[broker.shutdown])


def serve(kind: str, port: int) -> None:
    import uvicorn

    app = jobhost_app() if kind == "jobhost" else bare_app()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- load ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(kind: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", kind, str(port)], env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.post(f"{url}/bench/jobs").status_code == 202:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"the {kind} server did not answer 202 within 30 s")


REQUEST = b"POST /bench/jobs HTTP/1.1\r\nHost: bench\r\nContent-Length: 0\r\n\r\n"


class Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough HTTP to POST and read the answer.

    httpx costs the client about a millisecond of CPU per request, and on two cores the client
    competes with the server: at 600 req/s it measured its own queueing, not the server's.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, url: str) -> Connection:
        host, port = url.removeprefix("http://").split(":")
        return cls(*await asyncio.open_connection(host, int(port)))

    async def post(self) -> float:
        """Seconds from sending the request to reading the whole 202 answer."""
        t = time.perf_counter()
        self.writer.write(REQUEST)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
        await self.reader.readexactly(length)
        elapsed = time.perf_counter() - t
        assert head.startswith(b"HTTP/1.1 202"), head
        return elapsed

    def close(self) -> None:
        self.writer.close()


async def closed_loop(url: str, requests: int, concurrency: int) -> tuple[float, list[float]]:
    """`concurrency` connections, each sending its next request when the last one is answered."""
    latencies: list[float] = []
    left = iter(range(requests))

    async def user() -> None:
        conn = await Connection.open(url)
        for _ in left:
            latencies.append(await conn.post())
        conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(user() for _ in range(concurrency)))
    return requests / (time.perf_counter() - t0), latencies


async def open_loop(url: str, rate: float, seconds: float) -> tuple[float, list[float]]:
    """Requests started on a fixed schedule, whether or not earlier ones were answered (a new
    connection when no idle one is free), so a slow server cannot slow the offered load."""
    latencies: list[float] = []
    # Used in turn, so none sits idle long enough for the server's keep-alive timeout to close it.
    idle = collections.deque([await Connection.open(url) for _ in range(32)])

    async def one() -> None:
        conn = idle.popleft() if idle else await Connection.open(url)
        latencies.append(await conn.post())
        idle.append(conn)

    tasks = []
    t0 = time.perf_counter()
    for n in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, t0 + n / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - t0
    for conn in idle:
        conn.close()
    return len(tasks) / elapsed, latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=float, default=600)
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()

    prefix = f"jobhost-bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "REDIS_URL": REDIS, "JOBHOST_REDIS_PREFIX": prefix, "JOBHOST_DATA_DIR": data}
        env["JOBHOST_LOAD_PLUGINS"] = ""
        results = {}
        for kind in ("bare", "jobhost"):
            proc, url = start(kind, env)
            try:
                asyncio.run(closed_loop(url, 300, args.concurrency))  # warm-up
                results[kind] = (
                    asyncio.run(closed_loop(url, args.requests, args.concurrency)),
                    asyncio.run(open_loop(url, args.rate, args.seconds)),
                )
            finally:
                proc.terminate()
                proc.wait(30)
        _cleanup(prefix)

    print(f"closed loop: {args.requests} requests, {args.concurrency} in flight")
    for kind, ((rps, lat), _) in results.items():
        print(f"  {kind:8} {rps:7.0f} req/s   p50 {pct(lat, 50):6.2f} ms   p99 {pct(lat, 99):6.2f} ms")
    print(f"open loop: {args.rate:.0f} req/s offered for {args.seconds:.0f} s")
    for kind, (_, (rps, lat)) in results.items():
        print(f"  {kind:8} {rps:7.0f} req/s   p50 {pct(lat, 50):6.2f} ms   p99 {pct(lat, 99):6.2f} ms")
    ratio = results["jobhost"][0][0] / results["bare"][0][0]
    print(f"jobhost / bare throughput: {ratio:.2f}x")


def _cleanup(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS)
    keys = list(client.scan_iter(f"{prefix}*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        main()
