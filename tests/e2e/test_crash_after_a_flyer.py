"""A worker SIGKILLed right after a flyer job completed, before it handed the job's events on:
the `flyer.processed` event waits in the queue's outbox (written in the same step as the
completion), and the next worker delivers it. The deal alert goes out once and the analytics fact
is counted once. Real processes throughout: `jobhost api`, `jobhost worker`, an SMTP server on
loopback, tesseract."""

from __future__ import annotations

import json
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

import jobhost_flyer_ocr
from tests.plugins.email.conftest import ScriptedHandler
from tests.plugins.flyer_ocr.flyerstack import make_stack
from tests.ports import free_port

SAMPLE = Path(jobhost_flyer_ocr.__file__).parent / "samples" / "sample-flyer.png"

# Dies the moment the engine has recorded a flyer job's completion (taskiq's `post_save`), before
# its worker's relay could run: nothing else happens in this process after the kill.
CRASHER = """
import os, signal
from taskiq import TaskiqMiddleware
from jobhost import hookimpl
from jobhost_flyer_ocr.task import TASK


class CrashAfterFlyer(TaskiqMiddleware):
    def post_save(self, message, result):
        if os.environ.get("CRASH_AFTER_FLYER") and message.task_name == TASK:
            os.kill(os.getpid(), signal.SIGKILL)


@hookimpl
def register_middlewares(register):
    register(CrashAfterFlyer())
"""


def install_crasher(root: Path) -> Path:
    site = root / "site"
    info = site / "flyer_crasher-1.0.dist-info"
    info.mkdir(parents=True)
    (site / "flyer_crasher.py").write_text(CRASHER)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: flyer-crasher\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[jobhost]\ncrasher = flyer_crasher\n")
    return site


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_worker_killed_right_after_a_flyer_job_still_gets_the_alert_and_the_fact_out(tmp_path):
    mail = ScriptedHandler()
    smtp = Controller(mail, hostname="127.0.0.1", port=free_port())
    smtp.start()
    stack = make_stack(
        tmp_path,
        JOBHOST_LOAD_PLUGINS="flyer_ocr,email,analytics,crasher",
        PYTHONPATH=str(install_crasher(tmp_path)),
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp.port),
        SMTP_TLS="none",
        MAIL_FROM="Deals <deals@example.com>",
    )
    try:
        ann = stack.user("ann@example.org")
        assert stack.client is not None
        watch = stack.client.put("/api/email/watchlist", json={"keywords": ["tortillas"]}, headers=ann)
        assert watch.status_code == 200, watch.text

        doomed = stack._spawn(
            "worker", "--no-supervisor", "--queue", "flyer-processing", CRASH_AFTER_FLYER="1"
        )
        upload = stack.upload(ann, SAMPLE.read_bytes(), "sample.png")
        assert upload.status_code == 202, upload.text
        job_id = upload.json()["jobId"]
        assert stack.wait(job_id, ann)[-1]["state"] == "completed"
        assert doomed.wait(timeout=60) == -signal.SIGKILL
        assert mail.received == []  # no worker is left to deliver anything

        stack._spawn("worker")  # every queue: the outbox's relay, the deliveries, the mail
        deadline = time.monotonic() + 120
        while not mail.received:
            assert time.monotonic() < deadline, "the deal alert never went out"
            time.sleep(0.3)
        today = datetime.now(UTC).date().isoformat()
        made = stack.jobhost("analytics", "report", "--daily", today, "--wait", "120")
        assert made.returncode == 0, made.stderr
        report = json.loads(made.stdout.split("\n", 1)[1])
        assert report["flyers"]["processed"] == 1  # the fact, counted once

        [alert] = mail.received  # once, though its event was relayed by a worker that never ran it
        assert alert.recipients == ["ann@example.org"]
        assert "Flour Tortillas" in alert.message.get_body(("plain",)).get_content()
    finally:
        stack.close()
        smtp.stop()
