"""Bulk actions: one action over many jobs, run in the background with its progress in Redis.

A request only starts the run and answers with the progress page; the run first takes a
snapshot of the job ids (the selection, a whole state, or everything a search matches), then acts
on each. Its progress lives in a Redis hash (so any API process can show it) that expires a day
after its last update. A run lives in the API process that started it: if that process stops, the
rest of the run is abandoned, and the page says so once the progress has not moved for STALE s.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from jobhost.host import Host
from jobhost.queue import codec
from jobhost.queue.errors import JobInputError, JobNotFound, JobStateError

log = logging.getLogger("jobhost.dashboard")

ACTIONS = ("retry", "promote", "cancel", "remove")
PAGE = 1000
KEEP = 24 * 3600
STALE = 30.0
MAX_ERRORS = 10
_running: set[asyncio.Task[None]] = set()  # strong references: the loop keeps only weak ones


@attrs.frozen
class Target:
    """What a run acts on: `ids`, or every job of `queue` in `state`, or matching `search`."""

    queue: str
    ids: tuple[str, ...] = ()
    state: str | None = None
    search: str | None = None

    def describe(self) -> str:
        if self.search is not None:
            return f"jobs of {self.queue} matching “{self.search}”"
        if self.state is not None:
            return f"all {self.state} jobs of {self.queue}"
        return f"{len(self.ids)} selected job(s) of {self.queue}"


def _key(host: Host, run_id: str) -> str:
    return f"{host.settings.redis_prefix}:dashboard:bulk:{run_id}"


async def _ids(host: Host, target: Target) -> list[str]:
    """The snapshot of job ids a run acts on, oldest first."""
    engine = host.engine
    if target.ids:
        return list(target.ids)
    found: list[str] = []
    offset = 0
    while True:
        if target.search is not None:
            page = await engine.search(target.queue, target.search, offset=offset, limit=PAGE)
        else:
            assert target.state is not None
            page = await engine.list_jobs(
                target.queue, target.state, offset=offset, limit=PAGE, newest_first=False
            )
        found += [job.id for job in page.jobs]
        offset += PAGE
        if offset >= page.total or not page.jobs:
            return found


async def _act(host: Host, action: str, job_id: str) -> None:
    engine = host.engine
    if action == "retry":
        await engine.retry(job_id)
    elif action == "promote":
        if await engine.job_state(job_id) != "delayed":
            raise JobStateError(f"job {job_id!r} is not delayed; only delayed jobs can be promoted")
        await engine.retry(job_id)
    elif action == "cancel":
        await engine.cancel(job_id)
    elif not await engine.remove(job_id):
        raise JobNotFound(f"no job {job_id!r}")


def check(action: str, target: Target, host: Host) -> None:
    """Refuse a run that cannot start, before anything happens (a 400 naming the field)."""
    if action not in ACTIONS:
        raise JobInputError(f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
    host.engine.policy(target.queue)
    if target.state is None and target.search is None and not target.ids:
        raise JobInputError("select at least one job, or act on a whole state or a search")


async def start(host: Host, action: str, targets: list[Target], by: str) -> str:
    """Start a run in the background; returns its id (for `progress`)."""
    run_id = secrets.token_hex(8)
    what = "; ".join(t.describe() for t in targets)
    key = _key(host, run_id)
    await _save(host, key, action=action, what=what, by=by, state="collecting", total=0, done=0, failed=0)
    task = asyncio.create_task(_run(host, key, action, targets))
    _running.add(task)
    task.add_done_callback(_running.discard)
    return run_id


async def start_clean(host: Host, queue: str, state: str, older_than: float, by: str) -> str:
    """Remove a queue's `state` jobs older than `older_than` s, in the background."""
    run_id = secrets.token_hex(8)
    key = _key(host, run_id)
    what = f"{state} jobs of {queue} older than {older_than:g} s"
    await _save(host, key, action="clean", what=what, by=by, state="running", total=0, done=0, failed=0)

    async def clean() -> None:
        removed = await host.engine.clean(queue, state, older_than)
        await _save(host, key, state="finished", total=removed, done=removed)

    task = asyncio.create_task(_guarded(host, key, clean))
    _running.add(task)
    task.add_done_callback(_running.discard)
    return run_id


async def _save(host: Host, key: str, **fields: Any) -> None:
    pipe = host.engine.redis.pipeline(transaction=False)
    pipe.hset(key, mapping={**{k: str(v) for k, v in fields.items()}, "updated": str(time.time())})
    pipe.expire(key, KEEP)
    await pipe.execute()


async def _guarded(host: Host, key: str, work: Callable[[], Awaitable[None]]) -> None:
    try:
        await work()
    except asyncio.CancelledError:
        await _save(host, key, state="interrupted")
        raise
    except Exception as exc:
        log.exception("dashboard bulk run %s failed", key)
        await _save(host, key, state="failed", error=str(exc)[:500])


async def _run(host: Host, key: str, action: str, targets: list[Target]) -> None:
    async def work() -> None:
        ids = [job_id for target in targets for job_id in await _ids(host, target)]
        await _save(host, key, state="running", total=len(ids))
        done = failed = 0
        errors: list[str] = []
        for n, job_id in enumerate(ids, 1):
            try:
                await _act(host, action, job_id)
                done += 1
            except (JobStateError, JobNotFound, JobInputError) as exc:
                failed += 1
                errors = [*errors, str(exc)][-MAX_ERRORS:]
            if n % 100 == 0 or n == len(ids):
                await _save(host, key, done=done, failed=failed, errors=codec.dumps(errors))
        await _save(host, key, state="finished", done=done, failed=failed, errors=codec.dumps(errors))

    await _guarded(host, key, work)


async def progress(host: Host, run_id: str) -> dict[str, Any] | None:
    """A run's progress; None when there is no such run (or it expired)."""
    if not run_id.isalnum():
        return None
    raw = await host.engine.redis.hgetall(_key(host, run_id))
    if not raw:
        return None
    state = raw["state"]
    if state in ("collecting", "running") and time.time() - float(raw["updated"]) > STALE:
        state = "interrupted"
    total, done, failed = int(raw.get("total", 0)), int(raw.get("done", 0)), int(raw.get("failed", 0))
    return {
        "id": run_id,
        "action": raw["action"],
        "what": raw["what"],
        "by": raw["by"],
        "state": state,
        "total": total,
        "done": done,
        "failed": failed,
        "percent": 100.0 if state == "finished" else (100 * (done + failed) / total if total else 0.0),
        "errors": codec.loads(raw["errors"]) if raw.get("errors") else [],
        "error": raw.get("error"),
    }


async def stop_all() -> None:
    """Cancel the runs of this process (the app is stopping); each records 'interrupted'."""
    tasks = list(_running)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
