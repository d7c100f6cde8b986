"""Drain and enqueue throughput: the full jobhost engine next to BullMQ and bare taskiq-redis.

    python bench/throughput.py [--n 20000] [--concurrency 50] [--port 6396] [--peers DIR]
                               [--body incr|none]

Starts a private redis-server on --port (no persistence, in a temp dir) and stops it by pid at
the end. For each system: FLUSHALL (our private server), enqueue N no-op jobs from this process,
then start ONE worker process with the given concurrency and measure the drain the way
the peer harness (`--peers`) does: every job body runs `INCR bench:done`; the first stamps
`bench:t0`, the N-th stamps `bench:t1`; drain jobs/s = N / (t1 - t0).

- taskiq-redis: `RedisStreamBroker(xread_count=CONC)` + `Receiver(max_async_tasks=CONC)`, enqueue
  with `kiq()`, 50 in flight (as in bench-peers/q_taskiq.py).
- jobhost: the full engine (job registry, leases, retries armed: 3 attempts, retention, events),
  `run_worker` in the worker process, on uvloop as `jobhost worker` runs; enqueue with
  `host.enqueue()` 50 in flight, and the bulk `host.enqueue_many()`.
- bullmq: the shared peer harness's adapter (`--peers`, default `../shared/bench-peers`, with
  bullmq and ioredis installed under `$PEERBENCH/node`, default /tmp/peerbench: its `run.sh`
  sets that up); left out, saying so, when node or the adapter is missing.
- body: the job body alone (N calls, 50 in flight, no queue), to tell its cost from the engine's:
  redis-py's asyncio client on asyncio's own loop (as taskiq's worker and the peer harness run it)
  and on uvloop (as jobhost's worker does), and ioredis (as BullMQ's does).
- CPU: each worker process's and redis-server's CPU time over the drain, read from /proc (Linux),
  in µs per job; a system's engine costs its worker's CPU per job less its body's per call (an
  estimate: the two share one event loop).
- `--body none`: every system's job does nothing but count itself in its worker process (the
  first and the N-th stamp the clock), so the drain compares the engines alone. BullMQ then runs
  a worker written here with the adapter's settings, as its job body is the only change.

Prints jobs/s for each and the ratios of jobhost to the others. The machine's other load moves
every figure: compare ratios within one run only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

import redis

from jobhost import QueuePolicy, Retention, hookimpl, processes

QUEUE = "bench"
IN_FLIGHT = 50


# -- the job body, the same for both systems ---------------------------------------------------

_client = None
_counted = 0


async def mark(url: str, n: int, body: str = "incr") -> None:
    global _client, _counted
    if _client is None:
        import redis.asyncio

        _client = redis.asyncio.Redis.from_url(url)
    started = time.time()
    if body == "incr":
        done = await _client.incr("bench:done")
    else:  # counted here: no Redis call per job (the N-th says so below)
        _counted += 1
        done = _counted
    if done == 1:
        await _client.set("bench:t0", repr(started))
    if done == n:
        await _client.mset({"bench:t1": repr(time.time()), "bench:done": n})


# -- jobhost: a one-queue plugin ---------------------------------------------------------------


class BenchPlugin:
    def __init__(self, url: str, n: int, concurrency: int, body: str) -> None:
        self.url, self.n, self.concurrency, self.body = url, n, concurrency, body

    @hookimpl
    def register_queues(self, register):
        register(
            QueuePolicy(
                QUEUE,
                attempts=3,
                concurrency=self.concurrency,
                lease=30,
                keep_completed=Retention(age=3600, count=1000),
            )
        )

    @hookimpl
    def register_tasks(self, register):
        url, n, body = self.url, self.n, self.body

        async def noop() -> None:
            await mark(url, n, body)

        register(noop, queue=QUEUE, name="bench.noop")


def jobhost_host(url: str, n: int, concurrency: int, body: str = "incr"):
    from jobhost.host import Host
    from jobhost.settings import Settings

    settings = Settings(redis_url=url, redis_prefix="bench", load_plugins=("bench",))
    return Host.load(settings, extra_plugins=[("bench", BenchPlugin(url, n, concurrency, body))])


async def jobhost_enqueue(url: str, n: int, concurrency: int) -> dict[str, float]:
    host = jobhost_host(url, n, concurrency)
    await host.engine.setup()
    todo = iter(range(n))

    async def lane() -> None:
        for _ in todo:
            await host.enqueue("bench.noop")

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(IN_FLIGHT)))
    single = time.perf_counter() - started
    await host.engine.clean(QUEUE, "waiting")
    started = time.perf_counter()
    await host.enqueue_many("bench.noop", [{}] * n)
    bulk = time.perf_counter() - started
    await host.engine.close()
    return {"enqueue": n / single, "enqueue_bulk": n / bulk}


async def jobhost_work(url: str, n: int, concurrency: int, body: str) -> None:
    from jobhost.processes import serve
    from jobhost.worker import run_worker

    host = jobhost_host(url, n, concurrency, body)
    await serve(lambda stop: run_worker(host, [QUEUE], stop))


# -- bare taskiq-redis -------------------------------------------------------------------------


def taskiq_broker(url: str, n: int, concurrency: int, body: str = "incr"):
    from taskiq_redis import RedisStreamBroker

    broker = RedisStreamBroker(url, queue_name=QUEUE, xread_count=concurrency)

    @broker.task(task_name="noop")
    async def noop() -> None:
        await mark(url, n, body)

    return broker, noop


async def taskiq_enqueue(url: str, n: int, concurrency: int) -> dict[str, float]:
    broker, noop = taskiq_broker(url, n, concurrency)
    await broker.startup()  # creates the consumer group before the jobs go in
    todo = iter(range(n))

    async def lane() -> None:
        for _ in todo:
            await noop.kiq()

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(IN_FLIGHT)))
    elapsed = time.perf_counter() - started
    await broker.shutdown()
    return {"enqueue": n / elapsed}


async def taskiq_work(url: str, n: int, concurrency: int, body: str) -> None:
    from taskiq.receiver import Receiver

    broker, _ = taskiq_broker(url, n, concurrency, body)
    broker.is_worker_process = True
    await broker.startup()
    await Receiver(broker, max_async_tasks=concurrency).listen(asyncio.Event())


SYSTEMS = {"taskiq": (taskiq_enqueue, taskiq_work), "jobhost": (jobhost_enqueue, jobhost_work)}


# -- BullMQ, through the peer harness's adapter ------------------------------------------------


# `--body none`: the adapter's Worker (same connection and concurrency), its job only counting.
BULLMQ_COUNTING_WORKER = """
const { Worker } = require("bullmq");
const IORedis = require("ioredis");
const url = new URL(process.env.BENCH_REDIS_URL);
const connection = { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null };
const N = Number(process.env.BENCH_N);
const now = () => (performance.timeOrigin + performance.now()) / 1000;
const redis = new IORedis(connection);
let done = 0;
new Worker("bench", async () => {
  done += 1;
  if (done === 1) await redis.set("bench:t0", String(now()));
  if (done === N) await redis.mset("bench:t1", String(now()), "bench:done", String(N));
}, { connection, concurrency: Number(process.env.BENCH_CONC) });
"""


def bullmq_command(args: argparse.Namespace, url: str, role: str) -> tuple[list[str], dict[str, str]] | None:
    adapter = os.path.join(args.peers, "q_bullmq.js")
    modules = os.path.join(os.environ.get("PEERBENCH", "/tmp/peerbench"), "node", "node_modules")
    if shutil.which("node") is None or not os.path.exists(adapter) or not os.path.isdir(modules):
        return None
    env = {**os.environ, "BENCH_REDIS_URL": url, "BENCH_N": str(args.n), "BENCH_CONC": str(args.concurrency)}
    if role == "work" and args.body == "none":
        return ["node", "-e", BULLMQ_COUNTING_WORKER], {**env, "NODE_PATH": modules}
    return ["node", adapter, role], {**env, "NODE_PATH": modules}


# The adapter's job body alone: its client, 50 calls in flight.
IOREDIS_BODY = """
const IORedis = require("ioredis");
const url = new URL(process.env.BENCH_REDIS_URL);
const redis = new IORedis({ host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null });
const N = Number(process.env.BENCH_N);
let todo = 0;
const lane = async () => { while (todo++ < N) await redis.incr("bench:done"); };
(async () => {
  await redis.ping();
  const cpu = process.cpuUsage(), started = performance.now();
  await Promise.all(Array.from({ length: 50 }, lane));
  const seconds = (performance.now() - started) / 1000, used = process.cpuUsage(cpu);
  console.log(JSON.stringify({ calls: N / seconds, cpu_us: (used.user + used.system) / N }));
  redis.disconnect();
})();
"""


def bullmq_enqueue(args: argparse.Namespace, url: str) -> dict[str, float]:
    argv, env = bullmq_command(args, url, "enqueue")  # type: ignore[misc]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
    return {"enqueue": args.n / json.loads(out.strip().splitlines()[-1])["enqueue_s"]}


# -- the job body alone ------------------------------------------------------------------------


async def body_only(url: str, n: int) -> dict[str, float]:
    global _client
    todo = iter(range(n))

    async def lane() -> None:
        for _ in todo:
            await mark(url, n)

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(lane() for _ in range(IN_FLIGHT)))
    figures = {"calls": n / (time.perf_counter() - started), "cpu_us": (time.process_time() - cpu) / n * 1e6}
    await _client.aclose()  # type: ignore[union-attr]
    _client = None  # a client belongs to the event loop that made it
    return figures


def ioredis_body_only(args: argparse.Namespace, url: str) -> dict[str, float]:
    _, env = bullmq_command(args, url, "work")  # type: ignore[misc]
    out = subprocess.run(["node", "-e", IOREDIS_BODY], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- listing a big registry --------------------------------------------------------------------

# Writes `count` completed job records the way the engine stores them (hash + state-set entry).
_FILL = """
local base, start, count = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
for i = start, start + count - 1 do
  local id = 'bench:' .. string.format('%016x', i)
  local at = 1700000000000 + i
  redis.call('HSET', base .. 'job:' .. id, 'id', id, 'task', 'bench.noop', 'kwargs', '{}',
    'state', 'completed', 'attempt', 1, 'attempts', 3, 'created', at, 'started', at,
    'finished', at, 'result', 'null')
  redis.call('ZADD', base .. 'completed', at, id)
end
"""


async def listing(url: str, sizes: tuple[int, int]) -> dict[int, float]:
    """Mean seconds per `list_jobs` page (50 jobs) at the first, middle and last page, per size."""
    host = jobhost_host(url, 0, 1)
    engine = host.engine
    fill = engine.redis.register_script(_FILL)
    timings = {}
    for size in sizes:
        await engine.redis.flushall()  # our private server only
        for start in range(0, size, 50_000):
            await fill(keys=[engine.keys.base(QUEUE)], args=[start, min(50_000, size - start)])
        started, calls = time.perf_counter(), 0
        for offset in (0, size // 2, size - 50) * 20:
            page = await engine.list_jobs(QUEUE, "completed", offset=offset, limit=50)
            assert len(page.jobs) == 50 and page.total == size
            calls += 1
        timings[size] = (time.perf_counter() - started) / calls
    await engine.close()
    return timings


# -- the harness -------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User and system CPU time process `pid` has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drain(system: str, args: argparse.Namespace, url: str, r: redis.Redis, server: int) -> dict[str, float]:
    """Jobs per second of wall time, and the CPU time one job costs the worker process and
    redis-server (steadier on a busy machine than the wall time: whatever else runs)."""
    env = None
    if system == "bullmq":
        argv, env = bullmq_command(args, url, "work")  # type: ignore[misc]
    else:
        argv = [sys.executable, __file__, "--role", system, "--url", url, "--n", str(args.n)]
        argv += ["--concurrency", str(args.concurrency), "--body", args.body]
    worker = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.time() + 600
        cpu: list[tuple[float, float]] = []  # (worker, redis-server) at the first job and the N-th
        while int(r.get("bench:done") or 0) < args.n:
            if worker.poll() is not None or time.time() > deadline:
                raise SystemExit(f"{system} worker stopped or timed out at {r.get('bench:done')} jobs")
            if not cpu and r.exists("bench:t0"):
                cpu.append((cpu_seconds(worker.pid), cpu_seconds(server)))
            time.sleep(0.005)
        cpu.append((cpu_seconds(worker.pid), cpu_seconds(server)))
        while not r.get("bench:t1"):
            time.sleep(0.01)
        wall = float(r.get("bench:t1")) - float(r.get("bench:t0"))
        (worker0, server0), (worker1, server1) = cpu
        return {
            "drain": args.n / wall,
            "worker_us": (worker1 - worker0) / args.n * 1e6,
            "redis_us": (server1 - server0) / args.n * 1e6,
        }
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--port", type=int, default=6396)
    parser.add_argument(
        "--peers",
        default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "bench-peers"),
        help="The peer harness (its q_bullmq.js).",
    )
    parser.add_argument(
        "--listing", type=int, default=0, metavar="JOBS", help="Also time job listing with this many jobs."
    )
    parser.add_argument(
        "--body",
        choices=["incr", "none"],
        default="incr",
        help="The job body: the harness's INCR (default), or none, to compare the engines alone.",
    )
    parser.add_argument("--role", choices=list(SYSTEMS), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:  # a worker process, on the event loop its system's own processes use
        work = SYSTEMS[args.role][1](args.url, args.n, args.concurrency, args.body)
        (processes.run if args.role == "jobhost" else asyncio.run)(work)
        return

    url = f"redis://127.0.0.1:{args.port}/0"
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed")
    workdir = tempfile.mkdtemp(prefix="jobhost-bench-")
    server_argv = ["redis-server", "--port", str(args.port), "--bind", "127.0.0.1", "--save", ""]
    server = subprocess.Popen(
        [*server_argv, "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL,
    )
    try:
        r = redis.Redis.from_url(url)
        for _ in range(100):
            try:
                r.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        results: dict[str, Any] = {}
        systems = ["bullmq", *SYSTEMS]
        if bullmq_command(args, url, "work") is None:
            print(f"bullmq left out: no node, or no {args.peers}/q_bullmq.js, or no bullmq installed")
            systems.remove("bullmq")
        for system in systems:
            r.flushall()  # our private server only
            if system == "bullmq":
                figures = bullmq_enqueue(args, url)
            else:
                figures = asyncio.run(SYSTEMS[system][0](url, args.n, args.concurrency))
            cost = drain(system, args, url, r, server.pid)
            figures["drain"] = cost.pop("drain")
            rates = ", ".join(f"{k} {v:,.0f} jobs/s" for k, v in figures.items())
            print(
                f"{system}: {rates}; CPU per job: worker {cost['worker_us']:.1f} µs, "
                f"redis {cost['redis_us']:.1f} µs",
                flush=True,
            )
            results[system] = {**figures, **cost}
        # Each worker's job body alone, on its event loop: taskiq's worker runs on asyncio's own.
        bodies = {}
        if args.body == "incr":
            for label, run in (("redis-py, asyncio", asyncio.run), ("redis-py, uvloop", processes.run)):
                r.flushall()
                bodies[label] = run(body_only(url, args.n))
            if "bullmq" in systems:
                bodies["ioredis"] = ioredis_body_only(args, url)
            for label, figures in bodies.items():
                print(
                    f"job body alone ({label}): {figures['calls']:,.0f} calls/s, "
                    f"CPU {figures['cpu_us']:.1f} µs per call",
                    flush=True,
                )
            results["body"] = bodies
        body_of = {"taskiq": "redis-py, asyncio", "jobhost": "redis-py, uvloop", "bullmq": "ioredis"}
        own = {s: results[s]["worker_us"] - bodies.get(body_of[s], {}).get("cpu_us", 0.0) for s in systems}
        print(
            "engine's own worker CPU per job (the worker's less its body's): "
            + ", ".join(f"{s} {us:.1f} µs" for s, us in own.items())
        )
        jh = results["jobhost"]
        print(
            f"\nN={args.n}, one worker process, concurrency {args.concurrency}, "
            f"{IN_FLIGHT} enqueues in flight, job body: {args.body}"
        )
        for peer in [s for s in systems if s != "jobhost"]:
            other = results[peer]
            print(f"drain   jobhost / {peer}: {jh['drain'] / other['drain']:.2f}")
            print(f"worker CPU per job, jobhost / {peer}: {jh['worker_us'] / other['worker_us']:.2f}")
            print(f"engine's own worker CPU per job, jobhost / {peer}: {own['jobhost'] / own[peer]:.2f}")
            print(f"enqueue jobhost (one by one) / {peer}: {jh['enqueue'] / other['enqueue']:.2f}")
            print(f"enqueue jobhost (enqueue_many) / {peer}: {jh['enqueue_bulk'] / other['enqueue']:.2f}")
        print(json.dumps(results))
        if args.listing:
            small, big = 1_000, args.listing
            timings = asyncio.run(listing(url, (small, big)))
            print(f"\nlist_jobs page of 50: {small:,} jobs {timings[small] * 1000:.2f} ms, ", end="")
            print(f"{big:,} jobs {timings[big] * 1000:.2f} ms (ratio {timings[big] / timings[small]:.2f})")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
