"""The job: run the pipeline on a stored flyer, reporting progress, then store and announce the deals."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from taskiq import TaskiqDepends

import jobhost
from jobhost import BlobNotFound, JobContext, PermanentError
from jobhost_flyer_ocr.config import limits_from
from jobhost_flyer_ocr.errors import FlyerRejected
from jobhost_flyer_ocr.intake import TASK, finish, requeue_stranded, result_of
from jobhost_flyer_ocr.pipeline import process
from jobhost_flyer_ocr.records import Flyers

QUEUE = "flyer-processing"
# The flyer-processing queue's timeout (its policy is the one source the task reads it from).
QUEUE_TIMEOUT = 600.0
REQUEUE_TASK = "flyer_ocr.requeue_stranded"
# A flyer queued this long without a job is stranded (its upload's enqueue went unanswered):
# far longer than any upload request takes.
STRANDED_AFTER = timedelta(minutes=15)
# tesseract is stopped this share of the timeout (at most 10 s) before it, so a try that runs
# out of time fails as retryable and leaves no tesseract running behind it.
TIMEOUT_MARGIN = 0.1


@jobhost.task(TASK, queue=QUEUE)
async def process_flyer(flyer_id: int, ctx: JobContext = TaskiqDepends()) -> dict[str, Any]:
    """Read flyer `flyer_id`'s deals; progress `{"percent", "stage", ...}` after every stage."""
    timeout = ctx.host.registry.queues[ctx.queue].timeout or QUEUE_TIMEOUT
    # The worker's own deadline for this try, so time spent before the task began counts too.
    ends = ctx.deadline if ctx.deadline is not None else time.monotonic() + timeout
    deadline = ends - min(timeout * TIMEOUT_MARGIN, 10.0)
    flyers = Flyers(ctx.host.db)
    record = await flyers.get(flyer_id)
    if record is None:
        raise PermanentError(f"flyer {flyer_id} does not exist (was it deleted?)")
    try:
        await flyers.processing(flyer_id, ctx.job_id)
        try:
            data = await ctx.host.blobs.get(record.stored_name)
        except BlobNotFound:
            raise FlyerRejected(
                f"the uploaded file of flyer {flyer_id} is gone from the {ctx.host.blobs.kind} blob store"
            ) from None
        ctx.progress(0, "start", stage="start")

        def report(stage: str, percent: float, page: int, pages: int) -> None:
            ctx.progress(percent, f"{stage} page {page} of {pages}", stage=stage, page=page, pages=pages)

        flyer = await asyncio.to_thread(
            process,
            data,
            limits=limits_from(ctx.host.settings),
            progress=report,
            deadline=deadline,
        )
        ctx.progress(95, "persist", stage="persist")
        saved = await finish(ctx.host, record, flyer)
    except Exception as exc:
        # The flyer fails with its job: at once when retrying cannot help, else on the last try.
        if isinstance(exc, PermanentError) or ctx.attempt >= ctx.attempts:
            await flyers.failed(flyer_id, str(exc) or type(exc).__name__)
        raise
    ctx.progress(100, "done", stage="done")
    ctx.log(f"{len(saved.items)} deals on {saved.pages} pages")
    return result_of(saved)


@jobhost.task(REQUEUE_TASK, queue=QUEUE)
async def requeue_stranded_flyers(ctx: JobContext = TaskiqDepends()) -> dict[str, Any]:
    """Give every stranded flyer (queued without a job for STRANDED_AFTER) its job."""
    queued = await requeue_stranded(ctx.host, datetime.now(UTC) - STRANDED_AFTER)
    if queued:
        ctx.log(f"queued the jobs of stranded flyers {queued}")
    return {"requeued": queued}
