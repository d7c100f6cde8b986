"""Running processes: the parts of one process (worker, scheduler, API) under SIGTERM/SIGINT
handling, and the supervisor `jobhost worker` runs its worker processes under."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

log = logging.getLogger("jobhost.worker")
T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` for a long-running process, on uvloop where it is installed (not on
    Windows): a worker drains 10-15% more jobs per CPU second on it (bench/throughput.py)."""
    try:
        import uvloop
    except ImportError:
        factory = None
    else:
        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


async def serve(*parts: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run `parts` side by side until SIGTERM or SIGINT; a second signal exits the process at once.

    Each part gets the same stop event and must return soon after it is set. A part that fails
    stops the others.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            log.warning(
                "second %s: exiting now; running jobs return after their lease", signal.Signals(signum).name
            )
            os._exit(1)
        log.info("%s: shutting down gracefully (send it again to exit at once)", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        tasks = [asyncio.ensure_future(part(stop)) for part in parts]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        stop.set()
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, BaseException):
                raise result
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


# A child that dies is started again after RESTART_FIRST s, doubling for each quick death in a
# row up to RESTART_MOST s; one that ran RESTART_RESET s or more starts the count over.
RESTART_FIRST = 1.0
RESTART_MOST = 30.0
RESTART_RESET = 60.0
POLL = 0.05
# Set in a child's environment: the pid of the supervisor it must not outlive.
SUPERVISOR_ENV = "JOBHOST_SUPERVISOR_PID"


def supervise(argv: Sequence[str], processes: int) -> int:
    """Run `processes` copies of a command (a worker), restart any that dies, stop all on a signal.

    SIGTERM/SIGINT is passed to every child once (each drains gracefully); a second signal kills
    them. A child dies with the supervisor, even a SIGKILLed one (`bind_to_supervisor`). Returns 0
    when all children exited after a stop.
    """
    stopping = threading.Event()
    children: dict[int, tuple[subprocess.Popen[bytes], float]] = {}  # pid → child, start time
    restarts: list[float] = []  # when each dead child's replacement is due
    quick_deaths = 0
    env = {**os.environ, SUPERVISOR_ENV: str(os.getpid())}

    def start() -> None:
        # Own process group: a terminal's Ctrl-C reaches the children only through us, once.
        child = subprocess.Popen(list(argv), process_group=0, env=env)
        children[child.pid] = (child, time.monotonic())

    def on_signal(signum: int, _frame: Any) -> None:
        if stopping.is_set():
            for child, _ in children.values():
                child.kill()
            return
        stopping.set()
        for child, _ in children.values():
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    for _ in range(processes):
        start()
    code = 0
    while children or (restarts and not stopping.is_set()):
        now = time.monotonic()
        for pid, (child, started) in list(children.items()):
            status = child.poll()
            if status is None:
                continue
            del children[pid]
            if stopping.is_set():
                # A child still starting up when the stop came dies of the forwarded signal itself,
                # before its handler exists: it ran no job, so that is a clean stop too.
                code = code or (0 if status in (-signal.SIGTERM, -signal.SIGINT) else status)
                continue
            quick_deaths = quick_deaths + 1 if now - started < RESTART_RESET else 1
            delay = min(RESTART_FIRST * 2 ** (quick_deaths - 1), RESTART_MOST)
            log.error("worker process %d exited with %s; starting another in %gs", pid, status, delay)
            restarts.append(now + delay)
        if not stopping.is_set():
            for due in [due for due in restarts if due <= now]:
                restarts.remove(due)
                start()
        time.sleep(POLL)
    return code


def bind_to_supervisor() -> None:
    """In a child of `supervise`: die with the supervisor, even a SIGKILLed one (Linux), rather
    than run on unsupervised; elsewhere a child outlives a SIGKILLed supervisor."""
    supervisor = os.environ.pop(SUPERVISOR_ENV, None)
    if supervisor is None or not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != int(supervisor):  # it died before the line above
        os._exit(1)


def worker_command(queues: Sequence[str]) -> list[str]:
    """The command line of one worker process (what `--processes N` runs N times)."""
    queue_args = (arg for q in queues for arg in ("--queue", q))
    return [sys.executable, "-m", "jobhost.cli", "worker", "--no-supervisor", *queue_args]
