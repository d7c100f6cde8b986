"""The jobs API: a job's status, and its live events as Server-Sent Events.

A user sees only their own jobs; anyone else's answer 404, exactly as a job that does not exist,
so ids cannot be probed. Admins see every job.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import FromPath, HeaderParameter
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from jobhost.host import Host
from jobhost.http.auth import SECURED
from jobhost.http.state import app_state
from jobhost.http.streams import Slot, TooManyStreams
from jobhost.queue.job import Job
from jobhost.store.user import User

# Each half of a Redis stream id is an unsigned 64-bit number.
MAX_STREAM_ID_PART = 2**64 - 1


async def visible_job(host: Host, user: User, job_id: str) -> Job:
    job = await host.job(job_id)
    if job is None or not (user.is_admin or job.owner == user.owner):
        raise NotFoundException(detail=f"no job {job_id!r}")
    return job


def job_view(job: Job, user: User) -> dict[str, Any]:
    view = job.as_dict()
    if not user.is_admin:  # tracebacks and the worker's host and pid show the server's insides
        view["errors"] = [{k: v for k, v in e.items() if k != "traceback"} for e in view["errors"]]
        del view["worker"]
    return view


@get("/api/jobs/{job_id:str}", tags=["jobs"], security=SECURED, summary="A job's state, progress and outcome")
async def job_status(
    host: NamedDependency[Host], user: NamedDependency[User], job_id: FromPath[str]
) -> dict[str, Any]:
    return job_view(await visible_job(host, user, job_id), user)


async def _with_heartbeats(
    events: AsyncIterator[tuple[str, dict[str, Any]]], every: float, slot: Slot
) -> AsyncIterator[ServerSentEventMessage]:
    """The job's events as SSE messages, with a comment whenever `every` seconds pass quietly
    (keeps proxies from closing the stream and tells the client the server is alive); the
    stream's slot is released when it ends."""
    pending: asyncio.Future[tuple[str, dict[str, Any]]] | None = None
    try:
        while True:
            pending = pending or asyncio.ensure_future(anext(events))
            done, _ = await asyncio.wait({pending}, timeout=every or None)
            if not done:
                yield ServerSentEventMessage(data=None, comment="heartbeat")
                continue
            try:
                event_id, event = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield ServerSentEventMessage(data=json.dumps(event), event=event.get("type"), id=event_id)
    finally:
        slot.release()
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        await events.aclose()  # type: ignore[attr-defined]


@get(
    "/api/jobs/{job_id:str}/events",
    tags=["jobs"],
    security=SECURED,
    summary="The job's state and progress changes as Server-Sent Events, until it ends",
    raises=[TooManyStreams],
    description="Every event carries an id; reconnect with the `Last-Event-ID` header to resume after it. "
    "Comments (`: heartbeat`) arrive while nothing happens.",
)
async def job_events(
    request: Request[Any, Any, Any],
    host: NamedDependency[Host],
    user: NamedDependency[User],
    job_id: FromPath[str],
    last_event_id: Annotated[
        str | None, HeaderParameter(name="Last-Event-ID", pattern=r"^[0-9]{1,20}-[0-9]{1,20}$")
    ] = None,
) -> ServerSentEvent:
    if last_event_id and max(map(int, last_event_id.split("-"))) > MAX_STREAM_ID_PART:
        raise ClientException(
            f"header 'Last-Event-ID' must be an event id such as 1700000000000-0, got {last_event_id!r}"
        )
    await visible_job(host, user, job_id)
    state = app_state(request)
    slot = state.hub.open(user.owner)
    events = host.engine.events(job_id, last_event_id or "0-0", xread=state.hub.xread)
    stream = _with_heartbeats(events, state.config.sse_heartbeat, slot)
    state.hub.guard(slot, stream)
    return ServerSentEvent(stream, headers={"Cache-Control": "no-store"})


JOB_ROUTES = [job_status, job_events]
