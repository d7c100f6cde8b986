"""Admin routes (mounted under `/api/admin/`): the stored reports."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import get
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, QueryParameter

from jobhost import Host
from jobhost_analytics.jobs import DAILY_TASK, WEEKLY_TASK
from jobhost_analytics.periods import DAILY, KINDS, PeriodError, parse
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
        task, field = (DAILY_TASK, "day") if kind == DAILY else (WEEKLY_TASK, "week")
        raise NotFoundException(
            detail=f"no {kind} report for {key}; it is made by the task {task} ({field}={key!r})"
        )
    return report.as_dict()
