"""Logs as operators meet them: a Redis outage under a real idle worker is a handful of lines, not
thousands; JOBHOST_LOG_FORMAT=json writes one object a line, with the job on every job line."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from jobhost import QueuePolicy, hookimpl, task
from jobhost.logs import handler
from tests.http.outages import RedisServer


def _wait_for(path: Path, text: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = path.read_text()
        if text in found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not logged within {timeout}s:\n{path.read_text()}")


def test_a_redis_outage_under_an_idle_worker_is_one_warning_and_one_line_when_it_is_back(tmp_path):
    redis = RedisServer(tmp_path)
    redis.start()
    log = tmp_path / "worker.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBHOST_", "REDIS_URL"))}
    env |= {
        "REDIS_URL": redis.url,
        "JOBHOST_DATA_DIR": str(tmp_path / "data"),
        "JOBHOST_SECRET_KEY": "test",
        "SHUTDOWN_TIMEOUT": "2",
    }
    with log.open("w") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "jobhost", "worker"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_for(log, "consuming", 60)
        redis.stop()  # every consumer, the housekeeping and the heartbeat now fail, for seconds
        _wait_for(log, "Redis is unreachable", 20)
        time.sleep(4)
        redis.start()  # same port
        _wait_for(log, "Redis is back after", 20)
        time.sleep(1.5)  # pooled connections the old server closed fail once each now
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
        redis.stop()
    lines = log.read_text().splitlines()
    assert len(lines) <= 8, "\n".join(lines)
    assert sum("Redis is unreachable" in line for line in lines) == 1, lines
    assert sum("Redis is back after" in line for line in lines) == 1, lines
    assert not [line for line in lines if "Traceback" in line or "Unclosed" in line], lines


QUEUE = QueuePolicy("t-logged", attempts=2)
logger = logging.getLogger("tests.logged")


@task("t-logged.say", queue="t-logged")
async def say(word: str) -> str:
    logger.info("saying %s", word)
    return word


class LoggedPlugin:
    @hookimpl
    def register_queues(self, register):
        register(QUEUE)

    @hookimpl
    def register_tasks(self, register):
        register(say)


async def test_json_logs_are_one_object_a_line_with_the_job_on_every_job_line(make_host):
    host = make_host(LoggedPlugin())
    stream = io.StringIO()
    found = handler("json", stream)
    root = logging.getLogger()
    root.addHandler(found)
    level, root.level = root.level, logging.INFO
    try:
        async with host.worker(["t-logged"]):
            job = await host.enqueue("t-logged.say", {"word": "hello"})
            assert (await host.wait(job.id, 10)).state == "completed"
            logging.getLogger("tests.outside").warning("not about a job")
    finally:
        root.removeHandler(found)
        root.level = level
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    said = next(line for line in lines if line["message"] == "saying hello")
    assert said["job_id"] == job.id and said["task"] == "t-logged.say"
    assert (said["queue"], said["try"], said["level"]) == ("t-logged", 1, "INFO")
    assert said["logger"] == "tests.logged"
    outside = next(line for line in lines if line["message"] == "not about a job")
    assert "job_id" not in outside and outside["level"] == "WARNING"


STOPPING = QueuePolicy("t-stopping", attempts=2)


class StoppingPlugin:
    """A task that stops the Redis its worker records outcomes in, like a failover mid-job."""

    def __init__(self, redis: RedisServer) -> None:
        self.redis = redis

    @hookimpl
    def register_queues(self, register):
        register(STOPPING)

    @hookimpl
    def register_tasks(self, register):
        @task("t-stopping.stop", queue="t-stopping")
        async def stop() -> None:
            await asyncio.to_thread(self.redis.stop)

        register(stop)


async def test_an_outcome_lost_to_an_outage_is_one_line_without_a_traceback(make_host, tmp_path, caplog):
    redis = RedisServer(tmp_path)
    redis.start()
    host = make_host(StoppingPlugin(redis), REDIS_URL=redis.url, SHUTDOWN_TIMEOUT="1")
    caplog.set_level(logging.INFO, "jobhost")
    try:
        async with host.worker(["t-stopping"]):
            job = await host.enqueue("t-stopping.stop")
            deadline = time.monotonic() + 30
            while "recording its outcome failed" not in caplog.text:
                assert time.monotonic() < deadline, caplog.text
                await asyncio.sleep(0.1)
    finally:
        redis.stop()
    [line] = [r for r in caplog.records if "recording its outcome failed" in r.getMessage()]
    assert line.levelno == logging.WARNING and job.id in line.getMessage()
    assert "(unreachable: ConnectionError: Error 111 connecting" in line.getMessage()
    assert not [r for r in caplog.records if r.exc_info and r.levelno >= logging.INFO]
