"""Uploads in the blob store that may go: their owner (a plugin's `owners` function) says its
record is done with them since before UPLOAD_RETENTION, or no record knows them and they are
older than UPLOAD_ORPHAN_GRACE. A key the owner keeps (a flyer waiting or being processed) stays.

Everything goes through `host.blobs` by key: the folder store never follows a link nor leaves
UPLOAD_DIR, the database and S3 stores delete exactly the key.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs

from jobhost import BlobInfo, CleanupTarget, Host
from jobhost_cleanup.sweep import LISTED

# Keys asked about per call of the owners function.
PAGE = 200


@attrs.define
class UploadSweep:
    target: str
    dry_run: bool
    expired: int = 0
    orphans: int = 0
    bytes: int = 0
    removed: list[str] = attrs.field(factory=list)

    def as_dict(self) -> dict[str, Any]:
        files = self.expired + self.orphans
        return {
            "target": self.target,
            "kind": "uploads",
            "files": files,
            "expired": self.expired,
            "orphans": self.orphans,
            "bytes": self.bytes,
            "removed": self.removed,
            "unlisted": files - len(self.removed),
        }


async def sweep_uploads(
    host: Host, target: CleanupTarget, *, retention: float, grace: float, now: datetime, dry_run: bool
) -> UploadSweep:
    assert target.blob_prefix is not None and target.owners is not None
    owners_of = target.owners
    done = UploadSweep(target.name, dry_run)
    orphaned_before = now - timedelta(seconds=grace)

    async def judge(page: list[BlobInfo]) -> None:
        owners = await owners_of(host, [info.key for info in page], now - timedelta(seconds=retention))
        for info in page:
            verdict = owners.get(info.key)
            orphan = verdict is None and info.stored_at < orphaned_before
            if not (verdict is True or orphan):
                continue
            if not dry_run and not await host.blobs.delete(info.key):
                continue  # another sweep got there first
            done.orphans += orphan
            done.expired += not orphan
            done.bytes += info.size
            if len(done.removed) < LISTED:
                done.removed.append(info.key)

    page: list[BlobInfo] = []
    async for info in host.blobs.scan(target.blob_prefix):
        page.append(info)
        if len(page) == PAGE:
            await judge(page)
            page = []
    if page:
        await judge(page)
    return done
