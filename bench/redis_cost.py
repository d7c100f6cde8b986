"""What a drain costs Redis, in instructions: this tree against another revision, in one run.

    python bench/redis_cost.py [--against REV] [--n 3000] [--batch 10] [--port 6393]

Wall-clock figures on a shared machine move by ±15 % from one run to the next; an instruction
count does not (two runs of one tree agree to 0.1 %). So this runs redis-server under valgrind's
callgrind, with the engine's own scripts doing what a worker asks of them in a drain: N jobs
enqueued (not counted), then `complete_and_claim` calls of `--batch` jobs each, one caller, until
the queue is empty, with the full engine (leases, events, tallies, retention of 1,000 completed
jobs). It prints redis-server's instructions per job, and with `--against`, the same for that
revision (a temporary git worktree of it) and the ratio of the two.

Needs valgrind (callgrind_control included) and redis-server on PATH. This counts the Redis side
only; what the worker's Python spends is bench/throughput.py's to measure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


@contextlib.contextmanager
def counted_redis(port: int) -> Iterator[tuple[int, str]]:
    """A redis-server under callgrind on `port`, in a temp dir: (its pid, its dump file prefix)."""
    folder = tempfile.mkdtemp(prefix="bench-redis-cost-")
    out = os.path.join(folder, "callgrind.out")
    server = subprocess.Popen(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            folder,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import redis

        client = redis.Redis(port=port)
        deadline = time.monotonic() + 60
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"redis-server under valgrind did not start on port {port}") from None
                time.sleep(0.2)
        yield server.pid, out
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(folder, ignore_errors=True)


def instructions(dump: str) -> int:
    """The instruction total of the newest callgrind dump (`<prefix>.<pid>.<n>`)."""
    newest = max(glob.glob(dump + ".*"), key=os.path.getmtime)
    with open(newest) as lines:
        for line in lines:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise SystemExit(f"no totals in {newest}")


async def drain(port: int, n: int, batch: int, between: tuple[list[str], list[str]]) -> None:
    """Enqueue n jobs, run `between[0]`, drain them `batch` at a time, run `between[1]`."""
    from throughput import IN_FLIGHT, QUEUE, jobhost_host  # its queue, policy and task (not run)

    from jobhost.queue.consumer import Asking

    host = jobhost_host(f"redis://127.0.0.1:{port}/0", n, IN_FLIGHT)
    engine = host.engine
    await engine.setup()
    for start in range(0, n, 1000):
        await engine.enqueue_many("bench.noop", [{}] * min(1000, n - start))
    subprocess.run(between[0], check=True, stdout=subprocess.DEVNULL)
    asking = Asking("bench-worker", batch, engine.policy(QUEUE).lease, None, "busy")
    done: list = []
    finished = 0
    while finished < n:
        _, claim = await engine.complete_and_claim(QUEUE, [(job, None, "") for job in done], asking)
        finished += len(done)
        done = list(claim.jobs)
        if not done and finished < n:
            raise SystemExit(f"the queue ran dry after {finished} of {n} jobs")
    subprocess.run(between[1], check=True, stdout=subprocess.DEVNULL)
    await engine.close()


def measure(n: int, batch: int, port: int) -> float:
    """Instructions redis-server spends per job of the drain, with the jobhost this Python imports."""
    with counted_redis(port) as (pid, dump):
        zero, dump_now = ["callgrind_control", "-z", str(pid)], ["callgrind_control", "-d", str(pid)]
        asyncio.run(drain(port, n, batch, (zero, dump_now)))
        return instructions(dump) / n


def run_tree(host_dir: str, args: argparse.Namespace) -> float:
    """measure() in a Python that imports jobhost from `host_dir`."""
    env = dict(os.environ, PYTHONPATH=host_dir + os.pathsep + os.environ.get("PYTHONPATH", ""))
    command = [sys.executable, __file__, "--measure", "--n", str(args.n), "--batch", str(args.batch)]
    command += ["--port", str(args.port)]
    reply = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    return float(json.loads(reply.stdout.strip().splitlines()[-1])["per_job"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", metavar="REV", help="also count this git revision, and print the ratio")
    parser.add_argument("--n", type=int, default=3000, help="jobs to drain (default 3000)")
    parser.add_argument("--batch", type=int, default=10, help="jobs per complete_and_claim call (default 10)")
    parser.add_argument("--port", type=int, default=6393)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    tools = ("valgrind", "callgrind_control", "redis-server")
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"{', '.join(missing)} not found: install valgrind and redis-server, then run again")
    if args.measure:
        print(json.dumps({"per_job": measure(args.n, args.batch, args.port)}))
        return
    here = run_tree(os.path.join(ROOT, "host"), args)
    print(f"this tree: {here:,.0f} instructions in redis-server per job")
    if not args.against:
        return
    with tempfile.TemporaryDirectory(prefix="bench-redis-cost-rev-") as folder:
        tree = os.path.join(folder, "tree")
        subprocess.run(
            ["git", "-C", ROOT, "worktree", "add", "--detach", tree, args.against],
            check=True,
            capture_output=True,
        )
        try:
            there = run_tree(os.path.join(tree, "host"), args)
        finally:
            subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", tree], check=False)
    print(f"{args.against}: {there:,.0f} instructions in redis-server per job")
    print(f"this tree / {args.against}: {here / there:.3f}")


if __name__ == "__main__":
    main()
