"""Worker and scheduler processes on the real Redis: crashes, poison jobs, signals, rate limits,
several schedulers. Each test starts its own processes and stops them by pid."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobhost.queue import Flow
from jobhost.settings import Settings
from jobhost.testing import discard
from jobhost.worker import running_worker
from tests.conftest import write_distribution
from tests.polling import until
from tests.ports import free_port
from tests.queue.queue_support import load_host, process_argv, process_env, runs

pytestmark = pytest.mark.slow


class Procs:
    """Processes a test started; whatever is still running at the end is killed."""

    def __init__(self, prefix: str, logs: Path) -> None:
        self.prefix = prefix
        self.logs = logs
        self.started: list[subprocess.Popen] = []

    def start(self, argv: list[str], **env: str) -> subprocess.Popen:
        with open(self.logs / f"proc-{len(self.started)}.log", "w") as log:
            proc = subprocess.Popen(argv, env=process_env(self.prefix, **env), stderr=log)
        self.started.append(proc)
        return proc

    async def logged(self, text: str, times: int) -> bool:
        """Whether `times` of the processes have logged `text`."""
        return sum(text in log.read_text() for log in self.logs.glob("proc-*.log")) >= times

    def worker(self, *queues: str, **env: str) -> subprocess.Popen:
        return self.start(process_argv("worker", *queues), **env)

    def stop_all(self) -> None:
        """SIGTERM first (a supervisor passes it on to its children), SIGKILL what is left."""
        for proc in self.started:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.started:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def procs(prefix, tmp_path):
    procs = Procs(prefix, tmp_path)
    yield procs
    procs.stop_all()


async def wait_exit(proc: subprocess.Popen, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        assert time.monotonic() < deadline, f"process {proc.pid} still running after {timeout}s"
        await asyncio.sleep(0.05)
    return proc.returncode


async def started(host, job_id: str) -> bool:
    return bool(await runs(host, job_id))


async def workers_up(host, n: int):
    return len(await host.engine.workers()) >= n


async def kill_while_it_runs(host, victim, job_id: str) -> float:
    """SIGKILL `victim` as soon as it runs the job; returns when (monotonic). Killed before another
    worker starts: starting one first can take, on a loaded machine, longer than the job runs."""
    await until(lambda: started(host, job_id), 10)
    victim.kill()
    return time.monotonic()


async def test_sigkilled_worker_job_completes_elsewhere_on_an_idle_queue(redis_host, procs):
    host = redis_host
    victim = procs.worker("t-lease")
    await until(lambda: workers_up(host, 1), 15)
    job = await host.enqueue("t-lease.sleep", {"seconds": 1.0})
    killed_at = await kill_while_it_runs(host, victim, job.id)
    async with running_worker(host, ["t-lease"]):  # idle: no other job will arrive
        done = await host.engine.wait(job.id, timeout=20)
        elapsed = time.monotonic() - killed_at
    assert done.state == "completed"
    assert elapsed < 2 + 5  # lease + 5 s
    assert done.attempt == 1  # the worker might have run others beside it: not counted
    assert done.errors[0].error.startswith("WorkerLost")
    assert len(await runs(host, job.id)) == 2


async def test_sigkilled_worker_job_returns_within_10s_despite_a_30s_lease(redis_host, procs):
    host = redis_host  # t-slow: 30 s lease; its worker's heartbeat stops with the process
    victim = procs.worker("t-slow")
    await until(lambda: workers_up(host, 1), 15)
    job = await host.enqueue("t-slow.sleep", {"seconds": 0.5})
    killed_at = await kill_while_it_runs(host, victim, job.id)
    async with running_worker(host, ["t-slow"]):  # idle: no other job will arrive
        done = await host.engine.wait(job.id, timeout=20)
        elapsed = time.monotonic() - killed_at
    assert (done.state, done.attempt) == ("completed", 1)  # its crash is not counted (beside others?)
    assert elapsed < 10
    assert "stopped sending heartbeats" in done.errors[0].error


async def test_long_job_on_a_live_worker_process_runs_once(redis_host, procs):
    host = redis_host  # the job outlives the heartbeat's silence limit (4 s) and the t-lease lease
    procs.worker("t-lease")
    procs.worker("t-lease")
    await until(lambda: workers_up(host, 2), 15)
    job = await host.enqueue("t-lease.sleep", {"seconds": 6})
    done = await host.engine.wait(job.id, timeout=30)
    assert (done.state, done.attempt, done.errors) == ("completed", 1, ())
    assert len(await runs(host, job.id)) == 1


async def test_a_sigkill_at_each_step_of_a_flow_loses_nothing(redis_host, procs):
    host = redis_host
    sleeper = Flow("t-slow.sleep", {"seconds": 1.0})
    root = await host.enqueue_flow(Flow("t-slow.gather", {"seconds": 1.0}, children=[sleeper, sleeper]))
    children = root.depends_on
    for step in (children, (root.id,)):  # kill a worker while the children run, then the parent
        victim = procs.worker("t-slow")
        await until(lambda step=step: all_started(host, step), 30)
        victim.kill()
    async with running_worker(host, ["t-slow"]):
        done = await host.engine.wait(root.id, timeout=30)
    assert (done.state, done.result) == ("completed", {child: "slept" for child in children})
    finished = [(await host.job(child)).finished_at.timestamp() for child in children]
    assert [len(await runs(host, child)) for child in children] == [2, 2]  # killed once each
    parent_starts = await runs(host, root.id)
    assert len(parent_starts) == 2 and min(parent_starts) >= max(finished)  # never too early


async def all_started(host, job_ids) -> bool:
    return all([await runs(host, job_id) for job_id in job_ids])


def supervisor(procs, processes: int, *queues: str, **env: str) -> subprocess.Popen:
    """`processes` workers under `jobhost.processes.supervise` (restarting within 0.2 s)."""
    argv = process_argv("worker", *queues)
    code = "import sys, jobhost.processes as p; p.RESTART_FIRST = 0.2; "
    code += f"sys.exit(p.supervise({argv!r}, {processes}))"
    return procs.start([sys.executable, "-c", code], **env)


async def test_poison_job_is_dead_after_attempts_deliveries(redis_host, procs):
    host = redis_host
    sup = supervisor(procs, 2, "t-lease")
    await until(lambda: workers_up(host, 1), 30)  # a worker process takes seconds to start on a busy machine
    job = await host.enqueue("t-lease.crash")
    done = await host.engine.wait(job.id, timeout=60)
    assert (done.state, done.attempt, done.attempts) == ("dead", 3, 3)
    # its first crash, taken with a worker that might have run others beside it, is not counted
    assert [e.attempt for e in done.errors] == [1, 1, 2, 3]
    assert all(e.error.startswith("WorkerLost") for e in done.errors)
    assert "the job kills its worker" in done.errors[-1].error
    before = await until(lambda: live_workers(host, 2), 30)  # the supervisor replaced every dead one
    sup.send_signal(signal.SIGTERM)
    assert await wait_exit(sup, 15) == 0
    assert not before & {w["id"] for w in await host.engine.workers()}  # both live ones signed off


@pytest.mark.parametrize(("workers", "healthy"), [(1, 9), (2, 19)])
async def test_a_poison_job_takes_no_batch_mate_with_it(redis_host, procs, workers, healthy):
    """Healthy jobs claimed in one batch with a job that kills its worker come back as suspects,
    each runs alone, and only the poison job goes dead. Each healthy job completes exactly once
    (its result is recorded once); its body runs at least once (a batch-mate's killed try may
    have started it already)."""
    host = redis_host  # t-poison: concurrency 10, 2 tries
    # in line before any worker starts, so the first claim takes the poison job and 9 others
    ids = await host.enqueue_many("t-poison.sleep", [{"seconds": 0.5}] * 4)
    poison = await host.enqueue("t-poison.crash")
    ids += await host.enqueue_many("t-poison.sleep", [{"seconds": 0.5}] * (healthy - 4))
    sup = supervisor(procs, workers, "t-poison", T_HEARTBEAT_EVERY="0.25")  # dead after 1 s of silence
    done = {job_id: await host.engine.wait(job_id, timeout=120) for job_id in [*ids, poison.id]}
    assert {job_id for job_id, job in done.items() if job.state == "dead"} == {poison.id}
    assert [done[job_id].state for job_id in ids] == ["completed"] * healthy
    assert [done[job_id].attempt for job_id in ids] == [1] * healthy  # a batch-mate's crash cost no try
    killed = [job_id for job_id in ids if done[job_id].errors]
    assert len(killed) == 9  # its batch-mates died with the poison job, once, and were not charged
    assert all("beside others: not counted" in done[job_id].errors[0].error for job_id in killed)
    assert all(len(done[job_id].errors) == 1 for job_id in killed)
    assert {len(await runs(host, job_id)) for job_id in ids} <= {1, 2}
    assert (await host.engine.totals("t-poison"))["completed"] == healthy  # each recorded once
    assert "the job kills its worker" in done[poison.id].errors[-1].error
    sup.send_signal(signal.SIGTERM)
    assert await wait_exit(sup, 15) == 0


async def live_workers(host, n: int) -> set[str]:
    """The ids of `n` workers beating now (a killed one's entry lingers a few seconds, not beating)."""
    live = {w["id"] for w in await host.engine.workers() if time.time() - w["last_seen"] < 1.5}
    return live if len(live) >= n else set()


async def worker_running_a_sleep(host, procs, *, shutdown_timeout: str, seconds: float):
    """A worker process with SHUTDOWN_TIMEOUT, once it has started a job sleeping `seconds`."""
    proc = procs.worker("t-lease", SHUTDOWN_TIMEOUT=shutdown_timeout)
    await until(lambda: workers_up(host, 1), 15)
    job = await host.enqueue("t-lease.sleep", {"seconds": seconds})
    await until(lambda: started(host, job.id), 10)
    return proc, job


async def test_sigterm_lets_running_jobs_finish_then_exits_0(redis_host, procs):
    host = redis_host
    proc, job = await worker_running_a_sleep(host, procs, shutdown_timeout="10", seconds=1.5)
    proc.send_signal(signal.SIGTERM)
    assert await wait_exit(proc, 10) == 0
    done = await host.job(job.id)
    assert (done.state, done.attempt, done.result) == ("completed", 1, "slept")


async def test_sigterm_puts_unfinished_jobs_back_without_spending_a_try(redis_host, procs):
    host = redis_host
    proc, job = await worker_running_a_sleep(host, procs, shutdown_timeout="0.5", seconds=60)
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert await wait_exit(proc, 10) == 0
    assert time.monotonic() - signalled < 5
    back = await host.job(job.id)
    assert (back.state, back.attempt, back.errors) == ("waiting", 0, ())
    assert await host.engine.redis.zscore(host.engine.keys.state("t-lease", "leases"), job.id) is None
    assert await host.engine.redis.xlen(host.engine.keys.stream("t-lease")) == 1  # ready for the next worker


@pytest.mark.parametrize("task", ["sleep_sync", "stubborn"])  # a thread; a task ignoring cancellation
@pytest.mark.parametrize("supervised", [False, True])  # the bound holds through the supervisor too
async def test_shutdown_timeout_bounds_the_process_whatever_its_tasks_do(
    redis_host, procs, tmp_path, task, supervised
):
    host = redis_host
    if supervised:  # `jobhost worker` as operators run it
        proc = jobhost_worker(procs, tmp_path, "--queue", "t-lease", SHUTDOWN_TIMEOUT="1")
    else:
        proc = procs.worker("t-lease", SHUTDOWN_TIMEOUT="1")
    await until(lambda: workers_up(host, 1), 30)  # starting takes seconds on a busy machine
    job = await host.enqueue(f"t-lease.{task}", {"seconds": 30})
    await until(lambda: is_active(host, job.id), 10)
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert await wait_exit(proc, 10) == 0
    assert time.monotonic() - signalled < 1 + 1
    assert (await host.job(job.id)).state == "waiting"  # handed back for another worker


async def is_active(host, job_id: str) -> bool:
    return (await host.job(job_id)).state == "active"


async def test_sigterm_on_an_idle_worker_exits_0_promptly(redis_host, procs):
    proc = procs.worker()
    await until(lambda: workers_up(redis_host, 1), 15)
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert await wait_exit(proc, 10) == 0
    assert time.monotonic() - signalled < 3
    assert await redis_host.engine.workers() == []


async def test_second_signal_exits_at_once_and_the_lease_brings_the_job_back(redis_host, procs):
    host = redis_host
    proc, job = await worker_running_a_sleep(host, procs, shutdown_timeout="30", seconds=60)
    proc.send_signal(signal.SIGTERM)
    await asyncio.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    assert await wait_exit(proc, 5) != 0
    async with running_worker(host, ["t-lease"]):  # the reaper in this worker returns it
        await until(lambda: started_twice(host, job.id), 10)


async def started_twice(host, job_id: str) -> bool:
    return len(await runs(host, job_id)) >= 2


async def test_rate_limit_holds_across_two_worker_processes(redis_host, procs):
    host = redis_host  # t-rate: 10 starts per second, concurrency 10 in each worker
    procs.worker("t-rate")
    procs.worker("t-rate")
    await until(lambda: workers_up(host, 2), 15)
    jobs = [await host.enqueue("t-rate.sleep", {"seconds": 0.05}) for _ in range(30)]
    finished = [await host.engine.wait(j.id, timeout=30) for j in jobs]
    assert all(j.state == "completed" for j in finished)
    assert len({j.worker for j in finished}) == 2  # both workers took part
    starts = sorted(j.started_at.timestamp() for j in finished)
    for i, start in enumerate(starts):
        in_window = [s for s in starts[i:] if s < start + 1.0]
        assert len(in_window) <= 10, f"{len(in_window)} starts within 1 s"
    assert starts[-1] - starts[0] >= 1.9


async def test_two_schedulers_enqueue_each_fire_once(redis_host, procs):
    host = redis_host  # schedule t-every-second: every second, task t-bulk.noop
    first = procs.start(process_argv("scheduler"))
    second = procs.start(process_argv("scheduler"))
    await until(lambda: procs.logged("scheduler running", 2), 20)
    await asyncio.sleep(4)
    for proc in (first, second):
        proc.send_signal(signal.SIGTERM)
    for proc in (first, second):
        assert await wait_exit(proc, 10) == 0
    page = await host.engine.list_jobs("t-bulk", "waiting", limit=100)
    fired = [int(j.created_at.timestamp()) for j in page.jobs]
    assert len(fired) >= 3
    assert len(set(fired)) == len(fired), f"a fire was enqueued twice: {sorted(fired)}"


def jobhost_worker(procs, tmp_path: Path, *args: str, **env: str) -> subprocess.Popen:
    """`jobhost worker ARGS` with the test plugin installed (as a distribution on PYTHONPATH)."""
    site = write_distribution(
        tmp_path / "site",
        "jobhost-testjobs",
        "1.0",
        {"testjobs": "testjobs_entry"},
        {"testjobs_entry": "from tests.queue.queue_testjobs import *\n"},
    )
    path = os.pathsep.join([str(site), str(Path(__file__).parents[2])])
    return procs.start([sys.executable, "-m", "jobhost", "worker", *args], PYTHONPATH=path, **env)


async def worker_pids(host, but: set[int] = frozenset()) -> set[int]:
    """Pids of the workers beating now, but those in `but`."""
    return {w["pid"] for w in await host.engine.workers() if time.time() - w["last_seen"] < 1.5} - but


def gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] in "ZX"  # a zombie ran out
    except FileNotFoundError:
        return True


async def test_jobhost_worker_supervises_its_process_by_default(redis_host, procs, tmp_path):
    host = redis_host
    sup = jobhost_worker(procs, tmp_path, "--queue", "t-lease")
    (child,) = await until(lambda: worker_pids(host), 30)
    assert child != sup.pid  # the worker runs in a child of `jobhost worker`
    os.kill(child, signal.SIGKILL)  # as a poison job would
    (again,) = await until(lambda: worker_pids(host, but={child}), 30)  # started again
    sup.kill()  # the supervisor itself is SIGKILLed: its worker must not run on unsupervised
    sup.wait()
    await until(lambda: gone(again), 10)


def test_worker_process_env_isolated():
    """The subprocess env keeps the test's prefix and plugin (a guard for the tests above)."""
    env = process_env("p-x")
    assert env["JOBHOST_REDIS_PREFIX"] == "p-x" and env["JOBHOST_LOAD_PLUGINS"] == "testjobs"
    assert os.path.exists(process_argv("worker")[1])


def _start_redis(port: int, workdir: Path) -> subprocess.Popen:
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    return subprocess.Popen([*argv, "--appendonly", "no", "--dir", str(workdir)], stdout=subprocess.DEVNULL)


async def test_worker_rides_out_a_redis_restart(tmp_path, prefix):
    port = free_port()
    server = _start_redis(port, tmp_path)
    url = f"redis://127.0.0.1:{port}/0"
    host = load_host(Settings(redis_url=url, redis_prefix=prefix, load_plugins=("testjobs",)))
    try:
        await until(lambda: _pings(host), 10)
        async with running_worker(host, ["t-basic"]):
            first = await host.enqueue("t-basic.add", {"a": 1, "b": 1})
            assert (await host.engine.wait(first.id, timeout=10)).state == "completed"
            server.terminate()  # everything is lost: no persistence
            server.wait()
            await asyncio.sleep(1.5)
            server = _start_redis(port, tmp_path)
            second = await until(lambda: _enqueued(host), 10)
            assert (await host.engine.wait(second.id, timeout=15)).result == 2
    finally:
        await discard(host)
        server.terminate()
        server.wait()


async def _pings(host) -> bool:
    try:
        return await host.engine.redis.ping()
    except Exception:
        return False


async def _enqueued(host):
    try:
        return await host.enqueue("t-basic.add", {"a": 1, "b": 1})
    except Exception:
        return None
