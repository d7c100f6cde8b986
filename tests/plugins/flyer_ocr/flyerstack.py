"""A real jobhost for the flyer plugin's HTTP tests: `jobhost api` and `jobhost worker` processes on
the shared Redis (under a key prefix of their own), a migrated SQLite database and an upload
folder in a temporary directory, users made with `jobhost users create` and logged in over HTTP.
Only the installed plugin and jobhost's public faces (its command and its API) are used."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import httpx

from jobhost.testing import forget_keys
from tests.ports import free_port

REDIS_URL = "redis://127.0.0.1:6379/0"
PASSWORD = "correct horse battery staple"
FINISHED = ("completed", "dead", "cancelled")


def tesseract_children() -> list[int]:
    """Pids of the tesseract processes this process started that still run."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            name = fields[0].split("(", 1)[1]
            parent = int(fields[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == os.getpid() and name == "tesseract":
            children.append(int(stat.parent.name))
    return children


def multipart(filename: str | None, content: bytes, **fields: str) -> tuple[bytes, dict[str, str]]:
    """A multipart/form-data body built by hand, so file names can be anything a client sends."""
    boundary = uuid.uuid4().hex
    body = b""
    for name, value in fields.items():
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    if filename is not None:
        disposition = f'form-data; name="file"; filename="{filename}"'
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        body += b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


@attrs.define(slots=False)  # tests pin their users' headers on it: stack.ann
class Stack:
    root: Path
    env: dict[str, str]
    url: str = ""
    procs: list[subprocess.Popen[bytes]] = attrs.field(factory=list)
    client: httpx.Client | None = None

    @property
    def uploads(self) -> Path:
        return Path(self.env["UPLOAD_DIR"])

    def stored_files(self) -> list[str]:
        return sorted(p.name for p in self.uploads.glob("*") if p.is_file()) if self.uploads.exists() else []

    def jobhost(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "jobhost", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def _spawn(self, *args: str, **env: str) -> subprocess.Popen[bytes]:
        log = open(self.root / f"{args[0]}-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "jobhost", *args],
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def start_api(self) -> None:
        port = free_port()
        proc = self._spawn("api", "--port", str(port))
        self.url = f"http://127.0.0.1:{port}"
        self.client = httpx.Client(base_url=self.url, timeout=60)
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (self.root / "api-0.log").read_text()
            try:
                if self.client.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the API did not come up in 60 s"
            time.sleep(0.2)

    def start_worker(self, **env: str) -> subprocess.Popen[bytes]:
        # The recorder hears events as jobs of its own queue, which this worker consumes too.
        heard = (
            ["--queue", "events.recorder"] if "recorder" in self.env.get("JOBHOST_LOAD_PLUGINS", "") else []
        )
        return self._spawn("worker", "--queue", "flyer-processing", *heard, **env)

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def user(self, email: str, *, admin: bool = False) -> dict[str, str]:
        """A user made with `jobhost users create`, logged in: headers carrying their token."""
        made = self.jobhost("users", "create", email, "--password", PASSWORD, *(["--admin"] if admin else []))
        assert made.returncode == 0, made.stderr
        assert self.client is not None
        login = self.client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        return {"Authorization": f"Bearer {login.json()['token']}"}

    def upload(
        self, headers: dict[str, str], content: bytes, filename: str | None = "flyer.png", **fields: str
    ) -> httpx.Response:
        body, form = multipart(filename, content, **fields)
        assert self.client is not None
        return self.client.post("/api/ai/upload-and-process", content=body, headers={**headers, **form})

    def status(self, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
        assert self.client is not None
        answer = self.client.get(f"/api/ai/jobs/{job_id}/status", headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def wait(
        self,
        job_id: str,
        headers: dict[str, str],
        until: Callable[[dict[str, Any]], bool] = lambda s: s["state"] in FINISHED,
        timeout: float = 90,
    ) -> list[dict[str, Any]]:
        """Every distinct status seen while polling, the last one satisfying `until`."""
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = self.status(job_id, headers)
            if not seen or current != seen[-1]:
                seen.append(current)
            if until(current):
                return seen
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} not there in {timeout} s: {json.dumps(seen[-1:])}")

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        for proc in self.procs:
            self.stop(proc)
        forget_keys(self.env["REDIS_URL"], self.env["JOBHOST_REDIS_PREFIX"])


RECORDER = """
import json, os
from jobhost import hookimpl

@hookimpl
def handle_event(event, host):
    with open(os.environ["RECORDED_EVENTS"], "a") as out:
        out.write(json.dumps({"name": event.name, "data": event.data, "source": event.source}) + "\\n")
"""


def install_recorder(root: Path) -> Path:
    """A plugin `recorder`, installed on a path of its own, that writes every event it hears to a file."""
    site = root / "site"
    info = site / "flyer_event_recorder-1.0.dist-info"
    info.mkdir(parents=True)
    (site / "flyer_event_recorder.py").write_text(RECORDER)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: flyer-event-recorder\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[jobhost]\nrecorder = flyer_event_recorder\n")
    return site


def make_stack(root: Path, **env: str) -> Stack:
    """A migrated database and a running API for the installed flyer plugin (workers on demand)."""
    own = ("JOBHOST_", "REDIS_URL", "DATABASE_URL", "UPLOAD_DIR", "FLYER_", "WORKER_CONCURRENCY")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    environ.update(
        {
            "REDIS_URL": REDIS_URL,
            "JOBHOST_REDIS_PREFIX": f"jobhost-flyer-test-{uuid.uuid4().hex[:12]}",
            "DATABASE_URL": f"sqlite:///{root / 'jobhost.db'}",
            "JOBHOST_DATA_DIR": str(root / "data"),
            "UPLOAD_DIR": str(root / "uploads"),
            "JOBHOST_BLOB_STORE": "folder",  # the tests look at the stored files
            "JOBHOST_LOAD_PLUGINS": "flyer_ocr",
            "JOBHOST_STRICT_PLUGINS": "1",
            **env,
        }
    )
    stack = Stack(root, environ)
    migrated = stack.jobhost("db", "upgrade")
    assert migrated.returncode == 0, migrated.stderr
    assert "flyer_ocr: applied flyer_ocr_0001, flyer_ocr_0002" in migrated.stdout
    stack.start_api()
    return stack
