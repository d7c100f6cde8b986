"""Slow clients (slowloris) do not hold connections: a request head or body that does not
arrive in time ends the connection, and one process serves a bounded number of connections."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from tests.http import jobs_demo
from tests.security.test_event_streams import close, open_streams


async def connect(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    where = urlsplit(url)
    return await asyncio.open_connection(where.hostname, where.port)


async def test_a_request_head_sent_too_slowly_is_cut_off(make_api):
    async with make_api(jobs_demo, JOBHOST_HTTP_HEADER_TIMEOUT="300ms") as api:
        reader, writer = await connect(api.url)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and the rest never comes
        try:
            assert await asyncio.wait_for(reader.read(), 20) == b""  # closed, unanswered
        finally:
            writer.close()
        # A client that sends its head in time is served, again after its answer (keep-alive).
        reader, writer = await connect(api.url)
        try:
            for _ in range(2):
                writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
                await reader.readuntil(b"}")
            await asyncio.sleep(0.1)
        finally:
            writer.close()


async def test_a_request_body_sent_too_slowly_gets_408(make_api):
    async with make_api(jobs_demo, JOBHOST_HTTP_BODY_TIMEOUT="300ms") as api:
        _, ann = await api.user("ann@example.org")
        reader, writer = await connect(api.url)
        head = (
            "POST /api/demo/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: 1000\r\nAuthorization: {ann['Authorization']}\r\n\r\n"
        )
        writer.write(head.encode() + b'{"steps": ')  # 990 bytes short, forever
        try:
            answer = await asyncio.wait_for(reader.read(), 20)
        finally:
            writer.close()
        assert answer.startswith(b"HTTP/1.1 408") and b"JOBHOST_HTTP_BODY_TIMEOUT" in answer
        assert (await api.host.engine.counts(jobs_demo.QUEUE))["waiting"] == 0


async def test_connections_beyond_the_limit_get_503(make_api):
    async with make_api(jobs_demo, JOBHOST_HTTP_CONNECTIONS="4") as api:
        _, ann = await api.user("ann@example.org")
        job_id = (await api.client.post("/api/demo/jobs", json={}, headers=ann)).json()["job_id"]
        await api.client.aclose()  # its kept-alive connections count too
        opened = []
        try:
            for _ in range(3):  # one at a time: each counts when the next arrives
                opened += await open_streams(api.url, f"/api/jobs/{job_id}/events", ann, 1)
            assert [status for status, _ in opened] == [200] * 3
            status, writer = (await open_streams(api.url, "/healthz", {}, 1))[0]
            opened.append((status, writer))
            assert status == 503
        finally:
            await close([w for _, w in opened])
