"""Taking a flyer in: the checks, the stored file, the record, and then its job or its OCR now.

`accept` is the queue-based path (`POST /api/ai/upload-and-process`, `jobhost demo`): nothing is
stored unless every check passes, a retried request with the same Idempotency-Key gets the
first answer, and a flyer is never removed while its job may exist. `process_now` is the
deprecated synchronous path. `finish` is what both the job and `process_now` do with a result:
store the deals, then tell the other plugins.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import datetime
from typing import Any

import attrs

from jobhost import BlobError, Host, OutcomeUnknown
from jobhost_flyer_ocr.config import limits_from
from jobhost_flyer_ocr.errors import FlyerRejected
from jobhost_flyer_ocr.model import Flyer
from jobhost_flyer_ocr.pipeline import process
from jobhost_flyer_ocr.records import DuplicateKey, FlyerRecord, Flyers
from jobhost_flyer_ocr.uploads import new_key
from jobhost_flyer_ocr.validate import Limits, Upload, check_upload

TASK = "flyer_ocr.process_flyer"
EVENT = "flyer.processed"
UPLOADED = "flyer.uploaded"
PLUGIN = "flyer_ocr"
# A synchronous request gives tesseract this long before it answers 503.
SYNC_TIMEOUT = 120.0


@attrs.frozen
class Accepted:
    job_id: str
    flyer_id: int


class IdempotencyConflict(Exception):
    """The Idempotency-Key cannot be honoured: used for another file, or its first request is in flight."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _checked(data: bytes, filename: str | None, limits: Limits) -> tuple[Upload, str]:
    """The checks and the file's digest: CPU work kept off the event loop (a 20 MiB upload)."""
    return check_upload(data, filename, limits), hashlib.sha256(data).hexdigest()


async def _store(host: Host, data: bytes, kind: str) -> str:
    """The upload in the blob store under a key made here; its key."""
    key = new_key(kind)
    try:
        await host.blobs.put(key, data)
    except BlobError as exc:  # JOBHOST_BLOB_MAX_SIZE below FLYER_MAX_UPLOAD_MB
        raise FlyerRejected(f"the blob store refuses this file: {exc}", status=413) from None
    return key


async def _replay(host: Host, first: FlyerRecord | None, key: str, digest: str) -> Accepted:
    if first is None:  # the racing request failed and was rolled back
        raise IdempotencyConflict(f"the first request with Idempotency-Key {key!r} failed; retry it", 409)
    if first.sha256 != digest:
        raise IdempotencyConflict(
            f"Idempotency-Key {key!r} was already used for a different file; use a new key for a new upload",
            422,
        )
    if first.status == "queued" and await _jobless(host, first):
        # Its job is not there: the first request is still queueing it, or its enqueue failed
        # or went unanswered (Redis hung). Queue it now: the flyer's unique key lets one job be.
        return Accepted(await _queue(host, Flyers(host.db), first), first.id)
    assert first.job_id is not None  # set before the status leaves "queued"
    return Accepted(first.job_id, first.id)


async def _jobless(host: Host, record: FlyerRecord) -> bool:
    """Whether a queued flyer's job is missing: not queued yet, or its enqueue failed or went
    unanswered and stored nothing."""
    return record.job_id is None or await host.job(record.job_id) is None


async def _queue(host: Host, flyers: Flyers, record: FlyerRecord) -> str:
    """Queue the flyer's job and note its id on the record. Whatever happens, the record and its
    file stay: when the outcome is unknown, the job may exist and runs later."""
    from jobhost_flyer_ocr.task import process_flyer  # the task module needs this one first

    kicker = process_flyer.kicker().with_labels(owner=record.owner, unique_key=f"flyer:{record.id}")
    try:
        kicked = await kicker.kiq(flyer_id=record.id)
    except OutcomeUnknown as exc:  # the client is told the job and flyer ids; its follow-up finds them
        await flyers.set_job(record.id, exc.job_ids[0])
        exc.about["flyerId"] = record.id
        raise
    await flyers.set_job(record.id, kicked.task_id)
    return str(kicked.task_id)


async def accept(
    host: Host,
    owner: str,
    data: bytes,
    *,
    filename: str | None = None,
    store: str | None = None,
    key: str | None = None,
) -> Accepted:
    """Check, store and queue an upload; the same key and file again give the same answer.

    Raises `FlyerRejected` (nothing stored) or `IdempotencyConflict`. When the job surely was
    not queued (Redis down, and it said so), the file and the record are removed again before
    the error goes on; when it may have been (`OutcomeUnknown`: Redis hung), they stay for it,
    and a retry with the same key queues it only if it is not there.
    """
    upload, digest = await asyncio.to_thread(_checked, data, filename, limits_from(host.settings))
    flyers = Flyers(host.db)
    if key is not None and (first := await flyers.by_key(owner, key)) is not None:
        return await _replay(host, first, key, digest)
    stored = await _store(host, data, upload.kind)
    try:
        record = await flyers.create(
            owner=owner,
            filename=upload.filename,
            stored_name=stored,
            media_type=upload.media_type,
            size=upload.size,
            sha256=digest,
            pages=upload.pages,
            store=store,
            idempotency_key=key,
        )
    except DuplicateKey as exc:  # the same key in a request racing this one
        await host.blobs.delete(stored)
        taken = str(exc)
        return await _replay(host, await flyers.by_key(owner, taken), taken, digest)
    except BaseException:
        await host.blobs.delete(stored)
        raise
    try:
        job_id = await _queue(host, flyers, record)
    except OutcomeUnknown:
        raise
    except Exception:  # Redis refused or was down and said so: no job exists, none will
        await flyers.remove(record.id)
        await host.blobs.delete(stored)
        raise
    await _uploaded(host, record)
    return Accepted(job_id, record.id)


async def requeue_stranded(host: Host, before: datetime) -> list[int]:
    """Queue the job of every flyer uploaded before `before` that is still `queued` without one:
    its upload's enqueue went unanswered (Redis hung or was down) and no retry came, or the API
    stopped between storing the flyer and queueing it. The ids of the flyers queued now."""
    flyers = Flyers(host.db)
    queued = []
    for record in await flyers.queued_before(before):
        if await _jobless(host, record):
            await _queue(host, flyers, record)
            queued.append(record.id)
    return queued


async def _uploaded(host: Host, record: FlyerRecord) -> None:
    await host.emit(UPLOADED, {"flyer_id": record.id, "owner": record.owner, "pages": record.pages}, PLUGIN)


def result_of(record: FlyerRecord) -> dict[str, Any]:
    """What a finished job returns and the synchronous endpoints answer."""
    view = record.as_dict()
    return {
        "flyer_id": record.id,
        **{k: view[k] for k in ("store", "valid_from", "valid_to", "pages", "needs_review", "items")},
    }


async def finish(host: Host, record: FlyerRecord, flyer: Flyer) -> FlyerRecord:
    """Store the deals, mark the flyer processed, and announce it (`flyer.processed`)."""
    saved = await Flyers(host.db).processed(record.id, flyer, record.store)
    shown = (
        "name",
        "price",
        "quantity",
        "unit",
        "unit_price",
        "page",
        "save",
        "percent_off",
        "regular_price",
        "bogo",
    )
    deals = [{k: item.as_dict()[k] for k in shown} for item in saved.items]
    announced = {"flyer_id": saved.id, "owner": saved.owner, "store": saved.store, "pages": saved.pages}
    await host.emit(EVENT, {**announced, "items": deals}, PLUGIN)
    return saved


async def process_now(
    host: Host, owner: str, data: bytes, *, filename: str | None = None, store: str | None = None
) -> FlyerRecord:
    """The deprecated synchronous path: the same checks and pipeline inside the request.

    Nothing is stored unless the pipeline succeeds. Raises `FlyerRejected` for a bad file and
    `OcrUnavailable` when tesseract is missing, failing or slower than SYNC_TIMEOUT.
    """
    limits = limits_from(host.settings)
    upload, digest = await asyncio.to_thread(_checked, data, filename, limits)
    deadline = time.monotonic() + SYNC_TIMEOUT
    flyer = await asyncio.to_thread(process, data, limits=limits, deadline=deadline)
    stored = await _store(host, data, upload.kind)
    record = await Flyers(host.db).create(
        owner=owner,
        status="processing",
        filename=upload.filename,
        stored_name=stored,
        media_type=upload.media_type,
        size=upload.size,
        sha256=digest,
        pages=upload.pages,
        store=store,
    )
    await _uploaded(host, record)
    return await finish(host, record, flyer)
