"""The jobs API over real HTTP: status by owner, live events (SSE) of a real job, admin actions,
metrics, and enqueueing while Redis is down."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from jobhost.worker import running_worker
from tests.http import jobs_demo
from tests.polling import until


async def sse(
    client, path: str, headers: dict[str, str], messages: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Every message of an SSE stream until the server ends it: events and comments, appended to
    `messages` (if given) as they arrive."""
    messages = [] if messages is None else messages
    current: dict[str, Any] = {}
    async with client.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if not line:
                if current:
                    messages.append(current)
                current = {}
            elif line.startswith(":"):
                messages.append({"comment": line[1:].strip()})
            else:
                field, _, value = line.partition(":")
                current[field] = value.strip()
    return messages


def events(messages: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(m["id"], json.loads(m["data"])) for m in messages if "data" in m]


async def test_owner_admin_and_others_see_what_they_should(make_api):
    async with make_api(jobs_demo) as api:
        _, ann = await api.user("ann@example.org")
        _, bob = await api.user("bob@example.org")
        _, root = await api.user("root@example.org", admin=True)
        created = await api.client.post("/api/demo/jobs", json={"steps": 1}, headers=ann)
        assert created.status_code == 202
        job_id = created.json()["job_id"]
        path = f"/api/jobs/{job_id}"

        mine = await api.client.get(path, headers=ann)
        assert mine.status_code == 200
        assert mine.json()["state"] == "waiting" and mine.json()["kwargs"] == {"steps": 1}
        assert (await api.client.get(path, headers=root)).status_code == 200
        assert (await api.client.get(path)).status_code == 401
        others = await api.client.get(path, headers=bob)
        missing = await api.client.get(f"/api/jobs/{job_id[:-4]}0000", headers=bob)
        assert others.status_code == missing.status_code == 404
        assert (await api.client.get(f"{path}/events", headers=bob)).status_code == 404
        assert (await api.client.get("/api/jobs/not-a-job-id", headers=ann)).status_code == 404


async def test_events_stream_a_real_job_to_completion_and_resume(make_api):
    async with make_api(jobs_demo, JOBHOST_SSE_HEARTBEAT="0.2") as api:
        _, ann = await api.user("ann@example.org")
        job_id = (await api.client.post("/api/demo/jobs", json={"steps": 2}, headers=ann)).json()["job_id"]
        path = f"/api/jobs/{job_id}/events"

        messages: list[dict[str, Any]] = []
        reading = asyncio.create_task(sse(api.client, path, ann, messages))
        # Nothing runs the job yet: the stream holds its one event, then heartbeats. Waiting for
        # one, not a fixed time, as a loaded machine can take longer than that to open the stream.
        await until(lambda: {"comment": "heartbeat"} in messages)
        assert [e["state"] for _, e in events(messages)] == ["waiting"]
        async with running_worker(api.host, [jobs_demo.QUEUE]):
            await asyncio.wait_for(reading, 30)

        seen = events(messages)
        states = [e["state"] for _, e in seen if e["type"] == "state"]
        assert states[0] == "waiting" and states[-1] == "completed" and "active" in states
        percents = [e["progress"]["percent"] for _, e in seen if e["type"] == "progress"]
        assert percents[-1] == 100

        # Reconnecting after the second event replays only what came after it.
        resumed = events(await sse(api.client, path, {**ann, "Last-Event-ID": seen[1][0]}))
        assert resumed == seen[2:]
        status = (await api.client.get(f"/api/jobs/{job_id}", headers=ann)).json()
        assert status["state"] == "completed" and status["result"] == {"steps": 2}


async def test_admin_status_and_job_actions(make_api):
    async with make_api(jobs_demo) as api:
        _, ann = await api.user("ann@example.org")
        _, root = await api.user("root@example.org", admin=True)
        admin = "/api/admin"
        bad = (await api.client.post("/api/demo/jobs", json={"fail": True}, headers=ann)).json()["job_id"]
        async with running_worker(api.host, [jobs_demo.QUEUE]):
            await api.host.engine.wait(bad, timeout=20)
            workers = (await api.client.get(f"{admin}/workers/status", headers=root)).json()["workers"]
            assert len(workers) == 1 and jobs_demo.QUEUE in json.dumps(workers)

            dead = (await api.client.get(f"{admin}/jobs/{bad}", headers=root)).json()
            assert dead["state"] == "dead" and "asked to fail" in dead["errors"][0]["error"]
            assert dead["errors"][0]["traceback"]  # admins see tracebacks; owners do not
            owner_view = (await api.client.get(f"/api/jobs/{bad}", headers=ann)).json()
            assert "traceback" not in owner_view["errors"][0]

            wrong = await api.client.post(
                f"{admin}/jobs/{bad}/replay", json={"kwargs": {"nope": 1}}, headers=root
            )
            assert wrong.status_code == 400 and "nope" in wrong.json()["detail"]
            replayed = await api.client.post(
                f"{admin}/jobs/{bad}/replay", json={"kwargs": {"steps": 1}}, headers=root
            )
            assert replayed.status_code == 200 and replayed.json()["kwargs"] == {"steps": 1}
            done = await api.host.engine.wait(bad, timeout=20)
            assert done.state == "completed"

        again = await api.client.post(f"{admin}/jobs/{bad}/retry", headers=root)
        assert again.status_code == 200 and again.json()["state"] == "waiting"  # no worker now

        paused = await api.client.post(f"{admin}/queues/{jobs_demo.QUEUE}/pause", headers=root)
        assert paused.json() == {"queue": jobs_demo.QUEUE, "paused": True}
        status = (await api.client.get(f"{admin}/queues/status", headers=root)).json()["queues"]
        demo = next(q for q in status if q["name"] == jobs_demo.QUEUE)
        assert demo["paused"] and demo["counts"]["dead"] == 0
        assert demo["totals"]["failed"] == 1 and demo["per_minute_last_hour"]["completed"] > 0
        assert demo["policy"]["attempts"] == 2
        assert (
            await api.client.post(f"{admin}/queues/{jobs_demo.QUEUE}/resume", headers=root)
        ).status_code == 200

        listed = await api.client.get(f"{admin}/queues/{jobs_demo.QUEUE}/jobs?state=waiting", headers=root)
        assert [j["id"] for j in listed.json()["jobs"]] == [bad]
        cleaned = await api.client.post(
            f"{admin}/queues/{jobs_demo.QUEUE}/clean", json={"state": "waiting"}, headers=root
        )
        assert cleaned.json()["removed"] == 1
        assert (await api.client.delete(f"{admin}/jobs/{bad}", headers=root)).status_code == 404
        unknown = await api.client.post(f"{admin}/queues/no-such/pause", headers=root)
        assert unknown.status_code == 400 and "unknown queue 'no-such'" in unknown.json()["detail"]
        assert (
            await api.client.post(f"{admin}/queues/{jobs_demo.QUEUE}/pause", headers=ann)
        ).status_code == 403


async def test_metrics_parse_and_count_queues_and_requests(make_api):
    async with make_api(jobs_demo) as api:
        _, ann = await api.user("ann@example.org")
        for _ in range(3):
            await api.client.post("/api/demo/jobs", json={}, headers=ann)
        text = (await api.client.get("/metrics")).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    waiting = [
        s
        for s in families["jobhost_queue_jobs"].samples
        if s.labels == {"queue": jobs_demo.QUEUE, "state": "waiting"}
    ]
    assert waiting[0].value == 3
    assert families["jobhost_redis_up"].samples[0].value == 1
    posts = [
        s
        for s in families["jobhost_http_requests"].samples
        if s.labels.get("route") == "/api/demo/jobs" and s.name.endswith("_total")
    ]
    assert posts[0].value == 3 and posts[0].labels["status"] == "202"
    assert "jobhost_http_request_duration_seconds" in families
    assert "jobhost_queue_oldest_waiting_seconds" in families


async def test_metrics_histogram_of_try_durations(make_api):
    async with make_api(jobs_demo) as api:
        _, ann = await api.user("ann@example.org")
        ids = [
            (await api.client.post("/api/demo/jobs", json=body, headers=ann)).json()["job_id"]
            for body in ({}, {"fail": True})
        ]
        async with running_worker(api.host, [jobs_demo.QUEUE]):
            for job_id in ids:
                await api.host.wait(job_id, timeout=20)
        text = (await api.client.get("/metrics")).text
    family = {f.name: f for f in text_string_to_metric_families(text)}["jobhost_job_duration_seconds"]
    samples = [s for s in family.samples if s.labels.get("queue") == jobs_demo.QUEUE]
    buckets = [s.value for s in samples if s.name.endswith("_bucket")]
    assert buckets == sorted(buckets) and buckets[-1] == 2  # one completed try, one failed try
    assert [s.value for s in samples if s.name.endswith("_count")] == [2]
    assert 0 <= next(s.value for s in samples if s.name.endswith("_sum")) < 10


async def test_enqueue_while_redis_is_down_is_503_and_never_a_202_without_a_job(make_api, redis_server):
    async with make_api(jobs_demo, REDIS_URL=redis_server.url) as api:
        _, ann = await api.user("ann@example.org")
        redis_server.stop()
        down = await api.client.post("/api/demo/jobs", json={}, headers=ann)
        assert down.status_code == 503
        assert down.json()["detail"] == "Redis is unavailable, so nothing was done; retry shortly"

        redis_server.start()
        up = await api.client.post("/api/demo/jobs", json={}, headers=ann)
        assert up.status_code == 202
        status = await api.client.get(f"/api/jobs/{up.json()['job_id']}", headers=ann)
        assert status.json()["state"] == "waiting"
        counts = await api.host.engine.counts(jobs_demo.QUEUE)
        assert counts["waiting"] == 1  # only the job that got its 202
