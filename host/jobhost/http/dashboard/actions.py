"""The dashboard's actions (POST, admins only, CSRF-checked): each answers with a redirect to the
page it came from (so reload never repeats it), or the page again with the refusal."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Request, Response, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath
from litestar.response import Redirect

from jobhost.host import Host
from jobhost.http.dashboard import bulk, position, session
from jobhost.http.dashboard.pages import find_job, job_context
from jobhost.http.dashboard.render import page
from jobhost.http.state import app_state
from jobhost.queue.errors import JobInputError, JobStateError
from jobhost.queue.keys import STATES

JOB_ACTIONS = ("retry", "promote", "cancel", "remove", "duplicate", "replay")
MAX_SELECTED = 1000
MAX_EDIT = 256 * 1024  # characters of an edited payload


async def _form(request: Request[Any, Any, Any]) -> tuple[FormMultiDict, session.Viewer, Host]:
    form = await request.form()
    who = await session.actor(request, form.get("csrf"))
    return form, who, app_state(request).host


def _back(path: str, notice: str) -> Redirect:
    return Redirect(f"{path}{'&' if '?' in path else '?'}{urlencode({'done': notice})}", status_code=303)


def _job_path(queue: str, job_id: str) -> str:
    return f"{session.BASE}/queue/{quote(queue)}/{quote(job_id)}"


def _queue_path(queue: str) -> str:
    return f"{session.BASE}/queue/{quote(queue)}"


@post("/queue/{name:str}/{job_id:str}/{action:str}", name="dashboard:job-action", include_in_schema=False)
async def job_action(
    request: Request[Any, Any, Any], name: FromPath[str], job_id: FromPath[str], action: FromPath[str]
) -> Response[Any]:
    form, who, host = await _form(request)
    job = await find_job(host, name, job_id)
    engine = host.engine
    if action not in JOB_ACTIONS:
        raise JobInputError(f"action must be one of {', '.join(JOB_ACTIONS)}, got {action!r}")
    if action == "retry":
        await engine.retry(job.id)
    elif action == "promote":
        if job.state != "delayed":
            raise JobStateError(f"job {job.id!r} is {job.state}; only a delayed job can be promoted")
        await engine.retry(job.id)
    elif action == "cancel":
        await engine.cancel(job.id)
    elif action == "remove":
        await engine.remove(job.id)
        return _back(_queue_path(name), f"removed {job.id}")
    elif action == "duplicate":
        copy = await engine.enqueue(job.task, job.kwargs, owner=job.owner, origin=job.id)
        return _back(_job_path(name, copy.id), f"duplicated {job.id}")
    else:
        return await _replay(request, who, host, job, form.get("kwargs") or "")
    return _back(_job_path(name, job.id), f"{action} done")


async def _replay(
    request: Request[Any, Any, Any], who: session.Viewer, host: Host, job: Any, text: str
) -> Response[Any]:
    """Queue a copy of the job with edited kwargs, checked against the task's parameters; an
    invalid edit shows the job page again with the error, and nothing is queued."""
    try:
        if len(text) > MAX_EDIT:
            raise JobInputError(f"kwargs: at most {MAX_EDIT} characters, got {len(text)}")
        try:
            kwargs = json.loads(text)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno}, column {exc.colno}"
            raise JobInputError(f"kwargs: not JSON ({exc.msg} at {where})") from None
        copy = await host.engine.enqueue(job.task, kwargs, owner=job.owner, origin=job.id)
    except JobInputError as exc:
        context = await job_context(host, job, None)
        since = await position.now(host, [job.queue])
        return page("job.html", who, status=400, edit_text=text, edit_error=str(exc), since=since, **context)
    return _back(_job_path(job.queue, copy.id), f"replayed {job.id} with edited arguments")


@post("/queue/{name:str}/pause", name="dashboard:pause", include_in_schema=False)
async def pause(request: Request[Any, Any, Any], name: FromPath[str]) -> Redirect:
    _, _, host = await _form(request)
    await host.engine.pause(name)
    return _back(_queue_path(name), f"paused {name}")


@post("/queue/{name:str}/resume", name="dashboard:resume", include_in_schema=False)
async def resume(request: Request[Any, Any, Any], name: FromPath[str]) -> Redirect:
    _, _, host = await _form(request)
    await host.engine.resume(name)
    return _back(_queue_path(name), f"resumed {name}")


@post("/queue/{name:str}/bulk", name="dashboard:bulk-start", include_in_schema=False)
async def bulk_start(request: Request[Any, Any, Any], name: FromPath[str]) -> Redirect:
    """An action on the selected jobs, a whole state, or everything a search matches."""
    form, who, host = await _form(request)
    scope = form.get("scope") or "selected"
    if scope == "state":
        state = form.get("state") or ""
        if state not in STATES:
            raise JobInputError(f"state must be one of {', '.join(STATES)}, got {state!r}")
        target = bulk.Target(name, state=state)
    elif scope == "search":
        target = bulk.Target(name, search=(form.get("q") or "").strip() or None)
        if target.search is None:
            raise JobInputError("q: a search is needed to act on everything it matches")
        host.engine.policy(name)
        await host.engine.search(name, target.search, limit=1)  # a bad search fails here, as a 400
    elif scope == "selected":
        ids = tuple(dict.fromkeys(form.getall("ids") if "ids" in form else []))
        if len(ids) > MAX_SELECTED:
            raise JobInputError(f"ids: at most {MAX_SELECTED} selected jobs, got {len(ids)}")
        target = bulk.Target(name, ids=ids)
    else:
        raise JobInputError(f"scope must be selected, state or search, got {scope!r}")
    action = form.get("action") or ""
    bulk.check(action, target, host)
    run_id = await bulk.start(host, action, [target], who.user.email)
    return Redirect(f"{session.BASE}/bulk/{run_id}", status_code=303)


@post("/queue/{name:str}/clean", name="dashboard:clean", include_in_schema=False)
async def clean(request: Request[Any, Any, Any], name: FromPath[str]) -> Redirect:
    form, who, host = await _form(request)
    state = form.get("state") or ""
    if state not in ("completed", "dead", "cancelled"):
        raise JobInputError(f"state: clean completed, dead or cancelled jobs, got {state!r}")
    try:
        minutes = float(form.get("older_than_minutes") or "0")
    except ValueError:
        minutes = -1
    if not minutes >= 0:
        raise JobInputError("older_than_minutes must be a number of minutes >= 0")
    host.engine.policy(name)
    run_id = await bulk.start_clean(host, name, state, minutes * 60, who.user.email)
    return Redirect(f"{session.BASE}/bulk/{run_id}", status_code=303)


@post("/pause-all", name="dashboard:pause-all", include_in_schema=False)
async def pause_all(request: Request[Any, Any, Any]) -> Redirect:
    _, _, host = await _form(request)
    for name in host.engine.registry.queues:
        await host.engine.pause(name)
    return _back(session.BASE, "paused every queue")


@post("/resume-all", name="dashboard:resume-all", include_in_schema=False)
async def resume_all(request: Request[Any, Any, Any]) -> Redirect:
    _, _, host = await _form(request)
    for name in host.engine.registry.queues:
        await host.engine.resume(name)
    return _back(session.BASE, "resumed every queue")


@post("/retry-dead", name="dashboard:retry-dead", include_in_schema=False)
async def retry_dead(request: Request[Any, Any, Any]) -> Redirect:
    _, who, host = await _form(request)
    targets = [bulk.Target(name, state="dead") for name in sorted(host.engine.registry.queues)]
    run_id = await bulk.start(host, "retry", targets, who.user.email)
    return Redirect(f"{session.BASE}/bulk/{run_id}", status_code=303)


ACTIONS = [job_action, pause, resume, bulk_start, clean, pause_all, resume_all, retry_dead]
