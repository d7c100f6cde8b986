"""Runs a worker or scheduler process on the test plugin, as `jobhost worker|scheduler` would.

`python queue_proc.py worker [queue ...]` or `python queue_proc.py scheduler`; settings from env.
"""

from __future__ import annotations

import asyncio
import logging
import sys

import queue_testjobs

from jobhost.host import Host
from jobhost.processes import serve
from jobhost.worker import run_worker

logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
role, queues = sys.argv[1], sys.argv[2:]
host = Host.load(extra_plugins=[("testjobs", queue_testjobs)])
if role == "worker":
    asyncio.run(serve(lambda stop: run_worker(host, queues or None, stop)))
else:
    from jobhost.scheduler import run_scheduler

    asyncio.run(serve(lambda stop: run_scheduler(host, stop)))
