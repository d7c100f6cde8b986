"""Malformed input gets a 4xx naming the field, never a 500, on SQLite and PostgreSQL; anonymous
uploads are refused before their body is read; and a 500 that still happens is logged with
its traceback."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from litestar import get

from jobhost import hookimpl
from tests.http import jobs_demo

HUGE = 2**63  # one past the largest 64-bit integer either database stores


async def test_numbers_beyond_the_databases_range_are_a_400_naming_the_parameter(make_api):
    async with make_api(jobs_demo) as api:
        ok = await api.client.get("/api/demo/users/1?page=3")
        assert ok.status_code == 200 and ok.json() == {"found": False, "before": 0}
        for path, field in (
            (f"/api/demo/users/{HUGE}", "path parameter 'user_id'"),
            (f"/api/demo/users/-{HUGE}", "path parameter 'user_id'"),
            (f"/api/demo/users/1?page={HUGE}", "query parameter 'page'"),
        ):
            answer = await api.client.get(path)
            assert answer.status_code == 400, (path, answer.text)
            assert answer.json()["detail"].startswith(f"{field} must be a whole number from")


async def test_nul_characters_and_deep_json_are_a_400_naming_the_field(make_api):
    async with make_api(jobs_demo) as api:
        _, ann = await api.user("ann@example.org")
        nul = {"email": "ann\x00@example.org", "password": "x"}
        login = await api.client.post("/api/auth/login", json=nul)
        assert login.status_code == 400
        assert login.json()["detail"] == "body.email must not contain NUL characters"
        query = await api.client.get("/api/demo/users/1", params={"page": "1\x00"})
        assert query.status_code == 400 and "query parameter 'page' must not contain NUL" in query.text
        deep = '{"kwargs": ' + "[" * 1000 + "]" * 1000 + "}"
        json_headers = {**ann, "Content-Type": "application/json"}
        nested = await api.client.post("/api/demo/jobs", content=deep, headers=json_headers)
        assert nested.status_code == 400 and "JSON nested deeper than 32 levels" in nested.json()["detail"]
        big = await api.client.post("/api/demo/jobs", json={"steps": HUGE}, headers=ann)
        assert big.status_code == 400 and big.json()["detail"].startswith("body.steps must be a whole number")


async def test_an_out_of_range_last_event_id_is_a_400(make_api):
    async with make_api(jobs_demo) as api:
        _, ann = await api.user("ann@example.org")
        job_id = (await api.client.post("/api/demo/jobs", json={}, headers=ann)).json()["job_id"]
        for value in (f"{2**64}-0", "1-" + "9" * 30):
            headers = {**ann, "Last-Event-ID": value}
            answer = await api.client.get(f"/api/jobs/{job_id}/events", headers=headers)
            assert answer.status_code == 400, answer.text
            assert "last_event_id" in answer.text.lower().replace("-", "_")


async def test_multipart_text_parts_that_are_not_utf8_are_a_400(make_api):
    async with make_api(jobs_demo) as api:
        _, ann = await api.user("ann@example.org")
        headers = {**ann, "Content-Type": "multipart/form-data; boundary=b"}
        file_part = b'Content-Disposition: form-data; name="data"; filename="a.png"\r\n\r\n\x89PNG\xff'
        body = b"--b\r\n" + file_part + b"\r\n--b--\r\n"
        good = await api.client.post("/api/demo/upload", content=body, headers=headers)
        assert good.json() == {"size": 5}
        for part in (
            b'Content-Disposition: form-data; name="data"\r\n\r\n\x89PNG\xff',
            b"Content-Disposition: form-data; name=\"data\"; filename*=UTF-8''a%C3%A9.png\r\n\r\n\xff\xfe",
            b'Content-Disposition: form-data; name="data"\r\nContent-Type: text/plain; charset=no\r\n\r\nab',
        ):
            body = b"--b\r\n" + part + b"\r\n--b--\r\n"
            answer = await api.client.post("/api/demo/upload", content=body, headers=headers)
            assert answer.status_code == 400, answer.text
            assert "without a filename is a text field and must be UTF-8" in answer.json()["detail"]


async def test_an_anonymous_upload_gets_its_401_before_sending_its_body(make_api):
    async with make_api(jobs_demo) as api:
        where = urlsplit(api.url)
        reader, writer = await asyncio.open_connection(where.hostname, where.port)
        size = 24 * 1024**2
        writer.write(
            f"POST /api/demo/upload HTTP/1.1\r\nHost: {where.netloc}\r\n"
            f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {size}\r\n\r\n".encode()
        )
        writer.write(b"--b\r\n" + b"x" * 65536)  # a sliver of the 24 MB announced
        await writer.drain()
        try:
            # Answered without waiting for the rest of the body (which never comes).
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 20)
        finally:
            writer.close()
        assert head.startswith(b"HTTP/1.1 401")


@get("/api/demo/broken")
async def broken() -> None:
    raise RuntimeError("a bug in a route")


class Broken:
    @hookimpl
    def register_routes(self, register):
        register(broken)


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_a_500_is_logged_with_its_traceback_and_shows_nothing_inside(make_api):
    records, logger = Records(), logging.getLogger("jobhost.http")
    logger.addHandler(records)
    try:
        async with make_api(Broken()) as api:
            answer = await api.client.get("/api/demo/broken")
    finally:
        logger.removeHandler(records)
    assert answer.status_code == 500 and "a bug in a route" not in answer.text
    [record] = records.records
    assert "GET /api/demo/broken" in record.getMessage() and record.exc_info[0] is RuntimeError
