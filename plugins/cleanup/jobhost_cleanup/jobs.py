"""The cleanup tasks: old temporary files, expired tokens. Each returns what it removed."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Annotated, Any

from taskiq import TaskiqDepends

import jobhost
from jobhost import JobContext, PermanentError
from jobhost_cleanup.config import CLEANUP_FILE_MAX_AGE
from jobhost_cleanup.sweep import SweepError, sweep

log = logging.getLogger("jobhost_cleanup")

FILES_QUEUE = "file-cleanup"
TOKENS_QUEUE = "token-cleanup"
FILES_TASK = "cleanup.files"
TOKENS_TASK = "cleanup.tokens"
Job = Annotated[JobContext, TaskiqDepends()]


def scratch_folder(settings: Any) -> Path:
    """The host's folder for temporary files: `tmp/` under the uploads folder."""
    return Path(settings.uploads) / "tmp"


def _max_age(ctx: JobContext, max_age_hours: Any) -> float:
    if max_age_hours is None:
        return ctx.host.settings.read(CLEANUP_FILE_MAX_AGE)
    valid = isinstance(max_age_hours, int | float) and not isinstance(max_age_hours, bool)
    if not (valid and max_age_hours > 0 and math.isfinite(max_age_hours)):
        raise PermanentError(
            f"{ctx.task}: max_age_hours must be a number of hours > 0, got {max_age_hours!r}"
        )
    return max_age_hours * 3600.0


@jobhost.task(FILES_TASK, queue=FILES_QUEUE)
def files(ctx: Job, max_age_hours: float | None = None) -> dict[str, Any]:
    """Delete temporary files older than `max_age_hours` (default: CLEANUP_FILE_MAX_AGE)."""
    max_age = _max_age(ctx, max_age_hours)
    folder = scratch_folder(ctx.host.settings)
    try:
        done = sweep(folder, max_age, time.time())
    except SweepError as exc:
        raise PermanentError(f"{ctx.task}: {exc}") from None
    ctx.log(f"{folder}: removed {done.files} files, {done.directories} folders, {done.bytes} bytes")
    for failure in done.failed:
        log.warning("%s: could not remove %s: %s", ctx.task, failure["path"], failure["error"])
    return done.as_dict()


@jobhost.task(TOKENS_TASK, queue=TOKENS_QUEUE)
async def tokens(ctx: Job) -> dict[str, int]:
    """Delete expired tokens (sessions, API tokens, password-reset links)."""
    removed = await ctx.host.service("accounts").delete_expired_tokens()
    ctx.log(f"removed {removed} expired tokens")
    return {"removed": removed}
