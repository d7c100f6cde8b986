"""An enqueue into a Redis that hangs (SIGSTOP) or is down: the 503 never lies. When the job may
exist it says `"outcome": "unknown"` with the job id; the id and a retry with the same
Idempotency-Key tell the truth once Redis is back, and the retry never makes a second job. A
flyer upload keeps its record and file while its job may exist. Each test has a redis-server
of its own; the production timeouts (a hung Redis costs a request about 13 s)."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from jobhost.queue import producer
from jobhost_flyer_ocr.demo import SAMPLE_FLYER
from jobhost_flyer_ocr.intake import requeue_stranded
from jobhost_flyer_ocr.records import Flyers
from jobhost_flyer_ocr.task import QUEUE as FLYER_QUEUE
from tests.http import jobs_demo
from tests.http.outages import RedisServer
from tests.relay import Relay

pytestmark = pytest.mark.slow

UPLOAD = "/api/ai/upload-and-process"
SAMPLE = SAMPLE_FLYER.read_bytes()


@contextlib.contextmanager
def frozen(server: RedisServer) -> Iterator[None]:
    assert server.proc is not None
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)


def unknown_job(answer) -> str:
    """The job id of a 503 that says the outcome is unknown."""
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"]
    body = answer.json()
    assert body["outcome"] == "unknown"
    assert "look it up by id, or retry with the same idempotency key" in body["detail"]
    (job_id,) = body["job_ids"]
    return job_id


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_hung_redis_answers_unknown_and_the_same_key_never_duplicates(make_api, redis_server):
    async with make_api(jobs_demo, REDIS_URL=redis_server.url) as api:
        _, ann = await api.user("ann@example.org")
        keyed = {**ann, "Idempotency-Key": "order-17"}
        for _ in range(3):  # a warm pool, the queue set up
            assert (
                await api.client.post("/api/demo/jobs", json={"steps": 0}, headers=ann)
            ).status_code == 202
        with frozen(redis_server):
            job_id = unknown_job(await api.client.post("/api/demo/jobs", json={"steps": 1}, headers=keyed))

        # Redis ran what it held: the id says so, and the retry the client was told to make
        # answers that job instead of a second one.
        status = await api.client.get(f"/api/jobs/{job_id}", headers=ann)
        assert status.status_code == 200 and status.json()["state"] == "waiting"
        retry = await api.client.post("/api/demo/jobs", json={"steps": 1}, headers=keyed)
        assert retry.status_code == 202 and retry.json() == {"job_id": job_id}
        other = await api.client.post("/api/demo/jobs", json={"steps": 2}, headers=keyed)
        assert other.status_code == 422
        assert "'order-17' was used for another request" in other.json()["detail"]
        assert (await api.host.engine.counts(jobs_demo.QUEUE))["waiting"] == 4


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_bulk_enqueue_lost_part_way_answers_which_jobs_were_stored(
    make_api, redis_server, monkeypatch
):
    monkeypatch.setattr(producer, "PIPELINE_CHUNK", 2)  # round trips: 1 2 | 424242 3
    monkeypatch.setattr(producer, "JOBS_PER_CALL", 1)
    monkeypatch.setattr(producer, "ANSWER_TIMEOUT", 1.0)
    relay = await Relay(redis_server.port, "424242").start()
    try:
        async with make_api(jobs_demo, REDIS_URL=f"redis://127.0.0.1:{relay.port}/0") as api:
            _, ann = await api.user("ann@example.org")
            relay.mode = "hold"  # the second round trip is lost on the way
            steps = [{"steps": n} for n in (1, 2, 424242, 3)]
            answer = await api.client.post("/api/demo/jobs/bulk", json=steps, headers=ann)
            assert answer.status_code == 503 and answer.headers["retry-after"]
            body = answer.json()
            assert "after storing 2 of its 4 jobs" in body["detail"]
            assert (body["outcome"], body["stored"], len(body["job_ids"])) == (
                "partial",
                [True, True, False, False],
                4,
            )
            await relay.release()  # it reaches Redis late: its ids are fenced
            for job_id, stored in zip(body["job_ids"], body["stored"], strict=True):
                status = await api.client.get(f"/api/jobs/{job_id}", headers=ann)
                assert status.status_code == (200 if stored else 404)
            assert sum((await api.host.engine.counts(jobs_demo.QUEUE)).values()) == 2
    finally:
        await relay.stop()


async def uploader(api, key: str):
    """Ann, her headers, and the same with `key` as Idempotency-Key, after one upload (which sets
    up the queue and warms the connections)."""
    ann_user, ann = await api.user("ann@example.org")
    files = {"file": ("sample.png", SAMPLE, "image/png")}
    assert (await api.client.post(UPLOAD, files=files, headers=ann)).status_code == 202
    return ann_user, ann, {**ann, "Idempotency-Key": key}


async def test_a_flyer_upload_into_a_hung_redis_keeps_its_flyer_and_the_retry_answers_its_job(
    make_api, redis_server
):
    async with make_api(installed=("flyer_ocr",), REDIS_URL=redis_server.url) as api:
        ann_user, ann, keyed = await uploader(api, "upload-hung")
        files = {"file": ("sample.png", SAMPLE, "image/png")}
        with frozen(redis_server):
            answer = await api.client.post(UPLOAD, files=files, headers=keyed)
        job_id = unknown_job(answer)

        # The job exists (Redis ran it when it resumed), and so do its flyer and file.
        flyer = await Flyers(api.host.db).by_key(ann_user.owner, "upload-hung")
        assert flyer is not None and (flyer.job_id, flyer.status) == (job_id, "queued")
        assert answer.json()["flyerId"] == flyer.id  # the 503 says which flyer to look up
        assert await api.host.blobs.get(flyer.stored_name) == SAMPLE
        assert (await api.host.job(job_id)) is not None
        retry = await api.client.post(UPLOAD, files=files, headers=keyed)
        assert retry.status_code == 202
        assert retry.json() == {"jobId": job_id, "flyerId": flyer.id}
        assert (await api.host.engine.counts(FLYER_QUEUE))["waiting"] == 2
        assert (await api.client.get("/api/flyers", headers=ann)).json()["total"] == 2


async def test_a_flyer_upload_while_redis_is_down_is_queued_by_the_retry_once_it_is_back(
    make_api, redis_server
):
    async with make_api(installed=("flyer_ocr",), REDIS_URL=redis_server.url) as api:
        ann_user, ann, keyed = await uploader(api, "upload-down")
        files = {"file": ("sample.png", SAMPLE, "image/png")}
        redis_server.stop()
        answer = await api.client.post(UPLOAD, files=files, headers=keyed)
        first = unknown_job(answer)
        flyer = await Flyers(api.host.db).by_key(ann_user.owner, "upload-down")
        assert flyer is not None and flyer.job_id == first  # kept: it cannot be known that no job exists
        assert answer.json()["flyerId"] == flyer.id
        assert await api.host.blobs.get(flyer.stored_name) == SAMPLE

        redis_server.start()  # without persistence: the first job was never stored anywhere
        assert (await api.client.get(f"/api/ai/jobs/{first}/status", headers=ann)).status_code == 404
        retry = await api.client.post(UPLOAD, files=files, headers=keyed)
        assert retry.status_code == 202, retry.text
        assert retry.json()["flyerId"] == flyer.id and retry.json()["jobId"] != first
        again = await api.client.post(UPLOAD, files=files, headers=keyed)
        assert again.json() == retry.json()
        status = await api.client.get(f"/api/ai/jobs/{retry.json()['jobId']}/status", headers=ann)
        assert status.json()["state"] == "waiting"
        assert (await api.client.get("/api/flyers", headers=ann)).json()["total"] == 2


async def test_stranded_flyers_get_their_jobs_from_the_sweep_once(make_api, redis_server):
    """Uploads whose jobs are not there, and no retry came: one whose enqueue went unanswered,
    one whose job a Redis without persistence lost. The schedule's sweep
    (`flyer_ocr.requeue_stranded`) queues their jobs once Redis is back, and only once."""
    async with make_api(installed=("flyer_ocr",), REDIS_URL=redis_server.url) as api:
        _, ann = await api.user("ann@example.org")
        files = {"file": ("sample.png", SAMPLE, "image/png")}
        lost = (await api.client.post(UPLOAD, files=files, headers=ann)).json()
        redis_server.stop()
        unknown = unknown_job(await api.client.post(UPLOAD, files=files, headers=ann))
        redis_server.start()

        later = datetime.now(UTC) + timedelta(seconds=1)  # as if uploaded STRANDED_AFTER ago
        assert await requeue_stranded(api.host, datetime.now(UTC) - timedelta(minutes=15)) == []
        requeued = await requeue_stranded(api.host, later)
        assert len(requeued) == 2 and lost["flyerId"] in requeued
        for flyer_id in requeued:
            flyer = await Flyers(api.host.db).get(flyer_id)
            assert flyer is not None and flyer.job_id not in (None, unknown, lost["jobId"])
            job = await api.host.job(flyer.job_id)
            assert job is not None and (job.kwargs, job.state) == ({"flyer_id": flyer_id}, "waiting")
        assert await requeue_stranded(api.host, later) == []
        assert (await api.host.engine.counts(FLYER_QUEUE))["waiting"] == 2
