"""The README's first section, followed literally in a fresh virtualenv: the install command and
`jobhost run`, the one-time sign-in link, an account and a token, the sample flyer uploaded with
the README's curl command and its status; then a restart that keeps the job."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_run_embedded import free_port
from tests.host.virtualenvs import fresh_venv, run

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text()
FIRST = README[README.index("## Two commands") : README.index("The tests use real services:")]


def sh_blocks() -> list[list[str]]:
    """The first section's `sh` blocks, as lists of lines (indentation removed)."""
    blocks = re.findall(r"```sh\n(.+?)\n\s*```", FIRST, re.DOTALL)
    return [[line.strip() for line in block.splitlines()] for block in blocks]


class Terminal:
    """Commands as a user types them in a shell, with the fresh virtualenv's `bin` first on PATH,
    from a folder of their own (not the one `jobhost run` started in)."""

    def __init__(self, venv: Path, env: dict[str, str], cwd: Path) -> None:
        self.env = {**env, "PATH": f"{venv / 'bin'}{os.pathsep}{env['PATH']}"}
        self.cwd = cwd

    def __call__(self, line: str, stdin: str = "", **extra: str) -> str:
        done = subprocess.run(
            ["bash", "-c", line],
            input=stdin,
            env={**self.env, **extra},
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def start(self, line: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            ["bash", "-c", f"exec {line}"],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )


def banner(server: subprocess.Popen[str], base: str) -> str:
    """What `jobhost run` printed up to the last line of its banner, once it serves."""
    assert server.stdout is not None
    lines = []
    while not lines or not lines[-1].startswith(("  http", "Sign in with")):
        line = server.stdout.readline()
        assert line, f"jobhost run exited ({server.poll()}) after printing {lines}"
        lines.append(line.rstrip("\n"))
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                return "\n".join(lines)
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "jobhost run did not become ready"
        time.sleep(0.2)


def stop(server: subprocess.Popen[str]) -> None:
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=30) == 0


@pytest.mark.slow
@pytest.mark.timeout(600)  # a dozen `jobhost` processes, each loading every plugin
def test_the_readme_first_section_works_as_written_in_a_fresh_virtualenv(tmp_path):
    install_and_run, _tests, accounts, upload = sh_blocks()
    install, start = (part.strip() for part in install_and_run[0].split("&&"))
    assert start == "jobhost run"
    venv = tmp_path / "venv"
    python = fresh_venv(venv)
    # The README's pip command, with the builds offline (hatchling is here already).
    args = install.split()[2:]
    pip = [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check"]
    run(*pip, "install", "--no-build-isolation", "-q", *args, cwd=ROOT)

    own = ("JOBHOST_", "REDIS_URL", "DATABASE_URL", "UPLOAD_DIR", "SMTP_", "PYTEST_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    env["XDG_DATA_HOME"] = str(tmp_path / "home-data")  # the user data folder, not ours
    (tmp_path / "elsewhere").mkdir()
    terminal = Terminal(venv, env, tmp_path / "elsewhere")
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    server = terminal.start(f"{start} --port {port}")
    try:
        shown = banner(server, base)
        data = tmp_path / "home-data" / "jobhost"
        assert f"data:         {data}" in shown and "embedded" in shown
        assert f"dashboard:    {base}/api/admin/jobs" in shown
        link = shown.splitlines()[-1].strip()
        assert link.startswith(f"{base}/api/admin/jobs/sign-in?token=")

        # 1. The link signs the browser in and lands on the dashboard; it works once.
        with httpx.Client(follow_redirects=True) as browser:
            landed = browser.get(link)
            assert (landed.status_code, str(landed.url)) == (200, f"{base}/api/admin/jobs")
            assert "admin@localhost" in landed.text
        assert httpx.get(link).status_code == 403

        # 2. An account (the password asked twice) and a token, from another folder.
        create_user, create_token = accounts
        assert "created admin me@example.org" in terminal(create_user, stdin="a long passphrase\n" * 2)
        token = terminal(create_token).splitlines()[-1]

        # 3. The sample flyer uploaded and followed with the README's curl commands.
        assert upload[0].startswith("TOKEN=")
        to_here = {"TOKEN": token}
        answer = json.loads(terminal(upload[1].replace("127.0.0.1:8000", f"127.0.0.1:{port}"), **to_here))
        job_id = answer["jobId"]
        status_line = upload[2].replace("127.0.0.1:8000", f"127.0.0.1:{port}").replace("JOB_ID", job_id)
        deadline = time.monotonic() + 120
        while (status := json.loads(terminal(status_line, **to_here)))["state"] not in ("completed", "dead"):
            assert time.monotonic() < deadline, status
            time.sleep(0.5)
        assert status["state"] == "completed", status
        assert len(status["result"]["items"]) >= 10
        stop(server)

        # A restart keeps the job and its status; with an admin now, no link is printed.
        server = terminal.start(f"{start} --port {port}")
        assert "sign-in?token" not in banner(server, base)
        again = httpx.get(f"{base}/api/ai/jobs/{job_id}/status", headers={"Authorization": f"Bearer {token}"})
        assert (again.status_code, again.json()["state"]) == (200, "completed")
        stop(server)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
