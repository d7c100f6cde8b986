"""One run of file cleanup over every target the plugins registered (`register_cleanup`): folders
under UPLOAD_DIR, uploads in the blob store, and pruning functions; a dry run deletes nothing."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from jobhost import CleanupTarget, Host
from jobhost_cleanup.config import UPLOAD_ORPHAN_GRACE, UPLOAD_RETENTION
from jobhost_cleanup.sweep import SweepError, sweep
from jobhost_cleanup.uploads import sweep_uploads

log = logging.getLogger("jobhost_cleanup")


class CleanupFailed(Exception):
    """Targets that cannot be swept as configured (a link where a folder should be); the others ran."""

    def __init__(self, errors: list[str], report: dict[str, Any]) -> None:
        super().__init__("; ".join(errors))
        self.report = report


def target_folder(uploads: Path, target: CleanupTarget) -> Path:
    """The target's folder under UPLOAD_DIR, refused if its resolved path leaves UPLOAD_DIR."""
    assert target.folder is not None
    folder = uploads / target.folder
    root = uploads.resolve()
    if not folder.parent.resolve().is_relative_to(root):
        raise SweepError(
            f"{target.name}: {folder} leads out of UPLOAD_DIR ({root}) through a symbolic link; "
            "cleanup never follows links"
        )
    return folder


async def clean_files(host: Host, *, max_age: float, now: datetime, dry_run: bool = False) -> dict[str, Any]:
    """Sweep every target; the report lists per target what went (or would go, in a dry run)."""
    uploads = host.settings.uploads
    reports: list[dict[str, Any]] = []
    errors: list[str] = []
    for target in host.cleanup_targets:
        try:
            if target.kind == "folder":
                folder = target_folder(uploads, target)
                done = await asyncio.to_thread(
                    sweep, folder, target.max_age or max_age, now.timestamp(), dry_run=dry_run
                )
                for failure in done.failed:
                    log.warning("%s: could not remove %s: %s", target.name, failure["path"], failure["error"])
                reports.append({"target": target.name, "kind": "folder", **done.as_dict()})
            elif target.kind == "uploads":
                swept = await sweep_uploads(
                    host,
                    target,
                    retention=host.settings.read(UPLOAD_RETENTION),
                    grace=host.settings.read(UPLOAD_ORPHAN_GRACE),
                    now=now,
                    dry_run=dry_run,
                )
                reports.append(swept.as_dict())
            else:
                assert target.prune is not None
                rows = await target.prune(host, now, dry_run)
                reports.append({"target": target.name, "kind": "prune", "rows": rows})
        except SweepError as exc:
            errors.append(str(exc))
            reports.append({"target": target.name, "kind": target.kind, "error": str(exc)})
    report = {
        "dry_run": dry_run,
        "files": sum(r.get("files", 0) for r in reports),
        "bytes": sum(r.get("bytes", 0) for r in reports),
        "targets": reports,
    }
    if errors:
        raise CleanupFailed(errors, report)
    return report
