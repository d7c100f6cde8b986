"""Chaos soak: a mixed workload through the HTTP API and real worker processes while faults are
injected, then an account of every job the API accepted.

    python bench/soak.py [--minutes 10] [--fsync always|everysec] [--min-replicas 0|1]
                         [--rate 40] [--workers 3] [--keep]

Starts its own Redis (a primary and a replica with AOF at `--fsync`, 3 Sentinels that call a
primary down after 5 s; see tests/redis_topologies.py), a scratch PostgreSQL database on the
shared server, an API process (jobhost's app, plus a `POST /soak/jobs` route answering 202
with the job id) and `--workers` worker processes. Tasks append each run to a file of this run
(outside Redis, so a Redis fault cannot erase the evidence) and write a row to PostgreSQL.

Load: `--rate` requests a second across two queues; 1 in 5 jobs fails its first try (a retry),
1 in 10 requests is a flow (two children on two queues, then the parent).
Faults, while it runs: a worker SIGKILLed (and started again, as a supervisor would) every 3 s;
in turn every 20 s: a clean Redis restart (SIGTERM: the AOF is complete), a Redis SIGKILL and
restart, a Sentinel failover (the primary SIGKILLed; it comes back as the replica), and a
database restart (every connection of the app's database terminated).

Then it waits up to 90 s for the jobs to finish and prints: enqueued (202s), completed, dead,
ran more than once (a completed run counted twice in the run files), lost (202 answered, no
job in Redis; finished jobs are kept for the whole run), and every job answered 202 that never
finished. `--keep` keeps the run's directory (Redis, Sentinel and process logs). Not a test,
and not run by CI.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from litestar import post
from litestar.di import NamedDependency

from jobhost import Backoff, Flow, Host, QueuePolicy, Retention, hookimpl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.redis_topologies import SentinelGroup, free_port  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"


# -- the plugin the API and worker processes load ------------------------------------------------


def soak_plugin():
    runs = Path(os.environ["SOAK_RUNS"])
    database: dict[str, asyncpg.Pool] = {}

    async def record(ctx, what: str) -> None:
        with open(runs / f"{os.getpid()}.log", "a") as out:  # one write: whole lines, even if killed
            out.write(f"{what} {ctx.job_id} {ctx.attempt}\n")

    async def work(n: int, fail_first: bool, ctx) -> int:
        await record(ctx, "start")
        if fail_first and ctx.attempt == 1:
            raise RuntimeError("the first try of this job fails (planned)")
        if "pool" not in database:
            database["pool"] = await asyncpg.create_pool(os.environ["SOAK_PG"], min_size=1, max_size=8)
        await database["pool"].execute("INSERT INTO soak_runs (job_id) VALUES ($1)", ctx.job_id)
        await asyncio.sleep(random.uniform(0.01, 0.2))
        await record(ctx, "done")
        return n * 2

    async def parent(ctx) -> int:
        await record(ctx, "start")
        total = sum((await ctx.dependency_results()).values())
        await record(ctx, "done")
        return total

    @post("/soak/jobs", status_code=202)
    async def enqueue(host: NamedDependency[Host], data: dict) -> dict[str, list[str]]:
        if data.get("flow"):
            children = [
                Flow("soak-a.work", {"n": 1, "fail_first": False}),
                Flow("soak-b.work", {"n": 2, "fail_first": False}),
            ]
            root = await host.enqueue_flow(Flow("soak-a.parent", children=children))
            flow = await host.job(root.id)
            return {"job_ids": [root.id, *(flow.depends_on if flow else ())]}
        job = await host.enqueue(f"{data['queue']}.work", {"n": data["n"], "fail_first": data["fail_first"]})
        return {"job_ids": [job.id]}

    # The account reads every job's state at the end: finished jobs are kept for the whole run
    # (with the default 1,000 per queue, the trimmed ones were counted as lost).
    keep = {
        "keep_completed": Retention(age=86_400, count=1_000_000),
        "keep_dead": Retention(age=86_400, count=1_000_000),
    }
    shared = {"attempts": 8, "backoff": Backoff.fixed(0.5), "lease": 5, **keep}

    class Soak:
        @hookimpl
        def register_queues(self, register):
            register(QueuePolicy("soak-a", concurrency=8, **shared))
            register(QueuePolicy("soak-b", concurrency=4, **shared))

        @hookimpl
        def register_tasks(self, register):
            register(work, queue="soak-a", name="soak-a.work")
            register(work, queue="soak-b", name="soak-b.work")
            register(parent, queue="soak-a", name="soak-a.parent")

        @hookimpl
        def register_routes(self, register):
            register(enqueue)

    return Soak()


def child(role: str, port: int) -> None:
    host = Host.load(extra_plugins=[("soak", soak_plugin())])
    if role == "api":
        import uvicorn

        from jobhost.http import create_app

        uvicorn.run(create_app(host), host="127.0.0.1", port=port, log_level="warning", access_log=False)
    else:
        from jobhost.processes import serve
        from jobhost.worker import run_worker

        asyncio.run(serve(lambda stop: run_worker(host, None, stop)))


# -- the run -------------------------------------------------------------------------------------


class Run:
    def __init__(self, args: argparse.Namespace, workdir: Path, pg_url: str) -> None:
        self.args = args
        self.workdir = workdir
        self.runs = workdir / "runs"
        self.runs.mkdir()
        persistence = ("--appendonly", "yes", "--appendfsync", args.fsync, "--save", "")
        # Sentinels that wait 5 s before they call the primary down, as an operator's do (the
        # default is 30 s): longer than a restart, so a restart is not also a failover in which
        # the old primary, back with its AOF, takes writes until Sentinel demotes it.
        self.redis = SentinelGroup(workdir / "redis", *persistence, down_after_ms=5000)
        self.pg_url = pg_url
        self.env = {
            **os.environ,
            "JOBHOST_REDIS_PREFIX": "soak",
            "JOBHOST_LOAD_PLUGINS": "",
            "JOBHOST_DATA_DIR": str(workdir / "data"),
            "JOBHOST_SECRET_KEY": "soak-" + uuid.uuid4().hex,
            "DATABASE_URL": pg_url.replace("postgresql://", "postgresql+asyncpg://"),
            "JOBHOST_REDIS_MIN_REPLICAS": str(args.min_replicas),
            "SOAK_RUNS": str(self.runs),
            "SOAK_PG": pg_url,
            "PYTHONPATH": str(ROOT),
        }
        self.workers: list[subprocess.Popen[bytes]] = []
        self.api: subprocess.Popen[bytes] | None = None
        self.accepted: list[str] = []
        self.answers: collections.Counter[str] = collections.Counter()
        self.faults: collections.Counter[str] = collections.Counter()

    def spawn(self, role: str, port: int = 0) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{role}.log", "ab")  # noqa: SIM115 - the child holds it
        proc = subprocess.Popen(
            [sys.executable, __file__, "--child", role, str(port)], env=self.env, stderr=log
        )
        log.close()
        return proc

    async def start(self) -> str:
        self.env["REDIS_URL"] = self.redis.start().url
        conn = await asyncpg.connect(self.pg_url)
        await conn.execute("CREATE TABLE soak_runs (job_id text, at timestamptz DEFAULT now())")
        await conn.close()
        migrate = [sys.executable, "-m", "jobhost", "db", "upgrade"]
        subprocess.run(migrate, env=self.env, check=True, capture_output=True, timeout=120)
        port = free_port()
        self.api = self.spawn("api", port)
        self.workers = [self.spawn("worker") for _ in range(self.args.workers)]
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url, timeout=5) as http:
            for _ in range(300):
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        return url
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise SystemExit("the API did not come up:\n" + (self.workdir / "api.log").read_text()[-3000:])

    async def load(self, url: str, until: float) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:

            async def one() -> None:
                roll = random.random()
                body = (
                    {"flow": True}
                    if roll < 0.1
                    else {
                        "queue": random.choice(["soak-a", "soak-b"]),
                        "n": random.randint(1, 100),
                        "fail_first": roll < 0.3,
                    }
                )
                try:
                    response = await http.post("/soak/jobs", json=body)
                except httpx.HTTPError as exc:
                    self.answers[type(exc).__name__] += 1
                    return
                self.answers[str(response.status_code)] += 1
                if response.status_code == 202:
                    self.accepted += response.json()["job_ids"]

            pending: set[asyncio.Task[None]] = set()
            while time.monotonic() < until:
                task = asyncio.create_task(one())
                pending.add(task)
                task.add_done_callback(pending.discard)
                await asyncio.sleep(1 / self.args.rate)
            await asyncio.gather(*pending)

    async def chaos(self, until: float) -> None:
        turns = [self.redis_restart, self.redis_crash, self.failover, self.database_restart]
        next_turn = time.monotonic() + 10
        turn = 0
        while time.monotonic() < until:
            await asyncio.sleep(3)
            victim = random.randrange(len(self.workers))
            os.kill(self.workers[victim].pid, signal.SIGKILL)
            self.workers[victim].wait()
            self.workers[victim] = self.spawn("worker")
            self.faults["worker SIGKILL"] += 1
            if time.monotonic() >= next_turn:
                await turns[turn % len(turns)]()
                turn += 1
                next_turn = time.monotonic() + 20

    def _primary(self):
        port = self.redis.primaries().pop()
        return self.redis.primary if self.redis.primary.port == port else self.redis.replica

    async def redis_restart(self) -> None:
        primary = self._primary()
        await asyncio.to_thread(primary.stop)
        await asyncio.to_thread(primary.start)
        self.faults["Redis restart (clean)"] += 1

    async def redis_crash(self) -> None:
        primary = self._primary()
        primary.kill()
        await asyncio.to_thread(primary.start)
        self.faults["Redis SIGKILL + restart"] += 1

    async def failover(self) -> None:
        primary = self._primary()
        replica = self.redis.replica if primary is self.redis.primary else self.redis.primary
        link = replica.client().info("replication").get("master_link_status")
        primary.kill()
        try:
            await asyncio.to_thread(self.redis.wait_promoted, primary.port, 60)
            self.faults["Sentinel failover"] += 1
        except RuntimeError:  # reported, and the run goes on with the old primary back
            self.faults[f"Sentinel failover that did not happen in 60 s (replica link {link})"] += 1
        await asyncio.to_thread(primary.start)

    async def database_restart(self) -> None:
        conn = await asyncpg.connect(f"{PG}/postgres")
        name = self.pg_url.rsplit("/", 1)[1]
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        await conn.close()
        self.faults["database restart (connections terminated)"] += 1

    async def account(self) -> None:
        import redis.asyncio as aioredis

        from jobhost.queue.keys import Keys

        client = aioredis.Redis(port=self._primary().port, decode_responses=True)
        keys = Keys("soak")
        states: dict[str, str | None] = {}
        deadline = time.monotonic() + 90
        while True:
            pipe = client.pipeline(transaction=False)
            for job_id in self.accepted:
                pipe.hget(keys.job(job_id), "state")
            states = dict(zip(self.accepted, await pipe.execute(), strict=True))
            open_jobs = [j for j, s in states.items() if s not in ("completed", "dead", None)]
            if not open_jobs or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
        why_dead: collections.Counter[str] = collections.Counter()
        for job_id in [j for j, state in states.items() if state == "dead"]:
            nerr = await client.hget(keys.job(job_id), "nerr")
            failure = await client.hget(keys.job(job_id), f"e{nerr}") or "{}"
            why_dead[json.loads(failure).get("error", "?")[:90]] += 1
        await client.aclose()
        done = collections.Counter()
        for log in self.runs.glob("*.log"):
            for line in log.read_text().splitlines():
                what, job_id, _ = line.split()
                if what == "done":
                    done[job_id] += 1
        by_state = collections.Counter(states.values())
        lost = [j for j, s in states.items() if s is None]
        unfinished = [(j, s) for j, s in states.items() if s not in ("completed", "dead")]
        twice = [j for j in self.accepted if done[j] > 1]
        print(
            f"\nsoak: {self.args.minutes:g} min, AOF appendfsync {self.args.fsync}, "
            f"JOBHOST_REDIS_MIN_REPLICAS={self.args.min_replicas}, {self.args.workers} workers"
        )
        print("faults:", ", ".join(f"{k} ×{v}" for k, v in sorted(self.faults.items())))
        print("API answers:", ", ".join(f"{k} ×{v}" for k, v in sorted(self.answers.items())))
        print("| enqueued (202) | completed | dead | ran more than once | lost | never finished |")
        print("|---|---|---|---|---|---|")
        print(
            f"| {len(self.accepted)} | {by_state['completed']} | {by_state['dead']} | {len(twice)} "
            f"| {len(lost)} | {len(unfinished)} |"
        )
        for why, n in why_dead.most_common(8):
            print(f"  dead ×{n}: {why}")
        errors = collections.Counter(
            line.strip()[:160]
            for log in self.workdir.glob("*.log")
            for line in log.read_text(errors="replace").splitlines()
            if line.startswith(("redis.", "sqlalchemy.", "asyncpg.", "RuntimeError", "KeyError", "TypeError"))
            or " ERROR " in line
        )
        for line, n in errors.most_common(10):
            print(f"  logged ×{n}: {line}")
        for job_id, state in unfinished[:30]:
            print(f"  202 but never finished: {job_id} ({state or 'no such job in Redis: lost'})")

    def stop(self) -> None:
        for proc in [*self.workers, *([self.api] if self.api else [])]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [*self.workers, *([self.api] if self.api else [])]:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.redis.stop()


async def soak(args: argparse.Namespace, workdir: Path, pg_url: str) -> None:
    run = Run(args, workdir, pg_url)
    try:
        url = await run.start()
        until = time.monotonic() + args.minutes * 60
        await asyncio.gather(run.load(url, until), run.chaos(until))
        await run.account()
    finally:
        run.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--fsync", choices=["always", "everysec"], default="always")
    parser.add_argument("--min-replicas", type=int, default=0)
    parser.add_argument("--rate", type=float, default=40, help="requests a second")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the run's directory (every log)")
    args = parser.parse_args()
    from jobhost.store.scratch import scratch_postgres

    with (
        (
            contextlib.nullcontext(tempfile.mkdtemp(prefix="jobhost-soak-"))
            if args.keep
            else tempfile.TemporaryDirectory(prefix="jobhost-soak-")
        ) as tmp,
        scratch_postgres(PG, "jobhost_soak") as pg,
    ):
        if args.keep:
            print("run directory:", tmp)
        asyncio.run(soak(args, Path(tmp), pg))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
