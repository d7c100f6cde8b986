"""The dashboard's pages (GET): overview, queue, job, schedules, workers, reports, bulk progress.

Every read goes through the engine (or the host's registry); each page costs a bounded number
of Redis round trips whatever the number of jobs, so it renders as fast with 100,000 jobs in a
queue as with 1,000 (bench/dashboard.py measures it).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict
from datetime import datetime
from typing import Any

from croniter import croniter
from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from jobhost.host import Host
from jobhost.http.admin import RATE_MINUTES, oldest_waiting_age
from jobhost.http.dashboard import bulk, charts, position, session, timeline
from jobhost.http.dashboard.render import SHOWN_CHARS, page, pretty
from jobhost.http.state import app_state
from jobhost.queue.errors import JobInputError
from jobhost.queue.job import Job
from jobhost.queue.keys import STATES
from jobhost.settings import configuration_warnings

PER_PAGE = 50
REPORTS_SHOWN = 60


def _host(request: Request[Any, Any, Any]) -> Host:
    return app_state(request).host


async def _queue_card(host: Host, row: dict[str, Any]) -> dict[str, Any]:
    name = row["name"]
    series, oldest = await asyncio.gather(
        host.engine.throughput(name, RATE_MINUTES), oldest_waiting_age(host.engine, name)
    )
    done = [m["completed"] for m in series]
    failed = sum(m["failed"] for m in series)
    label = f"{name}: {sum(done)} completed, {failed} failed tries in the last hour"
    return {**row, "chart": charts.sparkline(done, label=label), "done_hour": sum(done), "oldest": oldest}


@get("/", name="dashboard:overview", include_in_schema=False)
async def overview(request: Request[Any, Any, Any]) -> Response[str]:
    viewer = await session.viewer(request)
    host = _host(request)
    rows = await host.engine.overview()
    cards = await asyncio.gather(*(_queue_card(host, row) for row in rows))
    by_plugin: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for card in cards:
        by_plugin[card["plugin"] or "host"].append(card)
    return page(
        "overview.html",
        viewer,
        plugins=sorted(by_plugin.items()),
        workers=await host.engine.workers(),
        states=STATES,
        now=time.time(),
        notice=request.query_params.get("done"),
        since=await position.now(host, [row["name"] for row in rows]),
        # What leaves the host running but broken: a missing secret key, failed plugins.
        warnings=[
            *configuration_warnings(host.settings),
            *(f"{p.label} failed: {p.error}" for p in host.registry.failures),
        ],
    )


def _int(text: str | None, default: int) -> int:
    try:
        return max(1, int(text)) if text else default
    except ValueError:
        return default


@get("/queue/{name:str}", name="dashboard:queue", include_in_schema=False)
async def queue(request: Request[Any, Any, Any], name: FromPath[str]) -> Response[str]:
    viewer = await session.viewer(request)
    engine = _host(request).engine
    try:
        policy = engine.policy(name)
    except JobInputError as exc:
        raise NotFoundException(detail=str(exc)) from None
    state = request.query_params.get("state") or "waiting"
    if state not in STATES:
        state = "waiting"
    search = (request.query_params.get("q") or "").strip()
    number = _int(request.query_params.get("page"), 1)
    offset = (number - 1) * PER_PAGE
    counts, paused = await asyncio.gather(engine.counts(name), engine.is_paused(name))
    error, status = None, 200
    try:
        if search:
            found = await engine.search(name, search, offset=offset, limit=PER_PAGE)
        else:
            found = await engine.list_jobs(name, state, offset=offset, limit=PER_PAGE)
        jobs, total, exact = found.jobs, found.total, found.exact
    except JobInputError as exc:
        error, status, jobs, total, exact = str(exc), 400, (), 0, True
    return page(
        "queue.html",
        viewer,
        status=status,
        queue=name,
        policy=policy,
        plugin=engine.registry.owners.get(("queue", name)) or "host",
        counts=counts,
        paused=paused,
        state=state,
        states=STATES,
        search=search,
        error=error,
        jobs=jobs,
        total=total,
        exact=exact,
        page_number=number,
        pages=max(1, math.ceil(total / PER_PAGE)),
        searchable=("task", *policy.search_fields),
        notice=request.query_params.get("done"),
        since=await position.now(_host(request), [name]),
    )


def _shown(value: Any, full: bool) -> tuple[Any, bool]:
    """The value as the page shows it, and whether it was cut (a big payload must not freeze it)."""
    text = pretty(value)
    if full or len(text) <= SHOWN_CHARS:
        return text, False
    return text[:SHOWN_CHARS] + "\n…", True


async def job_context(host: Host, job: Job, full: str | None) -> dict[str, Any]:
    """What the job page (and its live fragment) shows."""
    events = await host.engine.history(job.id)
    payload, payload_cut = _shown(job.kwargs, full == "payload")
    result, result_cut = _shown(job.result, full == "result")
    task = host.engine.registry.tasks.get(job.task)
    parameters = list(task.signature.parameters.values()) if task else []
    return {
        "job": job,
        "payload": payload,
        "payload_cut": payload_cut,
        "result": result,
        "result_cut": result_cut,
        "changes": timeline.changes(events),
        "tries": timeline.tries(job, events),
        "parameters": parameters,
        "full": full,
    }


async def find_job(host: Host, name: str, job_id: str) -> Job:
    job = await host.engine.job(job_id)
    if job is None or job.queue != name:
        raise NotFoundException(detail=f"no job {job_id!r} in queue {name!r} (removed, or trimmed)")
    return job


@get("/queue/{name:str}/{job_id:str}", name="dashboard:job", include_in_schema=False)
async def job_page(
    request: Request[Any, Any, Any], name: FromPath[str], job_id: FromPath[str]
) -> Response[str]:
    viewer = await session.viewer(request)
    host = _host(request)
    job = await find_job(host, name, job_id)
    context = await job_context(host, job, request.query_params.get("full"))
    notice = request.query_params.get("done")
    since = await position.now(host, [job.queue])
    return page("job.html", viewer, edit_text=None, edit_error=None, notice=notice, since=since, **context)


@get("/schedules", name="dashboard:schedules", include_in_schema=False)
async def schedules(request: Request[Any, Any, Any]) -> Response[str]:
    viewer = await session.viewer(request)
    host = _host(request)
    lasts = await host.engine.last_fires()
    now = time.time()
    tasks = host.engine.registry.tasks
    rows = [
        {
            "schedule": s,
            "queue": tasks[s.task].queue if s.task in tasks else None,
            "next": croniter(s.cron, now).get_next(float),
            "last": lasts.get(s.name),
        }
        for s in sorted(host.registry.schedules.values(), key=lambda s: (s.plugin, s.name))
    ]
    adhoc = [a.as_dict(now) for a in await host.schedules.adhoc()]
    return page("schedules.html", viewer, rows=rows, adhoc=adhoc)


@get("/workers", name="dashboard:workers", include_in_schema=False)
async def workers(request: Request[Any, Any, Any]) -> Response[str]:
    viewer = await session.viewer(request)
    return page("workers.html", viewer, workers=await _host(request).engine.workers(), now=time.time())


def _percentile(buckets: list[tuple[float, int]], share: float) -> float | None:
    """The upper bound of the histogram bucket holding the `share` quantile (None: no tries)."""
    total = buckets[-1][1]
    if not total:
        return None
    return next(bound for bound, seen in buckets if seen >= share * total)


async def _admin_json(host: Host, path: str, **params: Any) -> dict[str, Any] | None:
    """What a plugin's admin JSON route at `path` answers (called in-process, the viewer already
    checked); None when no enabled plugin registered it."""
    for route in host.registry.admin_routes:
        if path in route.paths and "GET" in route.handler.http_methods:
            return await route.handler.fn(host=host, **params)
    return None


def _processed(report: dict[str, Any]) -> int:
    flyers = report["flyers"]  # a number in reports made before version 2
    return int(flyers["processed"] if isinstance(flyers, dict) else flyers)


def _jobs_chart(categories: list[str], per_category: list[dict[str, int]], label: str) -> Any:
    """Stacked columns of completed jobs per queue; queues that did nothing are left out, and
    None when no queue did anything."""
    queues = sorted({q for row in per_category for q, n in row.items() if n})
    series = [(q, [float(row.get(q, 0)) for row in per_category]) for q in queues]
    return charts.columns(categories, series, label=label) if series else None


@get("/reports", name="dashboard:reports", include_in_schema=False)
async def reports(request: Request[Any, Any, Any]) -> Response[str]:
    viewer = await session.viewer(request)
    host = _host(request)
    kind = request.query_params.get("kind") or "daily"
    if kind not in ("daily", "weekly"):
        kind = "daily"
    listed = await _admin_json(host, "/analytics/reports", kind=kind, offset=0, limit=REPORTS_SHOWN)
    found = list(reversed(listed["reports"])) if listed else []  # oldest first, as charts read
    current = [r for r in found if r.get("version", 1) >= 2]
    flyers = charts.bars([(r["period"], _processed(r)) for r in found], label=f"Flyers per {kind} period")
    deals = charts.bars(
        [(r["period"], r["flyers"]["items"]) for r in current], label=f"Deals (items) per {kind} period"
    )
    unit = "day" if kind == "daily" else "week"
    jobs = _jobs_chart(
        [r["period"] for r in current],
        [{q["queue"]: q["completed"] for q in r["queues"]} for r in current],
        f"Jobs completed per queue per {unit}",
    )
    durations: list[dict[str, Any]] = []
    for name in sorted(host.engine.registry.queues):
        buckets, total_s = await host.engine.durations(name)
        tries = buckets[-1][1]
        durations.append(
            {
                "queue": name,
                "tries": tries,
                "mean": total_s / tries if tries else None,
                **{f"p{p}": _percentile(buckets, p / 100) for p in (50, 95, 99)},
            }
        )
    return page(
        "reports.html",
        viewer,
        kind=kind,
        available=listed is not None,
        reports=list(reversed(found)),
        flyers_chart=flyers,
        deals_chart=deals,
        durations=durations,
        jobs_chart=jobs,
    )


@get("/reports/{kind:str}/{period:str}", name="dashboard:report", include_in_schema=False)
async def report_page(
    request: Request[Any, Any, Any], kind: FromPath[str], period: FromPath[str]
) -> Response[str]:
    viewer = await session.viewer(request)
    host = _host(request)
    report = await _admin_json(host, "/analytics/reports/{kind:str}/{period:str}", kind=kind, period=period)
    if report is None:
        raise NotFoundException(detail="the analytics plugin is not enabled, so there are no reports")
    if report.get("version", 1) < 2:
        raise NotFoundException(
            detail=f"the {kind} report {period} was made by an older analytics plugin; make it again "
            f"(jobhost analytics report --{kind} {period}) to see it here"
        )
    days = report["days"]
    queues = report["queues"]
    busy = [q for q in queues if q["tries"]]
    deals = report["deals"]
    return page(
        "report.html",
        viewer,
        r=report,
        moments={k: datetime.fromisoformat(report[k]) for k in ("starts_at", "ends_at", "generated_at")},
        jobs_chart=_jobs_chart(
            [d["day"] for d in days],
            [{q: n["completed"] for q, n in d["queues"].items()} for d in days],
            "Jobs completed per queue per day",
        ),
        durations_chart=charts.bars(
            [(f"{q['queue']} p{p}", q[f"p{p}_ms"] or 0) for q in busy for p in (50, 95)],
            label="Try duration percentiles (ms)",
            unit=" ms",
        ),
        units_chart=charts.bars(list(deals["by_unit"].items()), label="Deals by unit"),
        products_chart=charts.bars(
            [(p["name"], p["count"]) for p in deals["top_products"]], label="Most frequent products"
        ),
        stores_chart=charts.bars(
            [(s["store"] or "unknown", s["flyers"]) for s in report["stores"]], label="Flyers per store"
        ),
    )


@get("/bulk/{run_id:str}", name="dashboard:bulk", include_in_schema=False)
async def bulk_page(request: Request[Any, Any, Any], run_id: FromPath[str]) -> Response[str]:
    viewer = await session.viewer(request)
    run = await bulk.progress(_host(request), run_id)
    if run is None:
        raise NotFoundException(detail=f"no bulk run {run_id!r} (runs are kept for a day)")
    return page("bulk.html", viewer, run=run)


PAGES = [overview, queue, job_page, schedules, workers, reports, report_page, bulk_page]
