"""Runs a worker or scheduler process on the test plugin, as `jobhost worker|scheduler` would.

`python queue_proc.py worker [queue ...]` or `python queue_proc.py scheduler`; settings from env.
Run by `jobhost.processes.supervise`, a worker is bound to its supervisor, as `jobhost worker`'s are.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

import queue_testjobs

from jobhost.host import Host
from jobhost.processes import bind_to_supervisor, serve
from jobhost.worker import run_worker

logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
role, queues = sys.argv[1], sys.argv[2:]
host = Host.load(extra_plugins=[("testjobs", queue_testjobs)])
if role == "worker":
    bind_to_supervisor()
    # T_HEARTBEAT_EVERY: beat this often (s), so a killed worker is taken for dead sooner
    every = os.environ.get("T_HEARTBEAT_EVERY")
    beat = {"heartbeat_every": float(every)} if every else {}
    asyncio.run(serve(lambda stop: run_worker(host, queues or None, stop, **beat)))
else:
    from jobhost.scheduler import run_scheduler

    asyncio.run(serve(lambda stop: run_scheduler(host, stop)))
