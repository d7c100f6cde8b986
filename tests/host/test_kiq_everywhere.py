"""`.kiq()` and `wait_result()` where users call them: a route, a standalone `jobhost.connect()`
program (against a real `jobhost worker` process), and with retries and dead jobs in between."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from jobhost.testing import client, discard, forget_keys
from tests.conftest import write_distribution
from tests.host import taskiq_plugin as tq

REDIS = "redis://127.0.0.1:6379/0"
ROOT = Path(__file__).parents[2]


async def test_a_route_kicks_a_job_and_waits_for_its_result(make_host):
    host = make_host(("tq", tq))
    async with client(host) as http, host.worker():
        user = await http.login()
        answer = await http.get("/api/tq/sum/20/22")
        assert answer.status_code == 200, answer.text
        job = await host.job(answer.json()["job_id"])
    await discard(host)
    assert answer.json()["sum"] == 42
    assert (job.state, job.owner) == ("completed", user.owner)


PROGRAM = """
import asyncio, json
import jobhost
from tests.host import taskiq_plugin as tq

async def main():
    async with jobhost.connect() as host:
        ok = await (await tq.add.kiq(2, 3)).wait_result(timeout=30, check_interval=0.05)
        flaky = await (await tq.flaky.kiq()).wait_result(timeout=30, check_interval=0.05)
        dead = await (await tq.broken.kiq()).wait_result(timeout=30, check_interval=0.05)
    print(json.dumps({
        "ok": [ok.is_err, ok.return_value],
        "flaky": [flaky.is_err, flaky.return_value],
        "dead": [dead.is_err, type(dead.error).__name__, str(dead.error)],
    }))

asyncio.run(main())
"""


def test_a_standalone_program_kicks_and_waits_through_jobhost_connect(tmp_path):
    site = write_distribution(
        tmp_path / "site",
        "jobhost-tq",
        "1.0",
        {"tq": "tq_entry"},
        {"tq_entry": "from tests.host.taskiq_plugin import *\n"},
    )
    prefix = f"jobhost-test-connect-{time.time_ns()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBHOST_")}
    env.update(
        REDIS_URL=REDIS,
        JOBHOST_REDIS_PREFIX=prefix,
        JOBHOST_LOAD_PLUGINS="tq",
        JOBHOST_DATA_DIR=str(tmp_path / "data"),
        PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]),
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "jobhost", "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        program = tmp_path / "program.py"
        program.write_text(textwrap.dedent(PROGRAM))
        done = subprocess.run(
            [sys.executable, str(program)], env=env, capture_output=True, text=True, timeout=90
        )
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        forget_keys(REDIS, prefix)
    assert out["ok"] == [False, 5]
    assert out["flaky"] == [False, "done on try 3"]  # waited through two retried tries
    assert out["dead"][:2] == [True, "JobFailed"]
    assert "ValueError: always broken" in out["dead"][2]
