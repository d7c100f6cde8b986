"""Live updates by server-sent events: the pages change as jobs move, without polling.

The stream follows the queues' feeds (one blocking XREAD for all of them; `Engine.follow`) and
sends, per batch of events: `job` for each event of a job (state, progress, log line), `counts`
for each queue the batch touched, and on a job page `detail`, the re-rendered job section. Each
message's SSE id is where every followed feed stands (`queue=feed-id,…`). A browser that loses the
connection (an API restart, a network blip) reconnects by itself with that id and gets what
it missed; the first message of every connection is fresh counts, so a page is right again even
when the feed was trimmed meanwhile. Quiet streams send a comment every KEEPALIVE s.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from litestar import Request, get
from litestar.params import FromPath
from litestar.response import ServerSentEvent, ServerSentEventMessage

from jobhost.host import Host
from jobhost.http.dashboard import bulk, position, session
from jobhost.http.dashboard.pages import job_context
from jobhost.http.dashboard.render import html
from jobhost.http.state import app_state
from jobhost.queue import codec
from jobhost.queue.errors import JobInputError
from jobhost.queue.keys import queue_of

KEEPALIVE = 15.0
RETRY_MS = 2000
MAX_QUEUES = 100
ROWS_PER_BATCH = 20  # new rows rendered per batch at most (a flood shows as counts)


async def _counts(host: Host, queues: list[str]) -> dict[str, Any]:
    engine = host.engine
    counts = await asyncio.gather(*(engine.counts(q) for q in queues))
    paused = await asyncio.gather(*(engine.is_paused(q) for q in queues))
    return {q: {"counts": c, "paused": p} for q, c, p in zip(queues, counts, paused, strict=True)}


async def _stream(
    host: Host,
    who: session.Viewer,
    queues: list[str],
    at: dict[str, str],
    job_id: str | None,
    rows: str | None,
    full: str | None,
) -> AsyncIterator[ServerSentEventMessage]:
    engine = host.engine
    for q in queues:  # a new page starts from now; a reconnecting one from where it was
        at.setdefault(q, await engine.feed_head(q))
    yield ServerSentEventMessage(
        codec.dumps(await _counts(host, queues)), event="counts", id=position.encode(at), retry=RETRY_MS
    )
    if job_id:
        yield await _detail(host, who, job_id, at, full)
    quiet_since = time.monotonic()
    while True:
        events = await engine.follow(queues, at)
        if not events:
            if time.monotonic() - quiet_since > KEEPALIVE:
                quiet_since = time.monotonic()
                yield ServerSentEventMessage(comment="keepalive")
            continue
        quiet_since = time.monotonic()
        touched, rendered, mine = set(), 0, False
        for q, entry, jid, event in events:
            at[q] = entry
            touched.add(q)
            if job_id and jid != job_id:
                continue
            mine = mine or jid == job_id
            message: dict[str, Any] = {"job": jid, **event}
            if rows and event["type"] == "state" and event["state"] == rows and rendered < ROWS_PER_BATCH:
                job = await engine.job(jid)
                if job is not None:
                    message["row"] = html("_row.html", job=job)
                    rendered += 1
            yield ServerSentEventMessage(codec.dumps(message), event="job", id=position.encode(at))
        yield ServerSentEventMessage(
            codec.dumps(await _counts(host, sorted(touched))), event="counts", id=position.encode(at)
        )
        if job_id and mine:
            yield await _detail(host, who, job_id, at, full)


async def _detail(
    host: Host, who: session.Viewer, job_id: str, at: dict[str, str], full: str | None
) -> ServerSentEventMessage:
    job = await host.engine.job(job_id)
    if job is None:
        return ServerSentEventMessage(codec.dumps({"gone": job_id}), event="gone", id=position.encode(at))
    context = await job_context(host, job, full)
    fragment = html("_job_detail.html", viewer=who, csrf=who.csrf, **context)
    return ServerSentEventMessage(
        codec.dumps({"html": fragment, "state": job.state}), event="detail", id=position.encode(at)
    )


@get("/live", name="dashboard:live", include_in_schema=False)
async def live(request: Request[Any, Any, Any]) -> ServerSentEvent:
    """`?queue=a&queue=b` (default: every queue), or `?job=<id>` for one job's page; `rows=<state>`
    asks for rendered table rows of jobs entering that state (a queue page's first page)."""
    who = await session.viewer(request)
    host = app_state(request).host
    job_id = request.query_params.get("job")
    if job_id:
        try:
            queues = [queue_of(job_id)]
        except ValueError:
            raise JobInputError(f"job: not a job id: {job_id!r}") from None
    else:
        queues = request.query_params.getall("queue") if "queue" in request.query_params else []
        queues = queues or sorted(host.engine.registry.queues)
    if len(queues) > MAX_QUEUES:
        raise JobInputError(f"queue: at most {MAX_QUEUES} queues, got {len(queues)}")
    for q in queues:
        host.engine.policy(q)
    last = request.headers.get("last-event-id") or request.query_params.get("last")
    rows = request.query_params.get("rows")
    full = request.query_params.get("full")
    stream = _stream(host, who, queues, position.decode(last, queues), job_id, rows, full)
    return ServerSentEvent(stream, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def _bulk_stream(host: Host, run_id: str) -> AsyncIterator[ServerSentEventMessage]:
    sent = None
    while True:
        run = await bulk.progress(host, run_id)
        if run != sent:
            sent = run
            yield ServerSentEventMessage(codec.dumps(run), event="progress", retry=RETRY_MS)
        if run is None or run["state"] not in ("collecting", "running"):
            return
        await asyncio.sleep(0.5)  # the run updates its Redis hash; this reads it, not the browser


@get("/bulk/{run_id:str}/live", name="dashboard:bulk-live", include_in_schema=False)
async def bulk_live(request: Request[Any, Any, Any], run_id: FromPath[str]) -> ServerSentEvent:
    await session.viewer(request)
    stream = _bulk_stream(app_state(request).host, run_id)
    return ServerSentEvent(stream, headers={"Cache-Control": "no-store"})


STREAMS = [live, bulk_live]
