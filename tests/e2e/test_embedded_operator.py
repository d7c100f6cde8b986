"""Operator commands against a running embedded `jobhost run` on the same machine: they reach its
live queues through the loopback door it opens (token in an owner-only file), which refuses
anyone without the token; once it stops, the commands say so instead."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.test_run_embedded import free_port


def jobhost(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "jobhost", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert (done.returncode == 0) == ok, (args, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    return done


@pytest.mark.slow
@pytest.mark.timeout(600)  # a dozen `jobhost` processes, each loading every plugin
def test_operator_commands_work_on_a_running_embedded_host_and_only_with_its_token(tmp_path: Path):
    own = ("JOBHOST_", "REDIS_URL", "DATABASE_URL", "UPLOAD_DIR", "SMTP_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    env |= {"JOBHOST_DATA_DIR": str(tmp_path / "data"), "SHUTDOWN_TIMEOUT": "5"}
    door = tmp_path / "data" / "embedded.json"
    server = subprocess.Popen(
        [sys.executable, "-m", "jobhost", "run", "--port", str(free_port())],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not door.exists():
            assert server.poll() is None and time.monotonic() < deadline, "no loopback door"
            time.sleep(0.2)
        assert stat.S_IMODE(door.stat().st_mode) == 0o600
        url = json.loads(door.read_text())["url"]
        assert url.startswith("redis://:") and "@127.0.0.1:" in url

        job_id = jobhost(env, "jobs", "enqueue", "cleanup.tokens", "--delay", "600").stdout.strip()
        listed = jobhost(env, "jobs", "list", "token-cleanup", "--state", "delayed").stdout
        assert job_id in listed
        counts = {q["name"]: q["counts"] for q in json.loads(jobhost(env, "queues", "--json").stdout)}
        assert counts["token-cleanup"]["delayed"] == 1
        retried = jobhost(env, "jobs", "retry", job_id).stdout.strip()
        assert retried in (f"{job_id} is {state}" for state in ("waiting", "active", "completed"))
        taken = time.monotonic() + 60
        while json.loads(jobhost(env, "jobs", "show", job_id).stdout)["state"] != "completed":
            assert time.monotonic() < taken, "the running host's worker did not take the job"
            time.sleep(0.3)

        # `jobhost demo` beside it sends the sample flyer to its queue, for its workers to run:
        # the job outlives the demo, and the running host's worker ran it.
        demo = jobhost(env, "demo").stdout
        assert "using the queue of the `jobhost run` running on this data directory" in demo
        demo_job = demo.split(" job ", 1)[1].split()[0]
        shown = json.loads(jobhost(env, "jobs", "show", demo_job).stdout)
        assert shown["state"] == "completed" and "12 deals" in demo
        assert shown["worker"] == json.loads(jobhost(env, "jobs", "show", job_id).stdout)["worker"]

        # Without the token the port answers nothing but a refusal.
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        for first in (b"*1\r\n$4\r\nPING\r\n", b"*2\r\n$4\r\nAUTH\r\n$5\r\nwrong\r\n"):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as probe:
                probe.sendall(first + b"*2\r\n$4\r\nKEYS\r\n$1\r\n*\r\n")
                answer = b""
                while chunk := probe.recv(4096):
                    answer += chunk
            assert answer == b"-NOAUTH jobhost: wrong or missing token\r\n"

        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        assert not door.exists()
        refused = jobhost(env, "queues", ok=False).stderr
        assert "no `jobhost run` is running on this data directory" in refused
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
