"""Running processes: the parts of one process (worker, scheduler, API) under SIGTERM/SIGINT
handling, and a supervisor for `jobhost worker --processes N`."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

log = logging.getLogger("jobhost.worker")


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


def supervise(argv: Sequence[str], processes: int) -> int:
    """Run `processes` copies of a command (a worker), restart any that dies, stop all on a signal.

    SIGTERM/SIGINT is passed to every child once (each drains gracefully); a second signal kills
    them. Returns 0 when all children exited after a stop.
    """
    stopping = threading.Event()
    children: dict[int, subprocess.Popen[bytes]] = {}

    def start() -> None:
        # Own process group: a terminal's Ctrl-C reaches the children only through us, once.
        child = subprocess.Popen(list(argv), process_group=0)
        children[child.pid] = child

    def on_signal(signum: int, _frame: Any) -> None:
        if stopping.is_set():
            for child in children.values():
                child.kill()
            return
        stopping.set()
        for child in children.values():
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    for _ in range(processes):
        start()
    code = 0
    while children:
        for pid, child in list(children.items()):
            status = child.poll()
            if status is None:
                continue
            del children[pid]
            if stopping.is_set():
                # A child still starting up when the stop came dies of the forwarded signal itself,
                # before its handler exists: it ran no job, so that is a clean stop too.
                code = code or (0 if status in (-signal.SIGTERM, -signal.SIGINT) else status)
            else:
                log.error("worker process %d exited with %s; starting another", pid, status)
                time.sleep(1.0)
                start()
        time.sleep(0.1)
    return code


def worker_command(queues: Sequence[str]) -> list[str]:
    """The command line of one worker process (what `--processes N` runs N times)."""
    return [sys.executable, "-m", "jobhost.cli", "worker", *(arg for q in queues for arg in ("--queue", q))]
