"""Admin routes (mounted under `/api/admin/`): the stored reports, and making one on demand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import attrs
from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, JSONBody, QueryParameter

from jobhost import Host
from jobhost_analytics.jobs import TASKS, request
from jobhost_analytics.periods import KINDS, PeriodError, parse
from jobhost_analytics.records import Records

MAX_LIMIT = 500


def _bad(exc: PeriodError) -> HTTPException:
    return HTTPException(status_code=400, detail=str(exc))


@get("/analytics/reports", summary="Stored analytics reports, latest period first (filter by kind)")
async def list_reports(
    host: NamedDependency[Host],
    kind: Annotated[
        str | None, QueryParameter(description=f"one of {', '.join(KINDS)}; default: all")
    ] = None,
    offset: Annotated[int, QueryParameter(ge=0)] = 0,
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    if kind is not None and kind not in KINDS:
        raise _bad(PeriodError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}"))
    found, total = await Records(host.db).page(kind, offset, limit)
    return {"reports": [r.as_dict() for r in found], "total": total, "offset": offset, "limit": limit}


@get(
    "/analytics/reports/{kind:str}/{period:str}",
    summary="One report: daily/2026-01-05 or weekly/2026-W02",
)
async def show_report(
    host: NamedDependency[Host], kind: FromPath[str], period: FromPath[str]
) -> dict[str, Any]:
    try:
        key = parse(kind, period).key
    except PeriodError as exc:
        raise _bad(exc) from None
    report = await Records(host.db).get(kind, key)
    if report is None:
        task, field = TASKS[kind]
        raise NotFoundException(
            detail=f"no {kind} report for {key}; it is made by the task {task} ({field}={key!r})"
        )
    return report.as_dict()


@attrs.frozen
class ReportRequest:
    kind: str
    period: str | None = None


@post(
    "/analytics/reports",
    status_code=202,
    summary="Make a report now: 202 with its job (period default: the previous whole one)",
    description='`{"kind": "daily", "period": "2026-11-27"}` or `{"kind": "weekly", "period": "2026-W47"}`. '
    "A period still in progress is reported so far (`complete` false); making a report again replaces it.",
)
async def make_report(host: NamedDependency[Host], data: JSONBody[ReportRequest]) -> Response[dict[str, Any]]:
    try:
        period, job = await request(host, data.kind, data.period, datetime.now(UTC))
    except PeriodError as exc:
        raise _bad(exc) from None
    return Response(
        {"kind": period.kind, "period": period.key, "job": job},
        status_code=202,
        headers={"Location": f"/api/admin/jobs/{job['id']}"},
    )
