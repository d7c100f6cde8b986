"""The cleanup tasks: old files (every registered target), expired tokens. Each returns what it removed."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from taskiq import TaskiqDepends

import jobhost
from jobhost import JobContext, PermanentError
from jobhost_cleanup.config import CLEANUP_FILE_MAX_AGE
from jobhost_cleanup.files import CleanupFailed, clean_files

FILES_QUEUE = "file-cleanup"
TOKENS_QUEUE = "token-cleanup"
FILES_TASK = "cleanup.files"
TOKENS_TASK = "cleanup.tokens"
Job = Annotated[JobContext, TaskiqDepends()]


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
async def files(ctx: Job, max_age_hours: float | None = None, dry_run: bool = False) -> dict[str, Any]:
    """Sweep every cleanup target: temporary files older than `max_age_hours` (default
    CLEANUP_FILE_MAX_AGE), expired and orphaned uploads, the plugins' own; `dry_run` deletes nothing."""
    if not isinstance(dry_run, bool):
        raise PermanentError(f"{ctx.task}: dry_run must be true or false, got {dry_run!r}")
    max_age = _max_age(ctx, max_age_hours)
    try:
        report = await clean_files(ctx.host, max_age=max_age, now=datetime.now(UTC), dry_run=dry_run)
    except CleanupFailed as exc:
        raise PermanentError(f"{ctx.task}: {exc}") from None
    verb = "would remove" if dry_run else "removed"
    for target in report["targets"]:
        ctx.log(f"{target['target']}: {verb} {target.get('files', target.get('rows', 0))}")
    return report


@jobhost.task(TOKENS_TASK, queue=TOKENS_QUEUE)
async def tokens(ctx: Job) -> dict[str, int]:
    """Delete expired tokens (sessions, API tokens, password-reset links), in batches."""
    removed = await ctx.host.service("accounts").delete_expired_tokens()
    ctx.log(f"removed {removed} expired tokens")
    return {"removed": removed}
