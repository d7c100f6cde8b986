"""The plugin's commands through the real `jobhost` program (the plugin must be installed, as
`pip install -e .` does). `hello-later` queues a job for the deployment's workers, so it needs the
shared Redis: these tests use REDIS_URL (default: a Redis on localhost), each under a key prefix
of its own that `make_host` deletes afterwards."""

import os
import subprocess
import sys

from jobhost_hello import plugin

from jobhost.testing import discard

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def jobhost(*args, tmp_path, **env):
    """Run `jobhost ARGS` with only this plugin loaded and only the given REDIS_URL/prefix."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("JOBHOST_", "REDIS_URL"))}
    environ.update(JOBHOST_LOAD_PLUGINS="hello", JOBHOST_DATA_DIR=str(tmp_path / "cli"), **env)
    return subprocess.run(
        [sys.executable, "-m", "jobhost", *args], env=environ, capture_output=True, text=True, timeout=60
    )


def test_hello_prints_a_greeting_or_says_what_is_wrong(tmp_path):
    assert jobhost("hello", "Ada", tmp_path=tmp_path).stdout == "Hello, Ada!\n"
    blank = jobhost("hello", " ", tmp_path=tmp_path)
    assert blank.returncode == 2
    assert "Invalid value for NAME: name must not be empty" in blank.stderr


async def test_hello_later_queues_a_job_the_workers_run(make_host, tmp_path):
    host = make_host(plugin, migrate=True, REDIS_URL=REDIS_URL)
    queued = jobhost(
        "hello-later",
        "Ada",
        tmp_path=tmp_path,
        REDIS_URL=REDIS_URL,
        JOBHOST_REDIS_PREFIX=host.settings.redis_prefix,
    )
    assert queued.returncode == 0, queued.stderr
    job_id = queued.stdout.strip()
    assert (await host.job(job_id)).state == "waiting"
    async with host.worker():
        done = await host.wait(job_id, timeout=10)
    assert (done.task, done.state, done.result) == ("hello.greet", "completed", "Hello, Ada!")
    await discard(host)


def test_hello_later_refuses_embedded_mode_where_no_worker_could_see_the_job(tmp_path):
    refused = jobhost("hello-later", "Ada", tmp_path=tmp_path)
    assert refused.returncode == 1
    assert "no REDIS_URL" in refused.stderr
    assert refused.stdout == ""
