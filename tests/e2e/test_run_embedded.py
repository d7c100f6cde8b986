"""A first run, as the README tells a newcomer: `jobhost run` with no Redis and no database set up,
an account made with the CLI, a flyer uploaded over HTTP, its job followed to the deals; then
SIGTERM stops everything cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import jobhost_flyer_ocr
from tests.ports import free_port

SAMPLE = Path(jobhost_flyer_ocr.__file__).parent / "samples" / "sample-flyer.png"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    own = ("JOBHOST_", "REDIS_URL", "DATABASE_URL", "UPLOAD_DIR", "SMTP_", "WORKER_CONCURRENCY")
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(own)},
        "JOBHOST_DATA_DIR": str(tmp_path / "data"),
        "SHUTDOWN_TIMEOUT": "5",
    }


def jobhost(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "jobhost", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_jobhost_run_serves_the_api_and_runs_the_flyer_job_without_redis(env):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "jobhost", "run", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read()
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "jobhost run did not become ready"
            time.sleep(0.2)

        # SQLite is a file, so the CLI reaches the running host's accounts.
        jobhost(env, "users", "create", "ann@example.org", "--password", "a long passphrase")
        token = jobhost(env, "tokens", "create", "ann@example.org").splitlines()[-1]
        auth = {"Authorization": f"Bearer {token}"}

        with httpx.Client(base_url=base, headers=auth, timeout=30) as client:
            answer = client.post(
                "/api/ai/upload-and-process", files={"file": ("flyer.png", SAMPLE.read_bytes(), "image/png")}
            )
            assert answer.status_code == 202, answer.text
            job_id = answer.json()["jobId"]
            assert answer.headers["location"] == f"/api/ai/jobs/{job_id}/status"
            status = {}
            while time.monotonic() < deadline + 60:
                status = client.get(f"/api/ai/jobs/{job_id}/status").json()
                if status["state"] in ("completed", "dead"):
                    break
                time.sleep(0.3)
            assert status["state"] == "completed", status
            names = {item["name"] for item in status["result"]["items"]}
            assert {"Flour Tortillas", "Roma Tomatoes", "Black Beans"} <= names
            assert httpx.get(f"{base}/api/jobs/{job_id}").status_code == 401  # needs a token
            # A signed token in a query string is a secret: the access log keeps its name only.
            client.get("/api/email/unsubscribe", params={"token": "sekrit-signed-value"})

        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        log = server.stderr.read()
        assert "GET /api/email/unsubscribe?token=*** HTTP/1.1" in log
        assert "sekrit-signed-value" not in log and token not in log
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
