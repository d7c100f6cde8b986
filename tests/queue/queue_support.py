"""Helpers for the queue-engine tests: settings and hosts on the test plugin, cleanup, subprocesses."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from jobhost.host import Host
from jobhost.settings import Settings
from tests.queue import queue_testjobs

REDIS_URL = "redis://127.0.0.1:6379/0"
# The URL of each Redis the `mode` fixture may pick (conftest.py adds the session's Cluster and
# Sentinel group as it starts them).
TOPOLOGY_URLS = {"redis": REDIS_URL}
HERE = Path(__file__).parent


def make_settings(mode: str, prefix: str, tmp_path: Path, **extra) -> Settings:
    return Settings(
        redis_url=TOPOLOGY_URLS.get(mode),
        redis_prefix=prefix,
        load_plugins=("testjobs",),
        data_dir=tmp_path,
        **extra,
    )


def load_host(settings: Settings) -> Host:
    return Host.load(settings, extra_plugins=[("testjobs", queue_testjobs)])


def process_env(prefix: str, **extra: str) -> dict[str, str]:
    """Environment of a worker/scheduler subprocess running the test plugin."""
    return {
        **os.environ,
        "REDIS_URL": REDIS_URL,
        "JOBHOST_REDIS_PREFIX": prefix,
        "JOBHOST_LOAD_PLUGINS": "testjobs",
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
        **extra,
    }


def process_argv(role: str, *queues: str) -> list[str]:
    return [sys.executable, str(HERE / "queue_proc.py"), role, *queues]


async def runs(host: Host, job_id: str) -> list[float]:
    """When each try of a job started, as the test tasks record it."""
    key = f"{host.settings.redis_prefix}:runs:{job_id}"
    return [float(t) for t in await host.engine.redis.lrange(key, 0, -1)]
