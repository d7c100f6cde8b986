"""`jobhost api` as operators run it: a real process on a real port, fuzzed by schemathesis
against its own OpenAPI document, and stopped with SIGTERM while a request is in flight."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import attrs
import httpx
import pytest

from jobhost.testing import build_host, forget_keys
from tests.http.conftest import REDIS_URL
from tests.http.outages import free_port
from tests.mail_sink import mail_sink

SLOW_PLUGIN = """
import asyncio

from litestar import post

from jobhost import QueuePolicy, hookimpl


def noop() -> None:
    pass


@post("/api/slow/jobs", status_code=202)
async def slow_enqueue(host: "Host") -> dict:
    await asyncio.sleep(1.5)  # a slow request still in flight when SIGTERM comes
    job = await host.enqueue("slow.noop")
    return {"job_id": job.id}


@hookimpl
def register_queues(register):
    register(QueuePolicy("slow-demo"))


@hookimpl
def register_tasks(register):
    register(noop, queue="slow-demo", name="slow.noop")


@hookimpl
def register_routes(register):
    register(slow_enqueue)
"""


def jobhost(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "jobhost", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return proc


@attrs.frozen
class Served:
    url: str
    env: dict[str, str]
    token: str
    proc: subprocess.Popen[bytes]


@pytest.fixture
def served(tmp_path: Path, dist_path) -> Iterator[Served]:
    """`jobhost api` with the slow and email plugins, on SQLite and the shared Redis, and an
    admin's token."""
    site = dist_path("jobhost-slow", {"slow": "slow_plugin"}, {"slow_plugin": SLOW_PLUGIN})
    port = free_port()
    # A real mail server: a valid address for the admin's test mail gets its answer, not a 503.
    smtp = mail_sink()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBHOST_", "DATABASE_URL", "REDIS_URL"))}
    env.update(
        PYTHONPATH=str(site),
        REDIS_URL=REDIS_URL,
        JOBHOST_REDIS_PREFIX=f"jobhost-test-{uuid.uuid4().hex[:12]}",
        JOBHOST_DATA_DIR=str(tmp_path / "data"),
        JOBHOST_LOAD_PLUGINS="slow,email",  # email: the mail service password reset needs
        SHUTDOWN_TIMEOUT="10",
        JOBHOST_SECRET_KEY="test-secret-key-for-signed-links",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp.port),
        SMTP_TLS="none",
        MAIL_FROM="noreply@example.org",
    )
    jobhost(env, "db", "upgrade")
    jobhost(env, "users", "create", "root@example.org", "--admin", "--password", "admin-pass")
    token = jobhost(env, "tokens", "create", "root@example.org").stdout.strip().splitlines()[-1]
    proc = subprocess.Popen([sys.executable, "-m", "jobhost", "api", "--port", str(port)], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        yield Served(url, env, token, proc)
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(30)
        smtp.stop()
        forget_keys(env["REDIS_URL"], env["JOBHOST_REDIS_PREFIX"])


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_schemathesis_finds_no_server_errors(served, tmp_path):
    schema = f"{served.url}/schema/openapi.json"
    auth = f"Authorization: Bearer {served.token}"
    # Logging out would spend the token the run authenticates with (logout has its own test);
    # the slow route only sleeps. Stateful runs follow real jobs' endless event streams.
    options = ["--checks", "not_a_server_error", "--max-examples", "15", "-H", auth]
    options += ["--exclude-path", "/api/auth/logout", "--exclude-path", "/api/slow/jobs"]
    options += ["--phases", "examples,coverage,fuzzing", "--request-timeout", "10"]
    proc = subprocess.run(
        ["st", "run", schema, *options],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert "passed" in proc.stdout.lower()


@pytest.mark.slow
async def test_sigterm_lets_the_request_in_flight_finish_with_its_job(served, tmp_path):
    headers = {"Authorization": f"Bearer {served.token}"}
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:
        request = asyncio.create_task(client.post("/api/slow/jobs", headers=headers))
        await asyncio.sleep(0.5)
        served.proc.send_signal(signal.SIGTERM)
        answer = await request
        assert answer.status_code == 202
        with pytest.raises(httpx.TransportError):  # no new connections once it got the signal
            await client.get("/healthz")

    assert await asyncio.to_thread(served.proc.wait, 30) == 0
    host = build_host(tmp_path=tmp_path, **{k: served.env[k] for k in ("REDIS_URL", "JOBHOST_REDIS_PREFIX")})
    try:
        job = await host.job(answer.json()["job_id"])
        assert job is not None and job.state == "waiting"
    finally:
        await host.engine.close()
