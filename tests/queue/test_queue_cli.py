"""`jobhost queues | jobs … | run | worker` as operators use them (real Redis, test plugin)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner

from jobhost.cli import cli
from jobhost.testing import forget_keys
from tests.queue.queue_support import REDIS_URL, load_host, make_settings


@pytest.fixture
def invoke(prefix, tmp_path):
    settings = make_settings("redis", prefix, tmp_path)

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, list(args), obj={"host": load_host(settings)})
        return result.exit_code, result.output

    yield run
    forget_keys(REDIS_URL, prefix)


def test_enqueue_list_show_remove(invoke):
    code, out = invoke("jobs", "enqueue", "t-basic.add", '{"a": 1, "b": 2}')
    assert code == 0, out
    job_id = out.strip()
    assert job_id.startswith("t-basic:")
    code, out = invoke("jobs", "list", "t-basic", "--json")
    assert [j["id"] for j in json.loads(out)["jobs"]] == [job_id]
    code, out = invoke("jobs", "show", job_id)
    shown = json.loads(out)
    assert (shown["state"], shown["kwargs"]) == ("waiting", {"a": 1, "b": 2})
    code, out = invoke("queues", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["t-basic"]["counts"]["waiting"] == 1 and rows["t-basic"]["plugin"] == "testjobs"
    code, out = invoke("queues")
    assert "t-basic" in out and "waiting" in out
    assert invoke("jobs", "remove", job_id) == (0, f"removed {job_id}\n")
    code, out = invoke("jobs", "show", job_id)
    assert code == 1 and "no job" in out


def test_bad_input_says_what_is_wrong(invoke):
    code, out = invoke("jobs", "enqueue", "t-basic.add", '{"a": 1}')
    assert code == 1 and "missing a required argument: 'b'" in out
    code, out = invoke("jobs", "enqueue", "t-basic.add", "[1, 2]")
    assert code == 2 and "must be a JSON object" in out
    code, out = invoke("jobs", "enqueue", "t-basic.add", "{nope")
    assert code == 2 and "must be a JSON object such as" in out
    code, out = invoke("jobs", "list", "nope")
    assert code == 1 and "unknown queue 'nope'; registered queues:" in out
    code, out = invoke("jobs", "remove")
    assert code == 2 and "give a JOB_ID, or --queue and --state" in out
    code, out = invoke("worker", "--no-supervisor", "--processes", "2")
    assert code == 2 and "--processes needs the supervisor; leave out --no-supervisor" in out


def test_retry_replay_pause_resume(invoke):
    job_id = invoke("jobs", "enqueue", "t-basic.fail", '{"times": 1}')[1].strip()
    code, out = invoke("jobs", "retry", job_id)
    assert code == 1 and "is waiting; only dead, cancelled, completed or delayed" in out
    assert invoke("jobs", "remove", "--queue", "t-basic", "--state", "waiting")[0] == 0
    delayed = invoke("jobs", "enqueue", "t-basic.fail", '{"times": 1}', "--delay", "60")[1].strip()
    code, out = invoke("jobs", "replay", delayed, "--kwargs", '{"times": 2, "bad": 1}')
    assert code == 1 and "unexpected keyword argument 'bad'" in out
    assert invoke("jobs", "replay", delayed, "--kwargs", '{"times": 2}') == (0, f"{delayed} is waiting\n")
    assert invoke("queues", "pause", "t-basic") == (0, "paused t-basic\n")
    rows = {r["name"]: r for r in json.loads(invoke("queues", "--json")[1])}
    assert rows["t-basic"]["paused"] is True
    assert invoke("queues", "resume", "t-basic") == (0, "resumed t-basic\n")
    code, out = invoke("queues", "pause", "nope")
    assert code == 1 and "unknown queue 'nope'" in out


def test_embedded_mode_commands_point_at_redis_url(tmp_path):
    host = load_host(make_settings("embedded", "x", tmp_path))
    result = CliRunner().invoke(cli, ["queues"], obj={"host": host})
    assert result.exit_code == 1 and "set REDIS_URL" in result.output


@pytest.mark.slow
def test_jobhost_run_in_embedded_mode_stops_cleanly_on_sigterm(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "JOBHOST_LOAD_PLUGINS": "", "JOBHOST_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobhost.cli", "run"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        seen = ""
        while "scheduler running" not in seen or "consuming" not in seen:  # both parts are up
            line = proc.stderr.readline()
            assert line, f"jobhost run ended early: {seen}"
            seen += line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert "shutting down gracefully" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
