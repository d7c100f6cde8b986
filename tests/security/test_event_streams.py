"""A thousand open job event streams cost the API one Redis connection, not its pool: status,
login and enqueueing keep working meanwhile, and caps per user and per process answer 429."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from tests.http import jobs_demo
from tests.http.conftest import PASSWORD

STREAMS = 1000


async def open_stream(url: str, path: str, headers: dict[str, str]) -> tuple[int, asyncio.StreamWriter]:
    """Send a real HTTP GET for an event stream and read its head; the connection stays open."""
    where = urlsplit(url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    lines = [f"GET {path} HTTP/1.1", f"Host: {where.netloc}", "Accept: text/event-stream"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = await reader.readuntil(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), writer


async def open_streams(url: str, path: str, headers: dict[str, str], n: int):
    return await asyncio.gather(*(open_stream(url, path, headers) for _ in range(n)))


async def close(writers) -> None:
    for writer in writers:
        writer.close()
    await asyncio.gather(*(w.wait_closed() for w in writers), return_exceptions=True)


async def test_a_thousand_open_streams_leave_status_login_and_enqueue_working(make_api):
    async with make_api(jobs_demo, JOBHOST_SSE_STREAMS_PER_USER=str(STREAMS)) as api:
        ann, headers = await api.user("ann@example.org")
        _, bob = await api.user("bob@example.org")
        job_id = (await api.client.post("/api/demo/jobs", json={}, headers=headers)).json()["job_id"]

        opened = await open_streams(api.url, f"/api/jobs/{job_id}/events", headers, STREAMS)
        try:
            assert [status for status, _ in opened] == [200] * STREAMS
            hub = api.app.state.jobhost.hub
            assert hub.open_streams == STREAMS
            # Everything else still gets its Redis and database connections.
            for _ in range(5):
                status = await api.client.get(f"/api/jobs/{job_id}", headers=headers)
                assert status.status_code == 200 and status.json()["state"] == "waiting"
                enqueued = await api.client.post("/api/demo/jobs", json={}, headers=bob)
                assert enqueued.status_code == 202
            login = await api.client.post("/api/auth/login", json={"email": ann.email, "password": PASSWORD})
            assert login.status_code == 200
            # The streams are live: the job's events reach them through the hub.
            await api.host.engine.cancel(job_id)
        finally:
            await close([writer for _, writer in opened])
        async with asyncio.timeout(30):
            while hub.open_streams:  # every closed stream gives its slot back
                await asyncio.sleep(0.05)


async def test_streams_beyond_a_users_cap_or_the_process_cap_get_429(make_api):
    async with make_api(jobs_demo, JOBHOST_SSE_STREAMS_PER_USER="2", JOBHOST_SSE_STREAMS="3") as api:
        _, ann = await api.user("ann@example.org")
        _, bob = await api.user("bob@example.org")
        ann_job = (await api.client.post("/api/demo/jobs", json={}, headers=ann)).json()["job_id"]
        bob_job = (await api.client.post("/api/demo/jobs", json={}, headers=bob)).json()["job_id"]
        ann_path, bob_path = f"/api/jobs/{ann_job}/events", f"/api/jobs/{bob_job}/events"

        opened = await open_streams(api.url, ann_path, ann, 2)
        try:
            over_user = await api.client.get(ann_path, headers=ann)
            assert over_user.status_code == 429 and "per user" in over_user.json()["detail"]
            assert over_user.headers["Retry-After"]
            opened += await open_streams(api.url, bob_path, bob, 1)
            over_all = await api.client.get(bob_path, headers=bob)
            assert over_all.status_code == 429 and "JOBHOST_SSE_STREAMS" in over_all.json()["detail"]
        finally:
            await close([writer for _, writer in opened])
        # Closed streams free their places.
        async with asyncio.timeout(10):
            while api.app.state.jobhost.hub.open_streams:
                await asyncio.sleep(0.05)
        again, writer = await open_stream(api.url, ann_path, ann)
        await close([writer])
        assert again == 200
