"""The plugin's HTTP face: upload a flyer (202 + job), follow its job, read flyers and their deals,
and the two deprecated synchronous endpoints of the system jobhost replaces."""

from __future__ import annotations

from typing import Annotated, Any

import attrs
from litestar import Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import Body, FromPath, HeaderParameter, QueryParameter
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from jobhost import Host, User
from jobhost_flyer_ocr.errors import FlyerRejected, OcrUnavailable
from jobhost_flyer_ocr.intake import TASK, IdempotencyConflict, accept, process_now, result_of
from jobhost_flyer_ocr.records import Flyers

UPLOAD_PATH = "/api/ai/upload-and-process"
STATUS_PATH = "/api/ai/jobs/{job_id:str}/status"
LEGACY_PATHS = ["/api/ai/upload-legacy", "/api/ai/flyers/process"]
# RFC 9745: deprecated since the ADR of 2025-12-12 that replaced them with the queue.
DEPRECATION = {"Deprecation": "@1765497600", "Link": f'<{UPLOAD_PATH}>; rel="successor-version"'}
FORM = Body(
    media_type=RequestEncodingType.MULTI_PART,
    description="`file`: the flyer (PNG, JPEG, WebP, TIFF or PDF; its type is read from its content); "
    "`store`: the store's name, if you know it better than the flyer's print",
)


@attrs.frozen
class FlyerForm:
    file: UploadFile | None = None
    store: str | None = None


@attrs.frozen
class UploadAccepted:
    jobId: str
    flyerId: int


@attrs.frozen
class JobProgress:
    percent: float
    stage: str | None


@attrs.frozen
class JobStatus:
    jobId: str
    state: str
    progress: JobProgress | None
    result: dict[str, Any] | None
    error: str | None
    attempt: int
    attempts: int


async def _read(form: FlyerForm) -> tuple[bytes, str | None, str | None]:
    """The file's bytes and name, and the store, or 400 saying what the form lacks."""
    if form.file is None:
        raise FlyerRejected(
            "no file: send the flyer as the multipart/form-data field `file`", status=400, field="file"
        )
    store = (form.store or "").strip() or None
    if store is not None and len(store) > 255:
        raise FlyerRejected("store must be at most 255 characters", status=400, field="store")
    return await form.file.read(), form.file.filename, store


def _refused(
    exc: FlyerRejected | IdempotencyConflict, headers: dict[str, str] | None = None
) -> HTTPException:
    return HTTPException(status_code=exc.status, detail=str(exc), headers=headers)


@post(
    UPLOAD_PATH,
    status_code=202,
    tags=["flyers"],
    summary="Upload a flyer: 202 with the job that reads its deals",
    description="The answer's `Location` is the job's status route; `/api/jobs/{jobId}/events` streams its "
    "progress. Send an `Idempotency-Key` header to make a retried upload return the first answer "
    'instead of queueing a second job. A 503 with `"outcome": "unknown"`, `job_ids` and `flyerId` means '
    "Redis hung mid-enqueue: the job may exist, and the flyer is kept for it; retry with the same key "
    "(or look the job or the flyer up).",
)
async def upload_and_process(
    host: NamedDependency[Host],
    user: NamedDependency[User],
    data: Annotated[FlyerForm, FORM],
    idempotency_key: Annotated[
        str | None,
        HeaderParameter(
            name="Idempotency-Key",
            pattern=r"^[\x21-\x7e]{1,255}$",
            description="Any 1-255 visible ASCII characters, unique per upload you mean",
        ),
    ] = None,
) -> Response[UploadAccepted]:
    try:
        content, filename, store = await _read(data)
        accepted = await accept(
            host, user.owner, content, filename=filename, store=store, key=idempotency_key
        )
    except (FlyerRejected, IdempotencyConflict) as exc:
        raise _refused(exc) from None
    return Response(
        UploadAccepted(accepted.job_id, accepted.flyer_id),
        status_code=202,
        headers={"Location": STATUS_PATH.replace("{job_id:str}", accepted.job_id)},
    )


@get(STATUS_PATH, tags=["flyers"], summary="A flyer job's state, progress, result and error")
async def job_status(
    host: NamedDependency[Host], user: NamedDependency[User], job_id: FromPath[str]
) -> JobStatus:
    job = await host.job(job_id)
    if job is None or job.task != TASK or not (user.is_admin or job.owner == user.owner):
        raise NotFoundException(detail=f"no flyer job {job_id!r}")
    progress = None
    if job.progress:
        progress = JobProgress(job.progress.get("percent", 0), job.progress.get("stage"))
    error = job.errors[-1].error if job.errors and job.state != "completed" else None
    result = job.result if job.state == "completed" else None
    return JobStatus(job.id, job.state, progress, result, error, job.attempt, job.attempts)


@get("/api/flyers/{flyer_id:int}", tags=["flyers"], summary="A flyer of yours and its deals")
async def get_flyer(
    host: NamedDependency[Host], user: NamedDependency[User], flyer_id: FromPath[int]
) -> dict[str, Any]:
    record = await Flyers(host.db).get(flyer_id)
    if record is None or not (user.is_admin or record.owner == user.owner):
        raise NotFoundException(detail=f"no flyer {flyer_id}")
    return record.as_dict()


@get("/api/flyers", tags=["flyers"], summary="Your flyers with their deals, newest first")
async def list_flyers(
    host: NamedDependency[Host],
    user: NamedDependency[User],
    page: Annotated[int, QueryParameter(ge=1)] = 1,
    per_page: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    found, total = await Flyers(host.db).page(user.owner, page, per_page)
    return {"flyers": [r.as_dict() for r in found], "page": page, "per_page": per_page, "total": total}


def _deprecation_headers(app: ASGIApp) -> ASGIApp:
    """Every answer of a deprecated route says so, errors included."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *((k.lower().encode(), v.encode()) for k, v in DEPRECATION.items()),
                ]
            await send(message)

        await app(scope, receive, send_marked)

    return wrapped


@post(
    LEGACY_PATHS,
    status_code=200,
    tags=["flyers"],
    deprecated=True,
    middleware=[_deprecation_headers],
    summary="Deprecated: process a flyer inside the request and answer its deals",
    description=f"Use `POST {UPLOAD_PATH}`: it answers at once and the job survives restarts. This "
    "route runs the same checks and pipeline while the client waits.",
)
async def process_legacy(
    host: NamedDependency[Host], user: NamedDependency[User], data: Annotated[FlyerForm, FORM]
) -> dict[str, Any]:
    try:
        content, filename, store = await _read(data)
        record = await process_now(host, user.owner, content, filename=filename, store=store)
    except FlyerRejected as exc:
        raise _refused(exc) from None
    except OcrUnavailable as exc:
        raise HTTPException(
            status_code=503,
            detail=f"OCR is unavailable: {exc}; retry later, or use POST {UPLOAD_PATH}",
            headers={"Retry-After": "30"},
        ) from None
    return result_of(record)


ROUTES = (upload_and_process, job_status, get_flyer, list_flyers, process_legacy)
